"""File names with line breaks and other control characters never print raw: ``errors.show_path`` escapes them, and
every message of the dataset tools and of translate's file handling names files through it (one problem, one line).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from i2i.cli import main
from i2i.datatools.combine import combine_folders
from i2i.datatools.split import split_dataset
from i2i.errors import DatasetError, I2IError, show_path
from i2i.inference.files import plan_outputs
from i2i.layouts import Problem

NASTY = "a\nb\r\x1b[31mred\t.png"  # a line break, a carriage return, a terminal colour code and a tab
NASTY_SHOWN = "a\\nb\\r\\x1b[31mred\\t.png"


def photo(path: Path, size: tuple[int, int] = (16, 16), seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, format="PNG")
    return path


def no_raw_controls(text: str) -> None:
    """Only line breaks between lines: no carriage return, escape or tab anywhere."""
    assert not any(c in text for c in "\r\x1b\t"), repr(text)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("plain name.png", "plain name.png"),
        ("façade 图片 ü.png", "façade 图片 ü.png"),
        ("dir/with space/x.png", "dir/with space/x.png"),
        (NASTY, NASTY_SHOWN),
        ("del\x7f.png", "del\\x7f.png"),
        ("line\u2028sep.png", "line\\u2028sep.png"),
        ("back\\slash.png", "back\\slash.png"),
        (os.fsdecode(b"bad\xff\xfe.png"), "bad\\xff\\xfe.png"),
    ],
)
def test_show_path(name: str, shown: str) -> None:
    """Printable names come back unchanged; control characters and undecodable bytes as escapes, without quotes."""
    assert show_path(name) == shown
    assert show_path(Path(name)) == shown
    assert show_path(os.fsencode(name)) == shown
    assert show_path(shown) == shown  # escaping twice changes nothing
    assert shown.isprintable()


def test_problem_is_one_line() -> None:
    assert str(Problem(f"photos/{NASTY}", "cannot read")) == f"photos/{NASTY_SHOWN}: cannot read"


def test_data_check_prints_each_problem_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A cut-off file and a duplicate with odd names: each problem is one escaped line; JSON keeps the real name."""
    root = tmp_path / "ds"
    good = photo(root / "train" / "good.png")
    bad = root / "train" / NASTY
    bad.write_bytes(good.read_bytes()[:60])
    (root / "train" / "copy\nof good.png").write_bytes(good.read_bytes())
    assert main(["data", "check", str(root), "-q"]) == 1
    out = capsys.readouterr().out
    no_raw_controls(out)
    lines = out.splitlines()
    assert sum(f"{root}/train/{NASTY_SHOWN}: " in line for line in lines) == 1
    (duplicate,) = [line for line in lines if line.lstrip().startswith("duplicate")]
    assert "copy\\nof good.png" in duplicate and "good.png" in duplicate
    assert lines[-1] == "FAILED: 2 problem(s), 0 warning(s)"
    assert main(["data", "check", str(root), "--json"]) == 1
    paths = {p["path"] for p in json.loads(capsys.readouterr().out)["problems"]}
    assert str(bad) in paths


def test_data_pairs_and_combine_print_escaped_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    photo(photos / "fine.png")
    (photos / NASTY).write_text("not a photo")
    assert (
        main(["data", "pairs", str(photos), "--task", "grayscale", "--size", "16", "--out", str(tmp_path / "p")]) == 1
    )
    err = capsys.readouterr().err
    no_raw_controls(err)
    assert f"  {photos}/{NASTY_SHOWN}: not a readable image (the file holds text, not image data)" in err.splitlines()

    a_dir, b_dir = tmp_path / "A", tmp_path / "B"
    photo(a_dir / "x.png")
    photo(b_dir / "x.png", seed=1)
    photo(a_dir / "only\nin A.png")
    (a_dir / "bad\rone.png").write_text("text")
    photo(b_dir / "bad\rone.png")
    assert main(["data", "combine", str(a_dir), str(b_dir), "--out", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    no_raw_controls(err)
    lines = err.splitlines()
    assert f"  {a_dir}/only\\nin A.png" in lines
    assert f"  {a_dir}/bad\\rone.png: not a readable image (the file holds text, not image data)" in lines


def test_data_combine_size_mismatch_lines_are_escaped(tmp_path: Path) -> None:
    photo(tmp_path / "A" / "two\nlines.png", (16, 16))
    photo(tmp_path / "B" / "two\nlines.png", (8, 8))
    with pytest.raises(DatasetError) as info:
        combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out")
    assert "  two\\nlines: A is 16×16, B is 8×8" in str(info.value).splitlines()


def test_data_split_messages_are_escaped(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    photo(root / "A" / "x.png")
    photo(root / "B" / "x.png")
    photo(root / "A" / "lonely\n.png")
    with pytest.raises(DatasetError) as info:
        split_dataset(root, (0.5, 0.5))
    assert "  A/lonely\\n.png: no matching file in B/" in str(info.value).splitlines()
    photo(root / "B" / "lonely\n.png")
    with pytest.raises(DatasetError) as info:
        split_dataset(root, (0.5, 0.5), mode="lists")
    assert str(info.value) == f"{root}/A/lonely\\n.png: a name with a tab or line break cannot be listed; rename it"


def test_translate_file_messages_are_escaped(tmp_path: Path) -> None:
    for folder in ("x", "y"):
        photo(tmp_path / folder / "same\tname.png")
    with pytest.raises(I2IError) as info:
        plan_outputs([str(tmp_path / "x" / "same\tname.png"), str(tmp_path / "y" / "same\tname.png")], tmp_path / "o")
    assert "\t" not in str(info.value) and "same\\tname.png" in str(info.value)


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that takes any bytes as a name")
def test_names_that_are_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    photo(photos / "fine.png")
    name = os.fsdecode(b"caf\xe9.png")
    try:
        (photos / name).write_text("latin-1 name, text inside")
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    assert (
        main(["data", "pairs", str(photos), "--task", "grayscale", "--size", "16", "--out", str(tmp_path / "p")]) == 1
    )
    assert f"  {photos}/caf\\xe9.png: not a readable image" in capsys.readouterr().err
