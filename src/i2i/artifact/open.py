"""``open_model``: the one way any model path becomes a model (release folder, run folder or checkpoint file)."""

from __future__ import annotations

from pathlib import Path

from i2i.artifact.from_checkpoint import model_from_checkpoint
from i2i.artifact.model import Model
from i2i.artifact.release import read_release
from i2i.artifact.release_format import is_release
from i2i.errors import CheckpointError
from i2i.training.checkpoint import RunFolder, best_or_last


def open_model(path: str | Path) -> Model:
    """Opens a run folder (its best.pt, else last.pt), a release folder or a training checkpoint file.

    Used by ``i2i translate``, ``i2i eval``, ``i2i export`` and ``Translator.from_pretrained``. The model's config is
    checked now; each generator is built and loaded (on the CPU, in training mode as built) when it is first used,
    and ``Translator`` prepares it for inference.
    """
    path = Path(path)
    # A folder with checkpoints/ is a run folder, whatever else it holds (a release exported into it by an older i2i
    # too): it always means the run's own checkpoint (best.pt, else last.pt).
    if RunFolder(path).checkpoints.is_dir():
        return model_from_checkpoint(best_or_last(path))
    if is_release(path):
        return read_release(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: not a release folder (no config.json) nor a run folder (no checkpoints/)")
    return model_from_checkpoint(best_or_last(path))
