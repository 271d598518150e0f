"""How pixels are prepared for a network (a generator, or a classifier) and read back from it: part of every
release's ``config.json``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from i2i.direction import opposite
from i2i.errors import ModelInputError
from i2i.imageio import max_pixels as default_max_pixels
from i2i.portable.pixels import short_side_size

if TYPE_CHECKING:  # torch-free at run time: the ONNX runtime (``portable``) reads releases with these classes
    from i2i.models.base import GeneratorConfig


# The most elongated image a generator takes (long side : short side). Padding each side up to the size multiple
# costs a thin image far more than its own pixels (a 65536x1 line padded to 256 rows is 256 times itself), and no
# model was trained on such shapes: past this ratio an image is refused rather than padded.
MAX_ASPECT = 16


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

    def network_size(self, height: int, width: int) -> tuple[int, int]:
        """The (h, w) the network runs at for a ``height`` x ``width`` input: ``fixed_size`` squared, or the input
        with its shorter side resized to ``infer_size``, padded up to the size multiple."""
        if self.fixed_size is not None:
            height = width = self.fixed_size
        elif self.infer_size is not None:
            height, width = short_side_size(height, width, self.infer_size)
        multiple = self.size_multiple
        return math.ceil(height / multiple) * multiple, math.ceil(width / multiple) * multiple

    def check_size(self, height: int, width: int, max_pixels: int | None = None) -> None:
        """Refuses, before anything is allocated for it, a ``height`` x ``width`` input the network would run on at
        more than ``max_pixels`` pixels (after resizing and padding; None: i2i's pixel limit, ``imageio.max_pixels``),
        or one too elongated to pad (``MAX_ASPECT``; not for fixed-size networks, which resize every image to their
        square): ModelInputError, 413 or 422."""
        if max_pixels is None:
            max_pixels = default_max_pixels()
        if self.fixed_size is None and max(height, width) > MAX_ASPECT * min(height, width):
            raise ModelInputError(
                f"a {width}x{height} image is too elongated for this model (sides over {MAX_ASPECT}:1; padded to a "
                f"multiple of {self.size_multiple} it would cost far more than its own pixels); crop it or cut it "
                "into pieces"
            )
        net_h, net_w = self.network_size(height, width)
        if net_h * net_w > max_pixels:
            raise ModelInputError(
                f"a {width}x{height} image is too large for this model: it runs at {net_w}x{net_h} = "
                f"{net_h * net_w:,} pixels (resized and padded to a multiple of {self.size_multiple}), over the "
                f"limit of {max_pixels:,} pixels",
                413,
            )


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
