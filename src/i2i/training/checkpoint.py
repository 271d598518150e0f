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

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from i2i.atomic import atomic_write_with
from i2i.errors import CheckpointError
from i2i.models.weights import load_weights

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
    """The checkpoint a model path means: a checkpoint file itself, else a run folder's best.pt, else its last.pt."""
    path = Path(path)
    if path.is_file():
        return path
    run = RunFolder(path)
    for candidate in (run.best, run.last):
        if candidate.is_file():
            return candidate
    if path.is_dir():
        raise CheckpointError(f"{path}: no checkpoints/best.pt or checkpoints/last.pt in this folder")
    raise CheckpointError(f"{path}: no such run folder or checkpoint file")


def last_only(run_dir: Path, resume: str | None) -> Path | None:
    """The checkpoint ``--resume`` means: ``auto`` → the run's last.pt if there is one (else a fresh start); a
    path → that checkpoint file, or a run folder's last.pt."""
    if resume is None:
        return None
    if resume == "auto":
        last = RunFolder(run_dir).last
        return last if last.is_file() else None
    path = Path(resume)
    if path.is_dir():
        path = RunFolder(path).last
    if not path.is_file():
        raise CheckpointError(f"--resume {resume}: no checkpoint at {path}")
    return path


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    """Writes training state atomically and durably, streamed to disk (no second copy of it in memory)."""
    atomic_write_with(path, lambda f: torch.save({"format": STATE_FORMAT, "version": STATE_VERSION, **state}, f), True)


def load_state(path: str | Path) -> dict[str, Any]:
    """Reads a training checkpoint with ``weights_only=True``: tensors and plain data only, never code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsupported content"
        raise CheckpointError(f"{path}: refused to load: not plain training state ({first})") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupt: {first})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path}: not an i2i training checkpoint")
    if state.get("version", 0) > STATE_VERSION:
        raise CheckpointError(f"{path}: checkpoint version {state['version']} is newer than this i2i supports")
    return state


# Config keys that decide the shapes of the networks; a checkpoint only fits a config that agrees on all of them.
_ARCH_KEYS = (("data", "input_channels"), ("data", "output_channels"), ("method", "name"))
_ARCH_SECTIONS = ("generator", "discriminator")


def architecture_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Dotted keys (with both values) where two resolved configs build different networks."""
    diffs = []
    for section, key in _ARCH_KEYS:
        a, b = saved.get(section, {}).get(key), current.get(section, {}).get(key)
        if a != b:
            diffs.append(f"{section}.{key}: checkpoint {a!r}, config {b!r}")
    for net in _ARCH_SECTIONS:
        a, b = saved.get("method", {}).get(net, {}), current.get("method", {}).get(net, {})
        for key in sorted(set(a) | set(b)):
            if key in ("bn_inference",):  # affects inference only, not the weights
                continue
            if a.get(key) != b.get(key):
                diffs.append(f"method.{net}.{key}: checkpoint {a.get(key)!r}, config {b.get(key)!r}")
    return diffs


def network_state(state: dict[str, Any], name: str, source: str) -> dict[str, torch.Tensor]:
    """The saved weights of network ``name``; a checkpoint without them is a one-line CheckpointError."""
    saved = state.get("networks", {})
    if name not in saved:
        raise CheckpointError(f"{source}: has no weights for network '{name}' (has: {', '.join(saved)})")
    return saved[name]


def load_networks(networks: dict[str, nn.Module], state: dict[str, Any], source: str) -> None:
    """Loads every network's weights; a missing network or a mismatch is a one-line CheckpointError."""
    for name, net in networks.items():
        load_weights(net, network_state(state, name, source), f"{source} [{name}]", name)
