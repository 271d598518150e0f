"""RunConfig, the root of a training run's configuration, and ``load_config`` (recipe + overrides → config)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import i2i.methods  # noqa: F401  (registers methods and, through them, networks)
from i2i.config import from_dict, merge, opt, parse_overrides, read_yaml
from i2i.data.config import DataConfig
from i2i.errors import ConfigError
from i2i.methods.base import MethodConfig
from i2i.training.config import TrainConfig


@dataclass
class RunConfig:
    name: str = opt("run", "run name: the run folder is <out_dir>/<name>")
    out_dir: str = opt("runs", "folder that holds run folders")
    seed: int = opt(0, "seed of weight init, data order, augmentation and dropout")
    data: DataConfig = opt(help="dataset", factory=DataConfig)
    method: MethodConfig = opt(help="method, networks and objective", factory=lambda: from_dict(MethodConfig, {}))
    train: TrainConfig = opt(help="training loop", factory=TrainConfig)

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name in (".", ".."):
            raise ConfigError(f"name: must be a plain folder name, got {self.name!r}")

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.name


def build_raw(path: str | Path | None = None, overrides: Sequence[str] | dict[str, Any] = ()) -> dict[str, Any]:
    """Merges a YAML recipe (optional) with overrides into the plain dict a RunConfig is built from."""
    raw = read_yaml(path) if path else {}
    extra = overrides if isinstance(overrides, dict) else parse_overrides(overrides)
    return merge(raw, extra)


def load_config(path: str | Path | None = None, overrides: Sequence[str] | dict[str, Any] = ()) -> RunConfig:
    """Builds a validated RunConfig from a recipe file and ``--section.key=value`` overrides."""
    return from_dict(RunConfig, build_raw(path, overrides))
