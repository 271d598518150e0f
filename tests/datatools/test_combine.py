"""Tests for i2i.datatools.combine: pairing by stem, split subfolders, sizes, channels, bad files and safe writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import write_folders
from PIL import Image

from i2i import atomic as atomic_module
from i2i.cli import main
from i2i.data.config import DataConfig
from i2i.data.paired import list_pairs, load_pair
from i2i.datatools import combine as combine_module
from i2i.datatools.combine import combine_folders, plan_combine
from i2i.errors import DatasetError, I2IError
from i2i.imageio import read_image, resize_image
from i2i.layouts import detect_layout


def write_image_file(path: Path, array: np.ndarray) -> Path:
    """Writes a (H, W, 3) or (H, W) uint8 array; the format follows the extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def noise(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def write_pair(root: Path, name: str, seed: int, size: tuple[int, int] = (16, 24), ext_b: str = ".png") -> None:
    """Writes root/A/<name>.png and root/B/<name><ext_b> of noise, (height, width) = ``size``."""
    write_image_file(root / "A" / f"{name}.png", noise(*size, seed))
    write_image_file(root / "B" / f"{name}{ext_b}", noise(*size, seed + 1000))


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_combine_pairs_by_stem_into_a_then_b(tmp_path: Path) -> None:
    """x.png in A and x.png in B become out/x.png holding A on the left and B on the right, pixel for pixel."""
    for i in range(3):
        write_pair(tmp_path, f"img{i}", seed=i)
    progress: list[tuple[int, int]] = []
    report = combine_folders(
        tmp_path / "A", tmp_path / "B", tmp_path / "out", workers=2, on_progress=lambda *a: progress.append(a)
    )
    assert progress == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert report.written == [tmp_path / "out" / f"img{i}.png" for i in range(3)]
    assert report.splits is None and report.problems == [] and report.only_a == report.only_b == []
    for i in range(3):
        both = read_image(tmp_path / "out" / f"img{i}.png")
        expected = np.concatenate(
            [read_image(tmp_path / "A" / f"img{i}.png"), read_image(tmp_path / "B" / f"img{i}.png")], 1
        )
        np.testing.assert_array_equal(both, expected)


def test_combine_matches_stems_across_extensions(tmp_path: Path) -> None:
    """A's x.png pairs with B's x.bmp; the output takes the --format extension."""
    write_pair(tmp_path, "x", seed=0, ext_b=".bmp")
    report = combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out")
    assert report.written == [tmp_path / "out" / "x.png"]


def test_combine_split_subfolders_give_a_trainable_aligned_dataset(tmp_path: Path) -> None:
    """A/train + B/train, A/test + B/test → out/train, out/test, read back by the training code as the same pairs."""
    src = write_folders(tmp_path / "src", {"train": 3, "test": 2}, size=16)
    report = combine_folders(src / "A", src / "B", tmp_path / "out", workers=2)
    assert report.splits == ["test", "train"]
    assert len(report.written) == 5
    assert detect_layout(tmp_path / "out") == "aligned"
    cfg = DataConfig(root=str(tmp_path / "out"))
    for split, count in (("train", 3), ("test", 2)):
        combined, original = list_pairs(tmp_path / "out", split), list_pairs(src, split)
        assert (
            [r.name for r in combined.records]
            == [r.name for r in original.records]
            == [f"img_{i}" for i in range(count)]
        )
        for a, b in zip(combined.records, original.records, strict=True):
            for x, y in zip(load_pair(a, cfg), load_pair(b, cfg), strict=True):
                np.testing.assert_array_equal(x, y)


def test_combine_split_missing_on_one_side_is_reported_as_unmatched(tmp_path: Path) -> None:
    """A/val without B/val: every file of A/val is listed as having no partner; the other splits are combined."""
    src = write_folders(tmp_path / "src", {"train": 2}, size=16)
    write_image_file(src / "A" / "val" / "v.png", noise(16, 16, 0))
    report = combine_folders(src / "A", src / "B", tmp_path / "out")
    assert len(report.written) == 2
    assert report.only_a == [src / "A" / "val" / "v.png"]
    assert not (tmp_path / "out" / "val").exists()


def test_unmatched_names_are_reported_on_both_sides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Files without a partner are listed (A's and B's), not combined, and do not fail the command."""
    write_pair(tmp_path, "both", seed=0)
    write_image_file(tmp_path / "A" / "only a.png", noise(8, 8, 1))
    write_image_file(tmp_path / "B" / "only_b.jpg", noise(8, 8, 2))
    code = main(["data", "combine", str(tmp_path / "A"), str(tmp_path / "B"), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0
    assert "wrote 1 A|B file(s)" in captured.out
    assert "1 file(s) have no partner in B_DIR" in captured.err and str(tmp_path / "A" / "only a.png") in captured.err
    assert "1 file(s) have no partner in A_DIR" in captured.err and str(tmp_path / "B" / "only_b.jpg") in captured.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["both.png"]


def test_size_mismatch_refuses_everything_and_lists_each_pair(tmp_path: Path) -> None:
    """Without --resize-b, differing sizes stop the job before any file is written; each pair is one line."""
    write_pair(tmp_path, "good", seed=0)
    write_image_file(tmp_path / "A" / "wide.png", noise(16, 24, 1))
    write_image_file(tmp_path / "B" / "wide.png", noise(16, 32, 2))
    write_image_file(tmp_path / "A" / "tall.png", noise(16, 24, 3))
    write_image_file(tmp_path / "B" / "tall.png", noise(20, 24, 4))
    with pytest.raises(DatasetError, match=r"2 pair\(s\) have different A and B sizes; nothing was written") as info:
        combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out")
    lines = str(info.value).splitlines()
    assert "  tall: A is 24×16, B is 24×20" in lines and "  wide: A is 24×16, B is 32×16" in lines
    assert "--resize-b" in lines[-1]
    assert not (tmp_path / "out").exists()


def test_resize_b_resizes_b_to_a_with_bicubic(tmp_path: Path) -> None:
    """--resize-b: B is resized to A's size with resize_image (Pillow bicubic); matching pairs are untouched."""
    write_pair(tmp_path, "same", seed=0)
    write_image_file(tmp_path / "A" / "big_b.png", noise(16, 24, 1))
    big_b = noise(32, 48, 2)
    write_image_file(tmp_path / "B" / "big_b.png", big_b)
    report = combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out", resize_b=True)
    assert report.resized == ["big_b"] and len(report.written) == 2
    out = read_image(tmp_path / "out" / "big_b.png")
    assert out.shape == (16, 48, 3)
    np.testing.assert_array_equal(out[:, 24:], resize_image(big_b, (16, 24)))


def test_grayscale_and_rgb_mix_gives_rgb(tmp_path: Path) -> None:
    """A grayscale A with an RGB B gives an RGB A|B file, the gray half replicated over the three channels."""
    gray = np.random.default_rng(0).integers(0, 256, (16, 16), dtype=np.uint8)
    write_image_file(tmp_path / "A" / "x.png", gray)
    write_image_file(tmp_path / "B" / "x.png", noise(16, 16, 1))
    combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out")
    with Image.open(tmp_path / "out" / "x.png") as im:
        assert im.mode == "RGB" and im.size == (32, 16)
    out = read_image(tmp_path / "out" / "x.png")
    np.testing.assert_array_equal(out[:, :16], np.repeat(gray[:, :, None], 3, axis=2))


def test_jpg_format(tmp_path: Path) -> None:
    """--format jpg writes JPEG files named <stem>.jpg."""
    write_pair(tmp_path, "x", seed=0)
    report = combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out", fmt="jpg")
    assert report.written == [tmp_path / "out" / "x.jpg"]
    with Image.open(report.written[0]) as im:
        assert im.format == "JPEG" and im.size == (48, 16)


def test_unreadable_files_are_listed_and_the_good_pairs_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A text file posing as an image and a truncated PNG are each listed; the others are written; exit status 1."""
    for i in range(3):
        write_pair(tmp_path, f"ok{i}", seed=i)
    write_image_file(tmp_path / "A" / "text.png", noise(16, 24, 7))
    (tmp_path / "B" / "text.png").write_text("not an image")
    write_image_file(tmp_path / "A" / "cut.png", noise(16, 24, 8))
    cut = write_image_file(tmp_path / "B" / "cut.png", noise(16, 24, 9))
    cut.write_bytes(cut.read_bytes()[:200])
    code = main(["data", "combine", str(tmp_path / "A"), str(tmp_path / "B"), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 1
    assert "wrote 3 A|B file(s)" in captured.out
    assert "2 file(s) could not be combined:" in captured.err
    assert f"  {tmp_path / 'B' / 'text.png'}: not a readable image" in captured.err
    assert f"  {tmp_path / 'B' / 'cut.png'}: " in captured.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ok0.png", "ok1.png", "ok2.png"]


def test_two_files_with_one_stem_are_a_problem(tmp_path: Path) -> None:
    """x.png and x.jpg in A cannot both pair with B's x: the second is reported, the first combined."""
    write_pair(tmp_path, "x", seed=0)
    write_image_file(tmp_path / "A" / "x.jpg", noise(16, 24, 5))
    report = combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out")
    assert report.written == [tmp_path / "out" / "x.png"]
    assert report.problems == [f"{tmp_path / 'A' / 'x.png'}: same name as x.jpg; cannot tell which one pairs"]


@pytest.mark.parametrize("out", ["A/combined", "B", "A"])
def test_output_inside_an_input_folder_is_refused(tmp_path: Path, out: str) -> None:
    """--out inside (or equal to) A_DIR or B_DIR is refused before anything is written."""
    write_pair(tmp_path, "x", seed=0)
    with pytest.raises(I2IError, match="is inside the input folder"):
        combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / out)
    assert sorted(p.name for p in (tmp_path / "A").iterdir()) == ["x.png"]


