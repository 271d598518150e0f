"""Paired datasets: layout detection, a pre-scan that reports every bad file at once, and the torch Dataset.

Layouts (``root`` is the dataset folder):
- ``aligned``: ``root/<split>/name.jpg`` holds A and B side by side (the pix2pix facades format).
- ``folders``: ``root/A/<split>/name.png`` and ``root/B/<split>/name.png``, matched by file stem
  (``root/<split>/A`` and ``root/<split>/B`` work too).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from i2i.data.config import DataConfig
from i2i.data.io import IMAGE_EXTENSIONS, ImageReadError, is_image_file, read_image, to_channels
from i2i.data.processing import to_tensor
from i2i.data.transforms import augment_pair
from i2i.errors import DatasetError
from i2i.registry import Registry


@dataclass(frozen=True)
class PairRecord:
    """One training pair: an A|B file (``path_b`` is None) or two files matched by name."""

    name: str
    path_a: str
    path_b: str | None = None


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class ScanReport:
    """What a pre-scan of one split found: usable pairs, every problem, and how many non-image files it ignored."""

    root: str
    split: str
    layout: str
    records: list[PairRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ignored: int = 0

    def contents(self) -> str:
        """What the usable part of the split holds, for the summary line."""
        return f"{len(self.records)} pairs"

    def summary(self) -> str:
        text = f"{self.root} [{self.split}, {self.layout}]: {self.contents()}"
        if self.problems:
            text += f", {len(self.problems)} bad"
        if self.ignored:
            text += f", {self.ignored} non-image files ignored"
        return text

    def check(self, skip_bad: bool) -> None:
        """Raises DatasetError listing every problem unless ``skip_bad``; refuses a split with no usable pairs."""
        if self.problems and not skip_bad:
            lines = "\n".join(f"  {p}" for p in self.problems)
            raise DatasetError(
                f"{self.root} [{self.split}] has {len(self.problems)} bad file(s):\n{lines}\n"
                "fix or remove them, or pass --data.skip_bad=true to train without them"
            )
        if not self.records:
            raise DatasetError(f"{self.root} [{self.split}]: no usable image pairs")


def _images_in(folder: Path) -> tuple[list[Path], int]:
    """Image files directly in ``folder`` (sorted) and the number of other files."""
    images, other = [], 0
    for entry in sorted(folder.iterdir()):
        if not entry.is_file():
            continue
        if is_image_file(entry) and not entry.name.startswith("."):  # hidden files (._x.png) are never images
            images.append(entry)
        else:
            other += 1
    return images, other


def detect_layout(root: str | Path) -> str:
    """Returns 'aligned' or 'folders' for a dataset root; raises DatasetError when neither fits."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}")
    if (root / "A").is_dir() and (root / "B").is_dir():
        return "folders"
    splits = [p for p in root.iterdir() if p.is_dir()]
    if any((p / "A").is_dir() and (p / "B").is_dir() for p in splits):
        return "folders"
    if any(any(is_image_file(f) for f in p.iterdir()) for p in splits):
        return "aligned"
    raise DatasetError(
        f"{root}: no dataset layout found (expected <split>/ folders of A|B images, or A/<split> and B/<split>)"
    )


def _split_dir(root: Path, split: str, side: str | None) -> Path:
    if side is None:
        return root / split
    first = root / side / split
    return first if first.is_dir() else root / split / side


def _available_splits(root: Path, layout: str) -> list[str]:
    base = root / "A" if layout == "folders" and (root / "A").is_dir() else root
    return sorted(p.name for p in base.iterdir() if p.is_dir() and p.name not in ("A", "B"))


def list_pairs(root: str | Path, split: str, layout: str = "auto") -> ScanReport:
    """Lists the pairs of a split from file names alone; unmatched names become problems."""
    root = Path(root)
    if layout == "auto":
        layout = detect_layout(root)
    report = ScanReport(str(root), split, layout)
    sides = [None] if layout == "aligned" else ["A", "B"]
    folders = [_split_dir(root, split, side) for side in sides]
    for folder in folders:
        if not folder.is_dir():
            found = ", ".join(_available_splits(root, layout)) if root.is_dir() else "nothing"
            raise DatasetError(f"{root}: split '{split}' not found (no folder {folder}; splits found: {found})")
    if layout == "aligned":
        images, report.ignored = _images_in(folders[0])
        report.records = [PairRecord(p.stem, str(p)) for p in images]
    else:
        (images_a, ignored_a), (images_b, ignored_b) = _images_in(folders[0]), _images_in(folders[1])
        report.ignored = ignored_a + ignored_b
        by_stem_a, by_stem_b = _by_stem(images_a, report), _by_stem(images_b, report)
        for stem in sorted(by_stem_a.keys() | by_stem_b.keys()):
            if stem not in by_stem_b:
                report.problems.append(Problem(str(by_stem_a[stem]), f"no matching file in {folders[1]}"))
            elif stem not in by_stem_a:
                report.problems.append(Problem(str(by_stem_b[stem]), f"no matching file in {folders[0]}"))
            else:
                report.records.append(PairRecord(stem, str(by_stem_a[stem]), str(by_stem_b[stem])))
    if not report.records and not report.problems:
        exts = ", ".join(sorted(IMAGE_EXTENSIONS))
        where = " and ".join(str(f) for f in folders)
        raise DatasetError(f"no images found in {where} (looked for {exts})")
    return report


