"""Which directory entries are images (``layouts.scan_folder``, the one rule), and what each tool says about entries
named like images that are no files, unsupported formats, paths of the wrong kind and risky output folders."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from i2i.cli import main
from i2i.datatools.check import check_dataset
from i2i.datatools.combine import combine_folders
from i2i.datatools.pairs import PairsSettings, make_pairs
from i2i.errors import DatasetError, I2IError
from i2i.inference.files import plan_outputs
from i2i.layouts import detect_layout, require_folder, scan_folder, walk_folders

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")


def photo(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(path, format="PNG")
    return path


@needs_fifo
def test_scan_folder_sorts_every_kind_of_entry(tmp_path: Path) -> None:
    photo(tmp_path / "b.png")
    photo(tmp_path / "a.JPG")
    photo(tmp_path / ".hidden.png")
    photo(tmp_path / "._a.png")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "IMG_1.heic").write_bytes(b"heic")
    (tmp_path / "logo.svg").write_text("<svg/>")
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "album.png").mkdir()
    os.mkfifo(tmp_path / "pipe.png")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (tmp_path / "link.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "loop1.png").symlink_to(tmp_path / "loop2.png")
    (tmp_path / "loop2.png").symlink_to(tmp_path / "loop1.png")
    scan = scan_folder(tmp_path)
    assert [p.name for p in scan.images] == ["a.JPG", "b.png", "link.png"]
    assert [p.name for p in scan.folders] == ["sub"]
    assert [p.name for p in scan.unsupported] == ["IMG_1.heic", "logo.svg"]
    assert scan.other == 6  # 2 hidden images, notes.txt, 2 unsupported, pipe.txt
    assert {Path(p.path).name: p.reason for p in scan.problems} == {
        "album.png": "a directory, not an image",
        "gone.png": "a link to nothing (its target is missing)",
        "loop1.png": "a link loop (its links lead back to themselves)",
        "loop2.png": "a link loop (its links lead back to themselves)",
        "pipe.png": "not a regular file (FIFO)",
    }


def test_scan_folder_names_a_socket(tmp_path: Path) -> None:
    path = tmp_path / "s.png"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
    except OSError as exc:  # a path too long for a socket address
        pytest.skip(f"cannot bind a socket here: {exc}")
    try:
        assert [p.reason for p in scan_folder(tmp_path).problems] == ["not a regular file (socket)"]
    finally:
        server.close()


def test_walk_folders_is_top_down_sorted_and_does_not_follow_links(tmp_path: Path) -> None:
    for name in ("z/1.png", "a/2.png", "a/b/3.png", ".hidden/4.png", "0.png"):
        photo(tmp_path / name)
    (tmp_path / "a" / "b" / "loop").symlink_to(tmp_path, target_is_directory=True)
    walked = [
        (folder.relative_to(tmp_path).as_posix(), [p.name for p in scan.images])
        for folder, scan in walk_folders(tmp_path)
    ]
    assert walked == [(".", ["0.png"]), ("a", ["2.png"]), ("a/b", ["3.png"]), ("z", ["1.png"])]


@needs_fifo
def test_require_folder_says_what_the_path_is(tmp_path: Path) -> None:
    assert require_folder(tmp_path) == tmp_path
    with pytest.raises(DatasetError, match=r"^dataset folder not found: .*missing$"):
        require_folder(tmp_path / "missing")
    file = photo(tmp_path / "x.png")
    with pytest.raises(DatasetError) as info:
        require_folder(file, "photos folder")
    assert str(info.value) == f"{file}: is a file, expected a photos folder"
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(DatasetError) as info:
        require_folder(tmp_path / "fifo")
    assert str(info.value) == f"{tmp_path / 'fifo'}: is a FIFO, expected a dataset folder"


def test_detect_layout_ignores_folders_named_like_images(tmp_path: Path) -> None:
    """A folder x.png/ holding an image is no split folder (it is reported by data check instead)."""
    photo(tmp_path / "x.png" / "inside.png")
    with pytest.raises(DatasetError, match="no dataset layout found"):
        detect_layout(tmp_path)


# --- data check ----------------------------------------------------------------------------------------------------


@needs_fifo
def test_check_reports_entries_that_are_no_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A FIFO and a folder named like images in a split folder are problems; the check exits 1 and does not hang."""
    root = tmp_path / "ds"
    photo(root / "train" / "0.png")
    os.mkfifo(root / "train" / "pipe.png")
    (root / "train" / "dir.jpg").mkdir()
    report = check_dataset(root)
    assert [(p.kind, Path(p.path).name, p.reason) for p in report.problems] == [
        ("not_a_file", "dir.jpg", "a directory, not an image"),
        ("not_a_file", "pipe.png", "not a regular file (FIFO)"),
    ]
    assert report.images == 1 and not report.ok


