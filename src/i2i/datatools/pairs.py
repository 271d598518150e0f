"""``i2i data pairs``: synthesize A|B training pairs from plain photos (edges, sketch, grayscale, noise, ...).

``OUT/<split>/<name>.png`` holds A, the synthesized input, on the left and B, the photo, on the right, so
``--data.direction AtoB`` trains input → photo. ``OUT/manifest.json`` records the task, its parameters, the seed,
the source folder, the pairs per split, every photo that could not be used and which photo made which pair.

Reruns: each pair is written to a temp name and renamed, so an interrupted run leaves only complete files, and
``manifest.json`` is written first (status "incomplete") and last ("complete"). A rerun with the same settings
skips the pairs already there, deletes leftover temp files and makes the rest; other settings are refused unless
``--overwrite``, so one dataset never mixes two recipes.

Splits: ``i2i.splits``, the scheme of ``i2i data split`` and training's ``--data.holdout``. A pair's key is its
output stem (``sub__x`` for ``sub/x.jpg``); all the planned pairs are ranked by a SHA-256 hash of (``--seed``, key)
and cut at exact counts (val and test get their share rounded half up, train the rest). So ``--seed`` picks the
split, as in ``i2i data split --seed``, and also seeds each photo's random draws (noise, holes): photos with the same
stems split by ``i2i data split`` with the same seed and ratios land in the same splits. Adding photos later moves
only the few pairs next to a cut; a rerun removes them from their old split and makes them in the new one. A split
may come out empty when the photos are few (a note says so).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from i2i.atomic import atomic_write
from i2i.datatools.commands import refuse_risky_out, report_unused
from i2i.datatools.synth import TASKS, PairTask, create_task, fit_square, object_crop
from i2i.errors import ConfigError, DatasetError, I2IError, show_path
from i2i.imageio import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    is_image_file,
    max_pixels,
    read_image,
    unsupported_reason,
    write_image,
)
from i2i.layouts import Problem, require_folder, walk_folders
from i2i.parallel import default_workers
from i2i.splits import normalize_ratios, parse_ratios, split_of

SPLITS = ("train", "val", "test")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class PairsSettings:
    """Everything that decides the output bytes; a rerun into an existing folder must match it exactly.

    Args:
        task: a name in ``synth.TASKS``.
        params: the task's parameters; missing ones are filled in with the task's defaults.
        size: output side in pixels (short side scaled, centre-cropped to a square); 0 keeps each photo's size.
        object_crop: crop to the object on a plain background, plus ``crop_margin``, squared (before ``size``).
        crop_margin: margin on each side as a fraction of the object's longer side.
        half: "left" or "right" to take one half of each input file (the photo side of an A|B dataset).
        ratios: train, val and test shares (test may be left out: 0); normalized to sum 1, as ``i2i data split``
            reads ``--ratios`` (non-negative, train above 0). Kept as given when they already sum to 1.
        seed: the seed of the split (``i2i.splits``: the same split as ``i2i data split --seed``), and, with each
            photo's path, of that photo's random draws (noise, holes).
        format: "png" (lossless, the default: JPEG would blur noise and thin lines) or "jpg".
    """

    task: str
    params: dict[str, Any] = field(default_factory=dict)
    size: int = 256
    object_crop: bool = False
    crop_margin: float = 0.05
    half: str | None = None
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    format: str = "png"

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", create_task(self.task, **self.params).params())
        if self.size != 0 and self.size < 8:
            raise ConfigError(f"size must be 0 (keep each photo's size) or at least 8, got {self.size}")
        if not 0 <= self.crop_margin <= 1:
            raise ConfigError(f"crop margin must be in [0, 1], got {self.crop_margin}")
        if self.half not in (None, "left", "right"):
            raise ConfigError(f"half must be left or right, got {self.half!r}")
        ratios = normalize_ratios(self.ratios)  # ConfigError "ratios: ..." for a wrong count or a negative share
        if math.isclose(sum(self.ratios), 1, abs_tol=1e-9):  # already fractions: keep them as given (no rounding drift)
            ratios = tuple(float(r) for r in self.ratios)
        object.__setattr__(self, "ratios", (*ratios, 0.0) if len(ratios) == 2 else ratios)  # train,val: no test
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")
        if self.format not in ("png", "jpg"):
            raise ConfigError(f"format must be png or jpg, got {self.format!r}")

    def as_json(self, source: Path) -> dict[str, Any]:
        """The settings as the manifest records them, with the photos folder."""
        return json.loads(json.dumps({**asdict(self), "source": str(source.resolve())}))


@dataclass(frozen=True)
class PairJob:
    source: Path
    name: str  # the photo's path relative to the photos folder, in POSIX form: seeds its random draws
    split: str
    output: Path


@dataclass
class PairsReport:
    """What a run did. ``counts`` are the pairs per split in the output folder afterwards (made now or before)."""

    out: Path
    counts: dict[str, int]
    written: int = 0
    skipped: int = 0
    removed: int = 0
    ignored: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        splits = ", ".join(f"{split} {n}" for split, n in self.counts.items() if n)
        text = f"{self.out}: {sum(self.counts.values())} pairs ({splits}); {self.written} written"
        if self.skipped:
            text += f", {self.skipped} already there (kept)"
        if self.removed:
            text += f", {self.removed} stale removed"
        if self.ignored:
            text += f"; {self.ignored} non-image files ignored"
        return text


def image_seed(seed: int, name: str) -> list[int]:
    """Seed material for one photo's generator: the run's seed and a hash of the photo's relative path."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()
    return [seed, int.from_bytes(digest[:8], "big")]


