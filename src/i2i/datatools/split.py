"""``i2i data split``: a deterministic train/val(/test) split of an unsplit paired dataset.

Inputs (``root`` is the dataset folder):
- ``aligned``: A|B files directly in ``root`` → ``root/<split>/name.png``.
- ``folders``: ``root/A/name.png`` + ``root/B/name.png`` → ``root/A/<split>/`` + ``root/B/<split>/``; a pair's two
  files always land in the same split. Every name must have its partner (the split refuses otherwise).

Which split a pair lands in: ``i2i.splits``, the one scheme ``i2i data pairs`` and training's ``--data.holdout``
use too. A pair's key is its file stem (``x`` for an A|B file ``x.png``, or for ``A/x.png`` + ``B/x.png``); keys are
ordered by a SHA-256 hash of (seed, key) and cut at exact counts, so the order does not depend on how the file
system lists the files, and adding files later moves only the few existing pairs that sit next to a cut. Counts:
val and test get their share of the pairs rounded half up, train gets the rest (10 pairs at 0.8,0.2 → 8 + 2;
7 → 6 + 1); a split that would get no pair is refused. Two A|B files with one stem (``x.png`` and ``x.jpg``) are two
pairs with one key: they sit next to each other in the order, usually in the same split.

Modes: ``move`` renames the files into split folders (what ``i2i train`` reads). The full plan is written to
``root/.i2i-split-plan.json`` first, so a run that is interrupted is finished by running the same command again.
``lists`` moves nothing and writes ``root/<split>.txt``: one pair per line, paths relative to ``root``
(``name.png``, or ``A/name.png<TAB>B/name.png``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from i2i.atomic import atomic_write
from i2i.errors import DatasetError, I2IError, show_path
from i2i.imageio import unsupported_reason
from i2i.layouts import require_folder, scan_folder
from i2i.splits import SPLIT_NAMES, normalize_ratios, parse_ratios, split_counts, split_of

log = logging.getLogger(__name__)

PLAN_FILE = ".i2i-split-plan.json"
MODES = ("move", "lists")


@dataclass(frozen=True)
class SplitItem:
    """One pair: its name and its files as POSIX paths relative to the root (one A|B file, or A's and B's).

    The name is unique in a dataset: the file name of an A|B file, the stem for A/ + B/.
    """

    name: str
    files: tuple[str, ...]

    @property
    def key(self) -> str:
        """What ``i2i.splits`` hashes: the file stem (``x`` for ``x.png``, A|B or A/ + B/)."""
        return PurePosixPath(self.files[0]).stem


@dataclass
class SplitPlan:
    root: Path
    layout: str  # "aligned" or "folders"
    seed: int
    ratios: tuple[float, ...]
    splits: dict[str, list[SplitItem]]  # split name → its pairs, sorted by name
    moves: list[tuple[str, str]] = field(default_factory=list)  # (source, destination) relative to the root
    stale_lists: list[str] = field(default_factory=list)  # list files of an earlier split (--force)


@dataclass
class SplitResult:
    root: Path
    mode: str
    counts: dict[str, int]
    moved: int = 0
    lists: list[Path] = field(default_factory=list)
    resumed: bool = False


def _images(folder: Path, root: Path, problems: list[str]) -> list[Path]:
    """The images of ``folder``; entries named like images that are not files become ``problems`` (they cannot be
    split), and files of unsupported formats are named in a warning (they stay where they are)."""
    if not folder.is_dir():
        return []
    scan = scan_folder(folder)
    problems += [f"{Path(p.path).relative_to(root).as_posix()}: {p.reason}" for p in scan.problems]
    for path in scan.unsupported:
        log.warning("%s: %s; it stays where it is", show_path(path), unsupported_reason(path))
    return scan.images


def scan_unsplit(root: str | Path, force: bool = False) -> tuple[str, list[SplitItem]]:
    """Finds the layout and the pairs to split; with ``force`` also the pairs already in split folders.

    Raises:
        DatasetError: no images, unmatched or repeated names, or (without ``force``) an already split dataset.
    """
    root = require_folder(root)
    has_a, has_b = (root / "A").is_dir(), (root / "B").is_dir()
    if has_a != has_b:
        raise DatasetError(f"{root} has {'A/' if has_a else 'B/'} but no {'B/' if has_a else 'A/'} folder")
    layout = "folders" if has_a else "aligned"
    bases = [root / "A", root / "B"] if has_a else [root]
    if layout == "aligned" and any((root / s / "A").is_dir() for s in SPLIT_NAMES):
        raise DatasetError(f"{root} is already split as <split>/A + <split>/B; i2i data split does not handle it")
    done = [base / s for base in bases for s in SPLIT_NAMES if (base / s).is_dir()]
    done += [root / f"{s}.txt" for s in SPLIT_NAMES if (root / f"{s}.txt").is_file()]
    if done and not force:
        found = ", ".join(str(p.relative_to(root)) for p in done)
        raise DatasetError(f"{root} is already split ({found}); pass --force to re-split all of its pairs")

    problems: list[str] = []
    sides: list[dict[str, str]] = []
    for base in bases:
        by_name: dict[str, str] = {}
        for folder in [base] + ([base / s for s in SPLIT_NAMES] if force else []):
            for path in _images(folder, root, problems):
                name = path.stem if layout == "folders" else path.name
                rel = path.relative_to(root).as_posix()
                if name in by_name:
                    problems.append(f"{rel}: same pair name as {by_name[name]}")
                else:
                    by_name[name] = rel
        sides.append(by_name)
    if layout == "folders":
        a, b = sides
        problems += [f"{a[n]}: no matching file in B/" for n in sorted(a.keys() - b.keys())]
        problems += [f"{b[n]}: no matching file in A/" for n in sorted(b.keys() - a.keys())]
        items = [SplitItem(n, (a[n], b[n])) for n in sorted(a.keys() & b.keys())]
    else:
        items = [SplitItem(n, (rel,)) for n, rel in sorted(sides[0].items())]
    if problems:
        lines = "\n".join(f"  {show_path(p)}" for p in problems)
        raise DatasetError(f"{root}: {len(problems)} file(s) cannot be split as pairs; nothing was moved:\n{lines}")
    if not items:
        raise DatasetError(f"no images found in {' and '.join(str(b) for b in bases)}")
    return layout, items


def _destination(rel: str, layout: str, split: str) -> str:
    """'x.png' or 'train/x.png' → 'val/x.png'; 'A/x.png' or 'A/train/x.png' → 'A/val/x.png'."""
    parts = rel.split("/")
    return "/".join(([parts[0]] if layout == "folders" else []) + [split, parts[-1]])


def plan_split(root: str | Path, ratios: Sequence[float], seed: int = 0, force: bool = False) -> SplitPlan:
    """Decides every pair's split and the moves that put each file in its split folder (nothing is changed)."""
    root = Path(root)
    ratios = normalize_ratios(ratios)
    layout, items = scan_unsplit(root, force)
    counts = split_counts(len(items), ratios)
    splits = SPLIT_NAMES[: len(ratios)]
    shares = ",".join(f"{r:.3g}" for r in ratios)
    if 0 in ratios:  # the parser allows a zero part (i2i data pairs makes empty splits); a split here never is empty
        raise DatasetError(
            f"ratios {shares} give split '{splits[ratios.index(0)]}' no share; i2i data split makes no empty split "
            "(leave test out with 2 ratios, e.g. 0.8,0.2)"
        )
    if min(counts) < 1:
        empty = splits[counts.index(min(counts))]
        raise DatasetError(f"{len(items)} pair(s) at ratios {shares} leave split '{empty}' empty; add pairs")
    # items are sorted by name and split_of keeps their order: each split's pairs stay sorted by name.
    names = split_of([item.key for item in items], ratios, seed)
    by_split = {s: [item for item, n in zip(items, names, strict=True) if n == s] for s in splits}
    plan = SplitPlan(root, layout, seed, tuple(ratios), by_split)
    for split, members in plan.splits.items():
        for item in members:
            plan.moves += [(f, d) for f in item.files if (d := _destination(f, layout, split)) != f]
    plan.moves.sort()
    taken = [dst for _, dst in plan.moves if (root / dst).exists()]
    if taken:  # only a non-image file could be there: every image was planned
        where = show_path(root / taken[0])
        raise DatasetError(f"{where} is in the way of the split ({len(taken)} such path(s)); move it")
    plan.stale_lists = [f"{s}.txt" for s in SPLIT_NAMES if (root / f"{s}.txt").is_file()]
    return plan


