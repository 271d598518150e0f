"""``i2i gallery``: one HTML page showing what the release folders under a folder (``models/``) do with their
``examples/``.

Every release folder directly under the models folder gets a section: its name, what it does (the first line of its
``README.md``, and what kind of model it is), and one row per example image: input | output for a translation
model, input | top-3 categories for a classifier. Every classifier found also classifies the inputs of each
translation model whose input is a sketch (``input.kind`` in its config.json), shown beside its rows. The
page (``index.html``) is self-contained: inline CSS, no script, every image a PNG under ``images/`` beside it. An
example that cannot be read, or a model that cannot be opened, is listed on the page and on stderr (one line each)
and the rest goes on.
"""

from __future__ import annotations

import html
import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np

from i2i.artifact.model import Model
from i2i.artifact.open import open_model
from i2i.artifact.release_format import EXAMPLES, card_title, is_release
from i2i.atomic import atomic_write_text
from i2i.errors import I2IError, show_path
from i2i.imageio import read_image, unsupported_reason, write_image
from i2i.inference.classifier import Classifier, Prediction
from i2i.inference.translator import Translator
from i2i.layouts import scan_folder

TOP_K = 3  # categories shown per classified image


@dataclass
class Row:
    """One example: its file name, the input and output images (paths relative to the page) and, per classifier
    (by name), its top categories."""

    name: str
    input: str
    output: str | None = None
    predictions: dict[str, Prediction] = field(default_factory=dict)


@dataclass
class Section:
    """One model's part of the page."""

    name: str
    what: str
    kind: str = ""
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    examples: bool = True  # whether the release has an examples/ folder
    seconds: float = 0.0


@dataclass
class _Loaded:
    """A release folder opened, with its translator or classifier ready (or the error that stopped it)."""

    folder: Path
    model: Model | None = None
    translator: Translator | None = None
    classifier: Classifier | None = None
    error: str | None = None
    seconds: float = 0.0


def release_folders(models_dir: Path) -> list[Path]:
    """The release folders (a ``config.json`` inside) directly under ``models_dir``, by name; hidden ones (an
    interrupted export's temp folder) skipped. Refuses a missing folder, or one without any, in one line."""
    if not models_dir.is_dir():
        raise I2IError(f"{show_path(models_dir)}: not a folder; name the folder that holds the release folders")
    found = sorted(p for p in models_dir.iterdir() if not p.name.startswith(".") and p.is_dir() and is_release(p))
    if not found:
        hint = (
            f"; it is a release folder itself: name the folder that holds it ({show_path(models_dir.resolve().parent)})"
            if is_release(models_dir)
            else " (a release folder holds config.json, as `i2i export` writes it)"
        )
        raise I2IError(f"{show_path(models_dir)}: no release folders in it{hint}")
    return found


def collect(models_dir: Path, out: Path, device: str = "cpu", echo: Callable[[str], None] = print) -> list[Section]:
    """Translates and classifies every release's examples, writing the images under ``out/images/``; the page's
    sections, one per release folder. Reports each model's time through ``echo`` and each problem on stderr."""
    loaded = [_load(folder, device) for folder in release_folders(models_dir)]
    classifiers = [(m.folder.name, m.classifier) for m in loaded if m.classifier is not None]
    sections = []
    for index, item in enumerate(loaded):
        section = _section(item, index, out, classifiers)
        for problem in section.problems:
            print(f"gallery: {item.folder.name}: {problem}", file=sys.stderr)
        count = f"{len(section.rows)} example(s)" if section.examples else "no examples/ folder"
        echo(f"gallery: {item.folder.name}: {count} in {section.seconds:.1f} s")
        sections.append(section)
    return sections


def build_gallery(models_dir: Path, out: Path, device: str = "cpu") -> Path:
    """Builds the gallery of the release folders under ``models_dir`` into ``out``; the page (``out/index.html``)."""
    started = time.perf_counter()
    sections = collect(models_dir, out, device)
    return write_page(sections, out, models_dir, device, time.perf_counter() - started)


