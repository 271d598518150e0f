"""`i2i eval`: per-image CSV, JSON summary, HTML report, and the printed summary."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from i2i.cli import main
from i2i.evaluation.metrics import image_metrics


def test_eval_writes_csv_summary_and_html(tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Every test pair is scored; the summary is the mean of the CSV rows and matches the images written."""
    data = tiny_run.parent.parent / "data"
    out = tmp_path / "report"
    assert main(["eval", str(tiny_run), "--data", str(data), "--split", "test", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("3 images: PSNR ") and str(out / "index.html") in printed

    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["name"] for r in rows] == ["0", "1", "2"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["count"] == 3 and summary["split"] == "test" and summary["direction"] == "BtoA"
    assert summary["psnr"] == pytest.approx(np.mean([float(r["psnr"]) for r in rows]), abs=1e-5)
    assert summary["ssim"] == pytest.approx(np.mean([float(r["ssim"]) for r in rows]), abs=1e-5)

    # the written images are what was scored: recompute one row from the PNGs
    output = np.asarray(Image.open(out / "images" / "1_output.png"))
    target = np.asarray(Image.open(out / "images" / "1_target.png"))
    again = image_metrics(output, target)
    assert again["psnr"] == pytest.approx(float(rows[1]["psnr"]), abs=1e-4)
    # BtoA: the target is the left half (photo) of the A|B file
    ab = np.asarray(Image.open(data / "test" / "1.png"))
    assert np.array_equal(target, ab[:, :64])

    grid = np.asarray(Image.open(out / "grid.png"))
    assert grid.shape == (3 * 64 + 2 * 4, 3 * 64 + 2 * 4, 3)  # 3 rows of input | output | target, 4 px gaps

    page = (out / "index.html").read_text()
    assert page.count("<tr>") == 4 and "images/2_output.png" in page


def test_eval_skips_and_lists_unreadable_pairs(tiny_run: Path, tmp_path: Path) -> None:
    """A broken file in the split is listed in the summary and the report; the other pairs are scored."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_run.parent.parent / "data", data)
    (data / "test" / "9.jpg").write_bytes(b"\xff\xd8\xff broken")
    out = tmp_path / "report"
    assert main(["eval", str(tiny_run), "--data", str(data), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["count"] == 3 and len(summary["skipped"]) == 1 and "9.jpg" in summary["skipped"][0]
    assert "9.jpg" in (out / "index.html").read_text()


def test_eval_of_a_missing_split_is_a_clear_error(tiny_run: Path, tmp_path: Path, capsys) -> None:
    data = tiny_run.parent.parent / "data"
    assert main(["eval", str(tiny_run), "--data", str(data), "--split", "val2", "--out", str(tmp_path / "r")]) == 2
    assert "split 'val2' not found" in capsys.readouterr().err


def test_eval_of_a_checkpoint_file_reports_into_its_run_folder(tiny_run: Path, tmp_path: Path) -> None:
    """`i2i eval run/checkpoints/last.pt` without --out writes to run/eval/<split>."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    data = tiny_run.parent.parent / "data"
    assert main(["eval", str(run / "checkpoints" / "last.pt"), "--data", str(data)]) == 0
    assert (run / "eval" / "test" / "summary.json").exists()


def test_images_too_small_for_ssim_are_skipped_with_a_reason(tiny_run: Path, tmp_path: Path) -> None:
    """A 6×6 pair cannot be scored by SSIM's 7×7 window: it is listed as skipped, the others are scored."""
    data = tmp_path / "data" / "test"
    data.mkdir(parents=True)
    Image.fromarray(np.zeros((6, 12, 3), dtype=np.uint8)).save(data / "tiny.png")
    Image.fromarray(np.full((32, 64, 3), 128, dtype=np.uint8)).save(data / "ok.png")
    out = tmp_path / "report"
    assert main(["eval", str(tiny_run), "--data", str(tmp_path / "data"), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["count"] == 1 and "tiny.png" in summary["skipped"][0] and "7x7" in summary["skipped"][0]


def test_pairs_the_model_cannot_take_are_skipped_with_a_reason(tiny_run: Path, tmp_path: Path) -> None:
    """A 1x640 line would be padded to the generator's multiple (issue 21): listed as skipped, the others scored."""
    data = tmp_path / "data" / "test"
    data.mkdir(parents=True)
    Image.fromarray(np.zeros((1, 1280, 3), dtype=np.uint8)).save(data / "line.png")
    Image.fromarray(np.full((32, 64, 3), 128, dtype=np.uint8)).save(data / "ok.png")
    out = tmp_path / "report"
    assert main(["eval", str(tiny_run), "--data", str(tmp_path / "data"), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["count"] == 1 and len(summary["skipped"]) == 1
    assert "line.png: a 640x1 image is too elongated" in summary["skipped"][0]
