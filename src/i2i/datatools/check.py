"""``i2i data check ROOT``: detect a dataset's layout, count it, and list every problem file in one pass.

Layouts (``ROOT`` is the dataset folder):
- ``aligned``: ``ROOT/<split>/x.jpg`` holds A and B side by side (pix2pix);
- ``folders``: ``ROOT/A/<split>/x.png`` + ``ROOT/B/<split>/x.png`` (or ``ROOT/<split>/{A,B}``), paired by file stem;
- ``unpaired``: ``ROOT/trainA``, ``trainB``, ``testA``, ... (CycleGAN); the split is the name before A or B;
- ``single``: images directly in ``ROOT``, not split yet.

Each file is read once, in a thread pool (file reads, hashing and Pillow's decoders release the GIL): its bytes
are hashed (SHA-256) to find duplicates, its header is probed for size, mode and format, and its last bytes are
checked for the format's end marker (JPEG EOI, PNG IEND, ...), which catches a cut-off copy without decoding any
pixels. ``full=True`` also decodes every image with ``read_image``, which catches corrupt pixel data too. Headers are
read by ``imageio.probe_image``, so "too large" is exactly what every other command refuses (``imageio.max_pixels``).

Which entries are images is ``layouts.scan_folder``'s rule, as for training: entries named like images that are not
regular files (FIFOs, folders ``x.png/``) are problems, and files of unsupported image formats are listed by name.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from i2i.errors import ConfigError, DatasetError, show_path
from i2i.imageio import (
    ImageInfo,
    ImageReadError,
    ImageTooLargeError,
    max_pixels,
    probe_image,
    read_image,
    unsupported_reason,
)
from i2i.layouts import detect_layout, require_folder, scan_folder
from i2i.parallel import default_workers

# Every kind of problem, most serious first. Warnings are listed but do not fail the check.
KINDS = {
    "not_a_file": "a FIFO, socket, device, folder or dangling link named like an image",
    "unreadable": "not an image, empty, or a header that cannot be parsed",
    "truncated": "the file ends before the format's end marker (a cut-off copy or download)",
    "corrupt": "the header is fine but the pixel data does not decode (found by --full)",
    "too_large": "more pixels than the limit every i2i command applies (i2i --max-pixels N, I2I_MAX_PIXELS)",
    "leak": "the same bytes in more than one split (train/test leakage)",
    "duplicate": "the same bytes more than once within a split",
    "shared_target": "warning: one B image in several pairs whose A images differ (several sketches of one photo)",
    "unmatched": "a file or folder without its counterpart on the other side (A vs B)",
    "odd_width": "an A|B file whose width is odd, so it has no two equal halves",
    "size_mismatch": "A and B of a pair differ in size (training refuses the pair)",
    "empty": "warning: a split folder without images",
    "stray": "warning: images outside the layout's folders, which training never reads",
    "unsupported": "warning: an image format i2i does not read (.heic, .avif, .svg, ...); the file is ignored",
}
WARNING_KINDS = frozenset({"empty", "stray", "unsupported", "shared_target"})
SIZE_MISMATCH_HINT = "fix with `i2i data combine --resize-b` or train with --data.skip_bad"
LAYOUTS = {
    "aligned": "A|B side by side in ROOT/<split>/",
    "folders": "A and B in separate folders, paired by file name",
    "unpaired": "ROOT/<split>A + ROOT/<split>B, unpaired (CycleGAN)",
    "single": "images directly in ROOT, not split",
}
UNSPLIT = "unsplit"
_CHUNK = 1 << 20  # read size for hashing; memory per worker stays bounded whatever the file size
_TAIL = 1 << 16  # the last bytes kept for end-marker checks
_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF8", "GIF"), (b"RIFF", "WEBP"), (b"BM", "BMP"))


@dataclass(frozen=True)
class Issue:
    """One problem: the file (or folder) it is about, its kind (a key of KINDS), why, and the other files involved."""

    path: str
    kind: str
    reason: str
    related: tuple[str, ...] = ()

    @property
    def severity(self) -> str:
        return "warning" if self.kind in WARNING_KINDS else "error"

    def __str__(self) -> str:
        return show_path(f"{self.path}: {self.reason}")


@dataclass
class CheckReport:
    """What ``check_dataset`` found. ``splits`` maps a split to its counts ("files", or "A", "B" and "pairs")."""

    root: str
    layout: str
    full: bool
    splits: dict[str, dict[str, int]]
    images: int
    ignored: int
    sizes: dict[str, int]  # "WxH" -> files, most common first
    modes: dict[str, int]
    formats: dict[str, int]
    problems: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[Issue]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = [{**asdict(p), "related": list(p.related), "severity": p.severity} for p in self.problems]
        out["counts"] = dict(Counter(p.kind for p in self.problems))
        out["ok"] = self.ok
        return out

    def format(self, top_sizes: int = 5) -> str:
        """The human summary: layout, counts, histograms, then every problem on its own line."""
        lines = [f"{self.root}: {self.layout} layout ({LAYOUTS[self.layout]})"]
        lines.append("  splits:  " + "; ".join(f"{s} {_counts_text(c)}" for s, c in self.splits.items()))
        kinds = "; ".join(text for text in (_histogram_text(self.formats), _histogram_text(self.modes)) if text)
        images = f"  images:  {self.images}" + (f" ({kinds})" if kinds else "")
        lines.append(images + (f", {self.ignored} other file(s) ignored" if self.ignored else ""))
        sizes = _histogram_text(dict(list(self.sizes.items())[:top_sizes]), sep=" ×")
        if len(self.sizes) > top_sizes:
            sizes += f", {len(self.sizes) - top_sizes} other size(s)"
        lines.append(f"  sizes:   {sizes or '-'}")
        how = "fully decoded" if self.full else "headers, hashes and end markers checked"
        lines.append(f"  checked: {self.images} file(s) in {self.seconds:.1f} s ({how})")
        leaks = [p for p in self.problems if p.kind == "leak"]
        if leaks:
            files = sum(1 + len(p.related) for p in leaks)
            lines.append(f"LEAK: {files} files in {len(leaks)} group(s) of identical files span more than one split")
        for problem in self.problems:
            tag = f"{problem.kind} (warning)" if problem.severity == "warning" else problem.kind
            lines.append(f"  {tag:<24} {problem}")
        lines += [f"note: {note}" for note in self.notes]
        errors, warns = len(self.errors), len(self.warnings)
        if errors:
            lines.append(f"FAILED: {errors} problem(s), {warns} warning(s)")
        else:
            lines.append("OK: no problems found" + (f" ({warns} warning(s))" if warns else ""))
        return "\n".join(map(show_path, lines))  # a file name with a line break still gives one line per problem


def _counts_text(counts: dict[str, int]) -> str:
    if "files" in counts:
        return str(counts["files"])
    sides = f"A {counts['A']}, B {counts['B']}"
    return f"{counts['pairs']} pairs ({sides})" if "pairs" in counts else sides


def _histogram_text(histogram: dict[str, int], sep: str = " ") -> str:
    return ", ".join(f"{key}{sep}{count}" for key, count in histogram.items())


# --- listing: which files belong to which split (and side) ---------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    path: Path
    split: str
    side: str | None = None  # "A" or "B" in the folders and unpaired layouts


@dataclass
class _Listing:
    layout: str
    entries: list[_Entry] = field(default_factory=list)
    splits: dict[str, dict[str, int]] = field(default_factory=dict)
    pairs: list[tuple[int, int]] = field(default_factory=list)  # indices into entries (folders layout)
    ignored: int = 0
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, paths: list[Path], split: str, side: str | None = None) -> list[int]:
        start = len(self.entries)
        self.entries += [_Entry(p, split, side) for p in paths]
        return list(range(start, len(self.entries)))

    def scan(self, folder: Path) -> tuple[list[Path], int, list[Path]]:
        """``_scan``, recording the folder's entries that are named like images but are no files, and the files of
        unsupported image formats."""
        scan = scan_folder(folder)
        self.issues += [Issue(p.path, "not_a_file", p.reason) for p in scan.problems]
        self.issues += [Issue(str(p), "unsupported", unsupported_reason(p)) for p in scan.unsupported]
        return scan.images, scan.other, scan.folders


def _scan(folder: Path) -> tuple[list[Path], int, list[Path]]:
    """(image files, number of other files, visible subfolders) directly in ``folder``: ``layouts.scan_folder``."""
    scan = scan_folder(folder)
    return scan.images, scan.other, scan.folders


def _unpaired_prefixes(names: set[str]) -> list[str]:
    """Split names ``p`` with ``pA`` or ``pB`` folders, when at least one ``p`` has both (trainA + trainB)."""
    prefixes = {n[:-1] for n in names if len(n) > 1 and n[-1] in "AB"}
    return sorted(prefixes) if any(p + "A" in names and p + "B" in names for p in prefixes) else []


def detect_check_layout(root: str | Path) -> str:
    """'aligned', 'folders', 'unpaired' or 'single'; raises DatasetError when ROOT is missing or holds no images."""
    root = require_folder(root)
    images, _, folders = _scan(root)
    names = {f.name for f in folders}
    if not {"A", "B"} <= names and _unpaired_prefixes(names):
        return "unpaired"
    try:
        return detect_layout(root)
    except DatasetError:
        if images:
            return "single"
    raise DatasetError(
        f"{show_path(root)}: no images found (expected <split>/ folders of A|B files, A/<split> + B/<split>, "
        "trainA + trainB, or images directly in the folder)"
    )


def _list_dataset(root: Path, layout: str) -> _Listing:
    listing = _Listing(layout)
    images, listing.ignored, folders = listing.scan(root)
    if layout == "single":
        listing.add(images, UNSPLIT)
        listing.splits[UNSPLIT] = {"files": len(images)}
        listing.notes.append(f"the images are not split yet; see `i2i data split {root}`")
        return listing
    if images:
        listing.issues.append(_stray(root, images, "they are not in a split folder"))
    if layout == "aligned":
        for folder in sorted(folders, key=lambda f: _split_rank(f.name)):
            files, other, _ = listing.scan(folder)
            listing.ignored += other
            listing.add(files, folder.name)
            listing.splits[folder.name] = {"files": len(files)}
            if not files:
                listing.issues.append(Issue(str(folder), "empty", "split folder without images"))
    elif layout == "unpaired":
        by_name = {f.name: f for f in folders}
        names = set(by_name)
        for prefix in sorted(_unpaired_prefixes(names), key=_split_rank):
            counts = {"A": 0, "B": 0}
            for side, other_side in (("A", "B"), ("B", "A")):
                folder = by_name.pop(prefix + side, None)
                if folder is None:
                    continue
                files, other, _ = listing.scan(folder)
                listing.ignored += other
                counts[side] = len(listing.add(files, prefix, side))
                if prefix + other_side not in names:
                    listing.issues.append(Issue(str(folder), "unmatched", f"no {prefix + other_side} folder beside it"))
                if not files:
                    listing.issues.append(Issue(str(folder), "empty", "split folder without images"))
            listing.splits[prefix] = counts
        for folder in by_name.values():  # folders that are no <split>A or <split>B
            files = _scan(folder)[0]
            if files:
                listing.issues.append(_stray(folder, files, "the folder name does not end in A or B"))
    else:
        _list_folders(root, folders, listing)
    return listing


def _stray(folder: Path, images: list[Path], why: str) -> Issue:
    return Issue(str(folder), "stray", f"{len(images)} image(s) here are never read: {why}", tuple(map(str, images)))


def _list_folders(root: Path, folders: list[Path], listing: _Listing) -> None:
    """ROOT/A/<split> + ROOT/B/<split> (or ROOT/<split>/A + B): pairs by file stem, as training's list_pairs does."""
    if (root / "A").is_dir() and (root / "B").is_dir():
        split_names = set()
        for side in "AB":
            images, _, subfolders = listing.scan(root / side)
            split_names |= {f.name for f in subfolders}
            if images:
                listing.issues.append(_stray(root / side, images, f"they are not in a split folder ({side}/<split>/)"))
        splits = sorted(split_names, key=_split_rank)

        def side_dir(split: str, side: str) -> Path:
            return root / side / split

    else:
        splits = sorted((f.name for f in folders if (f / "A").is_dir() or (f / "B").is_dir()), key=_split_rank)

        def side_dir(split: str, side: str) -> Path:
            return root / split / side

    for split in splits:
        by_stem: dict[str, dict[str, int]] = {"A": {}, "B": {}}
        counts = {"A": 0, "B": 0, "pairs": 0}
        for side, other_side in (("A", "B"), ("B", "A")):
            folder, other_folder = side_dir(split, side), side_dir(split, other_side)
            if not folder.is_dir():
                continue
            files, other, _ = listing.scan(folder)
            listing.ignored += other
            counts[side] = len(files)
            if not other_folder.is_dir():
                listing.issues.append(Issue(str(folder), "unmatched", f"no matching folder {other_folder}"))
            for index in listing.add(files, split, side):
                path = listing.entries[index].path
                if path.stem in by_stem[side]:
                    first = listing.entries[by_stem[side][path.stem]].path.name
                    reason = f"same name as {first}; cannot tell which one pairs"
                    listing.issues.append(Issue(str(path), "unmatched", reason))
                else:
                    by_stem[side][path.stem] = index
        for side in "AB":
            if side_dir(split, side).is_dir() and not counts[side]:
                listing.issues.append(Issue(str(side_dir(split, side)), "empty", "split folder without images"))
        pairs_before = len(listing.pairs)
        for stem in sorted(by_stem["A"].keys() | by_stem["B"].keys()):
            a, b = by_stem["A"].get(stem), by_stem["B"].get(stem)
            if a is not None and b is not None:
                listing.pairs.append((a, b))
            elif side_dir(split, "A").is_dir() and side_dir(split, "B").is_dir():  # else the folder is reported
                index, other_side = (a, "B") if b is None else (b, "A")
                where = side_dir(split, other_side)
                listing.issues.append(Issue(str(listing.entries[index].path), "unmatched", f"no {stem}.* in {where}"))
        counts["pairs"] = len(listing.pairs) - pairs_before
        listing.splits[split] = counts


