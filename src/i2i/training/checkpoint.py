"""Training state on disk and the layout of a run folder.

A checkpoint is one dict, written atomically (temp file, fsync, rename) and loaded without unpickling arbitrary
objects. It holds everything an exact resume needs: every network, optimizer and LR scheduler, the position in the
data stream (epoch and batch within it), the RNG states, the best validation score and the resolved config.

A run folder (``<out_dir>/<name>``) holds ``config.yaml``, ``train.log``, ``metrics.jsonl``, ``tensorboard/``,
``samples/step_XXXXXXX.png`` and ``checkpoints/``: ``last.pt`` (rewritten on a cadence), ``best.pt`` (best
validation metric, when one is named) and ``step_XXXXXXX.pt`` (kept permanently on a cadence). ``RunFolder`` names
them all; the two resolvers say which checkpoint a path means: ``best_or_last`` for using a model, ``last_only``
for resuming a run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from i2i.atomic import atomic_write_with
from i2i.errors import CheckpointError
from i2i.fileinfo import regular_file
from i2i.models.weights import load_weights, read_torch_file

STATE_FORMAT = "i2i-train-state"
STATE_VERSION = 1


@dataclass(frozen=True)
class RunFolder:
    """The files of one training run, by role."""

    root: Path

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def last(self) -> Path:
        return self.checkpoints / "last.pt"

    @property
    def best(self) -> Path:
        return self.checkpoints / "best.pt"

    def kept(self, step: int) -> Path:
        """A permanent checkpoint of ``step`` (``train.keep_every``)."""
        return self.checkpoints / f"step_{step:07d}.pt"

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def log(self) -> Path:
        return self.root / "train.log"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    def sample(self, step: int) -> Path:
        return self.root / "samples" / f"step_{step:07d}.png"

    def eval_dir(self, split: str) -> Path:
        """Where ``i2i eval`` writes its report on ``split`` by default."""
        return self.root / "eval" / split

    @staticmethod
    def of(path: str | Path) -> RunFolder | None:
        """The run folder a path belongs to: itself when it holds ``checkpoints/``, a checkpoint file's run."""
        path = Path(path)
        if path.is_file():
            return RunFolder(path.parent.parent) if path.parent.name == "checkpoints" else None
        return RunFolder(path) if (path / "checkpoints").is_dir() else None


def best_or_last(path: str | Path) -> Path:
    """The checkpoint a model path means: a checkpoint file itself, else a run folder's best.pt, else its last.pt.

    What it names must be a regular file: a named pipe, a socket or a folder there is refused, not skipped.
    """
    path = Path(path)
    if path.is_dir():
        run = RunFolder(path)
        for candidate in (run.best, run.last):
            if os.path.lexists(candidate):
                regular_file(candidate)
                return candidate
        raise CheckpointError(f"{path}: no checkpoints/best.pt or checkpoints/last.pt in this folder")
    if os.path.lexists(path):
        regular_file(path)
        return path
    raise CheckpointError(f"{path}: no such run folder or checkpoint file")


def last_only(run_dir: Path, resume: str | None) -> Path | None:
    """The checkpoint ``--resume`` means: ``auto`` → the run's last.pt if there is one (else a fresh start); a
    path → that checkpoint file, or a run folder's last.pt."""
    if resume is None:
        return None
    if resume == "auto":
        last = RunFolder(run_dir).last
        if not os.path.lexists(last):
            return None
        regular_file(last)
        return last
    path = Path(resume)
    if path.is_dir():
        path = RunFolder(path).last
    if not os.path.lexists(path):
        raise CheckpointError(f"--resume {resume}: no checkpoint at {path}")
    regular_file(path)
    return path


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    """Writes training state atomically and durably, streamed to disk (no second copy of it in memory).

    A write that fails inside ``torch.save`` (a full disk) surfaces as the OSError it was, not as torch's
    RuntimeError about stream positions.
    """
    payload = {"format": STATE_FORMAT, "version": STATE_VERSION, **state}

    def write(f: BinaryIO) -> None:
        recorder = _WriteErrors(f)
        try:
            torch.save(payload, recorder)
        except RuntimeError:
            if recorder.error is not None:
                raise recorder.error from None
            raise
        if recorder.error is not None:
            raise recorder.error

    atomic_write_with(path, write, True)


