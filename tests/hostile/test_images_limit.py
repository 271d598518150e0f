"""One pixel limit for every command that reads images: ``i2i --max-pixels N``, ``I2I_MAX_PIXELS``, and the same
"too large" in ``data check`` as in every reader, refused from the header, in one line, without a Pillow warning."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hostile.corpus import HUGE_ERROR, write_huge_png
from PIL import Image

from i2i.cli import main
from i2i.datatools.check import check_dataset
from i2i.imageio import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV, max_pixels, read_image

LIMIT_HINT = "(raise it with --max-pixels or I2I_MAX_PIXELS)"


@pytest.fixture(autouse=True)
def limit_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """I2I_MAX_PIXELS unset for each test (``i2i --max-pixels`` sets it) and restored afterwards."""
    monkeypatch.setenv(MAX_PIXELS_ENV, "")
    return monkeypatch


def photo(path: Path, width: int, height: int, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``i2i ARGV`` in this process, with every warning recorded: (exit status, stdout, stderr); no bomb warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(argv)
    out, err = capsys.readouterr()
    bombs = [str(w.message) for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert bombs == [], bombs
    assert "Traceback" not in out + err and "DecompressionBomb" not in out + err
    return code, out, err


def test_global_option_sets_the_limit_for_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`i2i --max-pixels N COMMAND`: the command reads with that limit (data check reports a 30×20 file as too large
    under 599 and is fine under 600), and the option is not passed on to the command."""
    photo(tmp_path / "ds" / "x.png", 30, 20)
    code, out, _ = run(["--max-pixels", "599", "data", "check", str(tmp_path / "ds"), "-q"], capsys)
    assert code == 1 and f"30x20 = 600 pixels is over the limit of 599 pixels {LIMIT_HINT}" in out
    code, out, _ = run(["--max-pixels=600", "data", "check", str(tmp_path / "ds"), "-q"], capsys)
    assert code == 0 and "OK: no problems found" in out
    assert max_pixels() == 600  # set for this process and, through I2I_MAX_PIXELS, for the workers it starts


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--max-pixels", "lots", "data"],
            "i2i: error: --max-pixels: expected a positive integer (a number of pixels), got 'lots'",
        ),
        (
            ["--max-pixels=-1", "data"],
            "i2i: error: --max-pixels: expected a positive integer (a number of pixels), got -1",
        ),
        (
            ["--max-pixels"],
            "i2i: error: --max-pixels: expected a positive integer (a number of pixels) before the command",
        ),
    ],
)
def test_bad_global_option_is_a_one_line_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2 and out == "" and err.splitlines() == [message]
    assert max_pixels() == DEFAULT_MAX_PIXELS


def test_bad_environment_value_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], limit_env: pytest.MonkeyPatch
) -> None:
    photo(tmp_path / "ds" / "x.png", 8, 8)
    limit_env.setenv(MAX_PIXELS_ENV, "ten")
    for argv in (["data", "check", str(tmp_path / "ds"), "-q"], ["data", "combine", "a", "b", "--out", "c"]):
        code, _, err = run(argv, capsys)
        expected = "i2i: error: I2I_MAX_PIXELS: expected a positive integer (a number of pixels), got 'ten'"
        assert code == 2 and err.splitlines() == [expected]


def test_top_level_help_documents_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and out.startswith("usage: i2i [--max-pixels N] COMMAND [options]")
    assert "--max-pixels N  refuse images of more than N pixels" in out and str(DEFAULT_MAX_PIXELS) in out
    assert "I2I_MAX_PIXELS" in out


@pytest.mark.parametrize("width", [29, 30, 31])
def test_check_too_large_agrees_exactly_with_read_image(
    tmp_path: Path, limit_env: pytest.MonkeyPatch, width: int
) -> None:
    """At the boundary (limit 600, images of 580, 600 and 620 pixels) data check flags exactly what read_image
    refuses, with the same reason, in header mode and with --full."""
    path = photo(tmp_path / "ds" / "x.png", width, 20)
    limit_env.setenv(MAX_PIXELS_ENV, "600")
    try:
        read_image(path)
        refused = None
    except Exception as exc:  # noqa: BLE001 - compared below
        refused = exc.reason  # type: ignore[attr-defined]
    assert (refused is not None) == (width * 20 > 600)
    for full in (False, True):
        report = check_dataset(tmp_path / "ds", full=full)
        assert [(p.kind, p.reason) for p in report.problems] == ([("too_large", refused)] if refused else [])


@pytest.mark.timeout(60)
def test_data_commands_refuse_the_huge_image_and_process_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 10000×10000 PNG of a few KB beside good files: data check, data pairs and data combine each name it in one
    line (over the limit) and still handle the good files; nothing is decoded, no warning, no traceback."""
    photos = tmp_path / "photos"
    huge = write_huge_png(photos / "huge.png")
    for i in range(3):
        photo(photos / f"p{i}.png", 40, 32, seed=i)
    line = f"{huge}: {HUGE_ERROR} {DEFAULT_MAX_PIXELS} pixels {LIMIT_HINT}"

    for full in ([], ["--full"]):
        code, out, _ = run(["data", "check", str(photos), "-q", *full], capsys)
        assert code == 1 and f"  {'too_large':<24} {line}" in out.splitlines()
        assert "images:  4" in out and "FAILED: 1 problem(s)" in out

    out_pairs = tmp_path / "pairs"
    code, out, err = run(
        ["data", "pairs", str(photos), "--task", "grayscale", "--size", "16", "--out", str(out_pairs)], capsys
    )
    assert code == 1 and f"  {line}" in err.splitlines() and "3 pairs" in out
    assert sorted(p.name for p in out_pairs.rglob("*.png")) == ["p0.png", "p1.png", "p2.png"]
    manifest = json.loads((out_pairs / "manifest.json").read_text())
    assert manifest["problems"] == [{"path": str(huge), "reason": line.split(": ", 1)[1]}]

    b_dir = tmp_path / "B"
    write_huge_png(b_dir / "huge.png")
    for i in range(3):
        photo(b_dir / f"p{i}.png", 40, 32, seed=10 + i)
    for resize in ([], ["--resize-b"]):
        out_dir = tmp_path / f"combined{len(resize)}"
        code, out, err = run(["data", "combine", str(photos), str(b_dir), "--out", str(out_dir), *resize], capsys)
        assert code == 1 and f"  {line}" in err.splitlines() and "wrote 3 A|B file(s)" in out
        assert sorted(p.name for p in out_dir.iterdir()) == ["p0.png", "p1.png", "p2.png"]
