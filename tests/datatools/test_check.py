"""Tests for i2i.datatools.check: layouts, counts, histograms, every problem kind, --json, exit codes and odd names."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers import write_aligned, write_folders
from PIL import Image, ImageFile

from i2i.cli import main as cli_main
from i2i.datatools.check import KINDS, UNSPLIT, CheckReport, Issue, check_dataset, command, detect_check_layout
from i2i.errors import DatasetError


def write_image(path: Path, array: np.ndarray, **options) -> Path:
    """Writes a uint8 array as an image file (format from the extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **options)
    return path


def noise(height: int, width: int, seed: int, channels: int = 3) -> np.ndarray:
    shape = (height, width, channels) if channels > 1 else (height, width)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def cut(path: Path, keep: float = 0.5) -> Path:
    """Cuts a file to the first ``keep`` fraction of its bytes (a download that stopped)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def header_bomb_png(path: Path, width: int, height: int) -> Path:
    """A small valid PNG whose IHDR (with a correct CRC) claims width × height pixels."""
    write_image(path, noise(8, 8, 0))
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def kinds(report: CheckReport) -> dict[str, list[str]]:
    """{kind: [paths]} of a report's problems."""
    out: dict[str, list[str]] = {}
    for problem in report.problems:
        out.setdefault(problem.kind, []).append(problem.path)
    return out


# --- layouts and counts --------------------------------------------------------------------------------------------


def test_aligned_layout_counts_sizes_and_modes(tmp_path: Path) -> None:
    """A|B files in <split>/: counts per split (train, val, test first), one size, one mode, one format, no problems."""
    root = write_aligned(tmp_path / "ds", {"test": 2, "train": 3, "val": 1}, size=16)
    (root / "train" / "notes.txt").write_text("not an image")
    report = check_dataset(root)
    assert report.layout == "aligned"
    assert report.splits == {"train": {"files": 3}, "val": {"files": 1}, "test": {"files": 2}}
    assert list(report.splits) == ["train", "val", "test"]
    assert report.images == 6 and report.ignored == 1
    assert report.sizes == {"32x16": 6} and report.modes == {"RGB": 6} and report.formats == {"PNG": 6}
    assert report.problems == [] and report.ok


def test_folders_layout_counts_pairs(tmp_path: Path) -> None:
    """A/<split> + B/<split>: A, B and pair counts per split."""
    root = write_folders(tmp_path / "ds", {"train": 3, "test": 2}, size=16)
    report = check_dataset(root)
    assert report.layout == "folders"
    assert report.splits == {"train": {"A": 3, "B": 3, "pairs": 3}, "test": {"A": 2, "B": 2, "pairs": 2}}
    assert report.ok and report.problems == []


def test_folders_layout_split_then_side(tmp_path: Path) -> None:
    """<split>/A + <split>/B is the folders layout too."""
    for side, seed in (("A", 0), ("B", 1)):
        write_image(tmp_path / "train" / side / "x.png", noise(8, 8, seed))
    report = check_dataset(tmp_path)
    assert report.layout == "folders"
    assert report.splits == {"train": {"A": 1, "B": 1, "pairs": 1}}


def test_unpaired_layout(tmp_path: Path) -> None:
    """trainA/trainB/testA/testB (CycleGAN): splits train and test with A and B counts; no pairing problems."""
    counts = {"trainA": 3, "trainB": 2, "testA": 1, "testB": 2}
    for n, (folder, count) in enumerate(counts.items()):
        for i in range(count):
            write_image(tmp_path / folder / f"{folder}_{i}.jpg", noise(8, 8, 10 * n + i))
    assert detect_check_layout(tmp_path) == "unpaired"
    report = check_dataset(tmp_path)
    assert report.splits == {"train": {"A": 3, "B": 2}, "test": {"A": 1, "B": 2}}
    assert report.formats == {"JPEG": 8} and report.ok and report.problems == []


def test_unpaired_side_without_its_partner_folder(tmp_path: Path) -> None:
    """testA without testB is an unmatched folder; an image folder whose name ends in neither A nor B is stray."""
    for seed, folder in enumerate(("trainA", "trainB", "testA", "extra")):
        write_image(tmp_path / folder / "x.png", noise(8, 8, seed))
    report = check_dataset(tmp_path)
    assert report.layout == "unpaired"
    assert kinds(report) == {"unmatched": [str(tmp_path / "testA")], "stray": [str(tmp_path / "extra")]}
    assert report.splits["test"] == {"A": 1, "B": 0}