def _load(folder: Path, device: str) -> _Loaded:
    """Opens a release folder and prepares its translator or classifier; an error is kept, not raised."""
    started = time.perf_counter()
    item = _Loaded(folder)
    try:
        item.model = open_model(folder)
        if item.model.kind == "classifier":
            item.classifier = Classifier(item.model.classifier_network(), device)
        else:
            item.translator = Translator(item.model.generator(), device)
    except I2IError as exc:
        item.error = show_path(str(exc))
    item.seconds = time.perf_counter() - started
    return item


def _section(item: _Loaded, index: int, out: Path, classifiers: list[tuple[str, Classifier]]) -> Section:
    """One model's section: its examples read, translated or classified, and written as PNGs."""
    started = time.perf_counter()
    section = Section(item.folder.name, card_title(item.folder))
    if item.model is None or item.error is not None:
        section.kind = item.model.describe() if item.model is not None else "a model that cannot be opened"
        section.problems.append(f"cannot be used: {item.error}")
        section.seconds = item.seconds + time.perf_counter() - started
        return section
    section.kind = item.model.describe()
    if item.translator is not None:
        channels = item.translator.pre.input_channels
        if item.model.input.kind != "sketch":
            classifiers = []
    else:
        assert item.classifier is not None
        channels = item.classifier.pre.input_channels
        classifiers = [(item.folder.name, item.classifier)]
    names, images = _read_examples(item.folder / EXAMPLES, channels, section)
    folder = f"images/{index + 1:02d}-{_safe(item.folder.name)}"
    outputs = item.translator(images) if item.translator is not None and images else [None] * len(images)
    predictions = {name: clf(images, top_k=TOP_K) for name, clf in classifiers} if images else {}
    for i, (name, image, output) in enumerate(zip(names, images, outputs, strict=True)):
        stem = f"{folder}/{i + 1:03d}-{_safe(Path(name).stem)}"
        write_image(out / f"{stem}-in.png", image)
        row = Row(name, f"{stem}-in.png")
        if output is not None:
            write_image(out / f"{stem}-out.png", output)
            row.output = f"{stem}-out.png"
        row.predictions = {clf: top[i] for clf, top in predictions.items()}
        section.rows.append(row)
    section.seconds = item.seconds + time.perf_counter() - started
    return section


