"""``i2i data combine``: A/ + B/ folders with matching file names → A|B side-by-side files (the aligned layout).

Rules:
- Files pair by stem (``x.jpg`` in A with ``x.png`` in B). Names found on one side only are reported, not combined.
- Split subfolders: when neither folder holds images directly, each subfolder (``train``, ``val``, ...) is combined
  into ``OUT/<subfolder>/``, as pix2pix's ``combine_A_and_B.py`` does; otherwise the images directly in the two
  folders are combined into ``OUT/`` and subfolders are not looked at.
- Output is RGB (grayscale inputs are replicated), ``<stem>.png`` by default (lossless) or ``<stem>.jpg``.
- A and B must have the same size. Without ``resize_b`` any mismatch refuses the whole job before anything is
  written (one line per pair); with it B is resized to A's size (Pillow bicubic).
- Unreadable files never stop the others: the good pairs are written and every bad file is reported. Which entries
  are images is ``layouts.scan_folder``'s rule: entries named like images that are no files (a FIFO, a folder
  ``x.png/``) are problems, and files of image formats i2i does not read (``.heic``, ...) are listed as ignored.
- Existing outputs are refused (before anything is written) unless ``overwrite`` or ``skip_existing``; every file is
  written to a temp file and renamed, so an interrupted run leaves only complete files, and a rerun with
  ``--skip-existing`` finishes the job.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from i2i.datatools.commands import refuse_risky_out
from i2i.errors import DatasetError, I2IError, show_path
from i2i.imageio import (
    ImageReadError,
    max_pixels,
    probe_image,
    read_image,
    resize_image,
    unsupported_reason,
    write_image,
)
from i2i.layouts import require_folder, scan_folder
from i2i.parallel import default_workers

log = logging.getLogger(__name__)

FORMATS = ("png", "jpg")


@dataclass(frozen=True)
class CombineJob:
    """One pair to combine: A's and B's files and the A|B file to write."""

    name: str
    path_a: Path
    path_b: Path
    out: Path


@dataclass
class CombinePlan:
    """What combining two folders will do, found from file names alone."""

    jobs: list[CombineJob] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # outputs that exist and are kept (skip_existing)
    only_a: list[Path] = field(default_factory=list)  # no file of the same stem in B
    only_b: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each: ambiguous names, FIFOs named like images
    unsupported: list[Path] = field(default_factory=list)  # files of image formats i2i does not read (ignored)
    splits: list[str] | None = None  # subfolders combined one by one; None: the folders themselves


@dataclass
class CombineReport:
    """What a combine did. ``problems`` (unreadable files, ambiguous names) are pairs that were not written."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    resized: list[str] = field(default_factory=list)
    only_a: list[Path] = field(default_factory=list)
    only_b: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unsupported: list[Path] = field(default_factory=list)
    splits: list[str] | None = None


def _images_by_stem(folder: Path, plan: CombinePlan) -> dict[str, Path]:
    """Image files directly in ``folder`` by stem (none if it is missing); two files with one stem are a problem."""
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    scan = scan_folder(folder)
    plan.problems += [str(problem) for problem in scan.problems]
    plan.unsupported += scan.unsupported
    for path in scan.images:
        if path.stem in out:
            plan.problems.append(show_path(f"{path}: same name as {out[path.stem].name}; cannot tell which one pairs"))
            continue
        out[path.stem] = path
    return out


