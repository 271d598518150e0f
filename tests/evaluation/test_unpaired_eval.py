"""Unpaired evaluation through the library: batching does not change scores, names never collide, bad files skip."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from i2i.artifact.open import open_model
from i2i.evaluation.unpaired import evaluate_unpaired
from i2i.inference.translator import Translator


def translators(model_path: Path) -> tuple[Translator, Translator]:
    """A → B and B → A of one model, opened once."""
    model = open_model(model_path)
    return Translator(model.generator("AtoB"), "cpu"), Translator(model.generator("BtoA"), "cpu")


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "metrics.csv").open() as f:
        return {row["name"]: row for row in csv.DictReader(f)}


def test_batch_size_does_not_change_scores_and_names_stay_unique(cyclegan_run: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(cyclegan_run.parent.parent / "data", data)
    # Same stem, other extension: its outputs must not overwrite the first file's.
    from PIL import Image

    Image.open(data / "testB" / "b_000.png").convert("RGB").save(data / "testB" / "b_000.jpg", quality=95)
    forward, backward = translators(cyclegan_run)
    one = evaluate_unpaired(forward, backward, data, tmp_path / "one", batch_size=1)
    three = evaluate_unpaired(forward, backward, data, tmp_path / "three", batch_size=3)
    assert (one.a.count, one.b.count) == (2, 4)
    assert one.a.cycle_psnr == pytest.approx(three.a.cycle_psnr, abs=1e-9)
    assert one.b.idt_l1 == pytest.approx(three.b.idt_l1, abs=1e-9)
    rows = _rows(tmp_path / "three")
    assert {"B_b_000", "B_b_000_2"} <= rows.keys()
    assert len(list((tmp_path / "three" / "images").glob("B_b_000*_fake.png"))) == 2


def test_unreadable_images_are_skipped_and_listed(cyclegan_run: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(cyclegan_run.parent.parent / "data", data)
    bad = data / "testA" / "a_001.png"
    bad.write_bytes(b"not an image")
    forward, backward = translators(cyclegan_run)
    summary = evaluate_unpaired(forward, backward, data, tmp_path / "out")
    assert summary.a.count == 1 and len(summary.skipped) == 1 and "a_001.png" in summary.skipped[0]
    assert "1 unreadable image(s) skipped" in summary.lines()


def test_images_the_model_cannot_take_are_skipped_and_listed(cyclegan_run: Path, tmp_path: Path) -> None:
    """A 1x640 line would be padded to the generator's multiple (issue 21): skipped with its reason."""
    import numpy as np

    from i2i.imageio import write_image

    data = tmp_path / "data"
    shutil.copytree(cyclegan_run.parent.parent / "data", data)
    write_image(data / "testA" / "line.png", np.zeros((1, 640, 3), np.uint8))
    forward, backward = translators(cyclegan_run)
    summary = evaluate_unpaired(forward, backward, data, tmp_path / "out")
    assert summary.a.count == 2 and len(summary.skipped) == 1
    assert "line.png: a 640x1 image is too elongated" in summary.skipped[0]


def test_eval_and_validation_report_the_same_quantities_under_the_same_names(
    cyclegan_run: Path, tmp_path: Path
) -> None:
    """One name, one meaning: eval's cycle/identity scores equal what validation reports on the same split."""
    import torch

    from i2i.config import from_dict
    from i2i.data import DATA_KINDS
    from i2i.run_config import RunConfig
    from i2i.training.checkpoint import RunFolder, load_networks, load_state

    state = load_state(RunFolder(cyclegan_run).last)
    cfg = from_dict(RunConfig, state["config"])
    method = cfg.method.build(cfg.data)
    load_networks(method.networks(), state, "last.pt")
    kind = DATA_KINDS.get(cfg.method.data_kind)(cfg.data)
    validation = method.validator(cfg.preprocessing(), torch.device("cpu"))
    for record in kind.scan("test").records:  # 3 records cycling through 2 A and 3 B images
        validation.score(kind.load_example(record))
    validated = validation.metrics()

    forward, backward = translators(cyclegan_run)
    summary = evaluate_unpaired(forward, backward, cyclegan_run.parent.parent / "data", tmp_path / "out")
    assert set(summary.metrics) == set(validated) == set(cfg.method.validation_metrics(cfg.data))
    for name, value in validated.items():
        # the same images; eval batches them and runs the CPU fast path, which may round a pixel the other way (on a
        # near-zero SSIM of a 10-step model that is more than 1e-4 relative: hence the absolute tolerance too)
        assert summary.metrics[name] == pytest.approx(value, rel=1e-4, abs=1e-4), name
    assert summary.a.cycle_psnr == pytest.approx(summary.metrics["cycle_psnr_a"])
    assert summary.metrics["idt_l1"] == pytest.approx((summary.a.idt_l1 + summary.b.idt_l1) / 2)
