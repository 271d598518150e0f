"""Tests for i2i.datatools.pairs and .synth: every task on real files, framing, splits, manifest, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from i2i.cli import main
from i2i.data.paired import list_pairs
from i2i.datatools.pairs import PairsSettings, make_pairs
from i2i.datatools.synth import TASKS, create_task, fit_square
from i2i.errors import ConfigError, I2IError
from i2i.imageio import read_image
from i2i.splits import split_counts, split_of

SIZE = 64


def save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def scene(seed: int, height: int = 80, width: int = 96) -> np.ndarray:
    """A photo-like image: a shaded background, a few coloured shapes and mild sensor noise."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), dtype=np.float64)
    image[:] = np.linspace(90, 200, width)[None, :, None] * np.array([1.0, 0.9, 0.8])
    for _ in range(4):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        center = tuple(int(c) for c in rng.integers(10, min(height, width) - 10, 2))
        cv2.circle(image, center, int(rng.integers(6, 20)), colour, -1)
    image += rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def product(height: int, width: int, box: tuple[int, int, int, int], background: int = 255) -> np.ndarray:
    """A dark-red object (top, bottom, left, right) with a stripe of detail, on a plain background."""
    image = np.full((height, width, 3), background, dtype=np.uint8)
    top, bottom, left, right = box
    image[top:bottom, left:right] = (150, 20, 30)
    image[top + 2 : top + 4, left:right] = (240, 200, 40)
    return image


def write_photos(folder: Path, count: int = 4, **kwargs: int) -> Path:
    for i in range(count):
        save(folder / f"photo{i}.png", scene(i, **kwargs))
    return folder


def settings(task: str, **fields: object) -> PairsSettings:
    """PairsSettings for ``task`` with 64-pixel pairs by default."""
    fields.setdefault("size", SIZE)
    return PairsSettings(task=task, **fields)


def halves(path: Path) -> tuple[np.ndarray, np.ndarray]:
    both = read_image(path)
    width = both.shape[1] // 2
    return both[:, :width], both[:, width:]


def outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.png"))}


def highpass_energy(image: np.ndarray) -> float:
    return float(cv2.Laplacian(image.astype(np.float32), cv2.CV_32F).var())


def one_pair(tmp_path: Path, task: str, photo: np.ndarray, **params: object) -> tuple[np.ndarray, np.ndarray]:
    """Runs ``task`` on a single photo file (native size) and returns the (A, B) halves of its output."""
    photos = tmp_path / "photos"
    save(photos / "x.png", photo)
    out = tmp_path / f"out_{task}"
    make_pairs(photos, out, settings(task, params=params, size=0, ratios=(1.0, 0.0, 0.0)), workers=1)
    return halves(out / "train" / "x.png")


# --- every task -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS.names())
def test_every_task_writes_square_ab_pairs_with_the_photo_as_b(tmp_path: Path, task: str) -> None:
    """Each photo (96×80) becomes a 128×64 A|B file: B is the photo scaled and centre-cropped, A is derived from it."""
    photos = write_photos(tmp_path / "photos")
    report = make_pairs(photos, tmp_path / "out", settings(task), workers=2)
    assert report.written == 4 and not report.problems
    assert any("centre-cropped" in note for note in report.notes)
    files = sorted((tmp_path / "out").glob("*/*.png"))
    assert len(files) == 4
    for path in files:
        a, b = halves(path)
        assert a.shape == b.shape == (SIZE, SIZE, 3)
        np.testing.assert_array_equal(b, fit_square(read_image(photos / path.name), SIZE))
        assert not np.array_equal(a, b)


