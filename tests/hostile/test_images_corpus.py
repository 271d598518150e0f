"""The hostile corpus (tests/hostile/corpus.py) through every entry point of the image readers and dataset tools:
each bad entry gives one line naming it and the problem, each good one is read or processed; nothing hangs or prints
a traceback or a Pillow warning."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hostile.corpus import (
    DIRECTORY,
    FIFO,
    NEWLINE_NAME,
    OK,
    TRUNCATED,
    bad,
    good,
    run_i2i,
    run_with_timeout,
    write_hostile_images,
)
from PIL import Image

from i2i.cli import main
from i2i.datatools.check import check_dataset
from i2i.errors import show_path
from i2i.imageio import MAX_PIXELS_ENV, ImageReadError, probe_image, read_image
from i2i.inference.files import plan_outputs, translate_files

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
# data check reads headers, hashes and end markers: a cut-off file is found from its missing end marker.
CHECK_WORDS = {TRUNCATED: "the file is cut off"}
CHECK_KINDS = {TRUNCATED: "truncated", FIFO: "not_a_file", DIRECTORY: "not_a_file", "over the limit": "too_large"}


@pytest.fixture(autouse=True)
def default_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_PIXELS_ENV, "")


def lines_naming(text: str, path: Path) -> list[str]:
    """The lines of ``text`` that name ``path`` (as show_path writes it)."""
    return [line for line in text.splitlines() if f"{show_path(path)}:" in line]


def assert_clean(text: str) -> None:
    assert "Traceback" not in text and "DecompressionBomb" not in text


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``i2i ARGV`` in this process: (exit status, stdout, stderr), with no Pillow warning and no traceback."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(argv)
    out, err = capsys.readouterr()
    assert [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)] == []
    assert_clean(out + err)
    return code, out, err


def assert_each_bad_entry_on_one_line(text: str, folder: Path, expected: dict[str, str], words=None) -> None:
    for name in bad(expected):
        want = (words or {}).get(expected[name], expected[name])
        found = lines_naming(text, folder / name)
        assert len(found) == 1 and want in found[0], (name, want, found)
    for name in good(expected):
        assert lines_naming(text, folder / name) == [], name


# --- the readers ---------------------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_read_image_and_probe_image(tmp_path: Path) -> None:
    """read_image decodes each good entry and refuses each bad one in one line; probe_image too (it reads headers
    only, so the two cut-off files pass it)."""
    expected = write_hostile_images(tmp_path)
    corpus = {"cut_png.png", "cut_jpeg.jpg", "empty.png", "notes.png", "huge.png", "folder.png", NEWLINE_NAME}
    corpus |= {"sixteen_bit.png", "palette_alpha.png", "cmyk.jpg", "animated.gif", "one_pixel.png"}
    assert set(expected) == corpus | ({"fifo.png"} if hasattr(os, "mkfifo") else set())
    for name, want in expected.items():
        path = tmp_path / name
        for read in (read_image, probe_image):
            header_only = read is probe_image and want == TRUNCATED
            try:
                result = run_with_timeout(lambda read=read, path=path: read(path), seconds=20)
            except ImageReadError as exc:
                assert want != OK and not header_only, (name, str(exc))
                text = str(exc)
                assert "\n" not in text and text == f"{show_path(path)}: {exc.reason}" and want in exc.reason
                continue
            assert want == OK or header_only, name
            if read is read_image:
                assert result.dtype == np.uint8 and result.ndim == 3 and result.shape[2] == 3
    with Image.open(tmp_path / "one_pixel.png") as im:
        assert im.size == (1, 1)
    np.testing.assert_array_equal(read_image(tmp_path / "one_pixel.png"), [[[10, 200, 30]]])
    assert read_image(tmp_path / "animated.gif")[0, 0].tolist() == [255, 0, 0]  # the first frame
    assert read_image(tmp_path / "palette_alpha.png")[0, 0].tolist() == [255, 255, 255]  # transparent → white


# --- data check ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("full", [False, True])
def test_data_check(tmp_path: Path, capsys: pytest.CaptureFixture[str], full: bool) -> None:
    """Every bad entry is a problem of the right kind on its own line; the good ones (a name with a line break, 16-bit,
    palette with transparency, CMYK, animated GIF, 1×1) pass, in header mode and with --full."""
    expected = write_hostile_images(tmp_path / "ds", fifo=False)
    report = check_dataset(tmp_path / "ds", full=full)
    kinds = {Path(p.path).name: p.kind for p in report.problems}
    wanted = {n: CHECK_KINDS.get(w, "unreadable") for n, w in expected.items() if w != OK}
    wanted["huge.png"] = "too_large"
    assert kinds == wanted
    assert report.images == len(good(expected)) + 5  # the regular files named like images
    code, out, _ = run(["data", "check", str(tmp_path / "ds"), "-q", *(["--full"] if full else [])], capsys)
    assert code == 1
    assert_each_bad_entry_on_one_line(out, tmp_path / "ds", expected, CHECK_WORDS)
    assert f"FAILED: {len(bad(expected))} problem(s), 0 warning(s)" in out


@needs_fifo
@pytest.mark.timeout(150)
def test_data_check_with_a_fifo_in_a_child_process(tmp_path: Path) -> None:
    """With the FIFO too (a real process, so that a hang would be killed): listed as not a regular file."""
    expected = write_hostile_images(tmp_path / "ds")
    proc = run_i2i(["data", "check", str(tmp_path / "ds"), "-q", "--full"])
    assert proc.returncode == 1, proc.stderr
    assert_clean(proc.stdout + proc.stderr)
    assert_each_bad_entry_on_one_line(proc.stdout, tmp_path / "ds", expected, CHECK_WORDS)
    assert f"  {'not_a_file':<24} {tmp_path / 'ds' / 'fifo.png'}: {FIFO}" in proc.stdout.splitlines()


# --- data pairs ----------------------------------------------------------------------------------------------------


def pairs_made(out: Path) -> list[str]:
    return sorted(p.name for p in out.rglob("*.png") if p.parent != out)


def test_data_pairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = write_hostile_images(tmp_path / "photos", fifo=False)
    out = tmp_path / "pairs"
    code, stdout, err = run(
        ["data", "pairs", str(tmp_path / "photos"), "--task", "edges", "--size", "16", "--out", str(out)], capsys
    )
    assert code == 1
    assert_each_bad_entry_on_one_line(err, tmp_path / "photos", expected)
    assert f"{len(bad(expected))} photo(s) could not be used" in err
    assert pairs_made(out) == sorted(Path(name).stem + ".png" for name in good(expected))
    assert f"{len(good(expected))} pairs" in stdout


@needs_fifo
@pytest.mark.timeout(150)
def test_data_pairs_with_a_fifo_in_a_child_process(tmp_path: Path) -> None:
    expected = write_hostile_images(tmp_path / "photos")
    out = tmp_path / "pairs"
    proc = run_i2i(
        ["data", "pairs", str(tmp_path / "photos"), "--task", "grayscale", "--size", "16", "--out", str(out)]
    )
    assert proc.returncode == 1, proc.stderr
    assert_clean(proc.stdout + proc.stderr)
    assert_each_bad_entry_on_one_line(proc.stderr, tmp_path / "photos", expected)
    assert pairs_made(out) == sorted(Path(name).stem + ".png" for name in good(expected))


# --- data combine --------------------------------------------------------------------------------------------------


def write_b_side(a_dir: Path, b_dir: Path, expected: dict[str, str]) -> None:
    """A good B image for every entry of the corpus, of A's size where A's header can be read."""
    b_dir.mkdir(parents=True)
    for i, name in enumerate(expected):
        try:
            info = probe_image(a_dir / name)
            size = (info.width, info.height)
        except ImageReadError:
            size = (8, 8)
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(b_dir / name)


def combine_expectations(tmp_path: Path, fifo: bool) -> tuple[dict[str, str], Path, Path]:
    expected = write_hostile_images(tmp_path / "A", fifo=fifo)
    write_b_side(tmp_path / "A", tmp_path / "B", expected)
    return expected, tmp_path / "A", tmp_path / "B"


def assert_combined(out: Path, stdout: str, err: str, a_dir: Path, b_dir: Path, expected: dict[str, str]) -> None:
    assert_each_bad_entry_on_one_line(err, a_dir, expected)
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(name).stem + ".png" for name in good(expected))
    assert f"wrote {len(good(expected))} A|B file(s)" in stdout
    # B's partners of the entries of A that are no files are B files without a partner: listed as warnings.
    not_files = [n for n, w in expected.items() if w in (FIFO, DIRECTORY)]
    assert f"warning: {len(not_files)} file(s) have no partner in A_DIR" in err
    for name in not_files:
        assert f"  {b_dir / name}" in err.splitlines()


@pytest.mark.parametrize("resize", [False, True])
def test_data_combine(tmp_path: Path, capsys: pytest.CaptureFixture[str], resize: bool) -> None:
    expected, a_dir, b_dir = combine_expectations(tmp_path, fifo=False)
    out = tmp_path / "out"
    argv = ["data", "combine", str(a_dir), str(b_dir), "--out", str(out), *(["--resize-b"] if resize else [])]
    code, stdout, err = run(argv, capsys)
    assert code == 1
    assert_combined(out, stdout, err, a_dir, b_dir, expected)
    assert f"{len(bad(expected))} file(s) could not be combined" in err


@needs_fifo
@pytest.mark.timeout(150)
def test_data_combine_with_a_fifo_in_a_child_process(tmp_path: Path) -> None:
    expected, a_dir, b_dir = combine_expectations(tmp_path, fifo=True)
    out = tmp_path / "out"
    proc = run_i2i(["data", "combine", str(a_dir), str(b_dir), "--out", str(out)])
    assert proc.returncode == 1, proc.stderr
    assert_clean(proc.stdout + proc.stderr)
    assert_combined(out, proc.stdout, proc.stderr, a_dir, b_dir, expected)


# --- translate's file handling -------------------------------------------------------------------------------------


class EchoTranslator:
    """Stands in for a Translator: returns each (RGB) input unchanged."""

    pre = SimpleNamespace(input_channels=3)

    def __call__(self, images: list[np.ndarray], batch_size: int = 8) -> list[np.ndarray]:
        return list(images)


@pytest.mark.timeout(60)
def test_translate_files(tmp_path: Path) -> None:
    """A folder of the corpus: every good image is written, every bad entry (the FIFO and the folder named .png
    included) is one failure line naming it, and nothing hangs."""
    expected = write_hostile_images(tmp_path / "in")
    pairs = plan_outputs([str(tmp_path / "in")], tmp_path / "out")
    assert sorted(src.name for src, _ in pairs) == sorted(expected)
    report = run_with_timeout(lambda: translate_files(EchoTranslator(), pairs, batch_size=4), seconds=30)
    assert sorted(p.name for p in report.written) == good(expected)
    assert_each_bad_entry_on_one_line("\n".join(report.failed), tmp_path / "in", expected)
    np.testing.assert_array_equal(
        read_image(tmp_path / "out" / NEWLINE_NAME), read_image(tmp_path / "in" / NEWLINE_NAME)
    )
