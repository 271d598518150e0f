"""`i2i translate` file handling: files, folders, globs, no cap, names kept, inputs never overwritten."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from i2i.cli import main
from i2i.errors import I2IError
from i2i.inference.files import plan_outputs


def _images(folder: Path, names: list[str], size: tuple[int, int] = (40, 30)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(names))
    paths = []
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_translates_every_image_of_a_folder_with_no_cap(tiny_run: Path, tmp_path: Path) -> None:
    """60 images (more than the reference's 50-image limit), nested folders and odd names all come out."""
    names = [f"img_{i:03d}.png" for i in range(57)] + ["sub dir/é file.jpg", "sub dir/deeper/x.png", "y.bmp"]
    _images(tmp_path / "in", names)
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    assert main(["translate", str(tiny_run), str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 0
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == sorted(names)
    for name in names:
        assert Image.open(tmp_path / "out" / name).size == (30, 40)


def test_files_and_globs(tiny_run: Path, tmp_path: Path) -> None:
    """Single files and quoted glob patterns work; outputs keep each input's size."""
    a = _images(tmp_path / "a", ["one.png"], size=(50, 70))[0]
    _images(tmp_path / "b", ["two.png", "three.png", "skip.jpg"])
    pattern = str(tmp_path / "b" / "*.png")
    assert main(["translate", str(tiny_run), str(a), pattern, "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["one.png", "three.png", "two.png"]
    assert Image.open(tmp_path / "out" / "one.png").size == (70, 50)


def test_refuses_to_write_into_the_input_folder(tiny_run: Path, tmp_path: Path, capsys) -> None:
    """--out equal to (or inside) an input folder is refused before anything is written."""
    _images(tmp_path / "in", ["a.png"])
    before = (tmp_path / "in" / "a.png").read_bytes()
    assert main(["translate", str(tiny_run), str(tmp_path / "in"), "--out", str(tmp_path / "in")]) == 2
    assert "inside the input folder" in capsys.readouterr().err
    assert main(["translate", str(tiny_run), str(tmp_path / "in"), "--out", str(tmp_path / "in" / "sub")]) == 2
    assert (tmp_path / "in" / "a.png").read_bytes() == before and not (tmp_path / "in" / "sub").exists()


def test_refuses_to_overwrite_an_input_file_given_by_name(tmp_path: Path) -> None:
    """A file input whose output path is the file itself is refused."""
    (src,) = _images(tmp_path, ["a.png"])
    with pytest.raises(I2IError, match="refusing to overwrite the input"):
        plan_outputs([str(src)], tmp_path)


def test_existing_outputs_need_overwrite(tiny_run: Path, tmp_path: Path, capsys) -> None:
    _images(tmp_path / "in", ["a.png"])
    args = ["translate", str(tiny_run), str(tmp_path / "in"), "--out", str(tmp_path / "out")]
    assert main(args) == 0
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_colliding_names_are_refused(tmp_path: Path) -> None:
    """Two inputs that would land on the same output name are refused instead of one silently winning."""
    _images(tmp_path / "x", ["same.png"])
    _images(tmp_path / "y", ["same.png"])
    with pytest.raises(I2IError, match="would both be written"):
        plan_outputs([str(tmp_path / "x" / "same.png"), str(tmp_path / "y" / "same.png")], tmp_path / "out")


def test_unreadable_inputs_are_reported_and_the_rest_translated(tiny_run: Path, tmp_path: Path, capsys) -> None:
    """A broken file gets a one-line message with its path; the other images are still written; exit code 1."""
    _images(tmp_path / "in", ["good.png", "good2.png"])
    (tmp_path / "in" / "broken.jpg").write_text("definitely not a jpeg")
    code = main(["translate", str(tiny_run), str(tmp_path / "in"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{tmp_path / 'in' / 'broken.jpg'}: not a readable image" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png", "good2.png"]


def test_missing_inputs_are_errors(tmp_path: Path) -> None:
    with pytest.raises(I2IError, match="no such file or folder"):
        plan_outputs([str(tmp_path / "nope")], tmp_path / "out")
    with pytest.raises(I2IError, match="matches no image files"):
        plan_outputs([str(tmp_path / "*.png")], tmp_path / "out")


@pytest.mark.timeout(120)
def test_translate_refuses_a_huge_image_quickly_and_translates_the_rest(
    tiny_run: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 10000×10000 PNG of a few KB is refused from its header (it took 56 s and 13.9 GB before), in one line and
    without Pillow's DecompressionBombWarning; a lowered `i2i --max-pixels` refuses a 30×40 image the same way."""
    import warnings

    from hostile.corpus import HUGE_ERROR, write_huge_png
    from PIL import Image as PILImage

    from i2i.imageio import MAX_PIXELS_ENV

    monkeypatch.setenv(MAX_PIXELS_ENV, "")
    _images(tmp_path / "in", ["good.png"])
    huge = write_huge_png(tmp_path / "in" / "huge.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["translate", str(tiny_run), str(tmp_path / "in"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and not [w for w in caught if issubclass(w.category, PILImage.DecompressionBombWarning)]
    assert f"  {huge}: {HUGE_ERROR} 89478485 pixels (raise it with --max-pixels or I2I_MAX_PIXELS)" in err.splitlines()
    assert "Traceback" not in err and "DecompressionBomb" not in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png"]

    huge.unlink()
    args = ["--max-pixels", "1199", "translate", str(tiny_run), str(tmp_path / "in"), "--out", str(tmp_path / "o2")]
    assert main(args) == 1
    assert "good.png: 30x40 = 1200 pixels is over the limit of 1199 pixels" in capsys.readouterr().err
