"""The class-folder data kind (classifiers): ``root/<split>/<class>/*.png``, one folder per category.

The categories are the training split's class folders that hold images, sorted by name; their order is the label
index. Other splits are read with those categories: a class folder the training split lacks is a problem (the model
could never predict it), and a category with no images in a split is named in a warning (its per-class accuracy is
not reported). An empty class folder in the training split is a problem: a category with nothing to learn from.

Training augmentation is sketch-appropriate and drawn from each sample's seed (``training.sampler``): strokes
thickened by 0-2 pixels at native size (people draw with pens of every width), the image resized to ``crop_size``,
a small random affine (±10° rotation, 0.9-1.1 scale, ±8 % shift; uncovered corners white) and a horizontal flip
(``data.flip``) except for the categories in ``data.no_flip`` (those whose mirror image is another thing, e.g.
digits or letters).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from i2i.data.config import DataConfig
from i2i.data.kinds import DATA_KINDS, ScanReport, folder_images, unreadable
from i2i.data.processing import resize, to_tensor
from i2i.errors import DatasetError, show_path
from i2i.imageio import read_image
from i2i.layouts import Problem, require_folder, scan_folder
from i2i.splits import HOLDOUT_SEED, split_of

log = logging.getLogger(__name__)

MAX_ROTATION = 10.0  # degrees
SCALE_RANGE = (0.9, 1.1)
MAX_SHIFT = 0.08  # of the image side
MAX_STROKE_GROWTH = 2  # pixels


@dataclass(frozen=True)
class ClassRecord:
    """One labelled image: its file, its category's index and name."""

    name: str
    path: str
    label: int
    category: str


@dataclass
class ClassScanReport(ScanReport):
    """A scan of one class-folder split: its labelled images and the categories they use."""

    classes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # categories of the model with no image in this split

    def contents(self) -> str:
        return f"{len(self.records)} images of {len(self.classes) - len(self.missing)} categories"

    def check(self, skip_bad: bool) -> None:
        if self.problems and not skip_bad:
            super().check(skip_bad)
        if not self.records:
            raise DatasetError(f"{self.root} [{self.split}]: no usable images")


def class_folders(root: Path, split: str) -> list[Path]:
    """The category folders of a split (``root/<split>/<category>``), refusing a split that is no such folder."""
    split_root = root / split
    if not split_root.is_dir():
        found = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise DatasetError(
            f"{show_path(root)}: split '{split}' not found (no folder {show_path(split_root)}; "
            f"splits found: {', '.join(found) or 'nothing'})"
        )
    scan = scan_folder(split_root)
    if not scan.folders:
        raise DatasetError(
            f"{show_path(split_root)}: no category folders; a class-folder dataset is <split>/<category>/<images>"
        )
    return scan.folders


def list_classes(root: str | Path, split: str, classes: list[str] | None) -> ClassScanReport:
    """Lists the labelled images of a split from file names alone. ``classes``: the categories labels index (None:
    this split's non-empty folders, sorted: how the training split defines them)."""
    root = require_folder(root)
    report = ClassScanReport(str(root), split, "class folders")
    images: dict[str, list[Path]] = {}
    for folder in class_folders(root, split):
        if not folder.name.isprintable() or folder.name != folder.name.strip():
            # a category name becomes a label in releases and in every line `i2i classify` prints
            report.problems.append(Problem(str(folder), "a category name must be printable text (rename the folder)"))
            continue
        found = folder_images(folder, report)
        if not found:
            report.problems.append(Problem(str(folder), "no images in this category folder"))
            continue
        images[folder.name] = found
    if classes is None:
        classes = sorted(images)
    index = {name: i for i, name in enumerate(classes)}
    for category, paths in sorted(images.items()):
        if category not in index:
            report.problems.append(Problem(str(root / split / category), "a category the training split does not have"))
            continue
        report.records += [ClassRecord(f"{category}/{p.stem}", str(p), index[category], category) for p in paths]
    report.classes = list(classes)
    report.missing = [c for c in classes if c not in images]
    return report


def load_image(record: ClassRecord, cfg: DataConfig) -> np.ndarray:
    return read_image(record.path, channels=cfg.input_channels)