def test_grayscale_a_is_the_luma_of_b(tmp_path: Path) -> None:
    a, b = one_pair(tmp_path, "grayscale", scene(1))
    assert (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all()
    luma = b.astype(np.float64) @ [0.299, 0.587, 0.114]
    assert np.abs(a[..., 0] - luma).max() <= 1


@pytest.mark.parametrize("scale", [2, 4])
def test_lowres_a_is_the_same_size_with_less_fine_detail(tmp_path: Path, scale: int) -> None:
    a, b = one_pair(tmp_path, "lowres", scene(2), scale=scale)
    assert a.shape == b.shape
    assert highpass_energy(a) < 0.5 * highpass_energy(b)
    # The low frequencies survive: block averages agree.
    small = (b.shape[1] // 8, b.shape[0] // 8)
    diff = cv2.resize(a, small, interpolation=cv2.INTER_AREA).astype(int) - cv2.resize(
        b, small, interpolation=cv2.INTER_AREA
    )
    assert np.abs(diff).mean() < 4


def test_stronger_lowres_and_blur_remove_more_detail(tmp_path: Path) -> None:
    photo = scene(3)
    energy = {s: highpass_energy(one_pair(tmp_path / f"s{s}", "lowres", photo, scale=s)[0]) for s in (2, 4)}
    assert energy[4] < energy[2]
    a, b = one_pair(tmp_path / "blur", "blur", photo, sigma=1.5)
    np.testing.assert_allclose(a, cv2.GaussianBlur(b, (0, 0), 1.5), atol=1)
    assert highpass_energy(a) < 0.3 * highpass_energy(b)


def test_mask_a_has_holes_of_the_fill_value_and_is_b_elsewhere(tmp_path: Path) -> None:
    a, b = one_pair(tmp_path / "three", "mask", scene(4), holes=3, max_size=0.3, fill=7)
    changed = (a != b).any(axis=2)
    assert changed.any() and (a[changed] == 7).all()
    count = cv2.connectedComponents((a == 7).all(axis=2).astype(np.uint8))[0] - 1
    assert 1 <= count <= 3  # holes may overlap
    # One hole: a filled rectangle whose sides are at most 30% of the image's.
    a, b = one_pair(tmp_path / "one", "mask", scene(4), holes=1, max_size=0.3, fill=7)
    ys, xs = np.nonzero((a != b).any(axis=2))
    height, width = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    assert (a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] == 7).all()
    assert 0.3 * b.shape[0] / 4 - 1 <= height <= 0.3 * b.shape[0] + 1
    assert 0.3 * b.shape[1] / 4 - 1 <= width <= 0.3 * b.shape[1] + 1


@pytest.mark.parametrize(
    ("kind", "level"), [("gaussian", 20.0), ("gaussian", 5.0), ("poisson", 4.0), ("saltpepper", 0.1)]
)
def test_noise_statistics_match_the_level(tmp_path: Path, kind: str, level: float) -> None:
    """On a mid-grey photo (no clipping) A − B has mean 0 and the spread the level promises."""
    grey = np.full((128, 128, 3), 128, dtype=np.uint8)
    a, b = one_pair(tmp_path, "noise", grey, kind=kind, level=level)
    diff = a.astype(np.float64) - b
    if kind == "saltpepper":
        changed = (a != b).any(axis=2)
        assert abs(changed.mean() - level) < 0.02
        assert set(np.unique(a[changed])) <= {0, 255}
        assert abs((a[changed] == 0).mean() - 0.5) < 0.1
        return
    expected_std = level if kind == "gaussian" else np.sqrt(level * 128)
    assert abs(diff.mean()) < 0.1 * expected_std
    assert diff.std() == pytest.approx(expected_std, rel=0.08)
    assert not np.array_equal(a[..., 0], a[..., 1])  # independent per channel


@pytest.mark.parametrize("method", ["hed", "canny"])
def test_edges_are_thin_black_lines_on_white_along_the_object_outline(tmp_path: Path, method: str) -> None:
    photo = np.full((96, 96, 3), 255, dtype=np.uint8)
    cv2.circle(photo, (48, 48), 30, (120, 60, 20), -1)
    a, _ = one_pair(tmp_path, "edges", photo, method=method)
    assert set(np.unique(a)) == {0, 255} and (a[..., 0] == a[..., 2]).all()
    lines = a[..., 0] == 0
    assert 0.02 < lines.mean() < 0.15  # mostly background
    ys, xs = np.nonzero(lines)
    radius = np.hypot(ys - 48, xs - 48)
    assert (np.abs(radius - 30) <= 2.5).mean() > 0.95  # on the outline
    angles = np.degrees(np.arctan2(ys - 48, xs - 48))
    assert len(np.unique(np.floor(angles % 360 / 10))) == 36  # all the way round
    # One pixel wide: eroding with a 3×3 cross leaves (almost) nothing.
    eroded = cv2.erode(lines.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)))
    assert eroded.sum() <= 0.02 * lines.sum()


