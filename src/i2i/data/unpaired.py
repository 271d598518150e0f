"""Unpaired datasets (CycleGAN, U-GAT-IT): two collections of images, one per domain, with no correspondence.

Layout (``root`` is the dataset folder): ``root/<split>A`` and ``root/<split>B`` (``trainA``, ``trainB``,
``testA``, ``testB``, as the CycleGAN and U-GAT-IT datasets ship), or ``root/A/<split>`` and ``root/B/<split>``.
The two domains may hold different numbers of images, of different sizes.

An epoch has ``max(len(A), len(B))`` samples. Sample ``i`` takes image ``i mod len(A)`` of A and a B image drawn
at random from the sample's seed (``training.sampler``), so B is shuffled afresh every epoch, reproducibly, and a
resumed run sees the same draws. A and B are augmented independently (their own crop and flip), also from that seed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from i2i.data import cache
from i2i.data.config import DataConfig
from i2i.data.kinds import DATA_KINDS, ScanReport, folder_images, unreadable
from i2i.data.processing import to_tensor
from i2i.data.transforms import apply_params, sample_params
from i2i.direction import oriented
from i2i.errors import DatasetError
from i2i.imageio import IMAGE_EXTENSIONS, probe_image, read_image
from i2i.layouts import domain_dirs
from i2i.parallel import default_workers
from i2i.splits import HOLDOUT_SEED, split_of

log = logging.getLogger(__name__)


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
    images_a, images_b = folder_images(dir_a, report), folder_images(dir_b, report)
    for folder, images in ((dir_a, images_a), (dir_b, images_b)):
        if not images:
            exts = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise DatasetError(f"no images found in {folder} (looked for {exts})")
    report.images_a, report.images_b = [str(p) for p in images_a], [str(p) for p in images_b]
    report.rebuild()
    return report


def _domain_channels(cfg: DataConfig) -> tuple[int, int]:
    """Channels of the dataset's A and B images (the input and output domains are A and B oriented by direction)."""
    return oriented(cfg.input_channels, cfg.output_channels, cfg.direction)


def verify_unpaired(report: UnpairedReport, cfg: DataConfig, workers: int | None = None) -> UnpairedReport:
    """Decodes every image fully and moves failures into ``report.problems``."""
    ch_a, ch_b = _domain_channels(cfg)
    jobs = [(p, ch_a) for p in report.images_a] + [(p, ch_b) for p in report.images_b]
    results = unreadable(jobs, lambda job: read_image(job[0], channels=job[1]), workers)
    bad = {job[0] for job, problem in zip(jobs, results, strict=True) if problem is not None}
    report.problems.extend(p for p in results if p is not None)
    report.images_a = [p for p in report.images_a if p not in bad]
    report.images_b = [p for p in report.images_b if p not in bad]
    report.rebuild()
    return report


def holdout_unpaired(
    records: list[UnpairedRecord], fraction: float
) -> tuple[list[UnpairedRecord], list[UnpairedRecord]]:
    """Holds out each domain's share as ``i2i data split --seed 0`` would split that domain's files by stem."""
    train: list[list[str]] = []
    val: list[list[str]] = []
    for images in domains_of(records):
        splits = split_of([Path(p).stem for p in images], (1.0 - fraction, fraction), HOLDOUT_SEED)
        train.append([p for p, s in zip(images, splits, strict=True) if s == "train"])
        val.append([p for p, s in zip(images, splits, strict=True) if s == "val"])
    return pair_domains(*train), pair_domains(*val)


def domains_of(records: list[UnpairedRecord]) -> tuple[list[str], list[str]]:
    """The distinct A and B images of a record list, in order."""
    return list(dict.fromkeys(r.path_a for r in records)), list(dict.fromkeys(r.path_b for r in records))


def draw_b(seed: int, count_b: int) -> tuple[torch.Generator, int]:
    """The B image of a training sample, and the seeded CPU stream its augmentations are drawn from next.

    Both sides' parameters follow in one stream (A first, then B), so the worker path and the decoded cache agree.
    """
    generator = torch.Generator().manual_seed(seed)
    return generator, int(torch.randint(count_b, (1,), generator=generator))


def oriented_domains(records: Sequence[UnpairedRecord], cfg: DataConfig) -> tuple[list[str], list[str]]:
    """(input-domain, output-domain) image paths of ``records``, in the order the records cycle through them."""
    return oriented(*domains_of(list(records)), cfg.direction)