def test_single_folder_layout_is_not_split_yet(tmp_path: Path) -> None:
    """Images directly in ROOT: layout 'single', one 'unsplit' split, a note pointing to i2i data split."""
    for i in range(3):
        write_image(tmp_path / f"{i}.png", noise(8, 12, i))
    report = check_dataset(tmp_path)
    assert report.layout == "single"
    assert report.splits == {UNSPLIT: {"files": 3}}
    assert report.ok and any("i2i data split" in note for note in report.notes)
    assert "i2i data split" in report.format()


def test_no_images_anywhere_raises(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "readme.txt").write_text("nothing")
    with pytest.raises(DatasetError, match="no images found"):
        check_dataset(tmp_path)


def test_images_only_outside_split_folders_raises_and_says_where(tmp_path: Path) -> None:
    """A/x.png + B/x.png with no split folders: nothing would be trained on; the error names the stray images."""
    for side in "AB":
        write_image(tmp_path / side / "x.png", noise(8, 8, 0))
    with pytest.raises(DatasetError, match="no images in the split folders of the folders layout") as info:
        check_dataset(tmp_path)
    assert f"{tmp_path / 'A'}: 1 image(s) here are never read" in str(info.value)
    assert "(A/<split>/)" in str(info.value)


def test_sizes_and_modes_histograms(tmp_path: Path) -> None:
    """Sizes (most common first), modes and formats are counted over every image."""
    for i in range(3):
        write_image(tmp_path / "train" / f"rgb{i}.png", noise(16, 32, i))
    write_image(tmp_path / "train" / "gray.jpg", noise(16, 32, 7, channels=1))
    write_image(tmp_path / "test" / "big.png", noise(20, 40, 8, channels=4))
    report = check_dataset(tmp_path)
    assert list(report.sizes.items()) == [("32x16", 4), ("40x20", 1)]
    assert report.modes == {"RGB": 3, "L": 1, "RGBA": 1}
    assert report.formats == {"PNG": 4, "JPEG": 1}
    text = report.format()
    assert "32x16 ×4" in text and "RGBA 1" in text


# --- problems --------------------------------------------------------------------------------------------------------


def test_unreadable_files(tmp_path: Path) -> None:
    """A text file named .png, an empty .jpg and random bytes are unreadable, each named by its path."""
    root = write_aligned(tmp_path / "ds", {"train": 2}, size=16)
    text = root / "train" / "text.png"
    text.write_text("hello, I am not an image\n")
    empty = root / "train" / "empty.jpg"
    empty.write_bytes(b"")
    garbage = root / "train" / "garbage.jpg"
    garbage.write_bytes(os.urandom(300))
    report = check_dataset(root)
    assert kinds(report) == {"unreadable": sorted(map(str, (empty, garbage, text)))}
    assert not report.ok
    reasons = {p.path: p.reason for p in report.problems}
    assert "text" in reasons[str(text)] and "empty" in reasons[str(empty)]


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".gif", ".bmp"])
def test_truncated_file_is_found_without_decoding(tmp_path: Path, ext: str) -> None:
    """A file cut in half has a valid header but no end marker: truncated, in header mode already."""
    root = write_aligned(tmp_path / "ds", {"train": 2}, size=16)
    bad = cut(write_image(root / "train" / f"cut{ext}", noise(32, 64, 3)))
    report = check_dataset(root)
    assert kinds(report) == {"truncated": [str(bad)]}
    assert "cut off" in report.problems[0].reason


def test_file_cut_inside_its_header_is_truncated(tmp_path: Path) -> None:
    """A JPEG or PNG cut before its header ends cannot be opened, but its magic bytes say it was cut, not garbage."""
    jpg = cut(write_image(tmp_path / "train" / "a.jpg", noise(64, 64, 1)), keep=0.02)
    png = cut(write_image(tmp_path / "train" / "b.png", noise(64, 64, 2)), keep=0.002)
    report = check_dataset(tmp_path)
    assert kinds(report) == {"truncated": [str(jpg), str(png)]}


