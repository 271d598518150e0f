"""``i2i data sketchy``: the Sketchy Database as sketch → photo pairs and as a sketch classification set.

Input layouts (detected):
- ``official``: the authors' download, ``ROOT/256x256/photo/tx_000000000000/<category>/<photo_id>.jpg`` and
  ``ROOT/256x256/sketch/tx_000000000000/<category>/<photo_id>-<n>.png`` (``ROOT`` may also be the ``256x256``
  folder itself). Only the non-augmented variant ``tx_000000000000`` is read.
- ``subset``: ``ROOT/<category>/photo/<photo_id>.jpg`` and ``ROOT/<category>/sketch/<photo_id>-<n>.png`` (the
  shared subset; its ``photo_unpaired/`` folders are not read).

Output, one pair per sketch (``<stem>`` = ``<category>__<photo_id>-<n>``):
- ``DIR/pairs/A/<split>/<stem>.png`` the sketch (grayscale) and ``DIR/pairs/B/<split>/<stem>.png`` its photo, the
  A/ + B/ folders layout ``i2i train`` reads (A = sketch: ``data.direction AtoB``); A and B have the same size
  (a sketch of another size than its photo is resized to the photo's, and a note says how many).
- ``DIR/classes/<split>/<category>/<photo_id>-<n>.png`` the sketches again, one folder per class.
- ``DIR/manifest.json``: settings, counts, warnings, problems and one row per pair (sources, outputs, split).

Splits: ``i2i.splits`` (seeded SHA-256 ranking, exact counts), applied per category with the key
``<category>/<photo_id>``: every sketch goes where its photo goes, so no photo and none of its sketches is on two
sides, and each category is split by the ratios on its own (stratified). A category with too few photos for a share
gets none there (a warning names them); a category with one photo cannot be split at all (a warning per category).

``--background white`` replaces each photo's background with white by GrabCut (OpenCV), initialised with a
rectangle inset from the border by 5 % of each side; a photo where GrabCut finds no foreground is kept as it is.

Decisions on bad input: an empty category (no sketch with its photo) is skipped with a one-line warning; sketches
whose photo is missing are skipped and listed by name in warnings; non-image files are ignored and named; entries
named like images that are no files (a FIFO ``x.png``), link loops (named like images or not), unreadable images,
and images or category folders whose names are not valid UTF-8 are problems (one line each, exit status 1, the rest
is written); unknown ``--categories`` names, an ``--out`` inside ``ROOT`` (or ``ROOT`` inside it) and an existing
non-empty ``--out`` without ``--overwrite`` are refused before anything is written.

Names that are not valid UTF-8 (bytes a Linux file system allows, Python keeps as surrogates) are skipped rather than
escaped: each pair's outputs are named after its inputs and the manifest names both, and JSON (UTF-8) cannot hold
such a name faithfully, so an escaped name would point at no file. The manifest is always valid UTF-8: where a
problem, a warning or the root folder still holds such bytes they are written escaped (``errors.show_path``, so a
byte 0xff reads ``\\xff``).
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import re
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from i2i import layouts
from i2i.atomic import atomic_write
from i2i.datatools.commands import refuse_risky_out, report_unused
from i2i.errors import DatasetError, I2IError, did_you_mean, show_path
from i2i.imageio import (
    ImageReadError,
    is_unsupported_image_file,
    max_pixels,
    read_image,
    resize_image,
    unsupported_reason,
    write_image,
)
from i2i.layouts import Problem, require_folder, scan_folder
from i2i.parallel import default_workers
from i2i.splits import SPLIT_NAMES, normalize_ratios, parse_ratios, split_counts, split_of

TOOL = "i2i data sketchy"
MANIFEST = "manifest.json"
VARIANT = "tx_000000000000"  # the official download's non-augmented photos and sketches
BACKGROUNDS = ("keep", "white")
GRABCUT_INSET = 0.05  # the GrabCut rectangle leaves this fraction of each side outside (sure background)
GRABCUT_ITERATIONS = 5
_SKETCH_NAME = re.compile(r"^(?P<photo>.+)-(?P<n>\d+)$")


@dataclass(frozen=True)
class Source:
    """Where a Sketchy download keeps each category's photos and sketches."""

    root: Path
    layout: str  # "official" or "subset"
    photos: dict[str, Path]  # category → its photo folder (may be missing)
    sketches: dict[str, Path]  # category → its sketch folder (may be missing)

    @property
    def categories(self) -> list[str]:
        return sorted(self.photos.keys() | self.sketches.keys())


