"""A training checkpoint as a model: only its translating generators are built (no discriminators, no optimizer),
each with the preprocessing its run config implies."""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn

from i2i.artifact.model import Generator, Model, Source
from i2i.config import from_dict
from i2i.errors import CheckpointError, ConfigError
from i2i.methods.base import GeneratorSlot
from i2i.models.weights import load_weights
from i2i.run_config import RunConfig
from i2i.training.checkpoint import load_state, network_state


def model_from_checkpoint(path: str | Path) -> Model:
    """Rebuilds the generators of training checkpoint ``path``, the trained direction first."""
    path = Path(path)
    state = load_state(path)
    try:
        raw = dict(state["config"])
        # Which checkpoint a run kept as best does not change its networks; older runs may name a metric their
        # method no longer accepts there.
        raw["train"] = {**raw.get("train", {}), "best_metric": None}
        cfg = from_dict(RunConfig, raw)
        step = int(state["progress"]["step"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: checkpoint lacks its config or progress ({exc})") from None
    except ConfigError as exc:
        raise CheckpointError(f"{path}: its config no longer builds ({exc})") from None
    generators = []
    for slot in cfg.generator_slots():
        # Only the translating generators' weights are kept (not the discriminators' or the optimizers'); each
        # generator is built when it is first used.
        weights = network_state(state, slot.network, str(path))
        load = functools.partial(_build, slot, weights, f"{path} [{slot.network}]")
        generators.append(Generator(slot.config, load, cfg.preprocessing(slot)))
    return Model(path, cfg.method.name, generators, Source(cfg.name, path.name, step, cfg.data.root))


def _build(slot: GeneratorSlot, weights: dict[str, torch.Tensor], source: str) -> nn.Module:
    net = slot.build()
    load_weights(net, weights, source, slot.network)
    return net
