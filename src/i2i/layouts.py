"""Dataset folders on disk: which layout a folder uses and where each split's images are (file names only).

Paired layouts (``root`` is the dataset folder):
- ``aligned``: ``root/<split>/name.jpg`` holds A and B side by side (the pix2pix facades format).
- ``folders``: ``root/A/<split>/name.png`` and ``root/B/<split>/name.png``, matched by file stem
  (``root/<split>/A`` and ``root/<split>/B`` work too).

Unpaired layout: ``root/<split>A`` and ``root/<split>B`` (``trainA``, ``testB``, …), or ``root/A/<split>`` and
``root/B/<split>``.

Which directory entries are images is decided here, once (``scan_folder``): regular files with an image extension
(``imageio.IMAGE_EXTENSIONS``) whose name does not start with a dot. Entries named like images that are no regular
file (a FIFO, a socket, a device, a directory ``x.png/``) are problems; files of image formats i2i does not read
(``.heic``, ``.avif``, ...) are listed by name.

Nothing here reads pixels or needs torch, so the dataset tools and the training data kinds share it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from i2i.errors import DatasetError, show_path
from i2i.imageio import file_kind, is_image_file, is_unsupported_image_file, not_a_file_reason


@dataclass(frozen=True)
class Problem:
    """A file that cannot be used, and why (one line)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return show_path(f"{self.path}: {self.reason}")


@dataclass
class FolderScan:
    """The entries directly in a folder, each sorted by name.

    Attributes:
        images: regular files with an image extension, not hidden (macOS ``._x.png`` files are not images).
        folders: visible subfolders (a folder named like an image is a problem instead).
        other: how many other files there are (hidden files, other extensions, ``unsupported`` included).
        unsupported: files of an image format i2i does not read (``.heic``, ``.avif``, ``.svg``, ...).
        problems: visible entries named like images that are not regular files: FIFOs, sockets, devices, folders,
            links to nothing.
    """

    images: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    other: int = 0
    unsupported: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def scan_folder(folder: Path) -> FolderScan:
    """Sorts the entries of ``folder`` into images, subfolders, problems and the rest (see FolderScan)."""
    scan = FolderScan()
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        path, hidden, named_image = Path(entry.path), entry.name.startswith("."), is_image_file(entry.name)
        mode = _mode(entry)
        if mode is None:
            if named_image and not hidden:
                scan.problems.append(Problem(str(path), broken_link_reason(path)))
        elif stat.S_ISDIR(mode) and not named_image:
            if not hidden:
                scan.folders.append(path)
        elif named_image and not hidden:
            if reason := not_a_file_reason(mode):
                scan.problems.append(Problem(str(path), reason))
            else:
                scan.images.append(path)
        elif not stat.S_ISDIR(mode):
            scan.other += 1
            if is_unsupported_image_file(entry.name) and not hidden and stat.S_ISREG(mode):
                scan.unsupported.append(path)
    return scan


LINK_LOOP = "a link loop (its links lead back to themselves)"


def broken_link_reason(path: Path) -> str:
    """Why the link ``path`` leads to no file: its target is missing, or its links lead back to themselves."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return LINK_LOOP
    return "a link to nothing (its target is missing)"


def _mode(entry: os.DirEntry[str]) -> int | None:
    """The entry's file type (following links), without a system call for plain files and folders; None: dangling."""
    try:
        if entry.is_file():
            return stat.S_IFREG
        if entry.is_dir():
            return stat.S_IFDIR
        return entry.stat().st_mode
    except OSError:
        return None


def walk_folders(root: Path) -> Iterator[tuple[Path, FolderScan]]:
    """``scan_folder`` of ``root`` and of every visible subfolder below it, top-down, each level sorted by name.

    Links to folders are not followed (as ``os.walk`` and ``Path.rglob``), so a link loop cannot walk forever.
    """
    stack = [root]
    while stack:
        folder = stack.pop()
        scan = scan_folder(folder)
        yield folder, scan
        stack += [sub for sub in reversed(scan.folders) if not sub.is_symlink()]


def require_folder(path: str | Path, what: str = "dataset folder") -> Path:
    """``path`` as a Path when it is a folder; else DatasetError saying what it is (missing, a file, a FIFO, ...)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DatasetError(f"{what} not found: {show_path(path)}") from None
    except OSError as exc:
        raise DatasetError(f"{show_path(path)}: cannot open the {what} ({exc.strerror or exc})") from None
    if not stat.S_ISDIR(mode):
        raise DatasetError(f"{show_path(path)}: is {file_kind(mode)}, expected a {what}")
    return path


def detect_layout(root: str | Path) -> str:
    """Returns 'aligned' or 'folders' for a paired dataset root; raises DatasetError when neither fits."""
    root = require_folder(root)
    if (root / "A").is_dir() and (root / "B").is_dir():
        return "folders"
    splits = scan_folder(root).folders
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