def find_source(root: str | Path) -> Source:
    """Detects the official or the subset layout under ``root`` (DatasetError when neither fits)."""
    root = require_folder(root, "Sketchy folder")
    for base in (root / "256x256", root):
        photo_dir, sketch_dir = base / "photo" / VARIANT, base / "sketch" / VARIANT
        if photo_dir.is_dir() or sketch_dir.is_dir():
            photos = {p.name: p for p in (scan_folder(photo_dir).folders if photo_dir.is_dir() else [])}
            sketches = {p.name: p for p in (scan_folder(sketch_dir).folders if sketch_dir.is_dir() else [])}
            return Source(root, "official", photos, sketches)
    photos, sketches = {}, {}
    for folder in scan_folder(root).folders:
        if (folder / "photo").is_dir() or (folder / "sketch").is_dir():
            photos[folder.name], sketches[folder.name] = folder / "photo", folder / "sketch"
    if not photos:
        raise DatasetError(
            f"{show_path(root)}: no Sketchy layout found (expected 256x256/photo/{VARIANT}/<category>/ and "
            f"256x256/sketch/{VARIANT}/<category>/, or <category>/photo/ and <category>/sketch/)"
        )
    return Source(root, "subset", photos, sketches)


@dataclass(frozen=True)
class Sketch:
    path: Path
    stem: str  # output stem: <category>__<photo_id>-<n>
    a: Path
    b: Path
    klass: Path  # the classification copy


@dataclass(frozen=True)
class PhotoJob:
    """One photo and every sketch of it: all in one split."""

    category: str
    photo_id: str
    photo: Path
    split: str
    sketches: tuple[Sketch, ...]


@dataclass
class SketchyPlan:
    source: Source
    categories: list[str]
    jobs: list[PhotoJob] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


NOT_UTF8 = "its name is not valid UTF-8 (rename it); skipped"
LINK_LOOP = f"{layouts.LINK_LOOP}; skipped"


def is_utf8(name: str) -> bool:
    """Whether a file name (as Python decodes it) is valid UTF-8: undecodable bytes become surrogates, which the
    manifest could not hold (see the module docstring)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _images(folder: Path | None, plan: SketchyPlan) -> list[Path]:
    """The images directly in ``folder`` (none when missing); names other files there in a warning each. Link loops
    and names that are not valid UTF-8 are problems: one line each, and the rest goes on."""
    if folder is None or not folder.is_dir():
        return []
    scan = scan_folder(folder)
    # a loop is said as this command says every skipped entry (scan_folder names it, without the "skipped")
    plan.problems += [Problem(p.path, LINK_LOOP) if p.reason == layouts.LINK_LOOP else p for p in scan.problems]
    named = {p.name for p in scan.images} | {Path(p.path).name for p in scan.problems}
    with os.scandir(folder) as it:
        for entry in sorted(it, key=lambda e: e.name):
            if entry.name.startswith(".") or entry.name in named:
                continue
            try:
                if entry.is_dir():  # follows links: a loop raises ELOOP here
                    continue
            except OSError as exc:
                reason = LINK_LOOP if exc.errno == errno.ELOOP else f"cannot be read ({exc.strerror or exc}); skipped"
                plan.problems.append(Problem(entry.path, reason))
                continue
            why = unsupported_reason(entry.name) if is_unsupported_image_file(entry.name) else "not an image"
            plan.warnings.append(show_path(f"{entry.path}: {why}; ignored"))
    plan.problems += [Problem(str(p), NOT_UTF8) for p in scan.images if not is_utf8(p.name)]
    return [p for p in scan.images if is_utf8(p.name)]


def _category_folders(source: Source, category: str) -> list[Path]:
    """The folders a category's name comes from: ``ROOT/<category>`` (subset), or its photo and sketch folders."""
    if source.layout == "subset":
        return [source.photos[category].parent]
    return [p for p in (source.photos.get(category), source.sketches.get(category)) if p is not None]


