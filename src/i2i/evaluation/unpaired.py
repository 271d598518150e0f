"""Scores a two-way model on an unpaired split, where no image has a ground truth to compare with.

For every test image of domain A: fake B = G_AB(A), its reconstruction G_BA(fake B) scored against A (cycle PSNR,
SSIM) and G_BA(A) scored against A (identity L1: how much the generator changes an image already in its output
domain). The same for every B image with the roles swapped. With Inception weights (``--fid-weights``), FID and
KID compare all fake B images with the real B images, and all fake A with the real A.

Outputs in the report folder: ``images/`` (fake and reconstructed images), ``metrics.csv`` (one row per image),
``summary.json``, ``grid.png`` (real A | fake B | rec A, then the other direction) and ``index.html``.
"""

from __future__ import annotations

import csv
import html
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from i2i.data.io import ImageReadError, read_image, write_image
from i2i.data.unpaired import list_unpaired
from i2i.evaluation.evaluate import unique_name
from i2i.evaluation.metrics import image_metrics, l1
from i2i.evaluation.visuals import sample_grid
from i2i.inference.translator import Translator

log = logging.getLogger(__name__)

FID_SKIPPED = "FID/KID skipped: no Inception weights given (--fid-weights pt_inception-2015-12-05-6726825d.pth)"


@dataclass
class DomainScores:
    """Means over the images of one source domain (e.g. A: the A → B → A cycles)."""

    count: int = 0
    cycle_psnr: float = 0.0
    cycle_ssim: float = 0.0
    idt_l1: float | None = None
    fid: float | None = None  # of the translated images against the real images of the other domain
    kid: float | None = None
    kid_std: float | None = None


@dataclass
class UnpairedSummary:
    data: str
    split: str
    model: str
    a: DomainScores
    b: DomainScores
    fid_note: str = ""
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for name, other, s in (("A", "B", self.a), ("B", "A", self.b)):
            text = (
                f"{name} → {other} → {name} on {s.count} images: cycle PSNR {s.cycle_psnr:.2f} dB, "
                f"SSIM {s.cycle_ssim:.4f}"
            )
            if s.idt_l1 is not None:
                text += f", identity L1 {s.idt_l1:.4f}"
            if s.fid is not None:
                text += f"; FID {s.fid:.2f}, KID {s.kid:.4f} ± {s.kid_std:.4f} (fake {other} vs real {other})"
            out.append(text)
        if self.fid_note:
            out.append(self.fid_note)
        if self.skipped:
            out.append(f"{len(self.skipped)} unreadable image(s) skipped")
        return out


def evaluate_unpaired(
    forward: Translator,
    backward: Translator,
    root: str | Path,
    out_dir: str | Path,
    split: str = "test",
    model_name: str = "",
    batch_size: int = 8,
    grid_rows: int = 4,
    fid_weights: str | Path | None = None,
) -> UnpairedSummary:
    """Scores ``forward`` (A → B) and ``backward`` (B → A) on ``root``'s ``split`` and writes the report."""
    report = list_unpaired(root, split)
    extractor = None
    if fid_weights is not None:  # a bad weights file fails before any translation work
        from i2i.evaluation.fid import load_inception

        extractor = load_inception(fid_weights, forward.device)
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    skipped: list[str] = []
    grids: dict[str, list[list[np.ndarray]]] = {"A": [], "B": []}
    fakes: dict[str, list[Path]] = {"A": [], "B": []}  # translated images, by source domain
    scores = {}
    for name, paths, there, back in (
        ("A", report.images_a, forward, backward),
        ("B", report.images_b, backward, forward),
    ):
        domain_rows = []
        stems: set[str] = set()
        images = _readable(paths, there.pre.input_channels, skipped)
        while chunk := list(itertools.islice(images, batch_size)):  # one batch of translations per step
            reals = [real for _, real in chunk]
            outputs = there(reals, batch_size)
            recs = back(outputs, batch_size)
            same_channels = back.pre.output_channels == there.pre.input_channels
            sames = back(reals, batch_size) if same_channels else [None] * len(reals)
            for (path, real), fake, rec, same in zip(chunk, outputs, recs, sames, strict=True):
                stem = unique_name(f"{name}_{Path(path).stem}", stems)
                row: dict[str, object] = {"name": stem, "domain": name, **_cycle(image_metrics(rec, real))}
                if same is not None:
                    row["idt_l1"] = l1(same, real)
                write_image(out_dir / "images" / f"{stem}_fake.png", fake)
                write_image(out_dir / "images" / f"{stem}_rec.png", rec)
                fakes[name].append(out_dir / "images" / f"{stem}_fake.png")
                if len(grids[name]) < grid_rows:
                    grids[name].append([real, fake, rec])
                domain_rows.append(row)
        if not domain_rows:
            raise ImageReadError(root, f"no readable {name} images in split '{split}'")
        scores[name] = _means(domain_rows)
        rows += domain_rows
    summary = UnpairedSummary(str(root), split, model_name, scores["A"], scores["B"], skipped=skipped)
    if extractor is None:
        summary.fid_note = FID_SKIPPED
    else:
        _add_fid(summary, report.images_a, report.images_b, fakes, extractor, forward, backward)
    _write_csv(out_dir / "metrics.csv", rows)
    grid = [ra + rb for ra, rb in zip(grids["A"], grids["B"], strict=False)]
    if grid:
        write_image(out_dir / "grid.png", sample_grid(grid, height=min(256, grid[0][0].shape[0])))
    (out_dir / "summary.json").write_text(json.dumps(asdict(summary), indent=2) + "\n", encoding="utf-8")
    _write_html(out_dir / "index.html", summary, rows)
    return summary


