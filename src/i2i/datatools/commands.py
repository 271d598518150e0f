"""``i2i data``: the dataset commands (check, combine, split, pairs, download, sketchy), one module each.

Each subcommand module exposes ``command(argv) -> int``; this dispatcher imports only the one asked for, so
``i2i data check`` never pays for the imports of ``i2i data pairs``.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from i2i.errors import I2IError, did_you_mean, show_path

SUBCOMMANDS = {
    "check": ("i2i.datatools.check", "detect a dataset's layout and list every problem file (non-zero exit if any)"),
    "combine": ("i2i.datatools.combine", "A/ + B/ folders with matching names → A|B side-by-side files"),
    "split": ("i2i.datatools.split", "deterministic train/val(/test) split by moving files or writing lists"),
    "pairs": ("i2i.datatools.pairs", "synthesize training pairs from plain photos (edges, sketch, noise, ...)"),
    "download": ("i2i.datatools.download", "download a standard public dataset into i2i's layout"),
    "sketchy": ("i2i.datatools.sketchy", "Sketchy sketches → sketch→photo pairs + class folders, split by photo"),
}


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        lines = [f"  {name:<10} {text}" for name, (_, text) in SUBCOMMANDS.items()]
        print(
            "usage: i2i data SUBCOMMAND [options]   (i2i data SUBCOMMAND --help)\n\nsubcommands:\n" + "\n".join(lines)
        )
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        raise I2IError(f"unknown data subcommand '{name}'{did_you_mean(name, SUBCOMMANDS)}")
    module = importlib.import_module(SUBCOMMANDS[name][0])
    return module.command(rest)


@contextlib.contextmanager
def progress_bar(desc: str, unit: str, quiet: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A tqdm bar on stderr (hidden when stderr is not a terminal) as the ``on_progress(done, total)`` callback."""
    from tqdm.auto import tqdm

    with tqdm(desc=desc, unit=unit, leave=False, disable=quiet or not sys.stderr.isatty()) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield progress


def report_unused(problems: Sequence[object], what: str, manifest: str) -> int:
    """Prints the inputs a tool could not use (one line each, after a count) and returns the exit status: 1 when
    there are any (the rest was written), else 0."""
    if not problems:
        return 0
    print(f"{len(problems)} {what} could not be used (listed in {manifest}):", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


def refuse_risky_out(out: str | Path, example: str = "pairs") -> None:
    """Refuses an output folder that is the file system root or the home folder (I2IError).

    The dataset tools, ``translate`` and ``eval`` write folders and files straight into ``--out`` (and
    ``--overwrite`` replaces what is there): one mistyped ``--out ~`` would scatter files over the home folder. A new
    folder inside is always possible, so there is no flag to allow these two. ``example`` names the folder suggested.
    """
    try:
        resolved = Path(out).expanduser().resolve()
    except (OSError, RuntimeError):  # a link loop (RuntimeError before Python 3.13)
        raise I2IError(f"--out {show_path(out)}: is a link loop (its links lead back to themselves)") from None
    try:
        home = Path.home().resolve()
    except (KeyError, RuntimeError):  # no home folder known
        home = None
    if resolved.parent == resolved:
        what = "the root of the file system"
    elif resolved == home:
        what = "your home folder"
    else:
        return
    raise I2IError(
        f"--out {show_path(out)} is {what}; name a new folder inside it instead (e.g. {show_path(resolved / example)})"
    )
