"""Unpaired datasets (CycleGAN, U-GAT-IT): two collections of images, one per domain, with no correspondence.

Layout (``root`` is the dataset folder): ``root/<split>A`` and ``root/<split>B`` (``trainA``, ``trainB``,
``testA``, ``testB``, as the CycleGAN and U-GAT-IT datasets ship), or ``root/A/<split>`` and ``root/B/<split>``.
The two domains may hold different numbers of images, of different sizes.

An epoch has ``max(len(A), len(B))`` samples. Sample ``i`` takes image ``i mod len(A)`` of A and a B image drawn
at random from the sample's seed (``training.sampler``), so B is shuffled afresh every epoch, reproducibly, and a
resumed run sees the same draws. A and B are augmented independently (their own crop and flip), also from that seed.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from i2i.data.config import DataConfig
from i2i.data.datasets import DATA_KINDS, Problem, ScanReport, _images_in
from i2i.data.io import IMAGE_EXTENSIONS, ImageReadError, read_image
from i2i.data.processing import to_tensor
from i2i.data.transforms import apply_params, sample_params
from i2i.errors import DatasetError


@dataclass(frozen=True)
class UnpairedRecord:
    """Sample ``i`` of an unpaired split: A image ``i mod len(A)`` beside B image ``i mod len(B)``.

    Training draws its B image at random instead (``UnpairedDataset``); validation and sample grids use this fixed
    pairing, which shows one image of each domain per row.
    """

    name: str
    path_a: str
    path_b: str


@dataclass
class UnpairedReport(ScanReport):
    """A scan of an unpaired split: the images of each domain and the samples (records) built from them."""

    images_a: list[str] = field(default_factory=list)
    images_b: list[str] = field(default_factory=list)

    def rebuild(self) -> None:
        self.records = pair_domains(self.images_a, self.images_b)

    def contents(self) -> str:
        return f"{len(self.images_a)} A and {len(self.images_b)} B images"


def pair_domains(images_a: list[str], images_b: list[str]) -> list[UnpairedRecord]:
    """``max(len(A), len(B))`` records cycling through both domains (none when either domain is empty)."""
    if not images_a or not images_b:
        return []
    n = max(len(images_a), len(images_b))
    return [
        UnpairedRecord(Path(images_a[i % len(images_a)]).stem, images_a[i % len(images_a)], images_b[i % len(images_b)])
        for i in range(n)
    ]


def domain_dirs(root: Path, split: str) -> tuple[Path, Path]:
    """The A and B folders of ``split``: ``<split>A``/``<split>B``, else ``A/<split>``/``B/<split>``."""
    first = (root / f"{split}A", root / f"{split}B")
    second = (root / "A" / split, root / "B" / split)
    for a, b in (first, second):
        if a.is_dir() or b.is_dir():
            return a, b
    return first


def list_unpaired(root: str | Path, split: str) -> UnpairedReport:
    """Lists both domains of a split from file names alone."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}")
    dir_a, dir_b = domain_dirs(root, split)
    for folder in (dir_a, dir_b):
        if not folder.is_dir():
            found = sorted(p.name for p in root.iterdir() if p.is_dir())
            raise DatasetError(
                f"{root}: split '{split}' not found (no folder {folder}; an unpaired dataset holds "
                f"{split}A/ and {split}B/; folders found: {', '.join(found) or 'none'})"
            )
    report = UnpairedReport(str(root), split, "unpaired")
    (images_a, ignored_a), (images_b, ignored_b) = _images_in(dir_a), _images_in(dir_b)
    report.ignored = ignored_a + ignored_b
    for folder, images in ((dir_a, images_a), (dir_b, images_b)):
        if not images:
            exts = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise DatasetError(f"no images found in {folder} (looked for {exts})")
    report.images_a, report.images_b = [str(p) for p in images_a], [str(p) for p in images_b]
    report.rebuild()
    return report


def _domain_channels(cfg: DataConfig) -> tuple[int, int]:
    """Channels of the dataset's A and B images: the network input is A unless the direction is BtoA."""
    if cfg.direction == "BtoA":
        return cfg.output_channels, cfg.input_channels
    return cfg.input_channels, cfg.output_channels


def verify_unpaired(report: UnpairedReport, cfg: DataConfig, workers: int | None = None) -> UnpairedReport:
    """Decodes every image fully (in threads) and moves failures into ``report.problems``."""
    ch_a, ch_b = _domain_channels(cfg)
    jobs = [(p, ch_a) for p in report.images_a] + [(p, ch_b) for p in report.images_b]

    def check(job: tuple[str, int]) -> Problem | None:
        try:
            read_image(job[0], channels=job[1])
        except ImageReadError as exc:
            return Problem(exc.path, exc.reason)
        return None

    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
        results = list(pool.map(check, jobs))
    bad = {str(job[0]) for job, problem in zip(jobs, results, strict=True) if problem is not None}
    report.problems.extend(p for p in results if p is not None)
    report.images_a = [p for p in report.images_a if p not in bad]
    report.images_b = [p for p in report.images_b if p not in bad]
    report.rebuild()
    return report