# --- per file: hash, header, end marker, optional full decode --------------------------------------------------------


@dataclass
class _FileResult:
    digest: str | None = None
    info: ImageInfo | None = None
    issue: Issue | None = None


def _read(path: Path) -> tuple[str, int, bytes, bytes]:
    """(SHA-256 digest, size, first 64 bytes, last 64 KiB) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()  # faster than BLAKE2b where the CPU has SHA instructions
    size, head, tail = 0, b"", b""
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            if not size:
                head = chunk[:64]
            digest.update(chunk)
            size += len(chunk)
            tail = (tail + chunk)[-_TAIL:]
    return digest.hexdigest(), size, head, tail


def _cut_off(image_format: str, size: int, head: bytes, tail: bytes) -> str | None:
    """Why a file looks truncated from its end (or its declared size), or None. Trailing bytes are allowed."""
    if image_format in ("JPEG", "MPO"):
        # FFD9 (end of image) cannot occur inside entropy-coded data, so it must follow the last scan (FFDA).
        end, scan = tail.rfind(b"\xff\xd9"), tail.rfind(b"\xff\xda")
        if end < 0 or end < scan:
            return "JPEG data stops before its end-of-image marker (FFD9): the file is cut off"
    elif image_format == "PNG":
        if b"\x00\x00\x00\x00IEND\xaeB`\x82" not in tail:
            return "PNG has no IEND chunk at its end: the file is cut off"
    elif image_format == "GIF":
        if not tail.rstrip(b"\x00").endswith(b";"):
            return "GIF does not end with its trailer byte (3B): the file is cut off"
    elif image_format in ("WEBP", "BMP"):
        declared = int.from_bytes(head[4:8] if image_format == "WEBP" else head[2:6], "little")
        declared += 8 if image_format == "WEBP" else 0
        if size < declared:
            return f"{image_format} header says {declared} bytes but the file has {size}: it is cut off"
    return None


def _header_issue(exc: ImageReadError, size: int, head: bytes, tail: bytes) -> Issue:
    """too_large, truncated or unreadable, for a file whose header could not be read."""
    if isinstance(exc, ImageTooLargeError):
        return Issue(exc.path, "too_large", exc.reason)
    # A file cut off inside its header: the magic bytes still say what it was meant to be.
    image_format = next((fmt for magic, fmt in _MAGIC if head.startswith(magic)), "")
    if image_format == "WEBP" and head[8:12] != b"WEBP":  # RIFF holds audio and video too
        image_format = ""
    if cut_off := _cut_off(image_format, size, head, tail):
        return Issue(exc.path, "truncated", f"{cut_off} ({exc.reason})")
    return Issue(exc.path, "unreadable", exc.reason)


def _inspect(path: Path, full: bool) -> _FileResult:
    try:
        digest, size, head, tail = _read(path)
    except OSError as exc:
        return _FileResult(issue=Issue(str(path), "unreadable", f"cannot read ({exc.strerror or exc})"))
    try:
        info = probe_image(path)  # a header read, for PNGs too; over the pixel limit: ImageTooLargeError
    except ImageReadError as exc:
        return _FileResult(digest, issue=_header_issue(exc, size, head, tail))
    result = _FileResult(digest, info)
    if reason := _cut_off(info.format, size, head, tail):
        result.issue = Issue(str(path), "truncated", reason)
    elif full:
        try:
            read_image(path)
        except ImageReadError as exc:
            result.issue = Issue(str(path), "corrupt", exc.reason)
    return result


# --- the check -------------------------------------------------------------------------------------------------------


def check_dataset(
    root: str | Path,
    full: bool = False,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> CheckReport:
    """Detects the layout of ``root``, reads every image file once and reports counts, histograms and problems.

    Args:
        root: the dataset folder.
        full: also decode every image fully (catches corrupt pixel data; several times slower).
        workers: threads reading files (default: ``i2i.parallel.default_workers(io_bound=True)``: two per usable
            CPU, at most 16).
        on_progress: called as ``on_progress(files_done, files_total)`` after each file.

    Raises:
        DatasetError: ``root`` is missing or holds no images in any known layout.
    """
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    max_pixels()  # a bad I2I_MAX_PIXELS is one error now, not one problem per file
    start = time.perf_counter()
    root = Path(root)
    listing = _list_dataset(root, detect_check_layout(root))
    entries, total = listing.entries, len(listing.entries)
    if not entries:  # e.g. A/x.png + B/x.png with no split folders: say where the images are
        strays = "".join(f"; {issue}" for issue in listing.issues if issue.kind == "stray")
        raise DatasetError(f"{show_path(root)}: no images in the split folders of the {listing.layout} layout{strays}")
    workers = workers or default_workers(io_bound=True)
    results: list[_FileResult] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(lambda entry: _inspect(entry.path, full), entries):
            results.append(result)
            if on_progress is not None:
                on_progress(len(results), total)

    problems = listing.issues + [r.issue for r in results if r.issue is not None]
    infos = {i: r.info for i, r in enumerate(results) if r.info is not None}
    if listing.layout == "aligned":
        for i, info in infos.items():
            if info.width % 2 and results[i].issue is None:
                reason = f"width {info.width} is odd: an A|B file must hold two halves of equal width"
                problems.append(Issue(str(entries[i].path), "odd_width", reason))
    for a, b in listing.pairs:
        if a in infos and b in infos and (infos[a].width, infos[a].height) != (infos[b].width, infos[b].height):
            size_a, size_b = f"{infos[a].width}x{infos[a].height}", f"{infos[b].width}x{infos[b].height}"
            reason = f"A is {size_a} but B ({entries[b].path}) is {size_b}; {SIZE_MISMATCH_HINT}"
            problems.append(Issue(str(entries[a].path), "size_mismatch", reason, (str(entries[b].path),)))
    problems += _duplicates(entries, results, {b: a for a, b in listing.pairs})
    order = {kind: n for n, kind in enumerate(KINDS)}
    problems.sort(key=lambda p: (order[p.kind], p.path))

    sizes = Counter(f"{info.width}x{info.height}" for info in infos.values())
    return CheckReport(
        root=str(root),
        layout=listing.layout,
        full=full,
        splits=listing.splits,
        images=total,
        ignored=listing.ignored,
        sizes=dict(sizes.most_common()),
        modes=dict(Counter(info.mode for info in infos.values()).most_common()),
        formats=dict(Counter(info.format for info in infos.values()).most_common()),
        problems=problems,
        notes=listing.notes,
        seconds=time.perf_counter() - start,
    )


def _split_rank(split: str) -> tuple[int, str]:
    """train, val, test first (in that order), then the other splits by name."""
    known = ("train", "val", "test")
    return (known.index(split), "") if split in known else (len(known), split)


def _duplicates(entries: list[_Entry], results: list[_FileResult], a_of: dict[int, int]) -> list[Issue]:
    """One issue per group of files with the same bytes: 'leak' when the group spans splits, else 'duplicate' —
    except B images of one split whose pairs' A images all differ (``a_of``: B entry → its A entry), which are one
    target shared by several inputs, as Sketchy's several sketches of one photo: a 'shared_target' warning."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, result in enumerate(results):
        if result.info is not None:  # unreadable files are reported already; empty ones would all match
            groups[result.digest].append(i)
    issues = []
    for members in groups.values():
        if len(members) < 2:
            continue
        first, others = str(entries[members[0]].path), tuple(str(entries[m].path) for m in members[1:])
        splits = sorted({entries[m].split for m in members}, key=_split_rank)
        inputs = [a_of.get(m) for m in members]
        if len(splits) > 1:
            issues.append(Issue(first, "leak", f"same bytes in {' and '.join(splits)}: {', '.join(others)}", others))
        elif None not in inputs and len({results[a].digest for a in inputs if a is not None}) == len(inputs):
            reason = f"the target of {len(members)} pairs with different inputs (also {', '.join(others)})"
            issues.append(Issue(first, "shared_target", reason, others))
        else:
            issues.append(Issue(first, "duplicate", f"same bytes as {', '.join(others)}", others))
    return issues


