"""Tests for i2i.data.paired (and i2i.layouts): layouts, pairing by name, the pre-scan of bad files, holdout and
PairedDataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import write_aligned
from PIL import Image

from i2i.data.config import DataConfig
from i2i.data.kinds import ScanReport
from i2i.data.paired import (
    PairedDataset,
    PairRecord,
    holdout_split,
    list_pairs,
    load_pair,
    scan_split,
    verify_pairs,
)
from i2i.data.processing import to_tensor
from i2i.errors import DatasetError
from i2i.imageio import read_image
from i2i.layouts import detect_layout
from i2i.splits import HOLDOUT_SEED, split_of


def write_png(path: Path, array: np.ndarray) -> Path:
    """Writes a (H, W, 3) or (H, W) uint8 array as an image file (format from the extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def noise(height: int, width: int, seed: int) -> np.ndarray:
    """A (height, width, 3) uint8 noise image."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def write_ab(path: Path, left: np.ndarray, right: np.ndarray) -> Path:
    """Writes an A|B file with ``left`` as A and ``right`` as B."""
    return write_png(path, np.concatenate([left, right], axis=1))


def truncated_png(path: Path) -> Path:
    """A valid 32×64 noise PNG cut in half."""
    write_png(path, noise(32, 64, 5))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


# --- detect_layout -------------------------------------------------------------------------------------------------


def test_detect_layout_aligned(aligned_dataset: Path) -> None:
    """root/<split>/*.png is the aligned layout."""
    assert detect_layout(aligned_dataset) == "aligned"


def test_detect_layout_folders(folders_dataset: Path) -> None:
    """root/A/<split> + root/B/<split> is the folders layout."""
    assert detect_layout(folders_dataset) == "folders"


def test_detect_layout_split_then_side(tmp_path: Path) -> None:
    """root/<split>/A + root/<split>/B is the folders layout too."""
    write_png(tmp_path / "train" / "A" / "x.png", noise(8, 8, 0))
    write_png(tmp_path / "train" / "B" / "x.png", noise(8, 8, 1))
    assert detect_layout(tmp_path) == "folders"


def test_detect_layout_without_images_raises(tmp_path: Path) -> None:
    """Split folders holding no image files are no dataset."""
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "readme.txt").write_text("nothing here")
    with pytest.raises(DatasetError, match="no dataset layout found") as info:
        detect_layout(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_detect_layout_empty_root_raises(tmp_path: Path) -> None:
    """An empty folder is no dataset."""
    with pytest.raises(DatasetError, match="no dataset layout found"):
        detect_layout(tmp_path)


def test_detect_layout_missing_root_raises(tmp_path: Path) -> None:
    """A root that does not exist is named in the error."""
    with pytest.raises(DatasetError, match="dataset folder not found") as info:
        detect_layout(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value)


# --- list_pairs ----------------------------------------------------------------------------------------------------


def test_list_pairs_aligned_sorted(tmp_path: Path) -> None:
    """Aligned records are one per file, sorted by file name, with no B path."""
    for name in ("c", "a", "b"):
        write_png(tmp_path / "train" / f"{name}.png", noise(4, 8, 0))
    report = list_pairs(tmp_path, "train")
    assert report.layout == "aligned" and report.split == "train"
    assert [r.name for r in report.records] == ["a", "b", "c"]
    assert [r.path_a for r in report.records] == [str(tmp_path / "train" / f"{n}.png") for n in "abc"]
    assert all(r.path_b is None for r in report.records)
    assert report.problems == [] and report.ignored == 0


def test_list_pairs_ignores_and_counts_non_image_files(aligned_dataset: Path) -> None:
    """notes.txt and .DS_Store are not pairs; both are counted as ignored and shown in the summary."""
    (aligned_dataset / "train" / "notes.txt").write_text("hello")
    (aligned_dataset / "train" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (aligned_dataset / "train" / "sub").mkdir()
    report = list_pairs(aligned_dataset, "train")
    assert [r.name for r in report.records] == ["0", "1", "2", "3"]
    assert report.problems == []
    assert report.ignored == 2
    assert "2 non-image files ignored" in report.summary()


def test_list_pairs_skips_hidden_image_named_files(aligned_dataset: Path) -> None:
    """A hidden '._0.png' (macOS metadata) is never taken for an image pair."""
    (aligned_dataset / "train" / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    report = list_pairs(aligned_dataset, "train")
    assert [r.name for r in report.records] == ["0", "1", "2", "3"]
    assert report.problems == []
    assert report.ignored == 1


def test_list_pairs_folders_matches_stems_across_extensions(tmp_path: Path) -> None:
    """x.jpg in A pairs with x.png in B: names are matched by stem."""
    write_png(tmp_path / "A" / "train" / "x.jpg", noise(8, 8, 0))
    write_png(tmp_path / "B" / "train" / "x.png", noise(8, 8, 1))
    report = list_pairs(tmp_path, "train")
    assert report.layout == "folders"
    assert report.records == [
        PairRecord("x", str(tmp_path / "A" / "train" / "x.jpg"), str(tmp_path / "B" / "train" / "x.png"))
    ]
    assert report.problems == []


def test_list_pairs_folders_split_then_side(tmp_path: Path) -> None:
    """root/<split>/A and root/<split>/B pair up like root/A/<split> and root/B/<split>."""
    write_png(tmp_path / "train" / "A" / "x.png", noise(8, 8, 0))
    write_png(tmp_path / "train" / "B" / "x.png", noise(8, 8, 1))
    report = list_pairs(tmp_path, "train")
    assert report.records == [
        PairRecord("x", str(tmp_path / "train" / "A" / "x.png"), str(tmp_path / "train" / "B" / "x.png"))
    ]


def test_list_pairs_folders_reports_unmatched_names(folders_dataset: Path) -> None:
    """A file without a partner, in A or in B, is a problem naming that file; the matched pairs stay."""
    only_a = write_png(folders_dataset / "A" / "train" / "lonely_a.png", noise(8, 8, 0))
    only_b = write_png(folders_dataset / "B" / "train" / "lonely_b.png", noise(8, 8, 1))
    report = list_pairs(folders_dataset, "train")
    assert [r.name for r in report.records] == ["img_0", "img_1", "img_2", "img_3"]
    problems = {p.path: p.reason for p in report.problems}
    assert set(problems) == {str(only_a), str(only_b)}
    assert problems[str(only_a)] == f"no matching file in {folders_dataset / 'B' / 'train'}"
    assert problems[str(only_b)] == f"no matching file in {folders_dataset / 'A' / 'train'}"
    assert "2 bad" in report.summary()


def test_list_pairs_folders_same_stem_twice_is_a_problem(folders_dataset: Path) -> None:
    """img_0.png and img_0.jpg in one folder cannot both pair with B's img_0: the second is a problem."""
    duplicate = write_png(folders_dataset / "A" / "train" / "img_0.jpg", noise(8, 8, 0))
    report = list_pairs(folders_dataset, "train")
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert problem.path in (str(duplicate), str(folders_dataset / "A" / "train" / "img_0.png"))
    assert "same name as img_0." in problem.reason
    assert str(problem).startswith(problem.path + ": ")
    assert len(report.records) == 4


def test_list_pairs_folders_ignored_counts_both_sides(folders_dataset: Path) -> None:
    """Non-image files in A and in B are both counted."""
    (folders_dataset / "A" / "train" / "notes.txt").write_text("a")
    (folders_dataset / "B" / "train" / "labels.csv").write_text("b")
    assert list_pairs(folders_dataset, "train").ignored == 2


def test_list_pairs_empty_split_raises(aligned_dataset: Path) -> None:
    """A split folder without images raises DatasetError saying no images were found there."""
    (aligned_dataset / "empty").mkdir()
    (aligned_dataset / "empty" / "notes.txt").write_text("no images")
    with pytest.raises(DatasetError, match="no images found") as info:
        list_pairs(aligned_dataset, "empty")
    assert str(aligned_dataset / "empty") in str(info.value)
    assert ".png" in str(info.value)


@pytest.mark.parametrize("layout", ["aligned", "folders"])
def test_list_pairs_missing_split_lists_existing_splits(tmp_path: Path, layout: str) -> None:
    """Asking for a split that does not exist names the splits that do."""
    root = write_aligned(tmp_path / "aligned", {"train": 1, "val": 1, "test": 1}, size=16)
    if layout == "folders":
        root = tmp_path / "folders"
        for side in "AB":
            for split in ("train", "test", "val"):
                write_png(root / side / split / "x.png", noise(8, 8, 0))
    with pytest.raises(DatasetError, match="split 'validation' not found") as info:
        list_pairs(root, "validation")
    assert "splits found: test, train, val" in str(info.value)


def test_list_pairs_missing_root_raises(tmp_path: Path) -> None:
    """A missing root raises DatasetError, whatever the layout asked for."""
    with pytest.raises(DatasetError):
        list_pairs(tmp_path / "nope", "train")
    with pytest.raises(DatasetError, match="not found"):
        list_pairs(tmp_path / "nope", "train", layout="aligned")


# --- verify_pairs / scan_split / ScanReport.check ------------------------------------------------------------------


@pytest.fixture
def dataset_with_bad_files(aligned_dataset: Path) -> tuple[Path, list[Path]]:
    """The aligned dataset's 4 good train pairs plus an odd-width, a truncated and a text-as-jpg file."""
    train = aligned_dataset / "train"
    bad = [
        write_png(train / "odd.png", noise(64, 129, 3)),
        truncated_png(train / "cut.png"),
        train / "text.jpg",
    ]
    bad[2].write_text("just some text\n")
    return aligned_dataset, bad


def test_scan_split_reports_every_bad_file_at_once(dataset_with_bad_files: tuple[Path, list[Path]]) -> None:
    """Odd width, truncation and text-as-jpg are all reported in one scan, one problem per file."""
    root, bad = dataset_with_bad_files
    report = scan_split(DataConfig(root=str(root)), "train")
    assert sorted(r.name for r in report.records) == ["0", "1", "2", "3"]
    reasons = {p.path: p.reason for p in report.problems}
    assert len(report.problems) == 3
    assert set(reasons) == {str(p) for p in bad}
    assert "odd width 129" in reasons[str(bad[0])]
    assert "truncated" in reasons[str(bad[1])]
    assert "holds text" in reasons[str(bad[2])]
    assert "4 pairs, 3 bad" in report.summary()


def test_scan_split_without_verify_keeps_bad_files(dataset_with_bad_files: tuple[Path, list[Path]]) -> None:
    """verify=False only lists names: the bad files are still records, with no problems."""
    root, _ = dataset_with_bad_files
    report = scan_split(DataConfig(root=str(root)), "train", verify=False)
    assert len(report.records) == 7 and report.problems == []


def test_verify_pairs_keeps_record_order(dataset_with_bad_files: tuple[Path, list[Path]]) -> None:
    """verify_pairs keeps the good records in their listed order, also with one worker."""
    root, _ = dataset_with_bad_files
    cfg = DataConfig(root=str(root))
    report = verify_pairs(list_pairs(root, "train"), cfg, workers=1)
    assert [r.name for r in report.records] == ["0", "1", "2", "3"]
    assert len(report.problems) == 3


def test_check_lists_every_bad_file_and_the_flag(dataset_with_bad_files: tuple[Path, list[Path]]) -> None:
    """check(skip_bad=False) raises DatasetError naming every bad file and the --data.skip_bad way out."""
    root, bad = dataset_with_bad_files
    report = scan_split(DataConfig(root=str(root)), "train")
    with pytest.raises(DatasetError) as info:
        report.check(skip_bad=False)
    message = str(info.value)
    for path in bad:
        assert str(path) in message
    assert "--data.skip_bad" in message
    assert "3 bad file(s)" in message


def test_check_skip_bad_accepts_the_good_pairs(dataset_with_bad_files: tuple[Path, list[Path]]) -> None:
    """check(skip_bad=True) lets training go on with the good pairs."""
    root, _ = dataset_with_bad_files
    report = scan_split(DataConfig(root=str(root)), "train")
    report.check(skip_bad=True)
    assert len(report.records) == 4


def test_check_refuses_split_where_every_file_is_bad(tmp_path: Path) -> None:
    """A split with no usable pair raises even with skip_bad."""
    write_png(tmp_path / "train" / "odd.png", noise(16, 33, 0))
    truncated_png(tmp_path / "train" / "cut.png")
    report = scan_split(DataConfig(root=str(tmp_path), layout="aligned"), "train")
    assert report.records == [] and len(report.problems) == 2
    with pytest.raises(DatasetError, match="no usable image pairs"):
        report.check(skip_bad=True)
    with pytest.raises(DatasetError, match="2 bad file"):
        report.check(skip_bad=False)


def test_check_clean_report_passes(aligned_dataset: Path) -> None:
    """A split with only good files passes check either way."""
    report = scan_split(DataConfig(root=str(aligned_dataset)), "val")
    report.check(skip_bad=False)
    assert len(report.records) == 2 and report.problems == []


def test_check_empty_report_raises() -> None:
    """A report with no records and no problems is not usable."""
    with pytest.raises(DatasetError, match="no usable image pairs"):
        ScanReport("root", "train", "aligned").check(skip_bad=False)


# --- load_pair -----------------------------------------------------------------------------------------------------


@pytest.fixture
def known_pair(tmp_path: Path) -> tuple[PairRecord, np.ndarray, np.ndarray]:
    """An A|B PNG of two different 24×24 noise halves, with the halves."""
    left, right = noise(24, 24, 1), noise(24, 24, 2)
    path = write_ab(tmp_path / "train" / "p.png", left, right)
    return PairRecord("p", str(path)), left, right


def test_load_pair_atob(known_pair: tuple[PairRecord, np.ndarray, np.ndarray]) -> None:
    """AtoB: the input is the left half, the target the right half."""
    record, left, right = known_pair
    a, b = load_pair(record, DataConfig(direction="AtoB"))
    np.testing.assert_array_equal(a, left)
    np.testing.assert_array_equal(b, right)


def test_load_pair_btoa_swaps(known_pair: tuple[PairRecord, np.ndarray, np.ndarray]) -> None:
    """BtoA: the input is the right half, the target the left half."""
    record, left, right = known_pair
    a, b = load_pair(record, DataConfig(direction="BtoA"))
    np.testing.assert_array_equal(a, right)
    np.testing.assert_array_equal(b, left)


def test_load_pair_channels(known_pair: tuple[PairRecord, np.ndarray, np.ndarray]) -> None:
    """input_channels=1 gives a (H, W, 1) luma input; output_channels applies to the target."""
    record, left, right = known_pair
    a, b = load_pair(record, DataConfig(input_channels=1))
    assert a.shape == (24, 24, 1) and a.dtype == np.uint8
    assert b.shape == (24, 24, 3)
    expected = left.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(a[:, :, 0] - expected).max() <= 1.0
    a, b = load_pair(record, DataConfig(direction="BtoA", input_channels=3, output_channels=1))
    np.testing.assert_array_equal(a, right)
    assert b.shape == (24, 24, 1)


def test_load_pair_odd_width_names_the_file(tmp_path: Path) -> None:
    """An A|B file of odd width raises ImageReadError naming it."""
    from i2i.imageio import ImageReadError

    path = write_png(tmp_path / "odd.png", noise(8, 17, 0))
    with pytest.raises(ImageReadError, match="odd width 17") as info:
        load_pair(PairRecord("odd", str(path)), DataConfig())
    assert info.value.path == str(path)


def test_load_pair_folders(folders_dataset: Path) -> None:
    """Folders layout: A is read from A/, B from B/, and BtoA swaps them."""
    record = list_pairs(folders_dataset, "train").records[1]
    file_a = read_image(folders_dataset / "A" / "train" / "img_1.png")
    file_b = read_image(folders_dataset / "B" / "train" / "img_1.png")
    assert not np.array_equal(file_a, file_b)
    a, b = load_pair(record, DataConfig(root=str(folders_dataset)))
    np.testing.assert_array_equal(a, file_a)
    np.testing.assert_array_equal(b, file_b)
    a, b = load_pair(record, DataConfig(root=str(folders_dataset), direction="BtoA"))
    np.testing.assert_array_equal(a, file_b)
    np.testing.assert_array_equal(b, file_a)


# --- holdout_split -------------------------------------------------------------------------------------------------


def records(count: int, start: int = 0) -> list[PairRecord]:
    """``count`` aligned records named img_<i>."""
    return [PairRecord(f"img_{i}", f"/data/train/img_{i}.png") for i in range(start, start + count)]


def test_holdout_split_is_deterministic_disjoint_and_complete() -> None:
    """Same input, same split; train and val share nothing and together hold every record."""
    all_records = records(200)
    train, val = holdout_split(all_records, 0.2)
    assert holdout_split(all_records, 0.2) == (train, val)
    assert holdout_split(list(reversed(all_records)), 0.2)[1] == list(reversed(val))
    assert not {r.name for r in train} & {r.name for r in val}
    assert sorted(r.name for r in train + val) == sorted(r.name for r in all_records)
    assert len(train) + len(val) == 200


@pytest.mark.parametrize(("count", "fraction", "held"), [(200, 0.1, 20), (200, 0.25, 50), (7, 0.2, 1), (10, 0.25, 3)])
def test_holdout_split_holds_out_the_fraction_rounded_half_up(count: int, fraction: float, held: int) -> None:
    _, val = holdout_split(records(count), fraction)
    assert len(val) == held


def test_holdout_split_is_the_split_data_split_makes_with_seed_0() -> None:
    """One scheme: the held-out pairs are those `i2i data split --ratios 0.8,0.2 --seed 0` puts in val."""
    all_records = records(60)
    _, val = holdout_split(all_records, 0.2)
    splits = split_of([r.name for r in all_records], (0.8, 0.2), 0)
    expected = [r.name for r, s in zip(all_records, splits, strict=True) if s == "val"]
    assert HOLDOUT_SEED == 0 and [r.name for r in val] == expected


def test_holdout_split_zero_keeps_everything_for_training() -> None:
    """fraction 0 holds nothing out."""
    train, val = holdout_split(records(50), 0.0)
    assert val == [] and len(train) == 50


def test_holdout_split_moves_few_records_when_records_are_added() -> None:
    """Adding files moves only the few existing records next to the cut from one side to the other."""
    _, val = holdout_split(records(200), 0.2)
    _, more_val = holdout_split(records(200) + records(150, start=200), 0.2)
    old_names = {r.name for r in records(200)}
    before, after = {r.name for r in val}, {r.name for r in more_val} & old_names
    assert len(before ^ after) <= 8  # of 200: the rest keep their side
    assert len(more_val) == 70


# --- PairedDataset -------------------------------------------------------------------------------------------------


def test_paired_dataset_eval_item(aligned_dataset: Path) -> None:
    """train=False: native-size float tensors in [-1, 1] equal to the halves, and the item's keys."""
    cfg = DataConfig(root=str(aligned_dataset))
    recs = list_pairs(aligned_dataset, "val").records
    dataset = PairedDataset(recs, cfg, train=False)
    assert len(dataset) == 2
    item = dataset[1]
    assert set(item) == {"a", "b", "path_a", "path_b", "index"}
    assert item["a"].shape == (3, 64, 64) and item["b"].shape == (3, 64, 64)
    assert item["a"].dtype == torch.float32
    for key in ("a", "b"):
        assert item[key].min() >= -1.0 and item[key].max() <= 1.0
    both = read_image(recs[1].path_a)
    torch.testing.assert_close(item["a"], to_tensor(both[:, :64]), rtol=0, atol=0)
    torch.testing.assert_close(item["b"], to_tensor(both[:, 64:]), rtol=0, atol=0)
    assert item["path_a"] == item["path_b"] == recs[1].path_a
    assert item["index"].item() == 1


def test_paired_dataset_eval_folders_paths(folders_dataset: Path) -> None:
    """Folders layout: path_a and path_b are the two files, and single-channel input works."""
    cfg = DataConfig(root=str(folders_dataset), input_channels=1)
    recs = list_pairs(folders_dataset, "test").records
    item = PairedDataset(recs, cfg, train=False)[0]
    assert item["path_a"] == recs[0].path_a and item["path_b"] == recs[0].path_b
    assert item["a"].shape == (1, 48, 48) and item["b"].shape == (3, 48, 48)


def train_dataset(root: Path, **overrides: object) -> PairedDataset:
    """A training PairedDataset over root's train split with 32-pixel crops."""
    options: dict[str, object] = {"load_size": 36, "crop_size": 32, **overrides}
    cfg = DataConfig(root=str(root), **options)  # type: ignore[arg-type]
    return PairedDataset(list_pairs(root, "train").records, cfg, train=True)


def test_paired_dataset_train_crops_and_is_seeded(aligned_dataset: Path) -> None:
    """train=True: crop_size tensors; the same (index, seed) gives identical tensors, other seeds other crops."""
    dataset = train_dataset(aligned_dataset)
    first = dataset[(2, 7)]
    assert first["a"].shape == (3, 32, 32) and first["b"].shape == (3, 32, 32)
    assert first["a"].min() >= -1.0 and first["a"].max() <= 1.0
    assert first["index"].item() == 2
    again = dataset[(2, 7)]
    assert torch.equal(first["a"], again["a"]) and torch.equal(first["b"], again["b"])
    others = [dataset[(2, seed)]["a"] for seed in range(8, 16)]
    assert any(not torch.equal(first["a"], other) for other in others)


@pytest.mark.parametrize("preprocess", ["resize_and_crop", "crop", "resize"])
def test_paired_dataset_same_augmentation_for_a_and_b(tmp_path: Path, preprocess: str) -> None:
    """A pair with identical halves stays identical after augmentation for every seed, while the crops vary."""
    half = noise(48, 48, 9)
    write_ab(tmp_path / "train" / "same.png", half, half)
    dataset = train_dataset(tmp_path, preprocess=preprocess)
    outputs = []
    for seed in range(24):
        item = dataset[(0, seed)]
        assert item["a"].shape == (3, 32, 32)
        assert torch.equal(item["a"], item["b"]), seed
        outputs.append(item["a"])
    distinct = {tuple(t.flatten()[:64].tolist()) for t in outputs}
    assert len(distinct) > 1


def test_paired_dataset_flip_only_is_shared(tmp_path: Path) -> None:
    """With preprocess=resize (no crop), a and b are flipped together: a mirror image pair stays mirror-consistent."""
    half = noise(32, 32, 4)
    write_ab(tmp_path / "train" / "p.png", half, half[:, ::-1])
    dataset = train_dataset(tmp_path, preprocess="resize")
    flipped = 0
    for seed in range(20):
        item = dataset[(0, seed)]
        assert torch.equal(item["a"], item["b"].flip(-1)), seed
        flipped += not torch.equal(item["a"], to_tensor(half))
    assert 0 < flipped < 20


def test_paired_folders_of_different_sizes_are_refused(tmp_path: Path) -> None:
    """The one rule for A/ + B/ pairs: A and B are the same size; a mismatch is a bad pair naming both sizes, found
    by the pre-scan (refused, or skipped with skip_bad), never resized behind the user's back."""
    write_png(tmp_path / "A" / "train" / "x.png", noise(40, 40, 0))
    write_png(tmp_path / "B" / "train" / "x.png", np.full((80, 60, 3), 200, dtype=np.uint8))
    write_png(tmp_path / "A" / "train" / "y.png", noise(40, 40, 1))
    write_png(tmp_path / "B" / "train" / "y.png", noise(40, 40, 2))
    report = scan_split(DataConfig(root=str(tmp_path)), "train")
    assert [r.name for r in report.records] == ["y"]
    (problem,) = report.problems
    assert problem.path.endswith("x.png")
    assert "60x80 but its pair x.png in A is 40x40" in problem.reason and "--resize-b" in problem.reason
