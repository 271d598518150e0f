"""Scores a model on a paired split: per-image metrics (CSV), a summary (JSON) and an HTML page of results."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from i2i.data.config import DataConfig
from i2i.data.paired import PairRecord, list_pairs, load_pair
from i2i.evaluation.metrics import PAIRED_METRICS, PairedScores
from i2i.evaluation.report import ReportRow, unique_name, write_report
from i2i.evaluation.visuals import sample_grid
from i2i.imageio import ImageReadError, resize_image, write_image
from i2i.inference.translator import Translator
from i2i.portable.runtime import input_refusal

log = logging.getLogger(__name__)


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

    Metrics are computed at the target's own size on uint8 images, as validation computes them
    (``i2i.evaluation.metrics.PairedScores``). The first ``grid_rows`` results are also laid out as
    input | output | target rows in ``grid.png``.
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
    for problem in skipped:
        log.warning("skipped %s", problem)
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    scores = PairedScores()
    rows: list[ReportRow] = []
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
            refused = input_refusal(translator, source)
            if refused is not None:  # too large at the network's size, or too elongated: skipped like a bad file
                skipped.append(f"{record.path_a}: {refused}")
                log.warning("skipped %s: %s", record.path_a, refused)
                continue
            chunk.append((record, source, target))
        outputs = translator([source for _, source, _ in chunk], batch_size=batch_size)
        for (record, source, target), output in zip(chunk, outputs, strict=True):
            if output.shape != target.shape:  # input and target of different sizes: compare at the target's
                output = resize_image(output, target.shape[:2])
            try:
                metrics = scores.add(output, target)
            except ValueError as exc:  # e.g. smaller than SSIM's 7x7 window
                skipped.append(f"{record.path_a}: {exc}")
                log.warning("skipped %s: %s", record.path_a, exc)
                continue
            stem = unique_name(record.name, stems)
            images = {}
            for kind, image in (("input", source), ("output", output), ("target", target)):
                images[kind] = f"images/{stem}_{kind}.png"
                write_image(out_dir / images[kind], image)
            rows.append(ReportRow(stem, images, metrics))
            if len(grid) < grid_rows:
                grid.append([source, output, target])
    if not rows:
        raise ImageReadError(root, f"no readable pairs in split '{split}'")
    means = scores.means()
    summary = EvalSummary(
        len(rows), means["psnr"], means["ssim"], means["l1"], str(root), split, data.direction, model_name, skipped
    )
    if grid:
        write_image(out_dir / "grid.png", sample_grid(grid, height=min(256, max(r[2].shape[0] for r in grid))))
    title = f"{model_name or 'model'} on {root} [{split}]"
    lines = [f"{summary.line()}; direction {summary.direction}", *(f"skipped: {s}" for s in skipped)]
    write_report(out_dir, title, lines, rows, asdict(summary), list(PAIRED_METRICS))
    return summary