def plan_combine(
    dir_a: str | Path,
    dir_b: str | Path,
    out: str | Path,
    fmt: str = "png",
    overwrite: bool = False,
    skip_existing: bool = False,
) -> CombinePlan:
    """Pairs the files of ``dir_a`` and ``dir_b`` by stem and maps each pair to an output file.

    Raises:
        I2IError: a folder is missing, ``out`` lies inside an input folder, nothing pairs up, or outputs already
            exist (neither ``overwrite`` nor ``skip_existing``); nothing has been written then.
    """
    dir_a, dir_b, out = Path(dir_a), Path(dir_b), Path(out)
    if fmt not in FORMATS:
        raise I2IError(f"unknown output format '{fmt}' (choose from {', '.join(FORMATS)})")
    if overwrite and skip_existing:
        raise I2IError("--overwrite and --skip-existing contradict each other; pass one")
    for folder in (dir_a, dir_b):
        require_folder(folder, "folder")
    if dir_a.resolve() == dir_b.resolve():
        raise I2IError(f"A and B are the same folder ({show_path(dir_a)})")
    refuse_risky_out(out)
    for folder in (dir_a, dir_b):
        if out.resolve().is_relative_to(folder.resolve()):
            raise I2IError(
                f"--out {show_path(out)} is inside the input folder {show_path(folder)}; choose a folder outside it"
            )

    plan = CombinePlan()
    scans = [scan_folder(dir_a), scan_folder(dir_b)]
    if any(scan.images for scan in scans):
        sources = [(dir_a, dir_b, out)]
    else:
        names = sorted({p.name for scan in scans for p in scan.folders})
        plan.splits = names
        sources = [(dir_a / s, dir_b / s, out / s) for s in names]
        for scan in scans:  # entries beside the split folders: a FIFO x.png, a photo.heic
            plan.problems += [str(problem) for problem in scan.problems]
            plan.unsupported += scan.unsupported
    for folder_a, folder_b, folder_out in sources:
        by_a, by_b = _images_by_stem(folder_a, plan), _images_by_stem(folder_b, plan)
        for stem in sorted(by_a.keys() | by_b.keys()):
            if stem not in by_b:
                plan.only_a.append(by_a[stem])
            elif stem not in by_a:
                plan.only_b.append(by_b[stem])
            else:
                plan.jobs.append(CombineJob(stem, by_a[stem], by_b[stem], folder_out / f"{stem}.{fmt}"))
    if not plan.jobs:
        where = f"{show_path(dir_a)} and {show_path(dir_b)}"
        where += " (or in their subfolders)" if plan.splits is not None else ""
        if plan.unsupported:
            first = plan.unsupported[0]
            where += (
                f"; ignored {len(plan.unsupported)} file(s) of formats i2i does not read, e.g. "
                f"{show_path(first)}: {unsupported_reason(first)}"
            )
        raise DatasetError(f"no file names match between {where}")

    existing = [job for job in plan.jobs if job.out.exists()]
    if existing and skip_existing:
        plan.skipped = [job.out for job in existing]
        plan.jobs = [job for job in plan.jobs if not job.out.exists()]
    elif existing and not overwrite:
        raise I2IError(
            f"{len(existing)} of {len(plan.jobs)} output file(s) already exist (e.g. {show_path(existing[0].out)}); "
            "pass --skip-existing to finish an interrupted run or --overwrite to replace them"
        )
    return plan


def find_size_mismatches(jobs: list[CombineJob], workers: int) -> tuple[list[str], list[CombineJob], list[str]]:
    """Reads only the headers: (one line per pair whose A and B sizes differ, readable jobs, unreadable files)."""

    def probe(job: CombineJob) -> str | None:
        (wa, ha), (wb, hb) = ((i.width, i.height) for i in (probe_image(job.path_a), probe_image(job.path_b)))
        return None if (wa, ha) == (wb, hb) else show_path(f"{job.name}: A is {wa}×{ha}, B is {wb}×{hb}")

    mismatched, readable, unreadable = [], [], []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(probe, job) for job in jobs]
        for job, future in zip(jobs, futures, strict=True):
            try:
                line = future.result()
            except ImageReadError as exc:
                unreadable.append(str(exc))
                continue
            readable.append(job)
            if line:
                mismatched.append(line)
    return mismatched, readable, unreadable


def combine_pair(job: CombineJob, resize_b: bool = False) -> bool:
    """Writes one A|B file (RGB); returns whether B was resized. Raises ImageReadError or DatasetError."""
    a, b = read_image(job.path_a, channels=3), read_image(job.path_b, channels=3)
    resized = a.shape != b.shape
    if resized:
        if not resize_b:
            raise DatasetError(show_path(f"{job.name}: A is {a.shape[1]}×{a.shape[0]}, B is {b.shape[1]}×{b.shape[0]}"))
        b = resize_image(b, a.shape[:2])
    write_image(job.out, np.concatenate([a, b], axis=1))
    return resized