def _write_plan(plan: SplitPlan) -> dict:
    """Saves the plan (fsynced) before the first move, so that an interrupted split can be finished."""
    state = {
        "version": 1,
        "layout": plan.layout,
        "seed": plan.seed,
        "ratios": list(plan.ratios),
        "counts": {s: len(m) for s, m in plan.splits.items()},
        "moves": plan.moves,
        "stale_lists": plan.stale_lists,
    }
    atomic_write(plan.root / PLAN_FILE, json.dumps(state, indent=0).encode(), durable=True)
    return state


def apply_moves(
    root: str | Path, moves: Sequence[tuple[str, str]], on_progress: Callable[[int, int], None] | None = None
) -> int:
    """Renames each source to its destination, never over an existing file; moves done before are skipped.

    Returns the number of files moved by this call. Raises DatasetError when a file is in the way or gone.
    """
    root = Path(root)
    moved = 0
    if on_progress:
        on_progress(0, len(moves))
    for done, (src_rel, dst_rel) in enumerate(moves, 1):
        src, dst = root / src_rel, root / dst_rel
        if src.exists():
            if dst.exists():
                raise DatasetError(
                    f"cannot move {show_path(src)} to {show_path(dst)}: a file is already there; move one of them away"
                )
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.rename(src, dst)
            moved += 1
        elif not dst.exists():
            raise DatasetError(
                f"{show_path(src)} is gone (and not at {show_path(dst)}); it was moved or deleted during the split"
            )
        if on_progress:
            on_progress(done, len(moves))
    return moved


