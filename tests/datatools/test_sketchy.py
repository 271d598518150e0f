"""Tests for i2i.datatools.sketchy (``i2i data sketchy``): both layouts, the split by photo, bad input, the recipe."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, SHARED_DATASETS
from PIL import Image

from i2i.cli import main
from i2i.datatools.sketchy import find_source, make_sketchy, white_background
from i2i.imageio import read_image

SIZE = 32
SKETCHY = SHARED_DATASETS / "sketchy"
FOUR = ["teddy_bear", "strawberry", "teapot", "car_(sedan)"]


def photo(seed: int, size: int = SIZE) -> np.ndarray:
    """A coloured disc on a textured grey background (GrabCut has something to separate)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(90, 130, (size, size, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:size, :size]
    disc = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 4) ** 2
    image[disc] = rng.integers(0, 256, 3)
    return image


def sketch(seed: int, size: int = SIZE) -> np.ndarray:
    image = np.full((size, size), 255, np.uint8)
    image[seed % size, :] = 0
    return image


def write_subset(root: Path, photos: dict[str, int], sketches_per_photo: int = 3) -> Path:
    """``root/<category>/photo/<cat>_<i>.jpg`` and ``root/<category>/sketch/<cat>_<i>-<n>.png``."""
    seed = 0
    for category, count in photos.items():
        (root / category / "photo").mkdir(parents=True, exist_ok=True)
        (root / category / "sketch").mkdir(parents=True, exist_ok=True)
        for i in range(count):
            seed += 1
            Image.fromarray(photo(seed)).save(root / category / "photo" / f"{category}_{i}.jpg")
            for n in range(1, sketches_per_photo + 1):
                Image.fromarray(sketch(seed + n)).save(root / category / "sketch" / f"{category}_{i}-{n}.png")
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["data", "sketchy", *argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_subset_layout_gives_pairs_classes_and_a_manifest(tmp_path: Path) -> None:
    root = write_subset(tmp_path / "sk", {"cat": 10, "dog": 10})
    out = tmp_path / "out"
    report = make_sketchy(root, out, workers=2)
    assert sum(report.counts.values()) == 60 and report.warnings == [] and report.problems == []
    data = manifest(out)
    assert data["settings"]["layout"] == "subset" and data["status"] == "complete"
    assert len(data["pairs"]) == 60
    for row in data["pairs"]:
        a, b, klass = out / row["a"], out / row["b"], out / row["class"]
        assert a.name == b.name == f"{row['category']}__{Path(row['sketch']).stem}.png"
        assert a.parent.name == b.parent.name == klass.parent.parent.name == row["split"]
        assert klass.parent.name == row["category"]
        assert read_image(a, 1).shape == read_image(b, 1).shape
        np.testing.assert_array_equal(read_image(a, 1), read_image(root / row["sketch"], 1))
        np.testing.assert_array_equal(read_image(klass, 1), read_image(a, 1))
    # 10 photos per category at 0.8,0.1,0.1: 8/1/1 photos each, 3 sketches per photo
    assert data["photos"] == {"train": 16, "val": 2, "test": 2}
    assert data["per_category"]["cat"] == {"train": 24, "val": 3, "test": 3}


def test_split_is_by_photo_seeded_and_the_same_on_every_run(tmp_path: Path) -> None:
    root = write_subset(tmp_path / "sk", {"cat": 12, "dog": 12})
    splits = []
    for seed in (0, 0, 1):
        out = tmp_path / f"out{len(splits)}"
        make_sketchy(root, out, seed=seed, workers=1 + len(splits))
        rows = manifest(out)["pairs"]
        by_photo: dict[str, set[str]] = {}
        for row in rows:
            by_photo.setdefault(f"{row['category']}/{row['photo_id']}", set()).add(row["split"])
        assert all(len(s) == 1 for s in by_photo.values())  # no photo (and none of its sketches) on two sides
        splits.append({k: s.pop() for k, s in by_photo.items()})
    assert splits[0] == splits[1] != splits[2]


def test_official_layout_is_detected(tmp_path: Path) -> None:
    subset = write_subset(tmp_path / "sub", {"cat": 5})
    base = tmp_path / "official" / "256x256"
    for kind in ("photo", "sketch"):
        (base / kind / "tx_000000000000").mkdir(parents=True)
        (subset / "cat" / kind).rename(base / kind / "tx_000000000000" / "cat")
    assert find_source(tmp_path / "official").layout == "official"
    assert find_source(base).layout == "official"
    report = make_sketchy(tmp_path / "official", tmp_path / "out")
    assert sum(report.counts.values()) == 15
    assert manifest(tmp_path / "out")["pairs"][0]["photo"].startswith("256x256/photo/tx_000000000000/cat/")


def test_no_sketchy_layout_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    rc, _, err = run(capsys, str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert rc == 2 and "no Sketchy layout found" in err and err.count("\n") == 1


def test_unknown_categories_suggest_the_closest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_subset(tmp_path / "sk", {"car_(sedan)": 3, "teapot": 3})
    rc, _, err = run(capsys, str(root), "--out", str(tmp_path / "out"), "--categories", "car_sedan,teapot")
    assert rc == 2 and err.count("\n") == 1
    assert "unknown category 'car_sedan'" in err and "did you mean 'car_(sedan)'?" in err
    assert not (tmp_path / "out").exists()


def test_chosen_categories_only(tmp_path: Path) -> None:
    root = write_subset(tmp_path / "sk", {"a": 5, "b": 5, "c": 5})
    report = make_sketchy(root, tmp_path / "out", categories=["c", "a"])
    assert report.categories == ["a", "c"] and sum(report.counts.values()) == 30


def test_empty_category_is_a_warning_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_subset(tmp_path / "sk", {"full": 5})
    (root / "hollow" / "photo").mkdir(parents=True)
    (root / "hollow" / "sketch").mkdir()
    rc, out, err = run(capsys, str(root), "--out", str(tmp_path / "out"))
    assert rc == 0 and "15 sketch → photo pairs" in out
    assert "warning: category 'hollow' is empty: no sketch with its photo (0 photo(s), 0 sketch(es)" in err


def test_category_with_one_photo_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_subset(tmp_path / "sk", {"many": 10, "single": 1})
    rc, _, err = run(capsys, str(root), "--out", str(tmp_path / "out"))
    assert rc == 0
    lines = [line for line in err.splitlines() if "'single'" in line]
    assert lines == [
        "warning: category 'single' has only 1 photo (single_0): it cannot be split by photo; "
        "all its 3 sketch(es) go to train"
    ]
    assert manifest(tmp_path / "out")["per_category"]["single"] == {"train": 3, "val": 0, "test": 0}


def test_too_few_photos_for_every_split_is_one_warning(tmp_path: Path) -> None:
    root = write_subset(tmp_path / "sk", {"four": 4, "ten": 10})
    report = make_sketchy(root, tmp_path / "out")
    assert report.warnings == [
        "1 category has too few photos for a photo in every split at ratios 0.8,0.1,0.1 (split by photo, "
        "per category): four (4)"
    ]
    assert make_sketchy(root, tmp_path / "out2", ratios=(0.6, 0.2, 0.2)).warnings == []


def test_sketches_without_their_photo_are_listed_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_subset(tmp_path / "sk", {"cat": 5})
    (root / "cat" / "photo" / "cat_4.jpg").unlink()
    rc, out, err = run(capsys, str(root), "--out", str(tmp_path / "out"))
    assert rc == 0 and "12 sketch → photo pairs" in out
    assert (
        "warning: category 'cat': 3 sketch(es) without their photo skipped: cat_4-1.png, cat_4-2.png, cat_4-3.png"
        in err
    )


def test_non_images_are_named_and_a_fifo_is_a_problem_not_a_hang(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_subset(tmp_path / "sk", {"cat": 5})
    (root / "cat" / "sketch" / "notes.txt").write_text("hello")
    (root / "cat" / "sketch" / "cat_0-9.heic").write_bytes(b"\0" * 10)
    (root / "cat" / "sketch" / ".DS_Store").write_bytes(b"\0")
    (root / "cat" / "sketch" / "cat_1-7.png").write_text("not a png")
    os.mkfifo(root / "cat" / "sketch" / "cat_2-8.png")
    rc, out, err = run(capsys, str(root), "--out", str(tmp_path / "out"))
    assert rc == 1 and "15 sketch → photo pairs" in out
    assert f"warning: {root}/cat/sketch/notes.txt: not an image; ignored" in err
    assert f"warning: {root}/cat/sketch/cat_0-9.heic: unsupported format .heic" in err
    assert "DS_Store" not in err
    assert f"  {root}/cat/sketch/cat_2-8.png: not a regular file (FIFO)" in err
    assert f"  {root}/cat/sketch/cat_1-7.png: not a readable image (the file holds text, not image data)" in err
    problems = manifest(tmp_path / "out")["problems"]
    assert len(problems) == 2


def test_out_inside_root_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_subset(tmp_path / "sk", {"cat": 5})
    rc, _, err = run(capsys, str(root), "--out", str(root / "prepared"))
    assert (
        rc == 2
        and err == f"i2i: error: --out {root}/prepared is inside the Sketchy folder {root}; choose a folder outside\n"
    )
    assert not (root / "prepared").exists()


def test_rerun_needs_overwrite_and_then_replaces_the_old_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_subset(tmp_path / "sk", {"cat": 10})
    out = tmp_path / "out"
    assert run(capsys, str(root), "--out", str(out))[0] == 0
    rc, _, err = run(capsys, str(root), "--out", str(out), "--seed", "3")
    assert rc == 2
    assert err == (
        f"i2i: error: --out {out} already exists and is not empty; pass --overwrite to replace its earlier output "
        "or choose another --out\n"
    )
    stale = out / "pairs" / "A" / "train" / "stale.png"
    stale.write_bytes(b"x")
    assert run(capsys, str(root), "--out", str(out), "--seed", "3", "--overwrite")[0] == 0
    assert not stale.exists() and manifest(out)["settings"]["seed"] == 3
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    rc, _, err = run(capsys, str(root), "--out", str(foreign), "--overwrite")
    assert rc == 2 and "not made by 'i2i data sketchy'" in err and (foreign / "keep.txt").exists()


def test_white_background_whitens_the_border_and_keeps_the_object(tmp_path: Path) -> None:
    image = photo(3, 64)
    white, found = white_background(image)
    assert found
    assert (white[:4, :4] == 255).all() and (white[-4:, -4:] == 255).all()
    np.testing.assert_array_equal(white[32, 32], image[32, 32])
    again, _ = white_background(image)
    np.testing.assert_array_equal(white, again)  # reseeded: reproducible


def test_background_white_through_the_command(tmp_path: Path) -> None:
    root = write_subset(tmp_path / "sk", {"cat": 5}, sketches_per_photo=1)
    make_sketchy(root, tmp_path / "out", background="white")
    data = manifest(tmp_path / "out")
    assert data["settings"]["background"] == "white"
    b = read_image(tmp_path / "out" / data["pairs"][0]["b"], 3)
    assert (b[0, 0] == 255).all()


def test_sketch2photo_recipe() -> None:
    from i2i.run_config import load_config

    config = load_config(REPO / "configs" / "pix2pix" / "sketch2photo.yaml")
    gen, disc, method = config.method.generator, config.method.discriminator, config.method
    assert (gen.name, gen.norm, disc.name, disc.n_layers, disc.norm) == ("unet_256", "batch", "patchgan", 3, "batch")
    assert (method.gan_mode, method.lambda_l1, method.lr, method.beta1) == ("vanilla", 100.0, 0.0002, 0.5)
    assert config.train.batch_size == 16 and config.train.n_epochs + config.train.n_epochs_decay == 150
    assert config.data.root.endswith("pairs") and config.data.direction == "AtoB"
    assert config.data.input_channels == 3 and config.data.output_channels == 3


@pytest.mark.skipif(not SKETCHY.is_dir(), reason=f"the shared Sketchy subset is not at {SKETCHY}")
def test_real_subset_four_categories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sketchy4"
    rc, text, _ = run(capsys, str(SKETCHY), "--out", str(out), "--categories", ",".join(FOUR))
    assert rc == 0 and "100 sketch → photo pairs" in text
    data = manifest(out)
    assert sum(data["counts"].values()) == 100
    assert {c: sum(n.values()) for c, n in data["per_category"].items()} == dict.fromkeys(FOUR, 25)
    seen: dict[str, str] = {}
    for row in data["pairs"]:
        assert seen.setdefault(row["photo_id"], row["split"]) == row["split"]
    for split, count in data["counts"].items():
        assert len(list((out / "pairs" / "A" / split).glob("*.png"))) == count
        assert len(list((out / "pairs" / "B" / split).glob("*.png"))) == count
        assert sum(1 for _ in (out / "classes").glob(f"{split}/*/*.png")) == count
    # `i2i data check` accepts the result: a photo shared by the pairs of its several sketches is a 'shared_target'
    # warning (the same B bytes by design, with different A images), never a duplicate or a leak.
    capsys.readouterr()
    assert main(["data", "check", str(out / "pairs"), "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["layout"] == "folders" and report["images"] == 200
    assert report["problems"]
    for problem in report["problems"]:
        assert problem["kind"] == "shared_target", problem
        names = [Path(problem["path"]), *(Path(p) for p in problem["related"])]
        assert {p.parent.parent.name for p in names} == {"B"}
        assert len({p.stem.rsplit("-", 1)[0] for p in names}) == 1