def test_output_beside_the_inputs_in_their_parent_is_allowed(tmp_path: Path) -> None:
    """The pix2pix habit: combine ROOT/A/<split> + ROOT/B/<split> into ROOT/<split>."""
    src = write_folders(tmp_path, {"train": 2}, size=16)
    report = combine_folders(src / "A", src / "B", src)
    assert report.written == [src / "train" / "img_0.png", src / "train" / "img_1.png"]


def test_bad_folders_are_refused(tmp_path: Path) -> None:
    """A missing folder, the same folder twice, or no matching names: one-line errors."""
    write_pair(tmp_path, "x", seed=0)
    with pytest.raises(DatasetError, match="folder not found"):
        combine_folders(tmp_path / "A", tmp_path / "nope", tmp_path / "out")
    with pytest.raises(I2IError, match="A and B are the same folder"):
        combine_folders(tmp_path / "A", tmp_path / "A", tmp_path / "out")
    write_image_file(tmp_path / "C" / "y.png", noise(8, 8, 0))
    with pytest.raises(DatasetError, match="no file names match"):
        combine_folders(tmp_path / "A", tmp_path / "C", tmp_path / "out")


def test_existing_outputs_refused_before_anything_is_written(tmp_path: Path) -> None:
    """One existing output refuses the whole job (with the count) and no other file is written."""
    for i in range(4):
        write_pair(tmp_path, f"img{i}", seed=i)
    write_image_file(tmp_path / "out" / "img2.png", noise(4, 4, 0))
    with pytest.raises(I2IError, match=r"1 of 4 output file\(s\) already exist .*--skip-existing.*--overwrite"):
        combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["img2.png"]