def combine_folders(
    dir_a: str | Path,
    dir_b: str | Path,
    out: str | Path,
    fmt: str = "png",
    resize_b: bool = False,
    overwrite: bool = False,
    skip_existing: bool = False,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> CombineReport:
    """Combines every pair of ``dir_a`` and ``dir_b`` into A|B files under ``out``, in a thread pool.

    Args:
        dir_a: folder of A images (or of split subfolders of them).
        dir_b: folder of B images, same names as in ``dir_a``.
        out: output folder; ``out/<split>/`` for split subfolders.
        fmt: "png" (lossless) or "jpg" (quality 95).
        resize_b: resize B to A's size where they differ; otherwise a mismatch refuses the whole job.
        overwrite: replace existing output files.
        skip_existing: keep existing output files and write only the missing ones (to finish an interrupted run).
        workers: threads decoding and encoding (Pillow releases the GIL); default one per usable CPU.
        on_progress: called with (pairs done, pairs to write): (0, n) before the first, then after each pair.

    Raises:
        I2IError: see plan_combine; and sizes that differ without ``resize_b`` (nothing is written then).
    """
    max_pixels()  # a bad I2I_MAX_PIXELS is one error now, not one problem per file
    plan = plan_combine(dir_a, dir_b, out, fmt, overwrite, skip_existing)
    workers = workers or default_workers()
    report = CombineReport(
        skipped=plan.skipped,
        only_a=plan.only_a,
        only_b=plan.only_b,
        problems=plan.problems,
        unsupported=plan.unsupported,
        splits=plan.splits,
    )
    jobs = plan.jobs
    if not resize_b and jobs:
        log.info("checking the sizes of %d pair(s)", len(jobs))
        mismatched, jobs, unreadable = find_size_mismatches(jobs, workers)
        if mismatched:
            lines = "\n".join(f"  {line}" for line in mismatched)
            raise DatasetError(
                f"{len(mismatched)} pair(s) have different A and B sizes; nothing was written:\n{lines}\n"
                "pass --resize-b to resize B to A's size"
            )
        report.problems += unreadable
    if on_progress:
        on_progress(0, len(jobs))
    if not jobs:
        return report

    done: dict[Path, bool] = {}  # output → whether B was resized
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(combine_pair, job, resize_b): job for job in jobs}
        try:
            for finished, future in enumerate(as_completed(futures), 1):
                job = futures[future]
                try:
                    done[job.out] = future.result()
                except I2IError as exc:  # unreadable file (or a size that the header misreported)
                    report.problems.append(str(exc))
                if on_progress:
                    on_progress(finished, len(jobs))
        except BaseException:
            # Ctrl-C: drop the queued pairs; the running ones finish their (atomic) writes.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    report.written = [job.out for job in jobs if job.out in done]  # in plan order, not completion order
    report.resized = [job.name for job in jobs if done.get(job.out)]
    return report


def command(argv: Sequence[str]) -> int:
    from i2i.datatools.commands import progress_bar

    parser = argparse.ArgumentParser(
        prog="i2i data combine",
        description=(
            "Combine A/ and B/ folders with matching file names into A|B side-by-side files (the aligned layout "
            "that i2i train reads). When the two folders hold split subfolders (train, val, test) and no images "
            "directly, each split is combined into OUT/<split>/."
        ),
        epilog=(
            "exit status: 0 when every pair was written (names without a partner are listed as warnings), "
            "1 when some pairs could not be combined (unreadable files, two files with one stem; the other pairs are "
            "written and every bad file is listed), "
            "2 when the job is refused before writing anything (sizes differ, outputs exist, bad folders)."
        ),
    )
    parser.add_argument("dir_a", metavar="A_DIR", help="folder of A images (or of split subfolders)")
    parser.add_argument("dir_b", metavar="B_DIR", help="folder of B images with the same file names (stems)")
    parser.add_argument("--out", required=True, help="output folder (must not be inside A_DIR or B_DIR)")
    parser.add_argument(
        "--format", default="png", choices=FORMATS, help="output format: png (lossless, default) or jpg (quality 95)"
    )
    parser.add_argument(
        "--resize-b", action="store_true", help="resize B to A's size (bicubic) when they differ; default: refuse"
    )
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--overwrite", action="store_true", help="replace existing output files")
    existing.add_argument(
        "--skip-existing", action="store_true", help="keep existing output files (finish an interrupted run)"
    )
    parser.add_argument("--workers", type=int, default=None, help="threads (default: one per usable CPU)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"argument --workers: expected a positive integer, got {args.workers}")

    with progress_bar("combine", "pair") as progress:
        report = combine_folders(
            args.dir_a,
            args.dir_b,
            args.out,
            fmt=args.format,
            resize_b=args.resize_b,
            overwrite=args.overwrite,
            skip_existing=args.skip_existing,
            workers=args.workers,
            on_progress=progress,
        )

    for label, paths in (("B_DIR", report.only_a), ("A_DIR", report.only_b)):
        if paths:
            print(f"warning: {len(paths)} file(s) have no partner in {label} and were not combined:", file=sys.stderr)
            for path in paths:
                print(f"  {show_path(path)}", file=sys.stderr)
    if report.unsupported:
        print(f"warning: {len(report.unsupported)} file(s) of formats i2i does not read were ignored:", file=sys.stderr)
        for path in report.unsupported:
            print(f"  {show_path(path)}: {unsupported_reason(path)}", file=sys.stderr)
    where = args.out if report.splits is None else f"{args.out}/{{{','.join(report.splits)}}}"
    where = show_path(where)
    text = f"wrote {len(report.written)} A|B file(s) to {where}"
    if report.resized:
        text += f" ({len(report.resized)} with B resized to A's size)"
    if report.skipped:
        text += f"; kept {len(report.skipped)} existing"
    print(text)
    if report.problems:
        print(f"{len(report.problems)} file(s) could not be combined:", file=sys.stderr)
        for line in report.problems:
            print(f"  {show_path(line)}", file=sys.stderr)
        return 1
    return 0
