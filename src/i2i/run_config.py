"""RunConfig, the root of a training run's configuration, and ``load_config`` (recipe + overrides → config)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import i2i.methods  # noqa: F401  (registers methods and, through them, networks)
from i2i.config import check_bounds, check_sections, from_dict, merge, opt, parse_overrides, read_yaml
from i2i.data import DATA_KINDS
from i2i.data.config import DataConfig
from i2i.errors import ConfigError, did_you_mean
from i2i.inference.preprocessing import ClassifierPreprocessing, Preprocessing, resolve_bn_inference
from i2i.methods.base import GeneratorSlot, MethodConfig
from i2i.models.base import GeneratorConfig
from i2i.training.config import TrainConfig


@dataclass
class RunConfig:
    name: str = opt("run", "run name: the run folder is <out_dir>/<name>")
    out_dir: str = opt("runs", "folder that holds run folders")
    seed: int = opt(0, "seed of weight init, data order, augmentation and dropout", ge=0, le=2**64 - 1)
    data: DataConfig = opt(help="dataset", factory=DataConfig)
    method: MethodConfig = opt(help="method, networks and objective", factory=lambda: from_dict(MethodConfig, {}))
    train: TrainConfig = opt(help="training loop", factory=TrainConfig)

    def __post_init__(self) -> None:
        check_bounds(self)
        if not self.name or "/" in self.name or self.name in (".", ".."):
            raise ConfigError(f"name: must be a plain folder name, got {self.name!r}")
        # Training crops go into the generator unpadded, so they must fit its down-sampling exactly.
        generator = getattr(self.method, "generator", None)
        multiple = generator.size_multiple if isinstance(generator, GeneratorConfig) else 1
        if self.data.crop_size % multiple:
            raise ConfigError(
                f"data.crop_size ({self.data.crop_size}) must be a multiple of {multiple} for generator "
                f"{generator.name}; use a crop of {max(multiple, self.data.crop_size // multiple * multiple)} "
                "or a generator with fewer levels (e.g. unet_128 for 128-pixel crops)"
            )
        if self.method.data_kind not in DATA_KINDS:
            raise ConfigError(f"method.name: {self.method.name} reads data of kind '{self.method.data_kind}', unknown")
        best = self.train.best_metric
        if best is not None:
            valid = self.method.validation_metrics(self.data)
            if best not in valid:
                raise ConfigError(
                    f"train.best_metric: {self.method.name} does not report {best!r}{did_you_mean(best, valid)}; "
                    f"valid: {', '.join(sorted(valid))}, or null to keep the final weights"
                )

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.name

    def generator_slots(self) -> list[GeneratorSlot]:
        """The method's translating generators for this data, the trained direction first."""
        return self.method.generator_slots(self.data)

    def preprocessing(self, slot: GeneratorSlot | None = None) -> Preprocessing | ClassifierPreprocessing:
        """How images are prepared for a generator of this run (default: the trained direction's) at validation,
        evaluation and translation time; a ``reverse`` slot gets the swapped channels and direction. A classifier's
        run gets its classifier's preprocessing."""
        if slot is None and not self.generator_slots():
            return self.method.preprocessing(self.data)  # type: ignore[attr-defined]
        slot = slot or self.generator_slots()[0]
        pre = Preprocessing(
            input_channels=self.data.input_channels,
            output_channels=self.data.output_channels,
            direction=self.data.direction,
            size_multiple=slot.config.size_multiple,
            infer_size=self.data.infer_size,
            resize_mode=self.data.resize_mode,
            bn_inference=resolve_bn_inference(slot.config, self.train.batch_size),
            fixed_size=slot.config.fixed_size,
        )
        return pre.reversed() if slot.reverse else pre


def build_raw(path: str | Path | None = None, overrides: Sequence[str] | dict[str, Any] = ()) -> dict[str, Any]:
    """Merges a YAML recipe (optional) with overrides into the plain dict a RunConfig is built from."""
    raw = read_yaml(path) if path else {}
    try:
        # A malformed section of the recipe (data: 5) is named with the file, before overrides are merged into it.
        check_sections(RunConfig, raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    extra = overrides if isinstance(overrides, dict) else parse_overrides(overrides)
    return merge(raw, extra)


def load_config(path: str | Path | None = None, overrides: Sequence[str] | dict[str, Any] = ()) -> RunConfig:
    """Builds a validated RunConfig from a recipe file and ``--section.key=value`` overrides."""
    return from_dict(RunConfig, build_raw(path, overrides))
