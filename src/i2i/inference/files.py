"""Translating and classifying files: expand files/folders/globs, map each input to an output path, stream through a
Translator (or a Classifier).

Every image is translated (no cap), at its own size, and written under the output folder with the input's file
name (and, for folders, its path relative to that folder). Inputs are never overwritten, and existing outputs only
with ``overwrite``. An unreadable file is reported on one line and skipped; the rest go on.

In folders, which entries are images is ``layouts.scan_folder``'s rule: entries named like images that are no
regular files (a FIFO, a folder ``x.png/``) are kept as inputs so that reading them reports why, on one line (a FIFO
is never opened, so nothing hangs); files of image formats i2i does not read (``.heic``, ...) are logged and skipped.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from i2i.errors import I2IError, ModelInputError, ModelRunError, show_path
from i2i.imageio import ImageReadError, file_kind, is_image_file, read_image, unsupported_reason, write_image
from i2i.layouts import broken_link_reason, walk_folders

if TYPE_CHECKING:  # torch-free at run time: the ONNX runtime translates files through here too
    from i2i.inference.classifier import Classifier
    from i2i.inference.translator import Translator
    from i2i.portable.runtime import OnnxClassifier, OnnxTranslator

log = logging.getLogger(__name__)


@dataclass
class TranslateReport:
    written: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one-line reasons


def expand_inputs(inputs: Iterable[str]) -> list[tuple[Path, Path]]:
    """Expands files, folders (recursively) and glob patterns into (input file, name relative to an output folder):
    a file's own name, or its path relative to the folder given. Refuses a name that is neither."""
    pairs: list[tuple[Path, Path]] = []
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            pairs += [(f, f.relative_to(path)) for f in _folder_inputs(path)]
        elif path.is_file():
            pairs.append((path, Path(path.name)))
        elif glob.has_magic(spec):
            matches = sorted(Path(m) for m in glob.glob(spec, recursive=True))
            files = [m for m in matches if is_image_file(m) and not m.is_dir()]  # a FIFO is refused when read
            if not files:
                raise I2IError(f"{show_path(spec)}: the pattern matches no image files")
            pairs += [(f, Path(f.name)) for f in files]
        elif path.exists():
            raise I2IError(f"{show_path(spec)}: is {file_kind(path.stat().st_mode)}, not an image file or folder")
        elif os.path.lexists(path):
            raise I2IError(f"{show_path(spec)}: {_broken_link(path)}")
        else:
            raise I2IError(f"{show_path(spec)}: no such file or folder")
    if not pairs:
        raise I2IError("no input images found")
    return pairs