def test_header_mode_never_decodes_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --full no pixel data is decoded (PNG, JPEG, WebP, gray, RGBA, a header bomb): load() is never called."""
    for i, (ext, channels) in enumerate([(".png", 3), (".png", 4), (".jpg", 3), (".jpg", 1), (".webp", 3)]):
        write_image(tmp_path / "train" / f"{i}{ext}", noise(16, 32, i, channels))
    header_bomb_png(tmp_path / "train" / "big.png", 12_000, 12_000)

    decoded: list[str] = []
    real_load = ImageFile.ImageFile.load

    def recording_load(self: ImageFile.ImageFile) -> object:
        decoded.append(self.filename)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    report = check_dataset(tmp_path)
    assert kinds(report) == {"too_large": [str(tmp_path / "train" / "big.png")]}
    assert report.images == 6 and decoded == []
    check_dataset(tmp_path, full=True)
    assert len(set(decoded)) == 5  # the recorder works: --full decodes each image (not the bomb)


def test_trailing_bytes_after_the_end_marker_are_fine(tmp_path: Path) -> None:
    """Some cameras and tools append data after a JPEG's FFD9 or a PNG's IEND: not truncated."""
    for ext in (".jpg", ".png"):
        path = write_image(tmp_path / "train" / f"tail{ext}", noise(16, 32, 1))
        path.write_bytes(path.read_bytes() + b"\x00" * 100 + b"trailer")
    report = check_dataset(tmp_path, full=True)
    assert report.problems == []


def test_jpeg_with_exif_thumbnail_is_not_mistaken_for_truncated(tmp_path: Path) -> None:
    """An EXIF thumbnail holds its own FFD9 early in the file; only the main image's end counts."""
    thumb_path = write_image(tmp_path / "thumb.jpg", noise(8, 8, 2))
    data = write_image(tmp_path / "train" / "photo.jpg", noise(32, 64, 3)).read_bytes()
    thumb = thumb_path.read_bytes()
    thumb_path.unlink()
    # An APP1 segment carrying a complete JPEG (with its FFD9) right after SOI, like a camera's thumbnail.
    app = b"\xff\xe1" + struct.pack(">H", len(thumb) + 2) + thumb
    (tmp_path / "train" / "photo.jpg").write_bytes(data[:2] + app + data[2:])
    cut_copy = tmp_path / "train" / "photo_cut.jpg"
    cut_copy.write_bytes((data[:2] + app + data[2:])[: len(data) // 2 + len(app)])
    report = check_dataset(tmp_path)
    assert kinds(report) == {"truncated": [str(cut_copy)]}


@pytest.mark.timeout(30)
def test_header_bomb_is_too_large_without_decoding(tmp_path: Path) -> None:
    """PNG headers claiming 100000×100000 (refused by Pillow) or 10000×10000 (over the limit): too_large, fast."""
    root = write_aligned(tmp_path / "ds", {"train": 1}, size=16)
    refused = header_bomb_png(root / "train" / "bomb.png", 100_000, 100_000)
    over = header_bomb_png(root / "train" / "big.png", 10_000, 10_000)
    for full in (False, True):
        report = check_dataset(root, full=full)
        assert kinds(report) == {"too_large": [str(over), str(refused)]}
    reasons = {p.path: p.reason for p in report.problems}
    limit = "is over the limit of 89478485 pixels (raise it with --max-pixels or I2I_MAX_PIXELS)"
    assert reasons[str(over)] == f"10000x10000 = 100000000 pixels {limit}"
    assert reasons[str(refused)] == f"100000x100000 = 10000000000 pixels {limit}"


def test_duplicates_within_a_split_are_one_group(tmp_path: Path) -> None:
    """Three files with the same bytes in one split: one 'duplicate' problem naming all three."""
    root = write_aligned(tmp_path / "ds", {"train": 2, "test": 1}, size=16)
    for name in ("copy1.png", "copy2.png"):
        shutil.copy(root / "train" / "0.png", root / "train" / name)
    report = check_dataset(root)
    assert kinds(report) == {"duplicate": [str(root / "train" / "0.png")]}
    problem = report.problems[0]
    assert set(problem.related) == {str(root / "train" / "copy1.png"), str(root / "train" / "copy2.png")}
    assert all(path in problem.reason for path in problem.related)


def test_duplicates_across_splits_are_reported_as_leak(tmp_path: Path) -> None:
    """The same bytes in train and test (under another name) is train/test leakage, shown as its own kind."""
    root = write_aligned(tmp_path / "ds", {"train": 2, "val": 1, "test": 1}, size=16)
    leaked = root / "test" / "renamed.png"
    shutil.copy(root / "train" / "1.png", leaked)
    report = check_dataset(root)
    assert kinds(report) == {"leak": [str(root / "train" / "1.png")]}
    problem = report.problems[0]
    assert problem.related == (str(leaked),)
    assert problem.reason == f"same bytes in train and test: {leaked}"
    assert "LEAK: 2 files in 1 group(s)" in report.format()


def test_folders_layout_leak_between_a_and_b_of_different_splits(tmp_path: Path) -> None:
    """A test target that is also a training input is leakage too."""
    root = write_folders(tmp_path / "ds", {"train": 2, "test": 1}, size=16)
    shutil.copy(root / "B" / "test" / "img_0.png", root / "A" / "train" / "img_9.png")
    shutil.copy(root / "B" / "train" / "img_0.png", root / "B" / "train" / "img_9.png")  # keep it paired
    report = check_dataset(root)
    found = kinds(report)
    assert list(found) == ["leak", "shared_target"]  # img_0 and img_9 share a target, with different inputs
    leak = report.problems[0]
    assert leak.path == str(root / "A" / "train" / "img_9.png")
    assert leak.related == (str(root / "B" / "test" / "img_0.png"),)


def test_unmatched_names_in_folders_layout(tmp_path: Path) -> None:
    """A file in A without a B file of the same stem (and vice versa) is unmatched; the pairs stay counted."""
    root = write_folders(tmp_path / "ds", {"train": 2}, size=16)
    only_a = write_image(root / "A" / "train" / "lonely_a.png", noise(8, 8, 1))
    only_b = write_image(root / "B" / "train" / "lonely_b.jpg", noise(8, 8, 2))
    twice = write_image(root / "A" / "train" / "img_0.jpg", noise(16, 16, 3))
    report = check_dataset(root)
    second = root / "A" / "train" / "img_0.png"  # img_0.jpg sorts first and pairs; img_0.png is the clash
    assert kinds(report) == {"unmatched": sorted(map(str, (second, only_a, only_b)))}
    reasons = {p.path: p.reason for p in report.problems}
    assert reasons[str(only_a)] == f"no lonely_a.* in {root / 'B' / 'train'}"
    assert reasons[str(only_b)] == f"no lonely_b.* in {root / 'A' / 'train'}"
    assert reasons[str(second)] == f"same name as {twice.name}; cannot tell which one pairs"
    assert report.splits["train"] == {"A": 4, "B": 3, "pairs": 2}
    assert not report.ok


def test_missing_split_folder_on_one_side(tmp_path: Path) -> None:
    """A/test without B/test: one problem for the folder, not one per file."""
    root = write_folders(tmp_path / "ds", {"train": 1, "test": 3}, size=16)
    shutil.rmtree(root / "B" / "test")
    report = check_dataset(root)
    assert kinds(report) == {"unmatched": [str(root / "A" / "test")]}
    assert report.splits["test"] == {"A": 3, "B": 0, "pairs": 0}


def test_size_mismatch_is_an_error_with_a_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A and B of a pair differing in size is an error (training refuses the pair): exit 1, and the message says how
    to fix it."""
    root = write_folders(tmp_path / "ds", {"train": 2}, size=16)
    write_image(root / "B" / "train" / "img_1.png", noise(10, 12, 5))
    report = check_dataset(root)
    assert kinds(report) == {"size_mismatch": [str(root / "A" / "train" / "img_1.png")]}
    problem = report.problems[0]
    assert problem.severity == "error" and "16x16" in problem.reason and "12x10" in problem.reason
    assert problem.reason.endswith("; fix with `i2i data combine --resize-b` or train with --data.skip_bad")
    assert not report.ok and report.errors == [problem] and report.warnings == []
    assert command([str(root), "-q"]) == 1
    out = capsys.readouterr().out
    assert f"  {'size_mismatch':<24} {problem}" in out.splitlines() and "FAILED: 1 problem(s)" in out


def test_odd_width_aligned_file(tmp_path: Path) -> None:
    """An A|B file with an odd width has no two equal halves."""
    root = write_aligned(tmp_path / "ds", {"train": 2}, size=16)
    odd = write_image(root / "train" / "odd.png", noise(8, 15, 0))
    report = check_dataset(root)
    assert kinds(report) == {"odd_width": [str(odd)]}
    assert "width 15 is odd" in report.problems[0].reason


def test_stray_images_and_empty_split_are_warnings(tmp_path: Path) -> None:
    """Images directly in ROOT next to split folders are never read; an empty split folder is suspicious."""
    root = write_aligned(tmp_path / "ds", {"train": 2}, size=16)
    stray = write_image(root / "loose.png", noise(8, 16, 9))
    (root / "val").mkdir()
    report = check_dataset(root)
    assert kinds(report) == {"empty": [str(root / "val")], "stray": [str(root)]}
    assert report.problems[1].related == (str(stray),)
    assert report.ok and report.images == 2


def test_full_decode_finds_corrupt_pixels_with_a_fine_header(tmp_path: Path) -> None:
    """A PNG whose compressed pixel data is damaged (header and IEND intact) passes header mode, fails --full."""
    root = write_aligned(tmp_path / "ds", {"train": 2}, size=16)
    bad = write_image(root / "train" / "corrupt.png", noise(32, 64, 4))
    data = bytearray(bad.read_bytes())
    start = data.index(b"IDAT") + 4
    data[start + 40 : start + 200] = bytes(160)  # zeros in the middle of the zlib stream
    bad.write_bytes(bytes(data))
    assert check_dataset(root).problems == []
    report = check_dataset(root, full=True)
    assert kinds(report) == {"corrupt": [str(bad)]}
    assert report.full


def test_every_problem_kind_is_known_and_sorted(tmp_path: Path) -> None:
    """Problems come out most serious kind first, then by path; each kind has a --help description."""
    root = write_aligned(tmp_path / "ds", {"train": 2, "test": 1}, size=16)
    write_image(root / "train" / "odd.png", noise(8, 15, 0))
    cut(write_image(root / "train" / "cut.jpg", noise(16, 32, 1)))
    shutil.copy(root / "train" / "0.png", root / "test" / "x.png")
    report = check_dataset(root)
    assert [p.kind for p in report.problems] == ["truncated", "leak", "odd_width"]
    assert all(p.kind in KINDS for p in report.problems)


# --- odd names, progress, workers ------------------------------------------------------------------------------------


def test_non_ascii_and_space_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Names with spaces, accents and CJK are paired, checked and printed like any other."""
    name = "façade 图片 01.png"
    root = tmp_path / "data set é"
    write_image(root / "A" / "train" / name, noise(8, 8, 0))
    write_image(root / "B" / "train" / name, noise(8, 8, 1))
    bad = cut(write_image(root / "A" / "train" / "ünï cödé.jpg", noise(16, 16, 2)))
    write_image(root / "B" / "train" / "ünï cödé.jpg", noise(16, 16, 3))
    report = check_dataset(root)
    assert report.splits == {"train": {"A": 2, "B": 2, "pairs": 2}}
    assert kinds(report) == {"truncated": [str(bad)]}
    assert command([str(root), "-q"]) == 1
    assert str(bad) in capsys.readouterr().out
    assert command([str(root), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["problems"][0]["path"] == str(bad)


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that takes any bytes as a name")
def test_name_that_is_not_utf8_is_printed_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A name with invalid UTF-8 bytes does not crash the report; it is shown with a \\x escape."""
    name = os.fsdecode(b"bad\xff name.png")
    path = tmp_path / "train" / name
    try:
        write_image(path, noise(8, 16, 0))
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    cut(path)
    assert command([str(tmp_path), "-q"]) == 1
    assert "bad\\xff name.png" in capsys.readouterr().out


def test_progress_callback_and_workers_give_the_same_report(tmp_path: Path) -> None:
    """on_progress sees every file with the total; one thread or many give the same problems."""
    root = write_aligned(tmp_path / "ds", {"train": 5, "test": 2}, size=16)
    cut(root / "train" / "2.png")
    seen: list[tuple[int, int]] = []
    report = check_dataset(root, workers=3, on_progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 7) for i in range(1, 8)]
    assert check_dataset(root, workers=1).problems == report.problems


def test_workers_must_be_positive(tmp_path: Path) -> None:
    root = write_aligned(tmp_path / "ds", {"train": 1}, size=16)
    assert cli_main(["data", "check", str(root), "--workers", "0"]) == 2


@pytest.mark.parametrize(("cpus", "threads"), [(1, 2), (3, 6), (20, 16)])
def test_default_workers_are_the_io_bound_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpus: int, threads: int
) -> None:
    """Reading headers and hashes waits on the disk: i2i.parallel.default_workers(io_bound=True), two per usable
    CPU, at most 16; --workers overrides it."""
    from i2i import parallel
    from i2i.datatools import check as check_module

    sizes = []

    class Recording(check_module.ThreadPoolExecutor):
        def __init__(self, max_workers: int, **kwargs: object) -> None:
            sizes.append(max_workers)
            super().__init__(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(parallel, "usable_cpus", lambda: cpus)
    monkeypatch.setattr(check_module, "ThreadPoolExecutor", Recording)
    root = write_aligned(tmp_path / "ds", {"train": 2}, size=16)
    check_dataset(root)
    assert cli_main(["data", "check", str(root), "-q", "--workers", "5"]) == 0
    assert sizes == [threads, 5]


def test_data_check_does_not_import_torch(tmp_path: Path) -> None:
    """The dataset tools are torch-free: ``i2i data check`` starts without paying for torch."""
    root = write_aligned(tmp_path / "ds", {"train": 2}, size=16)
    code = (
        "import sys\n"
        "from i2i.cli import main\n"
        f"rc = main(['data', 'check', {str(root)!r}, '-q'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "sys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "OK: no problems found" in result.stdout


# --- command line ----------------------------------------------------------------------------------------------------


def test_command_exit_codes_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0 on a clean dataset, 1 with problems; every problem is printed on its own line with its path."""
    root = write_aligned(tmp_path / "ds", {"train": 2, "test": 1}, size=16)
    assert cli_main(["data", "check", str(root), "-q"]) == 0
    out = capsys.readouterr().out
    assert "aligned layout" in out and "train 2; test 1" in out and "OK: no problems found" in out
    bad = root / "train" / "bad.png"
    bad.write_text("garbage")
    assert cli_main(["data", "check", str(root), "-q"]) == 1
    lines = capsys.readouterr().out.splitlines()
    (line,) = [line for line in lines if str(bad) in line]
    assert line.split()[0] == "unreadable" and f"{bad}: not a readable image" in line
    assert lines[-1] == "FAILED: 1 problem(s), 0 warning(s)"


def test_command_json_matches_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the report's to_dict as JSON: parseable, with problems, counts and ok."""
    root = write_aligned(tmp_path / "ds", {"train": 3, "test": 1}, size=16)
    shutil.copy(root / "train" / "0.png", root / "test" / "leak.png")
    assert command([str(root), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    report = check_dataset(root)
    expected = report.to_dict()
    del data["seconds"], expected["seconds"]
    assert data == expected
    assert data["ok"] is False and data["counts"] == {"leak": 1} and data["layout"] == "aligned"
    assert data["splits"] == {"train": {"files": 3}, "test": {"files": 2}}
    problem = data["problems"][0]
    assert problem["kind"] == "leak" and problem["severity"] == "error" and len(problem["related"]) == 1


def test_missing_root_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ROOT that does not exist: `i2i: error: ...` on one line, exit 2."""
    missing = tmp_path / "nope"
    assert cli_main(["data", "check", str(missing)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"i2i: error: dataset folder not found: {missing}"]


def test_help_documents_exit_codes_and_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        command(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "exit status: 0" in out and "1 problems found" in out and "2 usage error" in out
    assert all(kind in out for kind in KINDS)


def test_issue_str_is_path_and_reason() -> None:
    assert str(Issue("a/b.png", "truncated", "cut off")) == "a/b.png: cut off"


def test_one_target_shared_by_pairs_with_different_inputs_is_a_warning(tmp_path: Path) -> None:
    """Several sketches of one photo (A/ + B/ folders): the same B bytes with different A images is by design, a
    'shared_target' warning; the same bytes on both sides of the pairs is still a duplicate."""
    from i2i.datatools.check import check_dataset

    root = tmp_path / "pairs"
    for side in ("A", "B"):
        (root / side / "train").mkdir(parents=True)
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(root / "A" / "train" / f"s{i}.png")
        Image.fromarray(photo).save(root / "B" / "train" / f"s{i}.png")
    report = check_dataset(root)
    assert [(p.kind, p.severity) for p in report.problems] == [("shared_target", "warning")]
    assert "the target of 3 pairs with different inputs" in report.problems[0].reason
    Image.open(root / "A" / "train" / "s0.png").save(root / "A" / "train" / "s1.png")  # two pairs now identical
    assert {p.kind for p in check_dataset(root).problems} == {"duplicate"}
