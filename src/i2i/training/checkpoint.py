"""Training state on disk: one dict per checkpoint, written atomically (temp file, fsync, rename), loaded
without unpickling arbitrary objects.

A checkpoint holds everything an exact resume needs: every network, optimizer and LR scheduler, the position in
the data stream (epoch and batch within it), the RNG states, the best validation score and the resolved config.
Files: ``checkpoints/last.pt`` (rewritten on a cadence), ``best.pt`` (best validation metric) and
``step_XXXXXXX.pt`` (kept permanently on a cadence).
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from i2i.config import from_dict
from i2i.data.config import opposite
from i2i.data.io import atomic_write
from i2i.errors import CheckpointError
from i2i.inference.translator import Preprocessing, load_weights
from i2i.models.base import GeneratorConfig

if TYPE_CHECKING:
    from i2i.run_config import RunConfig

STATE_FORMAT = "i2i-train-state"
STATE_VERSION = 1


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save({"format": STATE_FORMAT, "version": STATE_VERSION, **state}, buffer)
    atomic_write(path, buffer.getvalue(), durable=True)


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


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or the best (else last) checkpoint of a run folder."""
    path = Path(path)
    if path.is_file():
        return path
    for candidate in (path / "checkpoints" / "best.pt", path / "checkpoints" / "last.pt"):
        if candidate.is_file():
            return candidate
    if path.is_dir():
        raise CheckpointError(f"{path}: no checkpoints/best.pt or checkpoints/last.pt in this folder")
    raise CheckpointError(f"{path}: no such run folder or checkpoint file")


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


def load_networks(networks: dict[str, nn.Module], state: dict[str, Any], source: str) -> None:
    """Loads every network's weights; a missing network or a mismatch is a one-line CheckpointError."""
    saved = state.get("networks", {})
    for name, net in networks.items():
        if name not in saved:
            raise CheckpointError(f"{source}: has no weights for network '{name}' (has: {', '.join(saved)})")
        load_weights(net, saved[name], f"{source} [{name}]", name)


@dataclass
class CheckpointGenerator:
    """The translation generator of a training checkpoint, rebuilt with its weights and preprocessing."""

    config: GeneratorConfig
    network: nn.Module
    preprocessing: Preprocessing
    run_config: RunConfig
    step: int


def generators_from_checkpoint(path: str | Path) -> dict[str, CheckpointGenerator]:
    """Rebuilds the method of a training checkpoint once; its generators by direction ("AtoB"/"BtoA").

    The trained direction comes first; methods that learn both directions (CycleGAN, U-GAT-IT) add the other.
    """
    from i2i.run_config import RunConfig

    state = load_state(path)
    cfg = from_dict(RunConfig, state["config"])
    method = cfg.method.build(cfg.data)
    load_networks(method.networks(), state, str(path))
    step = int(state["progress"]["step"])
    gen_cfg, net = method.translation()
    out = {cfg.data.direction: CheckpointGenerator(gen_cfg, net, cfg.preprocessing(gen_cfg), cfg, step)}
    if method.reversible:
        gen_cfg, net = method.reverse_translation()
        other = opposite(cfg.data.direction)
        out[other] = CheckpointGenerator(gen_cfg, net, cfg.preprocessing(gen_cfg, reverse=True), cfg, step)
    return out


def generator_from_checkpoint(path: str | Path, direction: str | None = None) -> CheckpointGenerator:
    """The generator of one direction of a training checkpoint (default: the direction it was trained in).

    The other direction exists only for methods that learn both (CycleGAN, U-GAT-IT).
    """
    generators = generators_from_checkpoint(path)
    trained = next(iter(generators))
    if direction is None:
        return generators[trained]
    if direction not in generators:
        method = generators[trained].run_config.method.name
        raise CheckpointError(
            f"{path}: this {method} model translates {trained} only; --direction {direction} "
            "needs a method that learns both directions (cyclegan, ugatit)"
        )
    return generators[direction]