@dataclass
class PairsPlan:
    """The photos found under a folder: a job per photo, the problems found without reading any pixels (entries
    named like images that are no files, output names taken twice), the number of other files, and the files of
    image formats i2i does not read (ignored, listed by name)."""

    jobs: list[PairJob]
    problems: list[Problem]
    ignored: int
    unsupported: list[Path]


def plan_pairs(photos: Path, out: Path, settings: PairsSettings) -> PairsPlan:
    """Lists the photos under ``photos`` (recursively, skipping hidden entries) and maps each to its output file.

    Which entries are photos is ``layouts.scan_folder``'s rule. A photo in ``sub/x.jpg`` becomes
    ``OUT/<split>/sub__x.png``; the splits come from ``i2i.splits.split_of`` over all the output stems at once,
    seeded by ``settings.seed``. Photos whose output name another photo already takes are problems (listed, never
    dropped silently).
    """
    found: list[tuple[Path, str, str]] = []  # (photo, its relative path, output stem)
    problems: list[Problem] = []
    ignored = 0
    unsupported: list[Path] = []
    taken: dict[str, str] = {}
    for _, scan in walk_folders(photos):
        problems += scan.problems
        ignored += scan.other
        unsupported += scan.unsupported
        for path in scan.images:
            name = path.relative_to(photos).as_posix()
            stem = name.rsplit(".", 1)[0].replace("/", "__")
            if stem in taken:
                problems.append(Problem(str(path), f"same output name '{stem}' as {taken[stem]}; rename one"))
                continue
            taken[stem] = name
            found.append((path, name, stem))
    splits = split_of([stem for _, _, stem in found], settings.ratios, settings.seed)
    jobs = [
        PairJob(path, name, split, out / split / f"{stem}.{settings.format}")
        for (path, name, stem), split in zip(found, splits, strict=True)
    ]
    return PairsPlan(jobs, problems, ignored, unsupported)


def _check_out(out: Path, recipe: dict[str, Any], overwrite: bool) -> bool:
    """Refuses output folders that would lose data or mix recipes; returns whether ``out`` was made by this command."""
    if out.exists() and not out.is_dir():
        raise I2IError(f"--out {show_path(out)} exists and is not a folder")
    manifest = out / MANIFEST
    if manifest.is_file():
        try:
            # errors="surrogateescape": a manifest an earlier i2i wrote with raw bytes in a file name still reads
            old = json.loads(manifest.read_text(encoding="utf-8", errors="surrogateescape"))["settings"]
        except (ValueError, KeyError, TypeError):
            old = None
        if old is None and not overwrite:
            raise I2IError(f"{manifest} is not a readable 'i2i data pairs' manifest; pass --overwrite to replace {out}")
        if old is not None and old != recipe and not overwrite:
            changed = ", ".join(f"{k} {old.get(k)!r} → {v!r}" for k, v in recipe.items() if old.get(k) != v)
            raise I2IError(
                f"{out} holds pairs made with other settings ({changed}); pass --overwrite to replace them, "
                "or choose another --out"
            )
        return True
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise I2IError(
            f"{out} is not empty and has no {MANIFEST} from 'i2i data pairs'; choose another --out or pass --overwrite"
        )
    return False


def _tidy(out: Path, jobs: list[PairJob], ours: bool) -> tuple[int, int]:
    """Deletes temp files left by an interrupted run and, in a folder this command made, pairs no longer planned
    (their photo is gone or now belongs to another split). Returns (stale pairs removed, foreign images kept)."""
    planned = {job.output for job in jobs}
    removed = foreign = 0
    for folder in [out] + [out / split for split in SPLITS]:
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file():
                entry.unlink()
            elif folder != out and entry.is_file() and is_image_file(entry) and entry not in planned:
                if ours:
                    entry.unlink()
                    removed += 1
                else:
                    foreign += 1
    return removed, foreign


