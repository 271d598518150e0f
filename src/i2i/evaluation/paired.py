"""Scores a model on a paired split: per-image metrics (CSV), a summary (JSON) and an HTML page of results."""

from __future__ import annotations

import csv
import html
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from i2i.data.config import DataConfig
from i2i.data.datasets import PairRecord, list_pairs, load_pair
from i2i.data.io import ImageReadError, write_image
from i2i.data.processing import resize_image
from i2i.evaluation.metrics import image_metrics
from i2i.evaluation.visuals import sample_grid
from i2i.inference.translator import Translator

log = logging.getLogger(__name__)

METRICS = ("psnr", "ssim", "l1")


@dataclass
class EvalSummary:
    count: int
    psnr: float
    ssim: float
    l1: float
    data: str
    split: str
    direction: str
    model: str
    skipped: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"{self.count} images: PSNR {self.psnr:.2f} dB, SSIM {self.ssim:.4f}, L1 {self.l1:.4f}"
        return text + (f" ({len(self.skipped)} unreadable skipped)" if self.skipped else "")


def evaluate(
    translator: Translator,
    root: str | Path,
    out_dir: str | Path,
    split: str = "test",
    direction: str | None = None,
    layout: str = "auto",
    model_name: str = "",
    batch_size: int = 8,
    grid_rows: int = 8,
) -> EvalSummary:
    """Translates every pair of ``root``'s ``split``, scores output against target and writes the report.

    Metrics are computed at the target's own size on uint8 images (see ``i2i.evaluation.metrics``). The first
    ``grid_rows`` results are also laid out as input | output | target rows in ``grid.png``.
    """
    pre = translator.pre
    data = DataConfig(
        root=str(root),
        layout=layout,  # type: ignore[arg-type]
        direction=(direction or pre.direction),  # type: ignore[arg-type]
        input_channels=pre.input_channels,
        output_channels=pre.output_channels,
    )
    report = list_pairs(root, split, layout)
    skipped = [str(p) for p in report.problems]
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    stems: set[str] = set()
    grid: list[list[np.ndarray]] = []
    for start in range(0, len(report.records), batch_size):
        chunk: list[tuple[PairRecord, np.ndarray, np.ndarray]] = []
        for record in report.records[start : start + batch_size]:
            try:
                source, target = load_pair(record, data)
            except ImageReadError as exc:
                skipped.append(str(exc))
                log.warning("skipped %s", exc)
                continue
            chunk.append((record, source, target))
        outputs = translator([source for _, source, _ in chunk], batch_size=batch_size)
        for (record, source, target), output in zip(chunk, outputs, strict=True):
            if output.shape != target.shape:  # input and target of different sizes: compare at the target's
                output = resize_image(output, target.shape[:2])
            try:
                metrics = image_metrics(output, target)
            except ValueError as exc:  # e.g. smaller than SSIM's 7x7 window
                skipped.append(f"{record.path_a}: {exc}")
                log.warning("skipped %s: %s", record.path_a, exc)
                continue
            stem = unique_name(record.name, stems)
            for kind, image in (("input", source), ("output", output), ("target", target)):
                write_image(out_dir / "images" / f"{stem}_{kind}.png", image)
            rows.append({"name": stem, **metrics})
            if len(grid) < grid_rows:
                grid.append([source, output, target])
    if not rows:
        raise ImageReadError(root, f"no readable pairs in split '{split}'")
    means = {k: sum(float(r[k]) for r in rows) / len(rows) for k in METRICS}
    summary = EvalSummary(
        len(rows), means["psnr"], means["ssim"], means["l1"], str(root), split, data.direction, model_name, skipped
    )
    _write_csv(out_dir / "metrics.csv", rows)
    if grid:
        write_image(out_dir / "grid.png", sample_grid(grid, height=min(256, max(r[2].shape[0] for r in grid))))
    (out_dir / "summary.json").write_text(json.dumps(vars(summary), indent=2) + "\n", encoding="utf-8")
    _write_html(out_dir / "index.html", summary, rows)
    return summary


def unique_name(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem_2``, ``stem_3``… when another file of the split already gave that name; records it."""
    name, i = stem, 1
    while name in taken:
        i += 1
        name = f"{stem}_{i}"
    taken.add(name)
    return name


def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["name", *METRICS])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})


def _write_html(path: Path, summary: EvalSummary, rows: list[dict[str, object]]) -> None:
    esc = html.escape
    head = (
        f"<h1>{esc(summary.model or 'model')} on {esc(summary.data)} [{esc(summary.split)}]</h1>"
        f"<p>{esc(summary.line())}; direction {esc(summary.direction)}</p>"
    )
    if summary.skipped:
        head += "<p>Skipped:</p><ul>" + "".join(f"<li>{esc(s)}</li>" for s in summary.skipped) + "</ul>"
    body = []
    for r in rows:
        name = esc(str(r["name"]))
        cells = "".join(f'<td><img src="images/{name}_{k}.png" alt="{k}"></td>' for k in ("input", "output", "target"))
        scores = f"PSNR {float(r['psnr']):.2f}<br>SSIM {float(r['ssim']):.4f}<br>L1 {float(r['l1']):.4f}"
        body.append(f"<tr><th>{name}</th>{cells}<td>{scores}</td></tr>")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>i2i eval: {esc(summary.split)}</title>
<style>body{{font-family:sans-serif}} img{{max-width:256px;height:auto}} td,th{{padding:4px;vertical-align:top}}</style>
</head><body>{head}
<table><tr><th>name</th><th>input</th><th>output</th><th>target</th><th>metrics</th></tr>
{chr(10).join(body)}
</table></body></html>
"""
    path.write_text(page, encoding="utf-8")