class _WriteErrors:
    """A write-only file that remembers the first OSError of the file it wraps (torch.save hides it)."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self._f.write(data)
        except OSError as exc:
            self.error = self.error or exc
            raise

    def flush(self) -> None:
        try:
            self._f.flush()
        except OSError as exc:
            self.error = self.error or exc
            raise


def load_state(path: str | Path) -> dict[str, Any]:
    """Reads a training checkpoint with ``weights_only=True``: tensors and plain data only, never code.

    Whatever the file is (a named pipe, a text file, a foreign zip, a truncated or crafted checkpoint), the result is
    the state or a one-line CheckpointError in i2i's own words (torch's advice on loading files it refused is never
    passed on). The state is checked to hold what every reader needs: ``config``, ``progress`` (with its ``step``)
    and ``networks``, each a mapping.
    """
    path = Path(path)
    state = read_torch_file(path, "checkpoint", "plain training state (tensors, numbers, strings)")
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path}: not an i2i training checkpoint")
    version = state.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"{path}: checkpoint version must be a whole number, got {version!r:.40}")
    if version > STATE_VERSION:
        raise CheckpointError(f"{path}: checkpoint version {version} is newer than this i2i supports")
    for key, what in (("config", "the run config"), ("progress", "the training progress"), ("networks", "the weights")):
        if not isinstance(state.get(key), dict):
            raise CheckpointError(
                f"{path}: not a complete i2i checkpoint: '{key}' ({what}) is missing or not a mapping"
            )
    step = state["progress"].get("step")
    if not isinstance(step, int) or isinstance(step, bool):
        raise CheckpointError(
            f"{path}: not a complete i2i checkpoint: progress.step must be a whole number, got {step!r:.40}"
        )
    return state


# What may change when a run is resumed: how it runs, how often it reports, and how long it goes on; never what it
# learns (data, method, networks, losses, optimizer, seed), which the checkpoint's state was made with.
RESUMABLE = frozenset(
    {
        "name",
        "out_dir",
        "data.root",
        "data.num_workers",
        "data.cache",
        "method.generator.bn_inference",
        "method.backbone.weights",  # the ImageNet file a fresh run started from; a resume reads its checkpoint
        "train.max_steps",
        "train.n_epochs",
        "train.n_epochs_decay",
        "train.log_every",
        "train.sample_every",
        "train.val_every",
        "train.checkpoint_every",
        "train.keep_every",
        "train.num_samples",
        "train.val_max_images",
        "train.device",
        "train.deterministic",
        "train.precision",
        "train.memory_format",
        "train.compile",
        "train.cuda_graphs",
        "train.progress",
        "train.tensorboard",
    }
)


def resume_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Dotted keys (with both values) where ``current`` changes an option of the checkpoint's config that may not
    change on resume (everything outside ``RESUMABLE``). Keys the checkpoint's config lacks (options added by a
    later i2i) are not compared."""
    diffs: list[str] = []

    def walk(a: Any, b: Any, prefix: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in a:
                walk(a[key], b.get(key), f"{prefix}.{key}" if prefix else str(key))
        elif a != b and prefix not in RESUMABLE:
            diffs.append(f"{prefix}: checkpoint {a!r}, now {b!r}")

    walk(saved, current, "")
    return diffs


def network_state(state: dict[str, Any], name: str, source: str) -> dict[str, torch.Tensor]:
    """The saved weights of network ``name``; a checkpoint without them is a one-line CheckpointError."""
    saved = state.get("networks", {})
    if not isinstance(saved, dict):
        raise CheckpointError(f"{source}: its network weights ('networks') are not a mapping")
    if name not in saved:
        raise CheckpointError(f"{source}: has no weights for network '{name}' (has: {', '.join(map(str, saved))})")
    weights = saved[name]
    if not isinstance(weights, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()
    ):
        raise CheckpointError(f"{source}: the weights of network '{name}' are not a mapping of named tensors")
    return weights


def load_networks(networks: dict[str, nn.Module], state: dict[str, Any], source: str) -> None:
    """Loads every network's weights; a missing network or a mismatch is a one-line CheckpointError."""
    for name, net in networks.items():
        load_weights(net, network_state(state, name, source), f"{source} [{name}]", name)
