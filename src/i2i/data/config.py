"""DataConfig: where a dataset is, how it is laid out, and how its images are prepared for the networks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from i2i.config import MAX_IMAGE_SIDE, check_bounds, opt
from i2i.direction import Direction
from i2i.errors import ConfigError

Layout = Literal["auto", "aligned", "folders"]
Preprocess = Literal["resize_and_crop", "crop", "resize"]
ResizeMode = Literal["bicubic", "bilinear", "nearest"]
CacheMode = Literal["auto", "device", "host", "off"]


@dataclass
class DataConfig:
    root: str = opt("datasets/facades-mini", "dataset folder (A|B files in <split>/, or A/<split> + B/<split>)")
    layout: Layout = opt("auto", "aligned = A|B side-by-side files; folders = A/ and B/ matched by name; auto detects")
    direction: Direction = opt("AtoB", "AtoB: A is the input and B the target; BtoA swaps them")
    input_channels: int = opt(3, "channels of the network input: 1 (grayscale) or 3 (RGB)")
    output_channels: int = opt(3, "channels of the network output: 1 or 3")
    train_split: str = opt("train", "split used for training")
    val_split: str | None = opt("val", "split used for validation; null disables validation")
    holdout: float = opt(
        0.0, "fraction of the training split held out for validation (used when val_split is null)", ge=0, lt=1
    )
    preprocess: Preprocess = opt(
        "resize_and_crop",
        "resize_and_crop: resize to load_size then random crop; crop: random crop at native scale; "
        "resize: resize to crop_size",
    )
    load_size: int = opt(286, "square size images are resized to before cropping", ge=1, le=MAX_IMAGE_SIDE)
    crop_size: int = opt(256, "square size of the training crops", ge=1, le=MAX_IMAGE_SIDE)
    resize_mode: ResizeMode = opt("bicubic", "interpolation used for resizing")
    flip: bool = opt(True, "random horizontal flip of both images of a pair (classes data: of the image)")
    no_flip: list[str] = opt(
        help="classes data: categories never flipped (their mirror image is another thing, e.g. digits)",
        factory=list,
    )
    infer_size: int | None = opt(
        None,
        "at validation/eval/translate, resize the shorter side to this before the generator (null = native)",
        ge=1,
        le=MAX_IMAGE_SIDE,
    )
    skip_bad: bool = opt(False, "train without unreadable or mismatched files instead of refusing the dataset")
    num_workers: int = opt(
        2,
        "data-loading worker processes (0 = load in the main process); training ignores them while data.cache is on",
        ge=0,
        le=1024,
    )
    cache: CacheMode = opt(
        "auto",
        "decode the training split once into a uint8 cache and augment whole batches on the training device "
        "(the same augmentation as without it); auto: in GPU memory when it takes at most a quarter of the free "
        "memory, else in pinned host memory; off on the CPU or when images differ in size; device/host: force "
        "a placement; off: DataLoader workers decode every sample",
    )

    def __post_init__(self) -> None:
        check_bounds(self)
        for name in ("input_channels", "output_channels"):
            if getattr(self, name) not in (1, 3):
                raise ConfigError(f"{name}: must be 1 or 3, got {getattr(self, name)}")
        if self.preprocess == "resize_and_crop" and self.load_size < self.crop_size:
            raise ConfigError(f"load_size ({self.load_size}) must be at least crop_size ({self.crop_size})")