def test_check_lists_unsupported_formats_as_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ds"
    photo(root / "train" / "0.png")
    (root / "train" / "IMG_0002.HEIC").write_bytes(b"heic data")
    (root / "train" / "scan.avif").write_bytes(b"avif data")
    (root / "train" / "readme.txt").write_text("not an image format")
    assert main(["data", "check", str(root), "-q"]) == 0
    out = capsys.readouterr().out
    for name, ext in (("IMG_0002.HEIC", ".heic"), ("scan.avif", ".avif")):
        reason = f"unsupported format {ext} (convert it to PNG or JPEG)"
        assert f"  {'unsupported (warning)':<24} {root / 'train' / name}: {reason}" in out.splitlines()
    assert "3 other file(s) ignored" in out and "OK: no problems found (2 warning(s))" in out


def test_check_root_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = photo(tmp_path / "x.png")
    assert main(["data", "check", str(file)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"i2i: error: {file}: is a file, expected a dataset folder"]


# --- data pairs, data combine --------------------------------------------------------------------------------------


def test_pairs_and_combine_folders_of_the_wrong_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = photo(tmp_path / "x.png")
    assert main(["data", "pairs", str(file), "--task", "grayscale", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.splitlines() == [f"i2i: error: {file}: is a file, expected a photos folder"]
    (tmp_path / "B").mkdir()
    assert main(["data", "combine", str(file), str(tmp_path / "B"), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.splitlines() == [f"i2i: error: {file}: is a file, expected a folder"]
    assert main(["data", "combine", str(tmp_path / "nope"), str(tmp_path / "B"), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.splitlines() == [f"i2i: error: folder not found: {tmp_path / 'nope'}"]


def test_pairs_names_unsupported_photos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    (photos / "trip").mkdir(parents=True)
    (photos / "trip" / "IMG_1.heic").write_bytes(b"heic")
    with pytest.raises(DatasetError) as info:
        make_pairs(photos, tmp_path / "out", PairsSettings(task="grayscale", size=16))
    assert f"found 1 of formats i2i does not read, e.g. {photos}/trip/IMG_1.heic: unsupported format .heic" in str(
        info.value
    )
    photo(photos / "ok.png")
    argv = ["data", "pairs", str(photos), "--task", "grayscale", "--size", "16", "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    note = f"note: {photos}/trip/IMG_1.heic: unsupported format .heic (convert it to PNG or JPEG); ignored"
    assert note in err.splitlines()


def test_combine_names_unsupported_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo(tmp_path / "A" / "x.png")
    photo(tmp_path / "B" / "x.png", seed=1)
    (tmp_path / "B" / "y.heif").write_bytes(b"heif")
    assert main(["data", "combine", str(tmp_path / "A"), str(tmp_path / "B"), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "warning: 1 file(s) of formats i2i does not read were ignored:" in err
    assert f"  {tmp_path / 'B' / 'y.heif'}: unsupported format .heif (convert it to PNG or JPEG)" in err


@pytest.mark.parametrize("where", ["root", "home"])
def test_out_may_not_be_the_root_or_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """--out / or --out ~ would scatter split folders over the disk: refused before anything is read or written."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    out = Path("/") if where == "root" else home
    photo(tmp_path / "photos" / "x.png")
    photo(tmp_path / "A" / "x.png")
    photo(tmp_path / "B" / "x.png")
    what = "the root of the file system" if where == "root" else "your home folder"
    with pytest.raises(I2IError, match=f"^--out {out} is {what}; name a new folder inside it instead"):
        make_pairs(tmp_path / "photos", out, PairsSettings(task="grayscale", size=16), overwrite=True)
    with pytest.raises(I2IError, match=f"^--out {out} is {what}"):
        combine_folders(tmp_path / "A", tmp_path / "B", out, overwrite=True)
    assert sorted(p.name for p in home.iterdir()) == []
    make_pairs(tmp_path / "photos", home / "pairs", PairsSettings(task="grayscale", size=16))  # a folder inside: fine


# --- translate's inputs --------------------------------------------------------------------------------------------


@needs_fifo
@pytest.mark.timeout(30)
def test_translate_inputs_of_the_wrong_kind(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(I2IError) as info:
        plan_outputs([str(tmp_path / "pipe.png")], tmp_path / "out")
    assert str(info.value) == f"{tmp_path / 'pipe.png'}: is a FIFO, not an image file or folder"
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(I2IError, match=r"gone.png: is a link to nothing \(its target is missing\)$"):
        plan_outputs([str(tmp_path / "gone.png")], tmp_path / "out")
    out_file = photo(tmp_path / "out.png")
    with pytest.raises(I2IError) as info:
        plan_outputs([str(tmp_path)], out_file)
    assert str(info.value) == f"--out {out_file}: is a file, expected a folder"


def test_translate_folder_logs_unsupported_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    photo(tmp_path / "in" / "x.png")
    (tmp_path / "in" / "y.jxl").write_bytes(b"jxl")
    pairs = plan_outputs([str(tmp_path / "in")], tmp_path / "out")
    assert [src.name for src, _ in pairs] == ["x.png"]
    assert f"skipped {tmp_path / 'in' / 'y.jxl'}: unsupported format .jxl (convert it to PNG or JPEG)" in caplog.text