class UnpairedDataset(Dataset):
    """Yields ``{"a", "b", "path_a", "path_b", "index"}``: float (C, crop, crop) tensors in [-1, 1].

    ``a`` is always the network input domain and ``b`` the output domain. Keys are ``(index, seed)`` from the epoch
    sampler: sample ``index`` takes input image ``index mod N_in``, and its output-domain image and both sides'
    augmentations are drawn from ``seed``.
    """

    def __init__(self, records: list[UnpairedRecord], cfg: DataConfig) -> None:
        self.records = records
        self.cfg = cfg
        self.inputs, self.outputs = oriented_domains(records, cfg)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        index, seed = key
        path_a = self.inputs[index % len(self.inputs)]
        a = to_tensor(read_image(path_a, channels=self.cfg.input_channels))
        generator, b_index = draw_b(seed, len(self.outputs))
        path_b = self.outputs[b_index]
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


# --- the decoded cache ---------------------------------------------------------------------------------------------


def plan_unpaired_cache(
    records: Sequence[UnpairedRecord], cfg: DataConfig, device: torch.device, mode: str
) -> tuple[cache.Placement | None, str]:
    """Where the decoded cache goes (``cache.plan``): each domain is decoded once and must hold images of one size."""

    def measure() -> tuple[int, str]:
        total = 0
        for paths, channels, name in zip(
            oriented_domains(records, cfg),
            (cfg.input_channels, cfg.output_channels),
            ("input-domain images", "output-domain images"),
            strict=True,
        ):
            with ThreadPoolExecutor(max_workers=default_workers(io_bound=True)) as pool:
                sizes = [(info.height, info.width) for info in pool.map(probe_image, paths)]
            if problem := cache.one_size(sizes, name):
                return 0, problem
            total += len(paths) * channels * sizes[0][0] * sizes[0][1]
        return total, ""

    return cache.plan(len(records), device, mode, measure)  # type: ignore[arg-type]


class UnpairedCache:
    """Both domains of an unpaired split decoded once; serves the batches ``UnpairedDataset`` would give.

    Sample ``(index, seed)`` takes input image ``index mod N_in`` and the output image and both augmentations drawn
    from ``seed`` exactly as the dataset draws them, so on the CPU the batches are the same bit for bit.
    """

    def __init__(
        self, records: Sequence[UnpairedRecord], cfg: DataConfig, device: torch.device, placement: cache.Placement
    ) -> None:
        self.cfg = cfg
        self.device = torch.device(device)
        self.placement = placement
        self.paths_in, self.paths_out = oriented_domains(records, cfg)
        self.count = len(records)
        (self.a,) = self._decode(self.paths_in, cfg.input_channels)
        (self.b,) = self._decode(self.paths_out, cfg.output_channels)
        log.info(
            "cached %d + %d images (%s) in %s memory",
            len(self.paths_in),
            len(self.paths_out),
            cache.mib(self.nbytes),
            placement,
        )

    def _decode(self, paths: list[str], channels: int) -> list[torch.Tensor]:
        return cache.decode_stores(paths, lambda p: (read_image(p, channels),), str, self.device, self.placement)

    @property
    def nbytes(self) -> int:
        return cache.nbytes(self.a, self.b)

    def __len__(self) -> int:
        return self.count

    def batch(self, keys: Sequence[tuple[int, int]]) -> dict:
        rows_a, rows_b, params_a, params_b = [], [], [], []
        (ha, wa), (hb, wb) = self.a.shape[-2:], self.b.shape[-2:]
        for index, seed in keys:
            generator, b_index = draw_b(seed, len(self.paths_out))
            rows_a.append(index % len(self.paths_in))
            rows_b.append(b_index)
            params_a.append(sample_params(ha, wa, self.cfg, generator))
            params_b.append(sample_params(hb, wb, self.cfg, generator))
        ia, ib = torch.tensor(rows_a, dtype=torch.long), torch.tensor(rows_b, dtype=torch.long)
        return {
            "a": cache.apply_batch(cache.gather_rows(self.a, ia, self.device), params_a, self.cfg),
            "b": cache.apply_batch(cache.gather_rows(self.b, ib, self.device), params_b, self.cfg),
            "path_a": [self.paths_in[i] for i in rows_a],
            "path_b": [self.paths_out[i] for i in rows_b],
            "index": torch.tensor([index for index, _ in keys], dtype=torch.long),
        }


@DATA_KINDS.register("unpaired")
class UnpairedData:
    """The unpaired data kind: the trainer's operations (``i2i.data.kinds``) for two domains."""

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
        placement, reason = plan_unpaired_cache(records, self.cfg, device, self.cfg.cache)
        return (UnpairedCache(records, self.cfg, device, placement) if placement else None), reason

    def load_example(self, record: UnpairedRecord) -> dict[str, Any]:
        """``{"a": input-domain image, "b": output-domain image}`` as (H, W, C) uint8 arrays at native size, and
        their files."""
        path_a, path_b = oriented(record.path_a, record.path_b, self.cfg.direction)
        return {
            "a": read_image(path_a, channels=self.cfg.input_channels),
            "b": read_image(path_b, channels=self.cfg.output_channels),
            "path_a": path_a,
            "path_b": path_b,
        }