def _finish(root: Path, state: dict, on_progress: Callable[[int, int], None] | None, resumed: bool) -> SplitResult:
    moved = apply_moves(root, [tuple(m) for m in state["moves"]], on_progress)
    for name in state["stale_lists"]:
        (root / name).unlink(missing_ok=True)
    # Split folders emptied by a re-split to fewer parts (test/ after 3 → 2) would read as empty splits.
    for base in [root / "A", root / "B"] if state["layout"] == "folders" else [root]:
        for split in SPLIT_NAMES[len(state["ratios"]) :]:
            try:
                (base / split).rmdir()
            except OSError:
                pass  # missing or not empty: leave it
    (root / PLAN_FILE).unlink()
    return SplitResult(root, "move", state["counts"], moved, resumed=resumed)


def write_lists(plan: SplitPlan) -> list[Path]:
    """Writes ``root/<split>.txt`` for each split (atomically) and removes list files of splits no longer made."""
    for members in plan.splits.values():
        for item in members:
            if any(c in f for f in item.files for c in "\t\n\r"):
                where = show_path(plan.root / item.files[0])
                raise DatasetError(f"{where}: a name with a tab or line break cannot be listed; rename it")
    written = []
    for split, members in plan.splits.items():
        path = plan.root / f"{split}.txt"
        text = "".join("\t".join(item.files) + "\n" for item in members)
        atomic_write(path, text.encode("utf-8", "surrogateescape"))
        written.append(path)
    for name in plan.stale_lists:
        if name[: -len(".txt")] not in plan.splits:
            (plan.root / name).unlink()
    return written


