"""Dataset folders on disk: which layout a folder uses and where each split's images are (file names only).

Paired layouts (``root`` is the dataset folder):
- ``aligned``: ``root/<split>/name.jpg`` holds A and B side by side (the pix2pix facades format).
- ``folders``: ``root/A/<split>/name.png`` and ``root/B/<split>/name.png``, matched by file stem
  (``root/<split>/A`` and ``root/<split>/B`` work too).

Unpaired layout: ``root/<split>A`` and ``root/<split>B`` (``trainA``, ``testB``, …), or ``root/A/<split>`` and
``root/B/<split>``.

Nothing here reads pixels or needs torch, so the dataset tools and the training data kinds share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from i2i.errors import DatasetError
from i2i.imageio import is_image_file


@dataclass(frozen=True)
class Problem:
    """A file that cannot be used, and why (one line)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def images_in(folder: Path) -> tuple[list[Path], int]:
    """Image files directly in ``folder`` (sorted) and the number of other files; hidden files are never images."""
    images, other = [], 0
    for entry in sorted(folder.iterdir()):
        if not entry.is_file():
            continue
        if is_image_file(entry) and not entry.name.startswith("."):  # macOS ._x.png files are not images
            images.append(entry)
        else:
            other += 1
    return images, other


def detect_layout(root: str | Path) -> str:
    """Returns 'aligned' or 'folders' for a paired dataset root; raises DatasetError when neither fits."""
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


def split_dir(root: Path, split: str, side: str | None) -> Path:
    """The folder of one side ("A"/"B", or None for A|B files) of a paired split."""
    if side is None:
        return root / split
    first = root / side / split
    return first if first.is_dir() else root / split / side


def available_splits(root: Path, layout: str) -> list[str]:
    """The split names of a paired dataset, for error messages."""
    base = root / "A" if layout == "folders" and (root / "A").is_dir() else root
    return sorted(p.name for p in base.iterdir() if p.is_dir() and p.name not in ("A", "B"))


def domain_dirs(root: Path, split: str) -> tuple[Path, Path]:
    """The A and B folders of an unpaired split: ``<split>A``/``<split>B``, else ``A/<split>``/``B/<split>``."""
    first = (root / f"{split}A", root / f"{split}B")
    second = (root / "A" / split, root / "B" / split)
    for a, b in (first, second):
        if a.is_dir() or b.is_dir():
            return a, b
    return first