def plan_sketchy(
    root: str | Path,
    out: str | Path,
    categories: Sequence[str] | None = None,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> SketchyPlan:
    """Finds every sketch with its photo and maps it to its outputs and split (file names only, no pixels read)."""
    source, out = find_source(root), Path(out)
    found = source.categories
    if categories:
        unknown = [name for name in categories if name not in found]
        if unknown:
            first = unknown[0]
            raise I2IError(
                f"unknown categor{'ies' if len(unknown) > 1 else 'y'} {', '.join(repr(u) for u in unknown)} "
                f"in {show_path(source.root)}{did_you_mean(first, found)}; {len(found)} found, e.g. "
                f"{', '.join(found[:5])}"
            )
        chosen = list(dict.fromkeys(categories))
    else:
        chosen = found
    plan = SketchyPlan(source, [c for c in chosen if is_utf8(c)])
    plan.problems += [Problem(str(f), NOT_UTF8) for c in chosen if not is_utf8(c) for f in _category_folders(source, c)]
    too_few: list[str] = []
    for category in plan.categories:
        photos: dict[str, Path] = {}
        for path in _images(source.photos.get(category), plan):
            if path.stem in photos:
                plan.problems.append(Problem(str(path), f"same photo id as {photos[path.stem].name}; skipped"))
                continue
            photos[path.stem] = path
        by_photo: dict[str, list[Path]] = {}
        missing: list[Path] = []
        for path in _images(source.sketches.get(category), plan):
            match = _SKETCH_NAME.match(path.stem)
            if not match:
                plan.warnings.append(show_path(f"{path}: not named <photo_id>-<n>; ignored"))
            elif match["photo"] not in photos:
                missing.append(path)
            else:
                by_photo.setdefault(match["photo"], []).append(path)
        if missing:
            names = ", ".join(p.name for p in missing)
            plan.warnings.append(
                show_path(f"category '{category}': {len(missing)} sketch(es) without their photo skipped: {names}")
            )
        if not by_photo:
            plan.warnings.append(
                f"category '{category}' is empty: no sketch with its photo ({len(photos)} photo(s), "
                f"{len(missing)} sketch(es) without a photo); skipped"
            )
            continue
        ids = sorted(by_photo)
        if len(ids) == 1:
            plan.warnings.append(
                show_path(
                    f"category '{category}' has only 1 photo ({ids[0]}): it cannot be split by photo; all its "
                    f"{len(by_photo[ids[0]])} sketch(es) go to train"
                )
            )
        elif any(n == 0 for n, r in zip(split_counts(len(ids), ratios), ratios, strict=False) if r > 0):
            too_few.append(f"{category} ({len(ids)})")
        splits = split_of([f"{category}/{pid}" for pid in ids], ratios, seed)
        for pid, split in zip(ids, splits, strict=True):
            sketches = []
            for path in sorted(by_photo[pid], key=lambda p: (len(p.stem), p.stem)):
                stem = f"{category}__{path.stem}"
                sketches.append(
                    Sketch(
                        path,
                        stem,
                        out / "pairs" / "A" / split / f"{stem}.png",
                        out / "pairs" / "B" / split / f"{stem}.png",
                        out / "classes" / split / category / f"{path.stem}.png",
                    )
                )
            plan.jobs.append(PhotoJob(category, pid, photos[pid], split, tuple(sketches)))
    if too_few:
        shown = ",".join(f"{r:g}" for r in ratios)
        plan.warnings.append(
            f"{len(too_few)} categor{'ies have' if len(too_few) > 1 else 'y has'} too few photos for a photo in every "
            f"split at ratios {shown} (split by photo, per category): {', '.join(too_few)}"
        )
    return plan


def white_background(photo: np.ndarray) -> tuple[np.ndarray, bool]:
    """The photo with everything GrabCut calls background set to white, and whether it found a foreground.

    GrabCut starts from a rectangle inset by ``GRABCUT_INSET`` of each side (outside: sure background) and runs
    ``GRABCUT_ITERATIONS`` rounds; OpenCV's random generator is reseeded first, so the result is reproducible.
    """
    import cv2  # lazily: `i2i data` must start fast

    height, width = photo.shape[:2]
    dx, dy = max(1, round(width * GRABCUT_INSET)), max(1, round(height * GRABCUT_INSET))
    if width - 2 * dx < 2 or height - 2 * dy < 2:
        return photo, False
    mask = np.zeros((height, width), np.uint8)
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    try:
        bgr = np.ascontiguousarray(photo[:, :, ::-1])
        cv2.grabCut(
            bgr, mask, (dx, dy, width - 2 * dx, height - 2 * dy), *models, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_RECT
        )
    except cv2.error:  # e.g. a flat image: nothing to model
        return photo, False
    foreground = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    if not foreground.any():
        return photo, False
    out = photo.copy()
    out[~foreground] = 255
    return out, True


@dataclass
class _Done:
    rows: list[dict[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    resized: int = 0
    no_foreground: bool = False


def _make(job: PhotoJob, background: str, root: Path, out: Path) -> _Done:
    """Writes every pair of one photo (A, B and the class copy); unreadable files become problems."""
    done = _Done()
    try:
        photo = read_image(job.photo, channels=3)
    except ImageReadError as exc:
        done.problems.append(Problem(exc.path, f"{exc.reason}; its {len(job.sketches)} sketch(es) skipped"))
        return done
    if background == "white":
        photo, found = white_background(photo)
        done.no_foreground = not found
    for sketch in job.sketches:
        try:
            image = read_image(sketch.path, channels=1)
        except ImageReadError as exc:
            done.problems.append(Problem(exc.path, exc.reason))
            continue
        if image.shape[:2] != photo.shape[:2]:
            image = resize_image(image, photo.shape[:2])
            done.resized += 1
        for path in (sketch.a, sketch.b, sketch.klass):
            path.parent.mkdir(parents=True, exist_ok=True)
        write_image(sketch.a, image)
        write_image(sketch.b, photo)
        write_image(sketch.klass, image)
        done.rows.append(
            {
                "split": job.split,
                "category": job.category,
                "photo_id": job.photo_id,
                "sketch": sketch.path.relative_to(root).as_posix(),
                "photo": job.photo.relative_to(root).as_posix(),
                "a": sketch.a.relative_to(out).as_posix(),
                "b": sketch.b.relative_to(out).as_posix(),
                "class": sketch.klass.relative_to(out).as_posix(),
            }
        )
    return done


@dataclass
class SketchyReport:
    out: Path
    counts: dict[str, int]  # pairs per split
    photos: dict[str, int]  # photos per split
    categories: list[str]
    warnings: list[str]
    problems: list[Problem]

    def summary(self) -> str:
        splits = ", ".join(f"{s} {n}" for s, n in self.counts.items() if n)
        return (
            f"{show_path(self.out)}: {sum(self.counts.values())} sketch → photo pairs ({splits}) from "
            f"{sum(self.photos.values())} photos of {len(self.categories)} categories; pairs/ (A = sketch, "
            f"B = photo) and classes/ written"
        )


def _prepare_out(out: Path, overwrite: bool) -> None:
    """Refuses an existing non-empty ``out`` unless ``overwrite`` and it holds this command's earlier output, whose
    ``pairs/``, ``classes/`` and manifest are then removed (so no stale file survives)."""
    if out.exists() and not out.is_dir():
        raise I2IError(f"--out {show_path(out)} exists and is not a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    manifest = out / MANIFEST
    try:
        # errors="replace": a manifest of an earlier version could hold names that are not UTF-8; it is still ours
        ours = json.loads(manifest.read_text(encoding="utf-8", errors="replace")).get("tool") == TOOL
    except (OSError, ValueError, AttributeError):
        ours = False
    if not overwrite:
        raise I2IError(
            f"--out {show_path(out)} already exists and is not empty; pass --overwrite to replace "
            f"{'its earlier output' if ours else 'it'} or choose another --out"
        )
    if not ours:
        raise I2IError(
            f"--out {show_path(out)} holds files not made by '{TOOL}' (no {MANIFEST} of it); --overwrite replaces "
            "only this command's own output: choose another --out"
        )
    for name in ("pairs", "classes"):
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    manifest.unlink()


def make_sketchy(
    root: str | Path,
    out: str | Path,
    categories: Sequence[str] | None = None,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    background: str = "keep",
    overwrite: bool = False,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SketchyReport:
    """Prepares a Sketchy download under ``out`` (see the module docstring); returns what was written."""
    from i2i import __version__

    if background not in BACKGROUNDS:
        raise I2IError(f"unknown background '{background}'{did_you_mean(background, BACKGROUNDS)}")
    if seed < 0:
        raise I2IError(f"--seed must be >= 0, got {seed}")
    root, out = require_folder(root, "Sketchy folder"), Path(out)
    max_pixels()  # a bad I2I_MAX_PIXELS is one error now, not one problem per file
    refuse_risky_out(out, "sketchy")
    if out.resolve().is_relative_to(root.resolve()):
        raise I2IError(
            f"--out {show_path(out)} is inside the Sketchy folder {show_path(root)}; choose a folder outside"
        )
    if root.resolve().is_relative_to(out.resolve()):
        raise I2IError(f"the Sketchy folder {show_path(root)} is inside --out {show_path(out)}")
    # ConfigError "ratios: ..." for a wrong count or a negative share; fractions that sum to 1 are kept as given,
    # as `i2i data pairs` does (rescaling 0.8,0.1,0.1 could turn 5 × 0.1 = 0.5 into 0.4999..., rounded down)
    normalized = normalize_ratios(ratios)
    ratios = tuple(float(r) for r in ratios) if math.isclose(sum(ratios), 1, abs_tol=1e-9) else normalized
    plan = plan_sketchy(root, out, categories, ratios, seed)
    if not plan.jobs:
        raise DatasetError(
            f"{show_path(root)}: no sketch with its photo in {len(plan.categories)} categor"
            f"{'ies' if len(plan.categories) != 1 else 'y'} ({plan.source.layout} layout); nothing to write"
        )
    _prepare_out(out, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    settings = {
        "root": _json_text(str(root.resolve())),
        "layout": plan.source.layout,
        "categories": plan.categories,
        "ratios": [float(r) for r in ratios],
        "seed": seed,
        "background": background,
    }
    header = {"tool": TOOL, "i2i_version": __version__, "settings": settings}
    atomic_write(out / MANIFEST, (json.dumps(header | {"status": "incomplete"}, indent=1) + "\n").encode())
    results: dict[int, _Done] = {}
    total = sum(len(job.sketches) for job in plan.jobs)
    with ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="i2i-sketchy") as pool:
        futures = {pool.submit(_make, job, background, root, out): i for i, job in enumerate(plan.jobs)}
        try:
            done = 0
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                done += len(plan.jobs[futures[future]].sketches)
                if on_progress:
                    on_progress(done, total)
        except BaseException:  # Ctrl-C: drop the queued photos; the running ones finish their (atomic) writes
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    ordered = [results[i] for i in range(len(plan.jobs))]
    rows = [row for r in ordered for row in r.rows]
    problems = plan.problems + [p for r in ordered for p in r.problems]
    warnings = list(plan.warnings)
    if resized := sum(r.resized for r in ordered):
        warnings.append(f"{resized} sketch(es) had another size than their photo and were resized to it")
    if background == "white" and (
        bare := [j.photo.name for j, r in zip(plan.jobs, ordered, strict=True) if r.no_foreground]
    ):
        warnings.append(f"GrabCut found no foreground in {len(bare)} photo(s), kept as they are: {', '.join(bare)}")
    warnings = [show_path(line) for line in warnings]  # category and file names: one printable line each
    counts = dict.fromkeys(SPLIT_NAMES, 0)
    counts.update(Counter(row["split"] for row in rows))
    photos = dict.fromkeys(SPLIT_NAMES, 0)
    photos.update(Counter(job.split for job, r in zip(plan.jobs, ordered, strict=True) if r.rows))
    per_category: dict[str, dict[str, int]] = {}
    for row in rows:
        per_category.setdefault(row["category"], dict.fromkeys(SPLIT_NAMES, 0))[row["split"]] += 1
    final = {
        "status": "complete",
        "layout": "folders",
        "a": "sketch",
        "b": "photo",
        "direction": "AtoB",
        "counts": counts,
        "photos": photos,
        "per_category": per_category,
        "warnings": warnings,
        "problems": [{"path": p.path, "reason": p.reason} for p in problems],
    }
    text = json.dumps(_json_safe(header | final), indent=1, ensure_ascii=False)
    lines = ",\n".join("  " + json.dumps(_json_safe(row), ensure_ascii=False) for row in rows)
    text = text[:-2] + f',\n "pairs": [\n{lines}\n ]\n}}\n'
    atomic_write(out / MANIFEST, text.encode("utf-8"))
    return SketchyReport(out, counts, photos, sorted(per_category), warnings, problems)


def _json_text(text: str) -> str:
    """``text`` as it can go into the (UTF-8) manifest: unchanged when it is valid UTF-8, else escaped by
    ``show_path`` (undecodable bytes read ``\\xNN``)."""
    return text if is_utf8(text) else show_path(text)


def _json_safe(value: object) -> object:
    """``value`` with every string in it made fit for the manifest (``_json_text``): the pairs' names are valid
    UTF-8 by construction, this is the guard for what else names a file (problems, warnings, the root)."""
    if isinstance(value, str):
        return _json_text(value)
    if isinstance(value, dict):
        return {_json_text(str(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


EPILOG = f"""examples:
  i2i data sketchy ../shared/datasets/sketchy --out datasets/sketchy4 \\
      --categories 'teddy_bear,strawberry,teapot,car_(sedan)'
  i2i data sketchy rendered_256x256 --out datasets/sketchy --background white

Layouts: ROOT/256x256/photo/{VARIANT}/<category>/<id>.jpg + ROOT/256x256/sketch/{VARIANT}/<category>/<id>-<n>.png
(the official download), or ROOT/<category>/photo/<id>.jpg + ROOT/<category>/sketch/<id>-<n>.png.
Splits are by photo, per category: key <category>/<photo_id>, ranked by a hash of (--seed, key) and cut at exact counts
as in i2i data split; every sketch goes where its photo goes. Train the pairs with --data.root DIR/pairs (A = sketch).
exit status: 0 written (warnings may be printed), 1 written but some files were unreadable, 2 refused.
"""


def command(argv: Sequence[str]) -> int:
    from i2i.datatools.commands import progress_bar

    parser = argparse.ArgumentParser(
        prog=TOOL,
        description="Turn a Sketchy download into sketch → photo pairs (DIR/pairs) and a sketch class set "
        "(DIR/classes), split by photo.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("root", metavar="ROOT", help="the Sketchy folder (official download or per-category subset)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (not inside ROOT)")
    parser.add_argument("--categories", help="comma-separated category names (default: all found)")
    parser.add_argument("--ratios", default="0.8,0.1,0.1", help="train,val[,test] shares per category (0.8,0.1,0.1)")
    parser.add_argument("--seed", type=int, default=0, help="split seed, as in i2i data split (0)")
    parser.add_argument(
        "--background", choices=BACKGROUNDS, default="keep", help="white: photo background to white by GrabCut (keep)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace this command's earlier output in DIR")
    parser.add_argument("--workers", type=int, default=None, help="threads (default: one per usable CPU)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"argument --workers: expected a positive integer, got {args.workers}")
    categories = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    with progress_bar("sketchy", "sketch") as progress:
        report = make_sketchy(
            args.root,
            args.out,
            categories,
            parse_ratios(args.ratios),
            args.seed,
            args.background,
            args.overwrite,
            args.workers,
            progress,
        )
    print(report.summary())
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    return report_unused(report.problems, "file(s)", MANIFEST)