# --- command line ----------------------------------------------------------------------------------------------------


def command(argv: Sequence[str]) -> int:
    """``i2i data check ROOT [--full] [--json] [--workers N] [--quiet]``."""
    from i2i.datatools.commands import progress_bar

    kinds = "\n".join(f"  {kind:<14} {text}" for kind, text in KINDS.items())
    parser = argparse.ArgumentParser(
        prog="i2i data check",
        description=(
            "Detect a dataset's layout (A|B files, A/ + B/ folders, trainA/trainB, a single folder), count the\n"
            "files per split, show image sizes, modes and formats, and list every problem file. Each file is read\n"
            "once: content hash (duplicates, train/test leakage), header (size, mode, format) and end marker\n"
            "(truncation); --full also decodes the pixels."
        ),
        epilog=f"problem kinds:\n{kinds}\n\nexit status: 0 no problems (warnings allowed), 1 problems found, "
        "2 usage error (e.g. ROOT not found)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("root", help="dataset folder")
    parser.add_argument("--full", action="store_true", help="also decode every image (slower; finds corrupt pixels)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    parser.add_argument("--workers", type=int, help="threads reading files (default: 2 per usable CPU, at most 16)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    with progress_bar("check", "file", quiet=args.quiet) as progress:
        report = check_dataset(args.root, args.full, args.workers, on_progress=progress)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format())
    return 0 if report.ok else 1
