"""A training checkpoint as a model: only the networks a release would ship are built (its translating generators,
or its classifier; no discriminators, no optimizer), each with the preprocessing its run config implies.

A checkpoint is read as a file anyone may have crafted (``load_state`` checks the file and the state's structure,
``from_dict`` the config's types and ranges); each generator is first built on the meta device and compared with the
checkpoint's tensors, so that nothing is allocated beyond what the file itself holds
(``i2i.models.weights.build_and_load``)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from torch import nn

from i2i.artifact.model import ClassifierNetwork, Generator, Model, Source
from i2i.config import from_dict
from i2i.errors import CheckpointError, ConfigError
from i2i.methods.base import ClassifierSlot, GeneratorSlot
from i2i.models.weights import build_and_load, specs_of
from i2i.run_config import RunConfig
from i2i.training.checkpoint import load_state, network_state


def model_from_checkpoint(path: str | Path) -> Model:
    """Rebuilds the generators of training checkpoint ``path``, the trained direction first."""
    path = Path(path)
    state = load_state(path)
    raw = dict(state["config"])
    # Which checkpoint a run kept as best does not change its networks; older runs may name a metric their method
    # no longer accepts there.
    if isinstance(raw.get("train", {}), dict):
        raw["train"] = {**raw.get("train", {}), "best_metric": None}
    try:
        cfg = from_dict(RunConfig, raw)
        slots = cfg.generator_slots()
        pres = [cfg.preprocessing(slot) for slot in slots]
        classifier_slot = cfg.method.classifier_slot(cfg.data)
    except ConfigError as exc:
        raise CheckpointError(f"{path}: its config no longer builds ({exc})") from None
    source = Source(cfg.name, path.name, state["progress"]["step"], cfg.data.root)
    if classifier_slot is not None:
        weights = network_state(state, classifier_slot.network, str(path))
        load = functools.partial(_build, classifier_slot, weights, f"{path} [{classifier_slot.network}]")
        network = ClassifierNetwork(classifier_slot.config, load, cfg.preprocessing(), classifier_slot.labels)
        return Model(path, cfg.method.name, [], source, classifier=network)
    generators = []
    for slot, pre in zip(slots, pres, strict=True):
        # Only the translating generators' weights are kept (not the discriminators' or the optimizers'); each
        # generator is built when it is first used.
        weights = network_state(state, slot.network, str(path))
        load = functools.partial(_build, slot, weights, f"{path} [{slot.network}]")
        generators.append(Generator(slot.config, load, pre))
    return Model(path, cfg.method.name, generators, source)


def _build(slot: GeneratorSlot | ClassifierSlot, weights: dict[str, Any], source: str) -> nn.Module:
    return build_and_load(slot.build, specs_of(weights), lambda: weights, source, slot.network)
