"""The files of an eval report, for paired and unpaired evaluation alike: ``metrics.csv`` (one row per image),
``summary.json`` and ``index.html`` (every result with its scores). Each file is written atomically."""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from i2i.atomic import atomic_write_json, atomic_write_text

# How the report page shows a score: label and format.
_SHOWN = {
    "psnr": ("PSNR", ".2f"),
    "ssim": ("SSIM", ".4f"),
    "l1": ("L1", ".4f"),
    "cycle_psnr": ("cycle PSNR", ".2f"),
    "cycle_ssim": ("SSIM", ".4f"),
    "idt_l1": ("identity L1", ".4f"),
}


@dataclass
class ReportRow:
    """One scored image: its name, its images (column label → file relative to the report folder), its scores and
    any text columns for the CSV (e.g. its domain)."""

    name: str
    images: dict[str, str]
    scores: dict[str, float]
    labels: dict[str, str] = field(default_factory=dict)


def write_report(
    out_dir: Path,
    title: str,
    lines: list[str],
    rows: list[ReportRow],
    summary: dict[str, Any],
    scores: list[str],
    figures: dict[str, str] | None = None,
    shown: list[ReportRow] | None = None,
    table_title: str = "",
) -> None:
    """Writes ``metrics.csv`` (name, label columns, then ``scores``), ``summary.json`` and ``index.html``.

    Args:
        out_dir: the report folder.
        title: the page heading.
        lines: summary lines shown above the table (and skipped files, already worded).
        rows: the scored images.
        summary: what ``summary.json`` holds.
        scores: score names, in column order; a row without one leaves its cell empty.
        figures: images shown above the table (caption → file relative to the report folder).
        shown: the rows the page's table shows (default: all of ``rows``).
        table_title: a heading above the table.
    """
    labels = list(dict.fromkeys(k for row in rows for k in row.labels))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["name", *labels, *scores], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"name": row.name, **row.labels, **{k: f"{v:.6f}" for k, v in row.scores.items()}})
    atomic_write_text(out_dir / "metrics.csv", buffer.getvalue())
    atomic_write_json(out_dir / "summary.json", summary)
    atomic_write_text(
        out_dir / "index.html", _page(title, lines, rows if shown is None else shown, figures, table_title)
    )


def _page(
    title: str, lines: list[str], rows: list[ReportRow], figures: dict[str, str] | None = None, table_title: str = ""
) -> str:
    esc = html.escape
    columns = list(dict.fromkeys(label for row in rows for label in row.images))
    body = []
    for row in rows:
        cells = "".join(
            f'<td><img src="{esc(row.images[c])}" alt="{esc(c)}"></td>' if c in row.images else "<td></td>"
            for c in columns
        )
        shown = "<br>".join(
            [*(f"{esc(k)}: {esc(v)}" for k, v in row.labels.items()), *(_score(k, v) for k, v in row.scores.items())]
        )
        body.append(f"<tr><th>{esc(row.name)}</th>{cells}<td>{shown}</td></tr>")
    heads = "".join(f"<th>{esc(c)}</th>" for c in columns)
    notes = "".join(f"<p>{esc(line)}</p>" for line in lines)
    notes += "".join(
        f'<figure><img class="figure" src="{esc(file)}" alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption>'
        "</figure>"
        for caption, file in (figures or {}).items()
    )
    if table_title:
        notes += f"<h2>{esc(table_title)}</h2>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>i2i eval: {esc(title)}</title>
<style>body{{font-family:sans-serif}} img{{max-width:256px;height:auto}} img.figure{{max-width:none}}
td,th{{padding:4px;vertical-align:top}}</style>
</head><body><h1>{esc(title)}</h1>{notes}
<table><tr><th>name</th>{heads}<th>metrics</th></tr>
{chr(10).join(body)}
</table></body></html>
"""


def _score(name: str, value: float) -> str:
    label, fmt = _SHOWN.get(name, (name, ".4g"))
    return f"{html.escape(label)} {value:{fmt}}"


def unique_name(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem_2``, ``stem_3``… when another file of the split already gave that name; records it."""
    name, i = stem, 1
    while name in taken:
        i += 1
        name = f"{stem}_{i}"
    taken.add(name)
    return name
