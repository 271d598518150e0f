"""The paired data kind (pix2pix): (input, target) pairs in an ``aligned`` (A|B files) or ``folders`` (A/ + B/)
layout (see ``i2i.layouts``), the pre-scan that reports every bad file at once, the torch Dataset and the decoded
cache.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from i2i.data import cache
from i2i.data.config import DataConfig
from i2i.data.kinds import DATA_KINDS, ScanReport, folder_images, unreadable
from i2i.data.processing import to_tensor
from i2i.data.transforms import augment_pair
from i2i.direction import oriented
from i2i.errors import DatasetError
from i2i.imageio import IMAGE_EXTENSIONS, ImageReadError, probe_image, read_image, to_channels
from i2i.layouts import Problem, available_splits, detect_layout, split_dir
from i2i.parallel import default_workers
from i2i.splits import HOLDOUT_SEED, split_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairRecord:
    """One training pair: an A|B file (``path_b`` is None) or two files matched by name."""

    name: str
    path_a: str
    path_b: str | None = None


def list_pairs(root: str | Path, split: str, layout: str = "auto") -> ScanReport:
    """Lists the pairs of a split from file names alone; unmatched names become problems."""
    root = Path(root)
    if layout == "auto":
        layout = detect_layout(root)
    report = ScanReport(str(root), split, layout)
    sides = [None] if layout == "aligned" else ["A", "B"]
    folders = [split_dir(root, split, side) for side in sides]
    for folder in folders:
        if not folder.is_dir():
            found = ", ".join(available_splits(root, layout)) if root.is_dir() else "nothing"
            raise DatasetError(f"{root}: split '{split}' not found (no folder {folder}; splits found: {found})")
    if layout == "aligned":
        report.records = [PairRecord(p.stem, str(p)) for p in folder_images(folders[0], report)]
    else:
        images_a, images_b = folder_images(folders[0], report), folder_images(folders[1], report)
        by_stem_a, by_stem_b = _by_stem(images_a, report), _by_stem(images_b, report)
        unusable = {Path(p.path).stem for p in report.problems}  # already reported: its partner is no second problem
        for stem in sorted(by_stem_a.keys() | by_stem_b.keys()):
            if stem in unusable and (stem not in by_stem_a or stem not in by_stem_b):
                continue
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
        if a.shape[:2] != b.shape[:2]:
            # One rule for every use of a pair (pre-scan, training, validation, samples): its two images are the
            # same size. A mismatch is refused like an unreadable file, never resized behind the user's back.
            raise ImageReadError(
                record.path_b,
                f"{b.shape[1]}x{b.shape[0]} but its pair {Path(record.path_a).name} in A is {a.shape[1]}x{a.shape[0]}; "
                "the two images of a pair must be the same size (resize B with `i2i data combine --resize-b`, "
                "or train without it: --data.skip_bad)",
            )
    a, b = oriented(a, b, cfg.direction)
    return to_channels(a, cfg.input_channels), to_channels(b, cfg.output_channels)


def verify_pairs(report: ScanReport, cfg: DataConfig, workers: int | None = None) -> ScanReport:
    """Decodes every pair fully and moves failures into ``report.problems``."""
    results = unreadable(report.records, lambda record: load_pair(record, cfg), workers)
    report.problems.extend(p for p in results if p is not None)
    report.records = [r for r, problem in zip(report.records, results, strict=True) if problem is None]
    return report


def scan_split(cfg: DataConfig, split: str, verify: bool = True) -> ScanReport:
    """Lists and (by default) fully decodes one split of ``cfg.root``."""
    report = list_pairs(cfg.root, split, cfg.layout)
    return verify_pairs(report, cfg) if verify else report


def holdout_split(records: list[PairRecord], fraction: float) -> tuple[list[PairRecord], list[PairRecord]]:
    """(train, val): the split ``i2i data split --ratios 1-f,f --seed 0`` would make of these pairs (``i2i.splits``)."""
    splits = split_of([r.name for r in records], (1.0 - fraction, fraction), HOLDOUT_SEED)
    train = [r for r, s in zip(records, splits, strict=True) if s == "train"]
    val = [r for r, s in zip(records, splits, strict=True) if s == "val"]
    return train, val


class PairedDataset(Dataset):
    """Yields ``{"a": input, "b": target, "path_a", "path_b", "index"}`` with float (C, H, W) tensors in [-1, 1].

    ``a`` is always the network input and ``b`` the target (``load_pair`` applies the direction).
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
        path_a, path_b = _paths(record, self.cfg)
        return {"a": ta, "b": tb, "path_a": path_a, "path_b": path_b, "index": torch.tensor(index)}