def test_hed_like_edges_ignore_texture_that_canny_draws(tmp_path: Path) -> None:
    """A printed checker pattern on a plain object: HED-like keeps the outline and draws far fewer texture lines."""
    photo = np.full((128, 128, 3), 255, dtype=np.uint8)
    photo[16:112, 16:112] = (40, 60, 160)
    yy, xx = np.mgrid[0:48, 0:48]
    photo[40:88, 40:88][(yy // 4 + xx // 4) % 2 == 1] = 180
    counts = {}
    for method in ("hed", "canny"):
        a, _ = one_pair(tmp_path / method, "edges", photo, method=method, sigma=1.0)
        lines = a[..., 0] == 0
        counts[method] = lines[44:84, 44:84].sum()
        assert lines[14:18, 30:100].any() and lines[110:114, 30:100].any()  # the outline stays
    assert counts["hed"] < 0.5 * counts["canny"]


def test_sketch_is_dark_strokes_at_edges_and_white_on_flat_areas(tmp_path: Path) -> None:
    photo = np.full((96, 96, 3), 230, dtype=np.uint8)
    photo[20:76, 20:76] = 30  # a dark square: flat inside, edges at its border
    a, _ = one_pair(tmp_path, "sketch", photo)
    tone = a[..., 0].astype(int)
    assert (a[..., 0] == a[..., 1]).all()
    assert tone[40:56, 40:56].min() >= 250 and tone[:10, :10].min() >= 250  # flat areas are white at any brightness
    assert tone[18:23, 30:66].min() < 80  # a dark stroke along the border


def test_task_parameters_are_validated_with_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="noise: kind must be one of"):
        create_task("noise", kind="speckle")
    with pytest.raises(ConfigError, match="saltpepper level"):
        create_task("noise", kind="saltpepper", level=2)
    with pytest.raises(ConfigError, match="lowres: scale"):
        create_task("lowres", scale=3)
    with pytest.raises(ConfigError, match="unknown pairs task 'edge'.*did you mean 'edges'"):
        create_task("edge")
    assert create_task("edges", method="canny").params() == {"method": "canny", "sigma": 2.0, "min_length": 10}
    for bad in ((0.0, 0.5, 0.5), (0.8, -0.1, 0.3), (1.0,), (0.5, 0.2, 0.2, 0.1), (float("nan"), 0.1)):
        with pytest.raises(ConfigError, match="^ratios: "):
            PairsSettings(task="blur", ratios=bad)
    assert PairsSettings(task="noise", params={"kind": "poisson"}).params == {"kind": "poisson", "level": 4.0}


# --- determinism --------------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_whatever_the_thread_count(tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "photos", count=6)
    for out, workers in (("one", 1), ("two", 2)):
        make_pairs(photos, tmp_path / out, settings("noise"), workers=workers)
    make_pairs(photos, tmp_path / "other_seed", settings("noise", seed=1), workers=2)
    assert outputs(tmp_path / "one") == outputs(tmp_path / "two")
    assert (tmp_path / "one" / "manifest.json").read_bytes() == (tmp_path / "two" / "manifest.json").read_bytes()
    other = {Path(k).name: v for k, v in outputs(tmp_path / "other_seed").items()}
    one = {Path(k).name: v for k, v in outputs(tmp_path / "one").items()}
    assert other.keys() == one.keys()  # the same pairs (the seed may put them in other splits)
    assert all(other[k] != v for k, v in one.items())


def test_each_photo_draws_its_own_noise(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    grey = np.full((32, 32, 3), 128, dtype=np.uint8)
    for name in ("a", "b"):
        save(photos / f"{name}.png", grey)
    make_pairs(photos, tmp_path / "out", settings("noise", size=0, ratios=(1.0, 0.0)), workers=1)
    a1, _ = halves(tmp_path / "out" / "train" / "a.png")
    a2, _ = halves(tmp_path / "out" / "train" / "b.png")
    assert not np.array_equal(a1, a2)


# --- framing ------------------------------------------------------------------------------------------------------


def test_object_crop_finds_the_object_on_white_and_squares_it(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    save(photos / "shoe.png", product(120, 200, (30, 70, 50, 150)))  # object 100 wide, 40 tall
    s = settings("grayscale", size=0, object_crop=True, crop_margin=0.1, ratios=(1.0, 0.0))
    report = make_pairs(photos, tmp_path / "out", s, workers=1)
    assert not report.notes
    _, b = halves(tmp_path / "out" / "train" / "shoe.png")
    assert b.shape == (120, 120, 3)  # 100 × (1 + 2·0.1), square
    object_pixels = (b != 255).any(axis=2)
    rows, cols = np.flatnonzero(object_pixels.any(axis=1)), np.flatnonzero(object_pixels.any(axis=0))
    assert (cols[0], cols[-1]) == (10, 109)  # 10% margin left and right
    assert abs((rows[0] + rows[-1]) / 2 - 59.5) <= 1  # centred vertically, padded with the background
    assert (b[:30] == 255).all()
    # With --size the square is then scaled.
    s64 = settings("grayscale", object_crop=True, ratios=(1.0, 0.0))
    make_pairs(photos, tmp_path / "out64", s64, workers=1)
    assert halves(tmp_path / "out64" / "train" / "shoe.png")[1].shape == (SIZE, SIZE, 3)


def test_object_crop_on_a_grey_background_and_near_the_border(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    save(photos / "edge.png", product(100, 100, (0, 60, 70, 100), background=200))
    make_pairs(photos, tmp_path / "out", settings("blur", size=0, object_crop=True, ratios=(1.0, 0.0)))
    _, b = halves(tmp_path / "out" / "train" / "edge.png")
    assert b.shape == (66, 66, 3)  # 60 × 1.1, padded beyond the image with the grey background
    assert (b[:, :5] == 200).all() and (b[:, -5:] == 200).all()


def test_object_crop_reports_photos_without_a_plain_background(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    save(photos / "busy.png", np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8))
    save(photos / "blank.png", np.full((64, 64, 3), 255, dtype=np.uint8))
    report = make_pairs(photos, tmp_path / "out", settings("blur", object_crop=True), workers=1)
    assert report.written == 2
    assert any("2 photo(s) show no object" in note for note in report.notes)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["notes"] == report.notes


def test_mixed_sizes_are_squared_or_reported(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for i, (h, w) in enumerate([(40, 40), (50, 70), (90, 30)]):
        save(photos / f"p{i}.png", scene(i, h, w))
    report = make_pairs(photos, tmp_path / "native", settings("blur", size=0), workers=1)
    assert any("3 different sizes" in note for note in report.notes)
    shapes = {halves(p)[1].shape for p in (tmp_path / "native").glob("*/*.png")}
    assert shapes == {(40, 40, 3), (50, 70, 3), (90, 30, 3)}
    report = make_pairs(photos, tmp_path / "square", settings("blur", size=32), workers=1)
    assert {halves(p)[1].shape for p in (tmp_path / "square").glob("*/*.png")} == {(32, 32, 3)}
    assert any("2 non-square photo(s) were centre-cropped" in note for note in report.notes)


def test_half_takes_the_photo_side_of_an_ab_file(tmp_path: Path) -> None:
    photos = tmp_path / "ab"
    left, right = scene(0, 48, 48), scene(1, 48, 48)
    save(photos / "1_AB.png", np.concatenate([left, right], axis=1))
    save(photos / "odd.png", scene(2, 48, 49))
    report = make_pairs(photos, tmp_path / "out", settings("grayscale", size=0, half="right", ratios=(1.0, 0)))
    np.testing.assert_array_equal(halves(tmp_path / "out" / "train" / "1_AB.png")[1], right)
    assert [p.reason for p in report.problems] == ["odd width 49: cannot take the right half of an A|B file"]


# --- layout, splits and manifest ----------------------------------------------------------------------------------


def test_splits_add_up_and_the_output_is_a_trainable_aligned_dataset(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for i in range(40):
        save(photos / ("sub" if i % 2 else "") / f"p{i}.png", np.full((8, 8, 3), i, dtype=np.uint8))
    report = make_pairs(photos, tmp_path / "out", settings("grayscale", size=8, ratios=(0.5, 0.3, 0.2)))
    assert list(report.counts.values()) == split_counts(40, (0.5, 0.3, 0.2)) == [20, 12, 8]  # exact counts
    names: dict[str, str] = {}
    for split, count in report.counts.items():
        files = sorted((tmp_path / "out" / split).glob("*.png"))
        assert len(files) == count and len(list_pairs(tmp_path / "out", split).records) == count
        names |= {p.stem: split for p in files}
    assert len(names) == 40 and "sub__p1" in names and "p0" in names
    # The split is i2i.splits' over all the output stems at once, seeded by --seed (0 here).
    assert list(names.values()) == split_of(list(names), (0.5, 0.3, 0.2), seed=0)
    # Two ratios: no test split.
    report = make_pairs(photos, tmp_path / "two", settings("grayscale", size=8, ratios=(0.75, 0.25)))
    assert report.counts == {"train": 30, "val": 10, "test": 0} and not (tmp_path / "two" / "test").exists()


def test_the_seed_picks_the_split(tmp_path: Path) -> None:
    """--seed seeds the split (as in i2i data split) as well as the random draws: another seed, another split,
    each with the exact counts and the split i2i.splits gives the output stems under that seed."""
    photos = tmp_path / "photos"
    for i in range(30):
        save(photos / f"p{i:02d}.png", np.full((8, 8, 3), 8 * i, dtype=np.uint8))
    stems = [f"p{i:02d}" for i in range(30)]
    found = []
    for seed in (0, 1):
        out = tmp_path / f"seed{seed}"
        report = make_pairs(photos, out, settings("grayscale", size=8, seed=seed), workers=1)
        assert report.counts == {"train": 24, "val": 3, "test": 3}
        where = {p.stem: p.parent.name for p in out.glob("*/*.png")}
        assert [where[s] for s in stems] == split_of(stems, (0.8, 0.1, 0.1), seed=seed)
        found.append(where)
    assert found[0] != found[1]
    # The same through the command line: --seed 1 gives seed 1's split.
    out = tmp_path / "cli"
    argv = ["data", "pairs", str(photos), "--task", "grayscale", "--size", "8", "--out", str(out), "--seed", "1"]
    assert main(argv) == 0
    assert {p.stem: p.parent.name for p in out.glob("*/*.png")} == found[1]


def test_ratios_are_normalized_like_data_split_reads_them() -> None:
    """PairsSettings normalizes 2 or 3 shares (a zero part allowed, train above 0) and records 3 fractions."""
    assert PairsSettings(task="blur", ratios=(8, 1, 1)).ratios == (0.8, 0.1, 0.1)
    assert PairsSettings(task="blur", ratios=(0.7, 0.3)).ratios == (0.7, 0.3, 0.0)
    assert PairsSettings(task="blur", ratios=(0.5, 0.2, 0.2)).ratios == pytest.approx((5 / 9, 2 / 9, 2 / 9))
    assert PairsSettings(task="blur", ratios=(1.0, 0.0)).ratios == (1.0, 0.0, 0.0)


def test_cli_ratios_are_parsed_like_data_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--ratios 8,1,1 and 0.8,0.2 (no test split) work; few photos may leave a split empty (a note says so);
    a bad --ratios is one 'i2i: error: ratios: ...' line, exit 2, before anything is written."""
    photos = write_photos(tmp_path / "photos", count=10, height=32, width=32)
    argv = ["data", "pairs", str(photos), "--task", "grayscale", "--size", "8"]
    assert main([*argv, "--out", str(tmp_path / "three"), "--ratios", "8,1,1"]) == 0
    manifest = json.loads((tmp_path / "three" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["ratios"] == [0.8, 0.1, 0.1] and manifest["counts"] == {"train": 8, "val": 1, "test": 1}
    assert main([*argv, "--out", str(tmp_path / "two"), "--ratios", "0.8,0.2"]) == 0
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["ratios"] == [0.8, 0.2, 0.0] and manifest["counts"] == {"train": 8, "val": 2, "test": 0}
    capsys.readouterr()
    few = write_photos(tmp_path / "few", count=2, height=32, width=32)
    assert main(["data", "pairs", str(few), "--task", "grayscale", "--size", "8", "--out", str(tmp_path / "f")]) == 0
    err = capsys.readouterr().err
    assert "val is empty: too few photos" in err and "test is empty: too few photos" in err
    for bad in ("0,1", "0.8", "a,b", "1,-1"):
        assert main([*argv, "--out", str(tmp_path / "bad"), "--ratios", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("i2i: error: ratios: ") and err.count("\n") == 1
        assert not (tmp_path / "bad").exists()


def test_default_workers_follow_the_package_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --workers, one thread per usable CPU (i2i.parallel.default_workers); --workers overrides it."""
    from i2i import parallel
    from i2i.datatools import pairs as pairs_module

    sizes = []

    class Recording(pairs_module.ThreadPoolExecutor):
        def __init__(self, max_workers: int, **kwargs: object) -> None:
            sizes.append(max_workers)
            super().__init__(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(parallel, "usable_cpus", lambda: 3)
    monkeypatch.setattr(pairs_module, "ThreadPoolExecutor", Recording)
    photos = write_photos(tmp_path / "photos", count=2, height=32, width=32)
    make_pairs(photos, tmp_path / "default", settings("grayscale", size=8))
    make_pairs(photos, tmp_path / "two", settings("grayscale", size=8), workers=2)
    assert sizes == [3, 2]


def test_manifest_records_how_the_data_was_made(tmp_path: Path) -> None:
    from i2i import __version__

    photos = write_photos(tmp_path / "photos", count=5)
    s = settings("noise", params={"kind": "poisson", "level": 8.0}, seed=3)
    report = make_pairs(photos, tmp_path / "out", s)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete" and manifest["i2i_version"] == __version__
    assert manifest["layout"] == "aligned" and manifest["direction"] == "AtoB"
    assert manifest["settings"]["task"] == "noise"
    assert manifest["settings"]["params"] == {"kind": "poisson", "level": 8.0}
    assert manifest["settings"]["seed"] == 3 and manifest["settings"]["source"] == str(photos)
    assert manifest["settings"]["size"] == SIZE and manifest["settings"]["ratios"] == [0.8, 0.1, 0.1]
    assert manifest["counts"] == report.counts and sum(manifest["counts"].values()) == 5
    on_disk = {str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").glob("*/*.png")}
    assert {f["file"] for f in manifest["files"]} == on_disk
    assert {f["source"] for f in manifest["files"]} == {f"photo{i}.png" for i in range(5)}


# --- bad input ----------------------------------------------------------------------------------------------------


def test_unreadable_files_are_listed_not_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = write_photos(tmp_path / "photos", count=3)
    (photos / "notes.jpg").write_text("not an image")
    (photos / "empty.png").write_bytes(b"")
    good = (photos / "photo0.png").read_bytes()
    (photos / "truncated.png").write_bytes(good[: len(good) // 2])
    (photos / "readme.txt").write_text("ignored: not an image file name")
    rc = main(["data", "pairs", str(photos), "--task", "blur", "--out", str(tmp_path / "out"), "--size", "32"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "3 photo(s) could not be used" in err
    for name in ("notes.jpg", "empty.png", "truncated.png"):
        assert f"{photos / name}: " in err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(Path(p["path"]).name for p in manifest["problems"]) == ["empty.png", "notes.jpg", "truncated.png"]
    assert sum(manifest["counts"].values()) == 3 and manifest["ignored_files"] == 1


def test_output_inside_the_photos_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = write_photos(tmp_path / "photos", count=1)
    rc = main(["data", "pairs", str(photos), "--task", "blur", "--out", str(photos / "pairs")])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("i2i: error: ") and "inside the photos folder" in err and "\n" not in err
    assert not (photos / "pairs").exists()
    with pytest.raises(I2IError, match="inside the photos folder"):
        make_pairs(photos, photos, settings("blur"))
    with pytest.raises(I2IError, match="is inside --out"):
        make_pairs(photos, tmp_path, settings("blur"))


def test_existing_outputs_are_kept_without_overwrite(tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "photos", count=3)
    out = tmp_path / "out"
    make_pairs(photos, out, settings("noise"))
    victim = next(out.glob("*/*.png"))
    save(victim, np.zeros((SIZE, 2 * SIZE, 3), dtype=np.uint8))  # stands for an older, complete pair
    marker = victim.read_bytes()
    report = make_pairs(photos, out, settings("noise"))
    assert report.skipped == 3 and report.written == 0 and victim.read_bytes() == marker
    report = make_pairs(photos, out, settings("noise"), overwrite=True)
    assert report.written == 3 and victim.read_bytes() != marker


def test_other_settings_in_an_existing_folder_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = write_photos(tmp_path / "photos", count=6)
    out = tmp_path / "out"
    make_pairs(photos, out, settings("noise"))
    with pytest.raises(I2IError, match=r"other settings \(params .*'level': 25.0.* → .*'level': 5.0"):
        make_pairs(photos, out, settings("noise", params={"level": 5.0}))
    # --overwrite replaces them, and pairs that now belong to another split don't stay behind in the old one.
    report = make_pairs(photos, out, settings("noise", ratios=(0.5, 0.5, 0.0)), overwrite=True)
    assert report.written == 6 and len(list(out.glob("*/*.png"))) == 6
    # A non-empty folder that this command did not make is refused too.
    foreign = tmp_path / "foreign"
    save(foreign / "train" / "mine.png", scene(0))
    rc = main(["data", "pairs", str(photos), "--task", "blur", "--out", str(foreign)])
    assert rc == 2 and "has no manifest.json from 'i2i data pairs'" in capsys.readouterr().err
    report = make_pairs(photos, foreign, settings("blur"), overwrite=True)
    assert (foreign / "train" / "mine.png").exists()
    assert any("1 image file(s) in the split folders were not made by this run" in n for n in report.notes)


def test_non_ascii_and_space_names_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "fotos con espacios"
    names = ["café au lait.png", "日本 写真.jpg", "Ünïcødé shoe (1).png"]
    for i, name in enumerate(names):
        save(photos / name, scene(i))
    out = tmp_path / "sortie é"
    assert main(["data", "pairs", str(photos), "--task", "sketch", "--out", str(out), "--ratios", "1,0"]) == 0
    assert sorted(p.name for p in (out / "train").iterdir()) == sorted(n.rsplit(".", 1)[0] + ".png" for n in names)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(f["source"] for f in manifest["files"]) == sorted(names)
    assert "3 pairs (train 3)" in capsys.readouterr().out


@pytest.mark.skipif(os.name != "posix", reason="undecodable file names are a POSIX thing")
def test_file_names_that_are_not_utf8_still_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    name = os.fsdecode(b"latin1 caf\xe9.png")
    save(photos / name, scene(0))
    out = tmp_path / "out"
    assert main(["data", "pairs", str(photos), "--task", "blur", "--out", str(out), "--ratios", "1,0"]) == 0
    assert (out / "train" / name).is_file()
    assert main(["data", "pairs", str(photos), "--task", "blur", "--out", str(out), "--ratios", "1,0"]) == 0
    assert "1 already there" in capsys.readouterr().out


def test_name_collisions_are_reported(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    save(photos / "x.png", scene(0))
    save(photos / "x.jpg", scene(1))
    save(photos / "a" / "b.png", scene(2))
    save(photos / "a__b.png", scene(3))
    report = make_pairs(photos, tmp_path / "out", settings("blur"))
    assert report.written == 2
    assert sorted(Path(p.path).name for p in report.problems) == ["b.png", "x.png"]
    assert all("same output name" in p.reason for p in report.problems)


def test_cli_flags_of_another_task_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = write_photos(tmp_path / "photos", count=1)
    with pytest.raises(SystemExit) as exc:
        main(["data", "pairs", str(photos), "--task", "blur", "--noise-level", "3", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "--noise-level applies to --task noise, not blur" in capsys.readouterr().err


def test_cli_passes_task_flags_through(tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "photos", count=2)
    out = tmp_path / "out"
    argv = ["data", "pairs", str(photos), "--task", "mask", "--mask-holes", "2", "--mask-fill", "0", "--out", str(out)]
    assert main([*argv, "--size", "48", "--seed", "5", "--format", "jpg"]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["params"] == {"holes": 2, "max_size": 0.25, "fill": 0}
    assert manifest["settings"]["seed"] == 5 and manifest["settings"]["format"] == "jpg"
    assert {read_image(p).shape for p in out.glob("*/*.jpg")} == {(48, 96, 3)}


# --- interrupted runs ---------------------------------------------------------------------------------------------


def test_rerun_after_an_interrupt_skips_complete_pairs_and_cleans_temp_files(tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "photos", count=8)
    clean = tmp_path / "clean"
    make_pairs(photos, clean, settings("noise"))
    out = tmp_path / "out"

    def stop_after_three(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make_pairs(photos, out, settings("noise"), workers=2, on_progress=stop_after_three)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "incomplete" and manifest["settings"]["task"] == "noise"
    done = list(out.glob("*/*.png"))
    assert 3 <= len(done) < 8
    assert not list(out.rglob("*.tmp"))
    for path in done:  # whatever was written is complete
        assert path.read_bytes() == (clean / path.relative_to(out)).read_bytes()
    # A crash mid-write (not an interrupt) can leave a temp file: the rerun deletes it.
    leftover = out / "train" / ".photo9.png.abc123.tmp"
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_bytes(b"half a png")
    before = {p: p.stat().st_mtime_ns for p in done}
    report = make_pairs(photos, out, settings("noise"))
    assert report.skipped == len(done) and report.written == 8 - len(done)
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    assert not leftover.exists()
    assert outputs(out) == outputs(clean)
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["status"] == "complete"


def test_pairs_of_deleted_photos_are_removed_on_rerun(tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "photos", count=4)
    out = tmp_path / "out"
    make_pairs(photos, out, settings("blur"))
    (photos / "photo1.png").unlink()
    report = make_pairs(photos, out, settings("blur"))
    assert report.removed == 1 and sum(report.counts.values()) == 3
    assert sorted(p.name for p in out.glob("*/*.png")) == ["photo0.png", "photo2.png", "photo3.png"]


def test_a_photo_name_that_is_not_utf8_keeps_the_manifest_strict_utf8(tmp_path: Path) -> None:
    name = os.fsdecode(b"p\xff.png")  # byte 0xff: Python keeps it as a lone surrogate
    save(tmp_path / "photos" / name, np.full((40, 40, 3), 200, np.uint8))
    out = tmp_path / "out"
    make_pairs(tmp_path / "photos", out, settings("grayscale", ratios=(1.0, 0.0, 0.0)), workers=1)
    manifest = json.loads((out / "manifest.json").read_bytes().decode("utf-8"))  # strict: raises on raw bytes
    assert name in json.dumps(manifest, ensure_ascii=False)
    make_pairs(tmp_path / "photos", out, settings("grayscale", ratios=(1.0, 0.0, 0.0)), overwrite=True, workers=1)
