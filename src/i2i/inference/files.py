"""Translating files: expand files/folders/globs, map each input to an output path, stream through a Translator.

Every image is translated (no cap), at its own size, and written under the output folder with the input's file
name (and, for folders, its path relative to that folder). Inputs are never overwritten, and existing outputs only
with ``overwrite``. An unreadable file is reported on one line and skipped; the rest go on.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from i2i.errors import I2IError
from i2i.imageio import ImageReadError, is_image_file, read_image, write_image
from i2i.inference.translator import Translator

log = logging.getLogger(__name__)


@dataclass
class TranslateReport:
    written: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one-line reasons


def plan_outputs(inputs: Iterable[str], out_dir: str | Path, overwrite: bool = False) -> list[tuple[Path, Path]]:
    """Expands inputs into (input file, output file) pairs and refuses plans that would lose or clobber data."""
    out_dir = Path(out_dir)
    out_resolved = out_dir.resolve()
    pairs: list[tuple[Path, Path]] = []
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            root = path.resolve()
            if out_resolved == root or root in out_resolved.parents:
                raise I2IError(f"--out {out_dir} is inside the input folder {path}; choose a folder outside it")
            files = sorted(p for p in path.rglob("*") if p.is_file() and is_image_file(p) and not _hidden(p, path))
            pairs += [(f, out_dir / f.relative_to(path)) for f in files]
        elif path.is_file():
            pairs.append((path, out_dir / path.name))
        elif glob.has_magic(spec):
            matches = sorted(Path(m) for m in glob.glob(spec, recursive=True))
            files = [m for m in matches if m.is_file() and is_image_file(m)]
            if not files:
                raise I2IError(f"{spec}: the pattern matches no image files")
            pairs += [(f, out_dir / f.name) for f in files]
        else:
            raise I2IError(f"{spec}: no such file or folder")
    if not pairs:
        raise I2IError("no input images found")
    inputs_resolved = {src.resolve() for src, _ in pairs}
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        key = dst.resolve()
        if key in inputs_resolved:
            raise I2IError(f"refusing to overwrite the input {src}: choose an --out folder that is not an input folder")
        if key in seen:
            raise I2IError(f"{seen[key]} and {src} would both be written to {dst}; translate them separately")
        seen[key] = src
    if not overwrite:
        existing = [dst for _, dst in pairs if dst.exists()]
        if existing:
            raise I2IError(
                f"{len(existing)} output file(s) already exist (e.g. {existing[0]}); pass --overwrite to replace them"
            )
    return pairs


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def translate_files(
    translator: Translator,
    pairs: list[tuple[Path, Path]],
    batch_size: int = 8,
    on_progress: Callable[[int], None] | None = None,
) -> TranslateReport:
    """Reads, translates and writes ``pairs`` in chunks of ``batch_size`` (same-size images share a batch)."""
    report = TranslateReport()
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        loaded: list[tuple[Path, np.ndarray]] = []
        for src, dst in chunk:
            try:
                loaded.append((dst, read_image(src, translator.pre.input_channels)))
            except ImageReadError as exc:
                report.failed.append(str(exc))
                log.error("skipped %s", exc)
        outputs = translator([im for _, im in loaded], batch_size=batch_size) if loaded else []
        for (dst, _), output in zip(loaded, outputs, strict=True):
            write_image(dst, output)
            report.written.append(dst)
        if on_progress:
            on_progress(len(chunk))
    return report