def _read_examples(folder: Path, channels: int, section: Section) -> tuple[list[str], list[np.ndarray]]:
    """The images directly in ``folder`` (by name) as ``channels``-channel arrays; each unusable one noted as a
    problem of ``section``."""
    if not folder.is_dir():
        section.examples = False
        return [], []
    try:
        scan = scan_folder(folder)
    except OSError as exc:
        section.problems.append(f"{EXAMPLES}/: cannot be listed ({exc.strerror or exc})")
        return [], []
    section.problems += [f"{EXAMPLES}/{show_path(Path(p.path).name)}: {p.reason}" for p in scan.problems]
    section.problems += [f"{EXAMPLES}/{show_path(p.name)}: {unsupported_reason(p)}" for p in scan.unsupported]
    names, images = [], []
    for path in scan.images:
        try:
            image = read_image(path, channels)
        except (I2IError, OSError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
            section.problems.append(f"{EXAMPLES}/{show_path(path.name)}: {show_path(reason)}")
            continue
        names.append(path.name)
        images.append(image)
    return names, images


def _safe(name: str) -> str:
    """A file-name part made of letters, digits, ``.``, ``_`` and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:60] or "x"


# --- the page --------------------------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{margin-bottom:.2em} h2{margin:1.6em 0 .2em;border-bottom:1px solid #ddd}
.what{font-size:1.05em;margin:.2em 0} .meta{color:#666;font-size:.9em;margin:.2em 0}
nav a{margin-right:1em}
table{border-collapse:collapse;margin-top:.6em} td,th{padding:6px;vertical-align:top;text-align:left}
tr+tr td{border-top:1px solid #eee}
img{width:192px;height:auto;border:1px solid #ccc;background:#fff;image-rendering:auto}
.name{font-size:.8em;color:#666;max-width:192px;overflow-wrap:anywhere}
.preds{min-width:260px} .clf{font-size:.8em;color:#666;margin:.2em 0}
.bar{display:flex;align-items:center;gap:6px;margin:3px 0;font-size:.9em}
.label{width:110px;overflow-wrap:anywhere} .track{flex:1;height:12px;background:#eee;border-radius:3px}
.fill{display:block;height:100%;background:#4a7fd4;border-radius:3px} .pct{width:48px;text-align:right}
.problems{color:#a00}
"""


def percent(probability: float) -> float:
    """A probability as a percentage rounded down to 0.1, so the shown top-k never add up to more than 100."""
    return math.floor(max(0.0, min(1.0, probability)) * 1000) / 10


def _bars(predictions: dict[str, Prediction], named: bool) -> str:
    esc = html.escape
    parts = []
    for name, top in predictions.items():
        if named:
            parts.append(f'<div class="clf">{esc(name)}</div>')
        for label, probability in top:
            p = percent(probability)
            parts.append(
                f'<div class="bar"><span class="label">{esc(label)}</span><span class="track">'
                f'<span class="fill" style="width:{p:.1f}%"></span></span><span class="pct">{p:.1f}%</span></div>'
            )
    return f'<td class="preds">{"".join(parts)}</td>'


def _figure(src: str, alt: str, caption: str = "") -> str:
    esc = html.escape
    under = f'<div class="name">{esc(caption)}</div>' if caption else ""
    return f'<td><img src="{esc(quote(src))}" alt="{esc(alt)}">{under}</td>'


def _section_html(section: Section, index: int) -> str:
    esc = html.escape
    classified = any(row.predictions for row in section.rows)
    named = classified and any(len(row.predictions) > 1 or row.output is not None for row in section.rows)
    translated = any(row.output is not None for row in section.rows)
    heads = "<th>input</th>" + ("<th>output</th>" if translated else "") + ("<th>category</th>" if classified else "")
    rows = []
    for row in section.rows:
        cells = _figure(row.input, f"{row.name} (input)", row.name)
        if translated:
            cells += _figure(row.output, f"{row.name} (output)") if row.output else "<td></td>"
        if classified:
            cells += _bars(row.predictions, named)
        rows.append(f"<tr>{cells}</tr>")
    what = f'<p class="what">{esc(section.what)}</p>' if section.what else ""
    count = f"{len(section.rows)} example(s)" if section.examples else "no examples/ folder"
    meta = f'<p class="meta">{esc(section.kind)} · {count} · {section.seconds:.1f} s</p>'
    table = f"<table><tr>{heads}</tr>\n" + "\n".join(rows) + "\n</table>" if rows else ""
    problems = "".join(f"<li>{esc(p)}</li>" for p in section.problems)
    problems = f'<ul class="problems">{problems}</ul>' if problems else ""
    return f'<section id="m{index + 1}"><h2>{esc(section.name)}</h2>{what}{meta}{problems}{table}</section>'


def write_page(sections: list[Section], out: Path, models_dir: Path, device: str, seconds: float) -> Path:
    """Writes ``out/index.html`` for ``sections``; its path."""
    esc = html.escape
    nav = " ".join(f'<a href="#m{i + 1}">{esc(s.name)}</a>' for i, s in enumerate(sections))
    body = "\n".join(_section_html(s, i) for i, s in enumerate(sections))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>i2i gallery</title>
<style>{CSS}</style></head><body>
<h1>i2i gallery</h1>
<p class="meta">{len(sections)} model(s) from {esc(show_path(models_dir))}, run on {esc(device)} in {seconds:.1f} s</p>
<nav>{nav}</nav>
{body}
</body></html>
"""
    path = out / "index.html"
    atomic_write_text(path, page)
    return path