def plan_outputs(inputs: Iterable[str], out_dir: str | Path, overwrite: bool = False) -> list[tuple[Path, Path]]:
    """Expands inputs into (input file, output file) pairs and refuses plans that would lose or clobber data."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise I2IError(f"--out {show_path(out_dir)}: is {file_kind(out_dir.stat().st_mode)}, expected a folder")
    if os.path.lexists(out_dir) and not out_dir.exists():
        raise I2IError(f"--out {show_path(out_dir)}: {_broken_link(out_dir)}, expected a folder")
    out_resolved = _real_path(out_dir)
    inputs = list(inputs)
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            root = _real_path(path)
            if out_resolved == root or root in out_resolved.parents:
                where = f"--out {show_path(out_dir)} is inside the input folder {show_path(path)}"
                raise I2IError(f"{where}; choose a folder outside it")
    pairs = [(src, out_dir / name) for src, name in expand_inputs(inputs)]
    inputs_resolved = {_real_path(src) for src, _ in pairs}
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        key = _real_path(dst)
        if key in inputs_resolved:
            raise I2IError(
                f"refusing to overwrite the input {show_path(src)}: choose an --out folder that is not an input folder"
            )
        if key in seen:
            raise I2IError(
                f"{show_path(seen[key])} and {show_path(src)} would both be written to {show_path(dst)}; "
                "translate them separately"
            )
        seen[key] = src
    if not overwrite:
        existing = [dst for _, dst in pairs if dst.exists()]
        if existing:
            raise I2IError(
                f"{len(existing)} output file(s) already exist (e.g. {show_path(existing[0])}); "
                "pass --overwrite to replace them"
            )
    return pairs


def _real_path(path: Path) -> Path:
    """``path`` with every link followed as far as it goes, never raising: ``Path.resolve`` raises RuntimeError on a
    link loop, and a loop among the inputs must become one unreadable file (reported when read), not a crash."""
    return Path(os.path.realpath(path))


def _broken_link(path: Path) -> str:
    """Why a link that leads to no file cannot be used: it goes round in a loop, or its target is missing."""
    return f"is {broken_link_reason(path)}"


def _folder_inputs(folder: Path) -> list[Path]:
    """The images under ``folder`` (recursively, sorted by path) and the entries named like images that are no
    regular files; files of unsupported image formats are logged and left out."""
    files: list[Path] = []
    for _, scan in walk_folders(folder):
        files += scan.images + [Path(problem.path) for problem in scan.problems]
        for path in scan.unsupported:
            log.warning("skipped %s: %s", show_path(path), unsupported_reason(path))
    return sorted(files)


def translate_files(
    translator: Translator | OnnxTranslator,
    pairs: list[tuple[Path, Path]],
    batch_size: int = 8,
    on_progress: Callable[[int], None] | None = None,
) -> TranslateReport:
    """Reads, translates and writes ``pairs`` in chunks of ``batch_size`` (same-size images share a batch)."""
    report = TranslateReport()
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        loaded: list[tuple[Path, Path, np.ndarray]] = []
        for src, dst in chunk:
            try:
                loaded.append((src, dst, read_image(src, translator.pre.input_channels)))
            except ImageReadError as exc:
                report.failed.append(str(exc))
                log.debug("skipped %s", exc)  # the caller reports report.failed (the CLI lists them at the end)
        for group in _same_size(loaded):
            try:
                outputs = translator([im for _, _, im in group], batch_size=batch_size)
            except (ModelInputError, ModelRunError) as exc:  # this image size, or this batch, only: go on
                report.failed += [f"{show_path(src)}: {exc}" for src, _, _ in group]
                continue
            for (_, dst, _), output in zip(group, outputs, strict=True):
                write_image(dst, output)
                report.written.append(dst)
        if on_progress:
            on_progress(len(chunk))
    return report


@dataclass
class ClassifyReport:
    results: list[tuple[Path, list[tuple[str, float]]]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one-line reasons


def classify_files(
    classifier: Classifier | OnnxClassifier, files: list[Path], top_k: int = 5, batch_size: int = 32
) -> ClassifyReport:
    """Reads and classifies ``files`` in chunks; an unreadable file is reported and skipped."""
    report = ClassifyReport()
    for start in range(0, len(files), batch_size):
        loaded: list[tuple[Path, np.ndarray]] = []
        for path in files[start : start + batch_size]:
            try:
                loaded.append((path, read_image(path, classifier.pre.input_channels)))
            except ImageReadError as exc:
                report.failed.append(str(exc))
        if loaded:
            try:
                predictions = classifier([image for _, image in loaded], top_k=top_k)
            except ModelRunError as exc:
                report.failed += [f"{show_path(path)}: {exc}" for path, _ in loaded]
                continue
            report.results += [(path, top) for (path, _), top in zip(loaded, predictions, strict=True)]
    return report


def _same_size(loaded: list[tuple[Path, Path, np.ndarray]]) -> list[list[tuple[Path, Path, np.ndarray]]]:
    """``loaded`` (input, output, image) grouped by image size, in order of first appearance: one group is one
    batch, so an image size a model refuses fails its own images only."""
    groups: dict[tuple[int, ...], list[tuple[Path, Path, np.ndarray]]] = {}
    for entry in loaded:
        groups.setdefault(entry[2].shape, []).append(entry)
    return list(groups.values())
