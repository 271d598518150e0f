"""Issue 21, round 2, the file tools: names that are not UTF-8 and link loops in a Sketchy tree (``i2i data sketchy``)
and link loops among ``i2i translate``'s inputs. Each such entry is one bad entry on one line; the rest is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO
from PIL import Image

from i2i.cli import main
from i2i.errors import I2IError
from i2i.inference.files import plan_outputs

SKETCH2PHOTO = REPO / "models" / "sketch2photo"
BAD = os.fsdecode(b"p\xff")  # a name with byte 0xff, as Python decodes it (a surrogate)


def picture(path: Path, seed: int, channels: int = 3) -> Path:
    """A small real image file (JPEG or PNG by its extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = (32, 32, 3) if channels == 3 else (32, 32)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def sketchy_tree(root: Path, categories: tuple[str, ...] = ("cat", "dog"), photos: int = 3) -> Path:
    """The subset layout: ``root/<category>/photo/<category>_<i>.jpg`` and ``.../sketch/<category>_<i>-1.png``."""
    seed = 0
    for category in categories:
        for i in range(photos):
            seed += 1
            picture(root / category / "photo" / f"{category}_{i}.jpg", seed)
            picture(root / category / "sketch" / f"{category}_{i}-1.png", seed + 100, channels=1)
    return root


def loop(folder: Path, first: str, second: str) -> None:
    """``first`` -> ``second`` -> ``first``: two links that lead to each other."""
    (folder / first).symlink_to(second)
    (folder / second).symlink_to(first)


def sketchy(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["data", "sketchy", *argv])
    return rc, capsys.readouterr().err


def utf8_manifest(out: Path) -> dict:
    """The manifest, read as strict UTF-8 JSON (a byte that is not UTF-8 fails here)."""
    return json.loads((out / "manifest.json").read_bytes().decode("utf-8"))


def problem_lines(err: str) -> list[str]:
    return [line.strip() for line in err.splitlines() if line.startswith("  ")]


def test_sketchy_skips_names_that_are_not_utf8_and_writes_a_utf8_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A photo and its sketch named with byte 0xff, and a category folder named so: each is one problem (escaped on
    one line), the rest is written, the manifest is valid UTF-8 and ``--overwrite`` takes it as ours."""
    root = sketchy_tree(tmp_path / "sk")
    picture(root / "cat" / "photo" / f"{BAD}.jpg", 7)
    picture(root / "cat" / "sketch" / f"{BAD}-1.png", 8, channels=1)
    sketchy_tree(root, (os.fsdecode(b"b\xffd"),), photos=2)
    out = tmp_path / "out"
    for extra in ([], ["--overwrite"]):
        rc, err = sketchy(capsys, str(root), "--out", str(out), *extra)
        assert rc == 1, err
        assert "\udcff" not in err and "Traceback" not in err
        assert sorted(problem_lines(err)) == sorted(
            [
                f"{root}/b\\xffd: its name is not valid UTF-8 (rename it); skipped",
                f"{root}/cat/photo/p\\xff.jpg: its name is not valid UTF-8 (rename it); skipped",
                f"{root}/cat/sketch/p\\xff-1.png: its name is not valid UTF-8 (rename it); skipped",
            ]
        )
        data = utf8_manifest(out)
        assert data["status"] == "complete" and data["settings"]["categories"] == ["cat", "dog"]
        assert len(data["pairs"]) == 6 and all("\\x" not in row["sketch"] for row in data["pairs"])
        assert {p["path"] for p in data["problems"]} == {
            f"{root}/b\\xffd",
            f"{root}/cat/photo/p\\xff.jpg",
            f"{root}/cat/sketch/p\\xff-1.png",
        }
        written = [p.name for p in out.rglob("*")]
        assert len(written) > 6 and all(name.encode("utf-8") for name in written)


def test_sketchy_overwrites_a_manifest_an_earlier_version_wrote_with_bytes_that_are_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = sketchy_tree(tmp_path / "sk")
    out = tmp_path / "out"
    assert sketchy(capsys, str(root), "--out", str(out))[0] == 0
    manifest = out / "manifest.json"
    old = manifest.read_bytes()
    manifest.write_bytes(old.replace(b'/cat_0-1.png"', b'/cat_0-1\xff.png"', 1))
    assert manifest.read_bytes() != old
    rc, err = sketchy(capsys, str(root), "--out", str(out), "--overwrite")
    assert rc == 0, err
    assert utf8_manifest(out)["status"] == "complete"


def test_sketchy_lists_link_loops_as_problems_and_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Loops among the sketches and in a photo folder, named like images or not: one problem line each, exit 1,
    every good pair written (it used to stop at the first loop with a bare ``[Errno 40]``, writing nothing)."""
    root = sketchy_tree(tmp_path / "sk")
    loop(root / "cat" / "sketch", "a.png", "b.png")
    loop(root / "cat" / "sketch", "l1", "l2")
    loop(root / "dog" / "photo", "x.jpg", "y.jpg")
    loop(root / "dog" / "photo", "m1", "m2")
    out = tmp_path / "out"
    rc, err = sketchy(capsys, str(root), "--out", str(out))
    assert rc == 1, err
    assert "Errno" not in err and "Traceback" not in err
    reason = "a link loop (its links lead back to themselves); skipped"
    expected = [f"{root}/cat/sketch/{n}: {reason}" for n in ("a.png", "b.png", "l1", "l2")]
    expected += [f"{root}/dog/photo/{n}: {reason}" for n in ("m1", "m2", "x.jpg", "y.jpg")]
    assert sorted(problem_lines(err)) == sorted(expected)
    data = utf8_manifest(out)
    assert len(data["pairs"]) == 6 and len(data["problems"]) == 8
    assert len(list((out / "pairs" / "A").rglob("*.png"))) == 6


def test_translate_reports_a_link_loop_in_an_input_folder_in_one_line(tmp_path: Path) -> None:
    """A loop among the inputs is one unreadable input (one line, no traceback); the good image is translated.
    Run as a real process: the plan used to crash in ``Path.resolve`` (RuntimeError: Symlink loop)."""
    if not (SKETCH2PHOTO / "config.json").is_file():
        pytest.skip(f"no bundled model at {SKETCH2PHOTO}")
    folder = tmp_path / "in"
    picture(folder / "good.png", 1)
    loop(folder, "a.png", "b.png")
    loop(folder, "l1", "l2")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "i2i.cli", "translate", str(SKETCH2PHOTO), str(folder), "--out", str(out)]
    cmd += ["--device", "cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for name in ("a.png", "b.png"):
        lines = [line for line in proc.stderr.splitlines() if f"in/{name}" in line]
        assert len(lines) == 1 and "Too many levels of symbolic links" in lines[0], proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["good.png"]
    assert Image.open(out / "good.png").size == (32, 32)


def test_translate_names_a_link_loop_given_as_input_or_as_out(tmp_path: Path) -> None:
    picture(tmp_path / "good.png", 1)
    loop(tmp_path, "a.png", "b.png")
    with pytest.raises(I2IError, match=r"a\.png: is a link loop \(its links lead back to themselves\)$"):
        plan_outputs([str(tmp_path / "a.png")], tmp_path / "out")
    with pytest.raises(I2IError, match=r"--out .*/b\.png: is a link loop .*, expected a folder$"):
        plan_outputs([str(tmp_path / "good.png")], tmp_path / "b.png")
