"""What the training loop needs from a dataset, whatever its kind: the data-kind contract, its registry and the
pre-scan report every kind returns.

A data kind (``paired``, ``unpaired``, ``classes``) offers six operations, so the trainer never needs to know which
it has: ``scan`` a split (listing and fully decoding it, every bad file reported at once), split off a ``holdout``, make
the augmented ``train_dataset``, decode the split into a ``device_cache`` where that pays, and ``load_example``
one validation example at its native size. Each kind registers itself in ``DATA_KINDS`` by the name that methods
give as their ``data_kind``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch

from i2i.data.config import DataConfig
from i2i.errors import DatasetError, show_path
from i2i.imageio import ImageReadError
from i2i.layouts import Problem, scan_folder
from i2i.parallel import default_workers
from i2i.registry import Registry

# A validation example: "a" (network input) and "b" (target, or an image of the output domain) as (H, W, C) uint8
# arrays at native size, and "path_a"/"path_b" naming the files they came from.
Example = dict[str, Any]

T = TypeVar("T")


@dataclass
class ScanReport:
    """What a pre-scan of one split found: usable records, every problem, and how many non-image files it ignored."""

    root: str
    split: str
    layout: str
    records: list[Any] = field(default_factory=list)
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
        """Raises DatasetError listing every problem unless ``skip_bad``; refuses a split with nothing usable."""
        if self.problems and not skip_bad:
            lines = "\n".join(f"  {p}" for p in self.problems)
            raise DatasetError(
                f"{self.root} [{self.split}] has {len(self.problems)} bad file(s):\n{lines}\n"
                "fix or remove them, or pass --data.skip_bad=true to train without them"
            )
        if not self.records:
            raise DatasetError(f"{self.root} [{self.split}]: no usable image pairs")


def folder_images(folder: Path, report: ScanReport) -> list[Path]:
    """The images of one folder of a split. Entries named like images that are not files (FIFOs, folders, broken
    links) become problems of ``report``; files of unsupported formats are counted as ignored and named in a warning."""
    scan = scan_folder(folder)
    report.problems.extend(scan.problems)
    report.ignored += scan.other
    if scan.unsupported:
        names = ", ".join(show_path(p.name) for p in scan.unsupported[:5])
        more = f" and {len(scan.unsupported) - 5} more" if len(scan.unsupported) > 5 else ""
        logging.getLogger("i2i.data").warning(
            "%s: ignoring %d image(s) of formats i2i does not read (%s%s); convert them to PNG or JPEG",
            show_path(folder),
            len(scan.unsupported),
            names,
            more,
        )
    return scan.images


def unreadable(items: Sequence[T], decode: Callable[[T], object], workers: int | None = None) -> list[Problem | None]:
    """Decodes every item in threads (Pillow releases the GIL); the problem of each item, or None where it is fine."""

    def attempt(item: T) -> Problem | None:
        try:
            decode(item)
        except ImageReadError as exc:
            return Problem(exc.path, exc.reason)
        return None

    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        return list(pool.map(attempt, items))


class DataKind(Protocol):
    """The trainer's view of a dataset (see the module docstring)."""

    unit: str  # what one record is, for the log line ("pairs", "samples")

    def __init__(self, cfg: DataConfig) -> None: ...

    def scan(self, split: str) -> ScanReport: ...

    def holdout(self, records: list[Any], fraction: float) -> tuple[list[Any], list[Any]]: ...

    def train_dataset(self, records: list[Any]) -> torch.utils.data.Dataset: ...

    def device_cache(self, records: list[Any], device: torch.device) -> tuple[Any, str]: ...

    def load_example(self, record: Any) -> Example: ...


DATA_KINDS: Registry[type[DataKind]] = Registry("data kind")
