"""How pixels are prepared for a network (a generator, or a classifier) and read back from it: part of every
release's ``config.json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from i2i.direction import opposite

if TYPE_CHECKING:  # torch-free at run time: the ONNX runtime (``portable``) reads releases with these classes
    from i2i.models.base import GeneratorConfig


@dataclass(frozen=True)
class Preprocessing:
    """The inference contract of one generator (one direction of a model)."""

    input_channels: int
    output_channels: int
    direction: str = "AtoB"
    normalize: tuple[float, float] = (-1.0, 1.0)  # uint8 0..255 maps linearly onto this range
    size_multiple: int = 1
    infer_size: int | None = None
    resize_mode: str = "bicubic"
    bn_inference: str = "running"  # per_image | running
    fixed_size: int | None = None  # generators built for one square size: inputs are resized to it and back

    def reversed(self) -> Preprocessing:
        """The preprocessing of a generator that maps the other way (channels and direction swapped)."""
        return replace(
            self,
            input_channels=self.output_channels,
            output_channels=self.input_channels,
            direction=opposite(self.direction),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, as a release stores it."""
        data = asdict(self)
        data["normalize"] = list(self.normalize)
        return data


def resolve_bn_inference(gen_cfg: GeneratorConfig, train_batch_size: int) -> str:
    """Turns a generator's ``bn_inference`` setting ('auto' included) into 'per_image' or 'running'."""
    mode = getattr(gen_cfg, "bn_inference", "running")
    if mode == "auto":
        return "per_image" if train_batch_size == 1 else "running"
    return mode


@dataclass(frozen=True)
class ClassifierPreprocessing:
    """The inference contract of a classifier: every image is converted to ``input_channels``, resized to
    ``image_size`` squared (its aspect ratio is not kept: training saw the same) and mapped onto ``normalize``."""

    input_channels: int
    image_size: int
    resize_mode: str = "bilinear"
    normalize: tuple[float, float] = (-1.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["normalize"] = list(self.normalize)
        return data