def _readable(paths: list[str], channels: int, skipped: list[str]) -> Iterator[tuple[str, np.ndarray]]:
    for path in paths:
        try:
            yield path, read_image(path, channels=channels)
        except ImageReadError as exc:
            skipped.append(str(exc))
            log.warning("skipped %s", exc)


def _cycle(metrics: dict[str, float]) -> dict[str, float]:
    return {"cycle_psnr": metrics["psnr"], "cycle_ssim": metrics["ssim"]}


def _means(rows: list[dict[str, object]]) -> DomainScores:
    def mean(key: str) -> float:
        return sum(float(r[key]) for r in rows) / len(rows)  # type: ignore[arg-type]

    idt = mean("idt_l1") if all("idt_l1" in r for r in rows) else None
    return DomainScores(len(rows), mean("cycle_psnr"), mean("cycle_ssim"), idt)


def _add_fid(
    summary: UnpairedSummary,
    images_a: list[str],
    images_b: list[str],
    fakes: dict[str, list[Path]],
    extractor: torch.nn.Module,
    forward: Translator,
    backward: Translator,
) -> None:
    """FID/KID of the translations of each domain against the real images of the domain they were translated to."""
    from i2i.evaluation.fid import fid_kid

    for scores, real_paths, fake_paths, channels in (
        (summary.a, images_b, fakes["A"], forward.pre.output_channels),
        (summary.b, images_a, fakes["B"], backward.pre.output_channels),
    ):
        real = (image for _, image in _readable(real_paths, channels, []))
        fake = (read_image(p, channels=channels) for p in fake_paths)
        result = fid_kid(real, fake, extractor, forward.device)
        scores.fid, scores.kid, scores.kid_std = result.fid, result.kid_mean, result.kid_std


def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["name", "domain", "cycle_psnr", "cycle_ssim", "idt_l1"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})


def _write_html(path: Path, summary: UnpairedSummary, rows: list[dict[str, object]]) -> None:
    esc = html.escape
    head = f"<h1>{esc(summary.model or 'model')} on {esc(summary.data)} [{esc(summary.split)}]</h1>"
    head += "".join(f"<p>{esc(line)}</p>" for line in summary.lines())
    body = []
    for r in rows:
        stem = esc(str(r["name"]))
        cells = "".join(f'<td><img src="images/{stem}_{k}.png" alt="{k}"></td>' for k in ("fake", "rec"))
        scores = f"cycle PSNR {float(r['cycle_psnr']):.2f}<br>SSIM {float(r['cycle_ssim']):.4f}"  # type: ignore[arg-type]
        if "idt_l1" in r:
            scores += f"<br>identity L1 {float(r['idt_l1']):.4f}"  # type: ignore[arg-type]
        body.append(f"<tr><th>{esc(str(r['name']))}</th>{cells}<td>{scores}</td></tr>")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>i2i eval: {esc(summary.split)}</title>
<style>body{{font-family:sans-serif}} img{{max-width:256px;height:auto}} td,th{{padding:4px;vertical-align:top}}</style>
</head><body>{head}
<table><tr><th>image</th><th>translated</th><th>reconstructed</th><th>metrics</th></tr>
{chr(10).join(body)}
</table></body></html>
"""
    path.write_text(page, encoding="utf-8")
