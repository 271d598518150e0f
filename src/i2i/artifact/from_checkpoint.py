"""A training checkpoint as a model: only its translating generators are built (no discriminators, no optimizer),
each with the preprocessing its run config implies."""

from __future__ import annotations

from pathlib import Path

from i2i.artifact.model import Generator, Model, Source
from i2i.config import from_dict
from i2i.errors import CheckpointError, ConfigError
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
        net = slot.build()
        load_weights(net, network_state(state, slot.network, str(path)), f"{path} [{slot.network}]", slot.network)
        generators.append(Generator(slot.config, net, cfg.preprocessing(slot)))
    return Model(path, cfg.method.name, generators, Source(cfg.name, path.name, step, cfg.data.root))
