"""The hostile image corpus through the commands that use a model or train one: `translate`, `eval` and `train`.

Each runs in a child process (the corpus holds a FIFO: a command that opened it would hang). Expected everywhere:
every bad file named on a line of its own with its problem, the good files beside them processed, no traceback, no
DecompressionBombWarning, no hang.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY, cli_args
from hostile.corpus import NEWLINE_NAME, OK, bad, good, run_i2i, write_hostile_images
from PIL import Image

from i2i.errors import show_path


def _clean(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "DecompressionBombWarning" not in stderr, stderr


def _names_each_bad_file(text: str, folder: Path, expected: dict[str, str]) -> None:
    lines = text.splitlines()
    for name in bad(expected):
        shown = show_path(folder / name)
        hits = [line for line in lines if shown in line and expected[name] in line]
        assert hits, f"{name!r} ({expected[name]}) not reported in:\n{text}"


def test_translate_a_hostile_folder(tiny_run: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    expected = write_hostile_images(inputs)
    proc = run_i2i(["translate", str(tiny_run), str(inputs), "--out", str(tmp_path / "out"), "--device", "cpu"])
    _clean(proc.stderr)
    assert proc.returncode == 1, proc.stderr
    _names_each_bad_file(proc.stderr, inputs, expected)
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(good(expected))
    assert f"wrote {len(good(expected))} image(s)" in proc.stdout


def _paired_dataset(root: Path) -> dict[str, str]:
    """A/ + B/ folders: A/test holds the corpus; B/test a same-size image for each entry (32x32 for the bad ones)."""
    expected = write_hostile_images(root / "A" / "test")
    (root / "B" / "test").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, want in expected.items():
        size = Image.open(root / "A" / "test" / name).size if want == OK else (32, 32)
        target = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(target).save(root / "B" / "test" / (Path(name).stem + ".png"))
    return expected


def test_eval_a_hostile_split(tiny_run: Path, tmp_path: Path) -> None:
    """Pairs with a bad A are skipped and named; the good ones are scored (the 1-pixel pair is skipped by SSIM)."""
    data = tmp_path / "data"
    expected = _paired_dataset(data)
    out = tmp_path / "report"
    proc = run_i2i(
        ["eval", str(tiny_run), "--data", str(data), "--split", "test", "--layout", "folders", "--out", str(out)]
    )
    _clean(proc.stderr)
    assert proc.returncode == 0, proc.stderr
    _names_each_bad_file(proc.stderr, data / "A" / "test", expected)
    summary = json.loads((out / "summary.json").read_text())
    with (out / "metrics.csv").open(newline="") as f:
        scored = {row[0] for row in list(csv.reader(f))[1:]}
    assert summary["count"] == len(scored) == len(good(expected)) - 1  # all but the 1-pixel pair
    assert Path(NEWLINE_NAME).stem in scored


def _train_args(data: Path, out_dir: Path, *extra: str) -> list[str]:
    sections = {**TINY, "out_dir": str(out_dir), "name": "hostile"}
    sections["data"] = {
        **TINY["data"],
        "root": str(data),
        "layout": "folders",
        "val_split": None,
        "train_split": "test",
    }
    sections["train"] = {**TINY["train"], "best_metric": None, "max_steps": 3}
    return ["train", *cli_args(sections), *extra]


@pytest.mark.parametrize("skip_bad", [False, True])
def test_train_on_a_hostile_split(tmp_path: Path, skip_bad: bool) -> None:
    """The pre-scan lists every bad file at once and refuses; with skip_bad the run trains on the good pairs."""
    data = tmp_path / "data"
    expected = _paired_dataset(data)
    proc = run_i2i(_train_args(data, tmp_path / "runs", f"--data.skip_bad={str(skip_bad).lower()}"), timeout=300)
    _clean(proc.stderr)
    _names_each_bad_file(proc.stderr, data / "A" / "test", expected)
    last = tmp_path / "runs" / "hostile" / "checkpoints" / "last.pt"
    if skip_bad:
        assert proc.returncode == 0, proc.stderr
        assert last.is_file()
        assert f"{len(good(expected))} training pairs" in proc.stderr
    else:
        assert proc.returncode == 2, proc.stderr
        assert f"has {len(bad(expected))} bad file(s):\n" in proc.stderr
        assert not last.exists()