def _paths(record: PairRecord, cfg: DataConfig) -> tuple[str, str]:
    """(input file, target file) of a pair: the same A|B file twice, or the two files in ``cfg``'s direction."""
    return oriented(record.path_a, record.path_b or record.path_a, cfg.direction)


# --- the decoded cache ---------------------------------------------------------------------------------------------


def plan_cache(
    records: Sequence[PairRecord], cfg: DataConfig, device: torch.device, mode: str
) -> tuple[cache.Placement | None, str]:
    """Where the decoded cache of ``records`` goes (``cache.plan``): every input must share one size and every
    target another, read from the image headers."""

    def measure() -> tuple[int, str]:
        with ThreadPoolExecutor(max_workers=default_workers(io_bound=True)) as pool:
            sizes = list(pool.map(lambda r: _pair_size(r, cfg), records))
        problem = cache.one_size([s[0] for s in sizes], "input images") or cache.one_size(
            [s[1] for s in sizes], "target images"
        )
        (ha, wa), (hb, wb) = sizes[0]
        return len(records) * (cfg.input_channels * ha * wa + cfg.output_channels * hb * wb), problem

    return cache.plan(len(records), device, mode, measure)  # type: ignore[arg-type]


def _pair_size(record: PairRecord, cfg: DataConfig) -> tuple[tuple[int, int], tuple[int, int]]:
    """(input, target) (h, w) of a pair as load_pair will decode it, from the headers alone."""
    first = probe_image(record.path_a)
    if record.path_b is None:  # an A|B file: two halves of equal width
        a = b = (first.height, first.width // 2)
    else:
        second = probe_image(record.path_b)
        a, b = (first.height, first.width), (second.height, second.width)
    return oriented(a, b, cfg.direction)


class PairCache:
    """The pairs of a split decoded once into uint8 tensors, serving augmented batches for epoch-sampler keys.

    Args:
        records: the pairs, all inputs of one size and all targets of one size (see ``plan_cache``).
        cfg: direction, channels and augmentation, as for ``PairedDataset``.
        device: the training device; batches come out there.
        placement: ``device`` keeps the cache on ``device``; ``host`` keeps it in host memory, pinned when CUDA is
            available so that batches copy to the GPU asynchronously.
    """

    def __init__(
        self, records: Sequence[PairRecord], cfg: DataConfig, device: torch.device, placement: cache.Placement
    ) -> None:
        self.records = list(records)
        self.cfg = cfg
        self.device = torch.device(device)
        self.placement = placement
        self.a, self.b = cache.decode_stores(
            self.records,
            lambda r: load_pair(r, cfg),
            lambda r: f"pair '{r.name}' ({r.path_a})",
            self.device,
            placement,
        )
        log.info("cached %d pairs (%s) in %s memory", len(self.records), cache.mib(self.nbytes), placement)

    @property
    def nbytes(self) -> int:
        """Bytes held by the cache (inputs and targets)."""
        return cache.nbytes(self.a, self.b)

    def __len__(self) -> int:
        return len(self.records)

    def batch(self, keys: Sequence[tuple[int, int]]) -> dict:
        """An augmented batch for ``(index, seed)`` keys: the collated PairedDataset items, with a/b on the device.

        Returns:
            ``{"a", "b"}`` float (B, C, crop, crop) in [-1, 1] on the device, ``"path_a"``/``"path_b"`` lists of
            str, and ``"index"`` a CPU LongTensor (B,), as the DataLoader collates them.
        """
        indices = [index for index, _ in keys]
        index = torch.tensor(indices, dtype=torch.long)
        if self.device.type == "cuda":  # pinned, so that moving it to the GPU later does not stall the host
            index = index.pin_memory()
        a, b = cache.augment_batch(
            cache.gather_rows(self.a, index, self.device),
            cache.gather_rows(self.b, index, self.device),
            [s for _, s in keys],
            self.cfg,
        )
        paths = [_paths(self.records[i], self.cfg) for i in indices]
        return {"a": a, "b": b, "path_a": [p[0] for p in paths], "path_b": [p[1] for p in paths], "index": index}


@DATA_KINDS.register("paired")
class PairedData:
    """The paired data kind: what the trainer needs from a dataset, for methods that learn from (input, target)."""

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
        placement, reason = plan_cache(records, self.cfg, device, self.cfg.cache)
        return (PairCache(records, self.cfg, device, placement) if placement else None), reason

    def load_example(self, record: PairRecord) -> dict[str, Any]:
        """``{"a": input, "b": target}`` as (H, W, C) uint8 arrays (direction and channels applied), and their files."""
        a, b = load_pair(record, self.cfg)
        path_a, path_b = _paths(record, self.cfg)
        return {"a": a, "b": b, "path_a": path_a, "path_b": path_b}
