"""Where training numbers and pictures go: one small Logger protocol, one class per sink."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Protocol

import numpy as np

from i2i.atomic import atomic_write_text


class Logger(Protocol):
    def log_scalars(self, step: int, values: dict[str, float]) -> None: ...

    def log_image(self, step: int, tag: str, image: np.ndarray) -> None: ...

    def close(self) -> None: ...


class JsonlLogger:
    """Appends one JSON object per log call to ``metrics.jsonl`` (flushed at once, so a killed run loses at most a
    partial last line). On resume the file is rewritten atomically without the records past the resume step and
    without a partial line."""

    def __init__(self, path: Path, resume_step: int | None = None) -> None:
        self.path = path
        if resume_step is not None and path.exists():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            kept = [line for line in lines if (step := _step_of(line)) is not None and step <= resume_step]
            atomic_write_text(path, "".join(line + "\n" for line in kept))
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        record = {"step": step, **{k: (v if math.isfinite(v) else str(v)) for k, v in values.items()}}
        try:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
        except OSError as exc:  # a failed write names no file; the trainer's message should
            raise OSError(exc.errno, exc.strerror or str(exc), str(self.path)) from exc

    def log_image(self, step: int, tag: str, image: np.ndarray) -> None:
        pass  # sample grids are written as PNG files by the trainer

    def close(self) -> None:
        self._file.close()


def _step_of(line: str) -> int | None:
    """The step of a record; None for a line that is no complete record (the tail a killed run left)."""
    try:
        return int(json.loads(line)["step"])
    except (ValueError, TypeError, KeyError):
        return None


class TensorBoardLogger:
    """Scalars and image grids in TensorBoard event files under ``<run>/tensorboard``."""

    def __init__(self, log_dir: Path, resume_step: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # purge_step discards events a killed run wrote after its last checkpoint, so curves have no doubles.
        self._writer = SummaryWriter(log_dir=str(log_dir), purge_step=resume_step)

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            self._writer.add_scalar(key, value, step)

    def log_image(self, step: int, tag: str, image: np.ndarray) -> None:
        self._writer.add_image(tag, image, step, dataformats="HWC")

    def close(self) -> None:
        self._writer.close()