def test_overwrite_replaces_and_skip_existing_keeps(tmp_path: Path) -> None:
    """--skip-existing keeps the existing file and writes the rest; --overwrite replaces it."""
    for i in range(3):
        write_pair(tmp_path, f"img{i}", seed=i)
    marker = write_image_file(tmp_path / "out" / "img1.png", noise(4, 4, 0))
    report = combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out", skip_existing=True)
    assert report.skipped == [marker] and len(report.written) == 2
    assert read_image(marker).shape == (4, 4, 3)
    report = combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out", overwrite=True)
    assert len(report.written) == 3 and read_image(marker).shape == (16, 48, 3)
    with pytest.raises(I2IError, match="contradict"):
        plan_combine(tmp_path / "A", tmp_path / "B", tmp_path / "out", overwrite=True, skip_existing=True)


def test_non_ascii_and_space_names(tmp_path: Path) -> None:
    """Names with accents, CJK characters and spaces pair and are written under the same stems."""
    names = ["façade 1", "建物", "a b  c"]
    for i, name in enumerate(names):
        write_pair(tmp_path / "in put", name, seed=i)
    report = combine_folders(tmp_path / "in put" / "A", tmp_path / "in put" / "B", tmp_path / "ö ut")
    assert sorted(p.stem for p in report.written) == sorted(names)
    assert all(read_image(p).shape == (16, 48, 3) for p in report.written)