def augment_image(x: torch.Tensor, cfg: DataConfig, category: str, seed: int) -> torch.Tensor:
    """A float (C, H, W) image in [-1, 1] augmented with parameters drawn from ``seed`` (see the module docstring);
    returns (C, crop_size, crop_size)."""
    generator = torch.Generator().manual_seed(seed)
    r = torch.rand(6, generator=generator).tolist()  # always six draws: the stream does not depend on the image
    grow = int(r[0] * (MAX_STROKE_GROWTH + 1))
    if grow:  # dark strokes on a light page: a min-filter widens them
        x = -F.max_pool2d(-x.unsqueeze(0), 2 * grow + 1, stride=1, padding=grow).squeeze(0)
    size = cfg.crop_size
    x = resize(x.unsqueeze(0), (size, size), cfg.resize_mode)
    angle = math.radians((2 * r[1] - 1) * MAX_ROTATION)
    scale = SCALE_RANGE[0] + r[2] * (SCALE_RANGE[1] - SCALE_RANGE[0])
    tx, ty = ((2 * r[3] - 1) * MAX_SHIFT * 2, (2 * r[4] - 1) * MAX_SHIFT * 2)  # affine_grid works in [-1, 1] units
    flip = cfg.flip and category not in cfg.no_flip and r[5] < 0.5
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    sx = -1.0 if flip else 1.0
    theta = torch.tensor([[[cos * sx, -sin, tx], [sin * sx, cos, ty]]], dtype=x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # Sampled as (x - 1) so that the zeros grid_sample fills uncovered corners with become white (+1).
    out = F.grid_sample(x - 1.0, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 1.0
    return out.squeeze(0).clamp_(-1.0, 1.0)


class ClassDataset(Dataset):
    """Training samples ``{"a": image, "label", "index", "path_a"}`` for epoch-sampler keys ``(index, seed)``: each
    image augmented with parameters drawn from its seed (``augment_image``)."""

    def __init__(self, records: list[ClassRecord], cfg: DataConfig) -> None:
        self.records, self.cfg = records, cfg

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, seed = key if isinstance(key, tuple) else (key, 0)
        record = self.records[index]
        x = augment_image(to_tensor(load_image(record, self.cfg)), self.cfg, record.category, seed)
        return {"a": x, "label": torch.tensor(record.label), "index": torch.tensor(index), "path_a": record.path}


@DATA_KINDS.register("classes")
class ClassData:
    """The class-folder data kind: what the trainer needs from a dataset, for methods that learn categories.

    ``classes`` are the categories labels index; None until the training split is scanned (which sets them), or
    given beforehand (a model's labels, when scoring it).
    """

    unit = "images"

    def __init__(self, cfg: DataConfig, classes: list[str] | None = None) -> None:
        self.cfg = cfg
        self.classes = classes

    def scan(self, split: str) -> ClassScanReport:
        report = list_classes(self.cfg.root, split, self.classes)
        if self.classes is None:
            self.classes = report.classes
        results = unreadable(report.records, lambda record: load_image(record, self.cfg))
        report.problems.extend(p for p in results if p is not None)
        report.records = [r for r, problem in zip(report.records, results, strict=True) if problem is None]
        if report.missing and split != self.cfg.train_split:
            log.warning(
                "%s [%s] has no images of %d categor%s: %s (no per-class accuracy for %s)",
                show_path(report.root),
                split,
                len(report.missing),
                "y" if len(report.missing) == 1 else "ies",
                ", ".join(report.missing),
                "it" if len(report.missing) == 1 else "them",
            )
        return report

    def holdout(self, records: list[ClassRecord], fraction: float) -> tuple[list[ClassRecord], list[ClassRecord]]:
        """(train, val) by the one split scheme (``i2i.splits``), keyed by ``<category>/<file stem>``."""
        splits = split_of([r.name for r in records], (1.0 - fraction, fraction), HOLDOUT_SEED)
        train = [r for r, s in zip(records, splits, strict=True) if s == "train"]
        val = [r for r, s in zip(records, splits, strict=True) if s == "val"]
        return train, val

    def train_dataset(self, records: list[ClassRecord]) -> ClassDataset:
        return ClassDataset(records, self.cfg)

    def device_cache(self, records: list[ClassRecord], device: torch.device) -> tuple[Any, str]:
        return None, "the class-folder kind loads with workers (its images may differ in size)"

    def load_example(self, record: ClassRecord) -> dict[str, Any]:
        """``{"a": image, "label": index}``, the image as a (H, W, C) uint8 array at native size, and its file."""
        return {"a": load_image(record, self.cfg), "label": record.label, "path_a": record.path}