def split_dataset(
    root: str | Path,
    ratios: Sequence[float] = (0.8, 0.2),
    seed: int = 0,
    mode: str = "move",
    force: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> SplitResult:
    """Splits the pairs of ``root`` into train/val(/test), by moving files or by writing list files.

    Args:
        root: dataset folder (A|B files directly in it, or A/ and B/ folders).
        ratios: 2 or 3 shares for train, val and test (normalized; non-negative, train above 0); a split they
            would leave empty is refused.
        seed: picks the split (``i2i.splits``); the same seed, ratios and file stems always give the same split,
            here, in ``i2i data pairs --seed`` and (seed 0) in training's ``--data.holdout``.
        mode: "move" (into split folders) or "lists" (``root/<split>.txt``, nothing moved).
        force: re-split a dataset that already has split folders or lists (their pairs are included).
        on_progress: called with (moves done, moves planned): (0, n) first, then after each move.

    In move mode a pending plan from an interrupted run is finished first (same seed and ratios required).
    """
    root = Path(root)
    if mode not in MODES:
        raise I2IError(f"unknown split mode '{mode}' (choose from {', '.join(MODES)})")
    ratios = normalize_ratios(ratios)
    pending = root / PLAN_FILE
    if pending.is_file():
        state = json.loads(pending.read_text(encoding="utf-8"))
        same = state["seed"] == seed and len(state["ratios"]) == len(ratios)
        # 1e-6: the ratios printed below (6 digits) must match when typed back in
        same = same and all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(state["ratios"], ratios, strict=False))
        if mode != "move" or not same:
            shares = ",".join(f"{r:.6g}" for r in state["ratios"])
            raise I2IError(
                f"{root} holds an interrupted split ({pending.name}); finish it with: "
                f"i2i data split {root} --mode move --seed {state['seed']} --ratios {shares}"
            )
        log.info("finishing the interrupted split of %s (%d planned moves)", root, len(state["moves"]))
        return _finish(root, state, on_progress, resumed=True)

    plan = plan_split(root, ratios, seed, force)
    counts = {s: len(m) for s, m in plan.splits.items()}
    if mode == "lists":
        return SplitResult(root, mode, counts, lists=write_lists(plan))
    state = _write_plan(plan)
    return _finish(root, state, on_progress, resumed=False)


def command(argv: Sequence[str]) -> int:
    from i2i.datatools.commands import progress_bar

    parser = argparse.ArgumentParser(
        prog="i2i data split",
        description=(
            "Split an unsplit paired dataset into train/val(/test), deterministically: A|B files directly in ROOT "
            "go to ROOT/<split>/; ROOT/A + ROOT/B go to ROOT/A/<split>/ + ROOT/B/<split>/ (pairs stay together)."
        ),
        epilog=(
            "The same seed, ratios and file stems always give the same split, whatever order the file system lists "
            "them in, and the same as i2i data pairs with that seed (and, for seed 0, training's --data.holdout). "
            "val and test get their share rounded half up, train the rest; an empty split is refused. "
            "An interrupted move is finished by running the same command again."
        ),
    )
    parser.add_argument("root", metavar="ROOT", help="dataset folder")
    parser.add_argument(
        "--ratios", default="0.8,0.2", help="train,val[,test] shares, normalized (default 0.8,0.2; e.g. 8,1,1)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the split: pairs are ranked by a hash of (seed, file stem) (default 0)",
    )
    parser.add_argument(
        "--mode",
        default="move",
        choices=MODES,
        help="move: files into split folders (what i2i train reads; default); lists: write ROOT/<split>.txt only",
    )
    parser.add_argument(
        "--force", action="store_true", help="re-split a dataset that already has split folders or list files"
    )
    args = parser.parse_args(argv)
    ratios = parse_ratios(args.ratios)

    with progress_bar("split", "file") as progress:
        result = split_dataset(args.root, ratios, args.seed, args.mode, args.force, on_progress=progress)
    counts = ", ".join(f"{s} {n}" for s, n in result.counts.items())
    if result.mode == "lists":
        print(f"{args.root}: {counts}; wrote {', '.join(str(p) for p in result.lists)} (no file moved)")
    else:
        finished = " (finished an interrupted split)" if result.resumed else ""
        print(f"{args.root}: {counts}; moved {result.moved} file(s){finished}")
    return 0