def _by_stem(paths: Iterable[Path], report: ScanReport) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in paths:
        if p.stem in out:
            report.problems.append(Problem(str(p), f"same name as {out[p.stem].name}; cannot tell which one pairs"))
            continue
        out[p.stem] = p
    return out


def load_pair(record: PairRecord, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """Decodes one pair as (input, target) uint8 arrays, applying the direction and channel counts of ``cfg``."""
    if record.path_b is None:
        both = read_image(record.path_a, channels=3)
        width = both.shape[1]
        if width % 2:
            raise ImageReadError(record.path_a, f"odd width {width}: an A|B file must hold two halves of equal width")
        a, b = both[:, : width // 2], both[:, width // 2 :]
    else:
        a, b = read_image(record.path_a, channels=3), read_image(record.path_b, channels=3)
    if cfg.direction == "BtoA":
        a, b = b, a
    return to_channels(a, cfg.input_channels), to_channels(b, cfg.output_channels)


def verify_pairs(report: ScanReport, cfg: DataConfig, workers: int | None = None) -> ScanReport:
    """Decodes every pair fully (in threads: Pillow releases the GIL) and moves failures into ``report.problems``."""

    def check(record: PairRecord) -> Problem | None:
        try:
            load_pair(record, cfg)
        except ImageReadError as exc:
            return Problem(exc.path, exc.reason)
        return None

    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(check, report.records))
    good = [r for r, problem in zip(report.records, results, strict=True) if problem is None]
    report.problems.extend(p for p in results if p is not None)
    report.records = good
    return report


def scan_split(cfg: DataConfig, split: str, verify: bool = True) -> ScanReport:
    """Lists and (by default) fully decodes one split of ``cfg.root``."""
    report = list_pairs(cfg.root, split, cfg.layout)
    return verify_pairs(report, cfg) if verify else report


def holdout_split(records: list[PairRecord], fraction: float) -> tuple[list[PairRecord], list[PairRecord]]:
    """Splits records into (train, val) by a hash of each name: stable when files are added or the seed changes."""

    def bucket(record: PairRecord) -> float:
        digest = hashlib.sha1(record.name.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    train = [r for r in records if bucket(r) >= fraction]
    val = [r for r in records if bucket(r) < fraction]
    return train, val


class PairedDataset(Dataset):
    """Yields ``{"a": input, "b": target, "path_a", "path_b", "index"}`` with float (C, H, W) tensors in [-1, 1].

    ``a`` is always the network input and ``b`` the target: the direction is applied here, in one place.
    With ``train=True`` an item key is ``(index, seed)`` from the epoch sampler, and the pair is augmented with
    parameters drawn from that seed; otherwise a key is an index and images keep their native size.
    """

    def __init__(self, records: list[PairRecord], cfg: DataConfig, train: bool) -> None:
        self.records = records
        self.cfg = cfg
        self.train = train

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, seed = key if isinstance(key, tuple) else (key, 0)
        record = self.records[index]
        a, b = load_pair(record, self.cfg)
        ta, tb = to_tensor(a), to_tensor(b)
        if self.train:
            ta, tb = augment_pair(ta, tb, self.cfg, seed)
        return {
            "a": ta,
            "b": tb,
            "path_a": record.path_a,
            "path_b": record.path_b or record.path_a,
            "index": torch.tensor(index),
        }


DATA_KINDS: Registry[type] = Registry("data kind")


@DATA_KINDS.register("paired")
class PairedData:
    """The paired data kind: what the trainer needs from a dataset, for methods that learn from (input, target).

    Every data kind offers the same four operations, so the training loop never needs to know which it has:
    ``scan`` a split, split off a ``holdout``, make the augmented ``train_dataset``, and ``load_example`` one
    validation example at its native size as uint8 arrays.
    """

    unit = "pairs"

    def __init__(self, cfg: DataConfig) -> None:
        self.cfg = cfg

    def scan(self, split: str) -> ScanReport:
        return scan_split(self.cfg, split)

    def holdout(self, records: list[PairRecord], fraction: float) -> tuple[list[PairRecord], list[PairRecord]]:
        return holdout_split(records, fraction)

    def train_dataset(self, records: list[PairRecord]) -> PairedDataset:
        return PairedDataset(records, self.cfg, train=True)

    def device_cache(self, records: list[PairRecord], device: torch.device) -> tuple[Any, str]:
        """The split decoded once for batched augmentation on ``device`` per ``data.cache`` (None: use workers)."""
        from i2i.data.device_data import PairCache, plan_cache

        placement, reason = plan_cache(records, self.cfg, device, self.cfg.cache)
        return (PairCache(records, self.cfg, device, placement) if placement else None), reason

    def load_example(self, record: PairRecord) -> dict[str, np.ndarray]:
        """``{"a": input, "b": target}`` as (H, W, C) uint8 arrays, direction and channels applied."""
        a, b = load_pair(record, self.cfg)
        return {"a": a, "b": b}
