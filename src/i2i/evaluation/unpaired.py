"""Scores a two-way model on an unpaired split, where no image has a ground truth to compare with.

For every test image of domain A: fake B = G_AB(A), its reconstruction G_BA(fake B) scored against A (cycle PSNR,
SSIM) and G_BA(A) scored against A (identity L1: how much the generator changes an image already in its output
domain). The same for every B image with the roles swapped. These are ``CycleScores``, the definitions validation
uses during training, so ``summary.json``'s ``metrics`` carry the same names and meanings as the run's
``val/...`` scalars. With Inception weights (``--fid-weights``), FID and KID compare all fake B images with the real
B images, and all fake A with the real A.

Outputs in the report folder: ``images/`` (fake and reconstructed images), ``metrics.csv`` (one row per image),
``summary.json``, ``grid.png`` (real A | fake B | rec A, then the other direction) and ``index.html``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from i2i.data.unpaired import list_unpaired
from i2i.evaluation.metrics import CycleScores
from i2i.evaluation.report import ReportRow, unique_name, write_report
from i2i.evaluation.visuals import sample_grid
from i2i.imageio import ImageReadError, read_image, write_image
from i2i.inference.translator import Translator
from i2i.portable.runtime import input_refusal

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
    metrics: dict[str, float] = field(default_factory=dict)  # CycleScores.means(): validation's names
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
    scores = CycleScores()
    rows: list[ReportRow] = []
    skipped: list[str] = [str(p) for p in report.problems]  # entries named like images that are not files
    for problem in skipped:
        log.warning("skipped %s", problem)
    grids: dict[str, list[list[np.ndarray]]] = {"A": [], "B": []}
    fakes: dict[str, list[Path]] = {"A": [], "B": []}  # translated images, by source domain
    for name, paths, there, back in (
        ("A", report.images_a, forward, backward),
        ("B", report.images_b, backward, forward),
    ):
        stems: set[str] = set()
        same_channels = back.pre.output_channels == there.pre.input_channels
        images = _readable(paths, there.pre.input_channels, skipped, there)
        while chunk := list(itertools.islice(images, batch_size)):  # one batch of translations per step
            reals = [real for _, real in chunk]
            outputs = there(reals, batch_size)
            recs = back(outputs, batch_size)
            sames = back(reals, batch_size) if same_channels else [None] * len(reals)
            for (path, real), fake, rec, same in zip(chunk, outputs, recs, sames, strict=True):
                stem = unique_name(f"{name}_{Path(path).stem}", stems)
                try:
                    row_scores = scores.add(name.lower(), path, real, rec, same)
                except ValueError as exc:  # e.g. smaller than SSIM's 7x7 window
                    skipped.append(f"{path}: {exc}")
                    log.warning("skipped %s: %s", path, exc)
                    continue
                files = {"translated": f"images/{stem}_fake.png", "reconstructed": f"images/{stem}_rec.png"}
                write_image(out_dir / files["translated"], fake)
                write_image(out_dir / files["reconstructed"], rec)
                fakes[name].append(out_dir / files["translated"])
                if len(grids[name]) < grid_rows:
                    grids[name].append([real, fake, rec])
                rows.append(ReportRow(stem, files, row_scores or {}, {"domain": name}))
        if not scores.count(name.lower()):
            raise ImageReadError(root, f"no readable {name} images in split '{split}'")
    domains = [DomainScores(scores.count(d), **scores.domain_means(d)) for d in ("a", "b")]
    summary = UnpairedSummary(str(root), split, model_name, *domains, metrics=scores.means(), skipped=skipped)
    if extractor is None:
        summary.fid_note = FID_SKIPPED
    else:
        _add_fid(summary, report.images_a, report.images_b, fakes, extractor, forward, backward)
    grid = [ra + rb for ra, rb in zip(grids["A"], grids["B"], strict=False)]
    if grid:
        write_image(out_dir / "grid.png", sample_grid(grid, height=min(256, grid[0][0].shape[0])))
    title = f"{model_name or 'model'} on {root} [{split}]"
    write_report(out_dir, title, summary.lines(), rows, asdict(summary), ["cycle_psnr", "cycle_ssim", "idt_l1"])
    return summary


def _readable(
    paths: list[str], channels: int, skipped: list[str], translator: Translator | None = None
) -> Iterator[tuple[str, np.ndarray]]:
    """The images of ``paths`` that can be read (with ``channels``) and, if given, that ``translator`` takes; the
    others are listed in ``skipped`` with their reason."""
    for path in paths:
        try:
            image = read_image(path, channels=channels)
        except ImageReadError as exc:
            skipped.append(str(exc))
            log.warning("skipped %s", exc)
            continue
        refused = input_refusal(translator, image) if translator is not None else None
        if refused is not None:  # too large at the network's size, or too elongated
            skipped.append(f"{path}: {refused}")
            log.warning("skipped %s: %s", path, refused)
            continue
        yield path, image


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