@dataclass(frozen=True)
class _Made:
    size: tuple[int, int]  # (width, height) of B
    cropped: bool  # a non-square photo lost its sides to the centre crop
    no_object: bool  # --object-crop found no object on a plain background; the whole photo was used


def make_pair(job: PairJob, task: PairTask, settings: PairsSettings) -> _Made:
    """Reads one photo, frames it (half, object crop, size), synthesizes A and writes A|B. Raises ImageReadError."""
    photo = read_image(job.source, channels=3)
    if settings.half:
        width = photo.shape[1]
        if width % 2:
            raise ImageReadError(job.source, f"odd width {width}: cannot take the {settings.half} half of an A|B file")
        photo = photo[:, : width // 2] if settings.half == "left" else photo[:, width // 2 :]
    no_object = False
    if settings.object_crop:
        framed = object_crop(photo, settings.crop_margin)
        no_object = framed is None
        photo = photo if framed is None else framed
    cropped = bool(settings.size) and photo.shape[0] != photo.shape[1]
    if settings.size:
        photo = fit_square(photo, settings.size)
    a = task(photo, np.random.default_rng(image_seed(settings.seed, job.name)))
    write_image(job.output, np.ascontiguousarray(np.concatenate([a, photo], axis=1)))
    return _Made((photo.shape[1], photo.shape[0]), cropped, no_object)


def _run(jobs: Iterable[PairJob], work: Callable[[PairJob], Any], workers: int) -> Iterator[tuple[PairJob, Any]]:
    """Yields (job, result or Problem) as jobs finish, with at most 4 per worker in flight (streaming).

    On an interrupt or error the queued jobs are cancelled and the running ones finish, so every file written is
    complete; then the exception propagates.
    """

    def attempt(job: PairJob) -> Any:
        try:
            return work(job)
        except ImageReadError as exc:
            return Problem(exc.path, exc.reason)

    queue = iter(jobs)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="i2i-pairs")
    pending: dict[Future, PairJob] = {}
    try:
        while True:
            for job in queue:
                pending[pool.submit(attempt, job)] = job
                if len(pending) >= 4 * workers:
                    break
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dump(data: dict[str, Any], files: list[dict[str, str]] | None = None) -> bytes:
    """The manifest as strict UTF-8 JSON, one line per pair in ``files``. A file name that is not UTF-8 (Python keeps
    each undecodable byte as a lone surrogate) is written with JSON escapes (``\\udcff``), so every JSON reader takes
    the file and Python's reads the name back exactly; its raw bytes made the manifest unreadable as UTF-8."""
    text = json.dumps(data, indent=1, ensure_ascii=False)
    if files is not None:
        rows = ",\n".join("  " + json.dumps(f, ensure_ascii=False) for f in files)
        text = text[:-2] + f',\n "files": [\n{rows}\n ]\n}}'
    text = re.sub("[\udc80-\udcff]", lambda m: f"\\u{ord(m.group()):04x}", text)
    return (text + "\n").encode("utf-8")