def test_interrupt_leaves_complete_files_and_skip_existing_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after two files: what is on disk are whole images (no temp files); a rerun with skip_existing ends it."""
    for i in range(6):
        write_pair(tmp_path, f"img{i}", seed=i)
    real_write, calls = combine_module.write_image, []

    def interrupting_write(path: Path, array: np.ndarray) -> None:
        calls.append(path)
        if len(calls) >= 3:  # the worker thread runs on until the main thread cancels: keep failing
            raise KeyboardInterrupt
        real_write(path, array)

    monkeypatch.setattr(combine_module, "write_image", interrupting_write)
    with pytest.raises(KeyboardInterrupt):
        combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out", workers=1)
    monkeypatch.undo()
    done = sorted((tmp_path / "out").iterdir())
    assert len(done) == 2 and temp_files(tmp_path) == []
    assert all(read_image(p).shape == (16, 48, 3) for p in done)
    with pytest.raises(I2IError, match=r"2 of 6 output file\(s\) already exist"):
        combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out")
    report = combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out", skip_existing=True)
    assert len(report.written) == 4 and report.skipped == done
    assert len(list((tmp_path / "out").iterdir())) == 6


def test_interrupt_during_a_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupt between writing the temp file and renaming it leaves neither the temp nor a partial output."""
    for i in range(3):
        write_pair(tmp_path, f"img{i}", seed=i)
    real_replace, calls = atomic_module.os.replace, []

    def interrupting_replace(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) >= 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(atomic_module.os, "replace", interrupting_replace)
    with pytest.raises(KeyboardInterrupt):
        combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out", workers=1)
    monkeypatch.undo()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["img0.png"]  # no temp file left either
    assert read_image(tmp_path / "out" / "img0.png").shape == (16, 48, 3)


def test_default_workers_follow_the_package_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoding and encoding images: one thread per usable CPU (i2i.parallel.default_workers); --workers overrides."""
    from i2i import parallel

    sizes = []

    class Recording(combine_module.ThreadPoolExecutor):
        def __init__(self, max_workers: int, **kwargs: object) -> None:
            sizes.append(max_workers)
            super().__init__(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(parallel, "usable_cpus", lambda: 3)
    monkeypatch.setattr(combine_module, "ThreadPoolExecutor", Recording)
    write_pair(tmp_path, "x", seed=0)
    combine_folders(tmp_path / "A", tmp_path / "B", tmp_path / "out")
    assert (
        main(
            [
                "data",
                "combine",
                str(tmp_path / "A"),
                str(tmp_path / "B"),
                "--out",
                str(tmp_path / "o2"),
                "--workers",
                "2",
            ]
        )
        == 0
    )
    assert set(sizes[:2]) == {3} and set(sizes[2:]) == {2} and len(sizes) == 4  # size check, then the writes


def test_command_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--overwrite and --skip-existing exclude each other; refusals are one 'i2i: error:' line with exit 2."""
    write_pair(tmp_path, "x", seed=0)
    args = ["data", "combine", str(tmp_path / "A"), str(tmp_path / "B"), "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as info:
        main([*args, "--overwrite", "--skip-existing"])
    assert info.value.code == 2
    assert main([*args, "--format", "jpg"]) == 0
    assert main([*args, "--format", "jpg"]) == 2
    err = capsys.readouterr().err
    assert err.count("i2i: error:") == 1 and "already exist" in err
    assert main([*args, "--format", "jpg", "--skip-existing"]) == 0
    assert "kept 1 existing" in capsys.readouterr().out