def _bucket(key: str) -> float:
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") / 2**64


def holdout_unpaired(
    records: list[UnpairedRecord], fraction: float
) -> tuple[list[UnpairedRecord], list[UnpairedRecord]]:
    """Splits each domain by a hash of its file names, so the held-out share is stable as files are added."""
    images_a, images_b = domains_of(records)
    held_a = [_bucket("A/" + Path(p).name) < fraction for p in images_a]
    held_b = [_bucket("B/" + Path(p).name) < fraction for p in images_b]
    train_a = [p for p, held in zip(images_a, held_a, strict=True) if not held]
    train_b = [p for p, held in zip(images_b, held_b, strict=True) if not held]
    val_a = [p for p, held in zip(images_a, held_a, strict=True) if held]
    val_b = [p for p, held in zip(images_b, held_b, strict=True) if held]
    return pair_domains(train_a, train_b), pair_domains(val_a, val_b)


def domains_of(records: list[UnpairedRecord]) -> tuple[list[str], list[str]]:
    """The distinct A and B images of a record list, in order."""
    return list(dict.fromkeys(r.path_a for r in records)), list(dict.fromkeys(r.path_b for r in records))


def draw_b(seed: int, count_b: int) -> tuple[torch.Generator, int]:
    """The B image of a training sample, and the seeded CPU stream its augmentations are drawn from next.

    Both sides' parameters follow in one stream (A first, then B), so the worker path and the decoded cache agree.
    """
    generator = torch.Generator().manual_seed(seed)
    return generator, int(torch.randint(count_b, (1,), generator=generator))


class UnpairedDataset(Dataset):
    """Yields ``{"a", "b", "path_a", "path_b", "index"}``: float (C, crop, crop) tensors in [-1, 1].

    ``a`` is always the network input domain and ``b`` the output domain (the direction is applied here).
    Keys are ``(index, seed)`` from the epoch sampler.
    """

    def __init__(self, records: list[UnpairedRecord], cfg: DataConfig) -> None:
        self.records = records
        self.cfg = cfg
        images_a, images_b = domains_of(records)
        self.images_b = images_a if cfg.direction == "BtoA" else images_b  # the output domain

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        index, seed = key
        record = self.records[index]
        path_a = record.path_b if self.cfg.direction == "BtoA" else record.path_a
        a = to_tensor(read_image(path_a, channels=self.cfg.input_channels))
        generator, b_index = draw_b(seed, len(self.images_b))
        path_b = self.images_b[b_index]
        b = to_tensor(read_image(path_b, channels=self.cfg.output_channels))
        params_a = sample_params(a.shape[-2], a.shape[-1], self.cfg, generator)
        params_b = sample_params(b.shape[-2], b.shape[-1], self.cfg, generator)
        return {
            "a": apply_params(a, params_a, self.cfg),
            "b": apply_params(b, params_b, self.cfg),
            "path_a": path_a,
            "path_b": path_b,
            "index": torch.tensor(index),
        }


@DATA_KINDS.register("unpaired")
class UnpairedData:
    """The unpaired data kind: the trainer's four operations (see ``datasets.PairedData``) for two domains."""

    unit = "samples"

    def __init__(self, cfg: DataConfig) -> None:
        self.cfg = cfg

    def scan(self, split: str) -> UnpairedReport:
        return verify_unpaired(list_unpaired(self.cfg.root, split), self.cfg)

    def holdout(
        self, records: list[UnpairedRecord], fraction: float
    ) -> tuple[list[UnpairedRecord], list[UnpairedRecord]]:
        return holdout_unpaired(records, fraction)

    def train_dataset(self, records: list[UnpairedRecord]) -> UnpairedDataset:
        return UnpairedDataset(records, self.cfg)

    def device_cache(self, records: list[UnpairedRecord], device: torch.device) -> tuple[Any, str]:
        from i2i.data.device_data import UnpairedCache, plan_unpaired_cache

        placement, reason = plan_unpaired_cache(records, self.cfg, device, self.cfg.cache)
        return (UnpairedCache(records, self.cfg, device, placement) if placement else None), reason

    def load_example(self, record: UnpairedRecord) -> dict[str, np.ndarray]:
        """``{"a": input-domain image, "b": output-domain image}`` as (H, W, C) uint8 arrays at native size."""
        path_a, path_b = record.path_a, record.path_b
        if self.cfg.direction == "BtoA":
            path_a, path_b = path_b, path_a
        return {
            "a": read_image(path_a, channels=self.cfg.input_channels),
            "b": read_image(path_b, channels=self.cfg.output_channels),
        }