def make_pairs(
    photos: str | Path,
    out: str | Path,
    settings: PairsSettings,
    overwrite: bool = False,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> PairsReport:
    """Synthesizes an A|B dataset from the photos under ``photos`` into ``out`` (see the module docstring).

    Args:
        photos: folder of photos, searched recursively.
        out: output folder; must not be inside ``photos`` (its pairs would be read as photos next time).
        settings: the recipe, recorded in the manifest.
        overwrite: remake existing pairs and accept a folder made with other settings or by something else.
        workers: threads (OpenCV and Pillow release the GIL); default: ``i2i.parallel.default_workers()``, one per
            usable CPU.
        on_progress: called with (done, total) after each photo.
    """
    from i2i import __version__

    photos, out = require_folder(photos, "photos folder"), Path(out)
    max_pixels()  # a bad I2I_MAX_PIXELS is one error now, not one problem per photo
    refuse_risky_out(out)
    if out.resolve().is_relative_to(photos.resolve()):
        raise I2IError(f"--out {out} is inside the photos folder {photos}; its pairs would be read as photos next time")
    if photos.resolve().is_relative_to(out.resolve()):
        raise I2IError(f"the photos folder {photos} is inside --out {out}")
    task = create_task(settings.task, **settings.params)
    plan = plan_pairs(photos, out, settings)
    jobs, problems, ignored = plan.jobs, plan.problems, plan.ignored
    if not jobs and not problems:
        found = f"; found {len(plan.unsupported)} of formats i2i does not read, e.g. " if plan.unsupported else ""
        found += f"{show_path(plan.unsupported[0])}: {unsupported_reason(plan.unsupported[0])}" if found else ""
        looked = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise DatasetError(f"no images found under {show_path(photos)} (looked for {looked}{found})")
    recipe = settings.as_json(photos)
    ours = _check_out(out, recipe, overwrite)
    header = {"tool": "i2i data pairs", "i2i_version": __version__, "layout": "aligned", "direction": "AtoB"}
    header |= {"a": f"synthesized input ({settings.task})", "b": "photo", "settings": recipe}
    atomic_write(out / MANIFEST, _dump(header | {"status": "incomplete"}))
    report = PairsReport(out, dict.fromkeys(SPLITS, 0), ignored=ignored, problems=problems)
    report.removed, foreign = _tidy(out, jobs, ours)
    todo = jobs if overwrite else [job for job in jobs if not job.output.exists()]
    report.skipped = len(jobs) - len(todo)
    made: list[_Made] = []
    failed: set[Path] = set()
    workers = workers or default_workers()
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # parallel across photos instead; OpenCV's own threads would oversubscribe the cores
    try:
        # closing(): on an interrupt the pool stops at once (queued photos cancelled, running ones finished).
        with closing(_run(todo, lambda j: make_pair(j, task, settings), workers)) as results:
            for done, (job, result) in enumerate(results, 1):
                if isinstance(result, Problem):
                    report.problems.append(result)
                    failed.add(job.source)
                else:
                    made.append(result)
                if on_progress:
                    on_progress(done, len(todo))
    finally:
        cv2.setNumThreads(threads)
    report.written = len(made)
    kept = [job for job in jobs if job.source not in failed]
    for job in kept:
        report.counts[job.split] += 1
    report.notes = _notes(made, settings, foreign, report.counts)
    report.notes += [f"{path}: {unsupported_reason(path)}; ignored" for path in plan.unsupported]
    files = [{"file": job.output.relative_to(out).as_posix(), "source": job.name} for job in kept]
    problem_list = [{"path": p.path, "reason": p.reason} for p in report.problems]
    final = {"status": "complete", "counts": report.counts, "problems": problem_list, "notes": report.notes}
    atomic_write(out / MANIFEST, _dump(header | final | {"ignored_files": ignored}, files))
    return report


def _notes(made: list[_Made], settings: PairsSettings, foreign: int, counts: dict[str, int]) -> list[str]:
    """Warnings about the run: framing losses, object-crop fallbacks, mixed sizes, foreign files, empty splits."""
    notes = []
    if cropped := sum(m.cropped for m in made):
        hint = "" if settings.object_crop else " (--object-crop keeps whole objects)"
        notes.append(f"{cropped} non-square photo(s) were centre-cropped to {settings.size}×{settings.size}{hint}")
    if no_object := sum(m.no_object for m in made):
        notes.append(f"{no_object} photo(s) show no object on a plain background; used whole (--object-crop)")
    sizes = Counter(m.size for m in made)
    if len(sizes) > 1:
        common = ", ".join(f"{w}×{h} ({n})" for (w, h), n in sizes.most_common(5))
        notes.append(f"pairs have {len(sizes)} different sizes: {common}; training resizes them to data.load_size")
    if foreign:
        notes.append(f"{foreign} image file(s) in the split folders were not made by this run and were kept")
    for split, ratio in zip(SPLITS, settings.ratios, strict=True):
        if ratio > 0 and not counts[split]:
            notes.append(f"{split} is empty: too few photos for ratio {ratio}")
    return notes


# --- command line ----------------------------------------------------------------------------------------------------

# argparse destination → (task, task parameter). Flags default to None so the task's own defaults apply, and a flag
# given for another task is an error instead of being ignored.
TASK_FLAGS = {
    "edges": ("edges", "method"),
    "edge_sigma": ("edges", "sigma"),
    "edge_min_length": ("edges", "min_length"),
    "sketch_sigma": ("sketch", "sigma"),
    "noise_kind": ("noise", "kind"),
    "noise_level": ("noise", "level"),
    "blur_sigma": ("blur", "sigma"),
    "scale": ("lowres", "scale"),
    "mask_holes": ("mask", "holes"),
    "mask_size": ("mask", "max_size"),
    "mask_fill": ("mask", "fill"),
}

EPILOG = """examples:
  i2i data pairs photos/ --task edges --out data/edges2photos --object-crop
  i2i data pairs photos/ --task noise --noise-kind poisson --noise-level 8 --out data/denoise
  i2i data pairs ../shared/datasets/edges2shoes --half right --task edges --out data/shoes_edges

A is the synthesized input (left), B the photo (right): train with --data.direction AtoB.
Splits: the pairs are ranked by a hash of (--seed, output stem, e.g. sub__x for sub/x.jpg) and cut at exact counts,
as i2i data split does: the same names, seed and ratios give the same splits in both commands.
"""


def command(argv: Sequence[str]) -> int:
    from i2i.datatools.commands import progress_bar

    parser = argparse.ArgumentParser(
        prog="i2i data pairs",
        description="Synthesize A|B training pairs (A = synthesized input, B = photo) from a folder of photos.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("photos", metavar="PHOTOS_DIR", help="folder of photos (searched recursively)")
    parser.add_argument("--task", required=True, choices=TASKS.names(), help="what A is made of")
    parser.add_argument("--out", required=True, help="output folder (not inside PHOTOS_DIR)")
    frame = parser.add_argument_group("framing and output")
    frame.add_argument("--size", type=int, default=256, help="square output side; 0 keeps each photo's size (256)")
    frame.add_argument("--object-crop", action="store_true", help="crop to the object on a plain background, squared")
    frame.add_argument("--crop-margin", type=float, default=0.05, help="object-crop margin per side (0.05)")
    frame.add_argument("--half", choices=["left", "right"], help="use one half of each file (photos of an A|B set)")
    frame.add_argument(
        "--ratios",
        default="0.8,0.1,0.1",
        help="train,val[,test] shares, normalized, as in i2i data split; 8,1,1 works too (0.8,0.1,0.1)",
    )
    frame.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the split (the same split as i2i data split --seed) and of each photo's random draws (0)",
    )
    frame.add_argument("--format", choices=["png", "jpg"], default="png", help="file format (png: lossless)")
    frame.add_argument("--overwrite", action="store_true", help="remake existing pairs; accept other settings")
    frame.add_argument("--workers", type=int, default=None, help="threads (default: one per usable CPU)")
    task = parser.add_argument_group("task parameters (defaults in brackets)")
    task.add_argument("--edges", choices=["hed", "canny"], help="edges: HED-like contours or Canny [hed]")
    task.add_argument("--edge-sigma", type=float, help="edges: smoothing scale in pixels [hed 1.0, canny 2.0]")
    task.add_argument("--edge-min-length", type=int, help="edges: drop fragments shorter than this [10]")
    task.add_argument("--sketch-sigma", type=float, help="sketch: stroke scale in pixels [1.0]")
    task.add_argument("--noise-kind", choices=["gaussian", "poisson", "saltpepper"], help="noise: [gaussian]")
    task.add_argument(
        "--noise-level",
        type=float,
        help="noise: gaussian σ in 8-bit levels [25], poisson levels per photon [4], "
        "saltpepper fraction of pixels [0.05]",
    )
    task.add_argument("--blur-sigma", type=float, help="blur: Gaussian σ in pixels [2.0]")
    task.add_argument("--scale", type=int, choices=[2, 4, 8], help="lowres: downscale factor [4]")
    task.add_argument("--mask-holes", type=int, help="mask: rectangles per image [4]")
    task.add_argument("--mask-size", type=float, help="mask: largest hole side as a fraction of the image [0.25]")
    task.add_argument("--mask-fill", type=int, help="mask: hole value 0..255 [128]")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"argument --workers: expected a positive integer, got {args.workers}")
    params: dict[str, Any] = {}
    for dest, (owner, param) in TASK_FLAGS.items():
        value = getattr(args, dest)
        if value is not None and owner != args.task:
            parser.error(f"--{dest.replace('_', '-')} applies to --task {owner}, not {args.task}")
        if owner == args.task:
            params[param] = value
    settings = PairsSettings(
        task=args.task,
        params=params,
        size=args.size,
        object_crop=args.object_crop,
        crop_margin=args.crop_margin,
        half=args.half,
        ratios=parse_ratios(args.ratios),
        seed=args.seed,
        format=args.format,
    )
    with progress_bar(f"pairs ({args.task})", "photo") as progress:
        report = make_pairs(args.photos, args.out, settings, args.overwrite, args.workers, progress)
    print(show_path(report.summary()))
    for note in report.notes:
        print(f"note: {show_path(note)}", file=sys.stderr)
    return report_unused(report.problems, "photo(s)", MANIFEST)
