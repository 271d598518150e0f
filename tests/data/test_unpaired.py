"""The unpaired data kind: scanning two domains, per-sample B draws, augmentation, holdout and the decoded cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import write_unpaired

from i2i.data import DATA_KINDS
from i2i.data.config import DataConfig
from i2i.data.unpaired import UnpairedCache, UnpairedData, holdout_unpaired, list_unpaired, plan_unpaired_cache
from i2i.errors import DatasetError
from i2i.training.sampler import EpochSampler

CPU = torch.device("cpu")


def _cfg(root: Path, **kw) -> DataConfig:
    return DataConfig(root=str(root), load_size=36, crop_size=32, **kw)


def test_scan_lists_both_domains_and_cycles_through_them(unpaired_dataset: Path) -> None:
    report = UnpairedData(_cfg(unpaired_dataset)).scan("train")
    assert (len(report.images_a), len(report.images_b)) == (5, 3)
    assert len(report.records) == 5  # max of the two counts
    assert [Path(r.path_b).name for r in report.records] == ["b_000.png", "b_001.png", "b_002.png"] + [
        "b_000.png",
        "b_001.png",
    ]
    assert "5 A and 3 B images" in report.summary()
    assert DATA_KINDS.get("unpaired") is UnpairedData


def test_a_slash_split_layout(tmp_path: Path) -> None:
    root = write_unpaired(tmp_path / "u", {"train": (2, 2)})
    (tmp_path / "v" / "A").mkdir(parents=True)
    (tmp_path / "v" / "B").mkdir(parents=True)
    (root / "trainA").rename(tmp_path / "v" / "A" / "train")
    (root / "trainB").rename(tmp_path / "v" / "B" / "train")
    assert len(list_unpaired(tmp_path / "v", "train").records) == 2


def test_missing_split_and_empty_domain_say_what_is_wrong(unpaired_dataset: Path) -> None:
    with pytest.raises(DatasetError, match=r"split 'val' not found .*valA.*folders found: testA, testB, trainA"):
        list_unpaired(unpaired_dataset, "val")
    for f in (unpaired_dataset / "testB").iterdir():
        f.unlink()
    with pytest.raises(DatasetError, match="no images found in .*testB"):
        list_unpaired(unpaired_dataset, "test")


def test_bad_file_is_reported_by_name_and_skippable(unpaired_dataset: Path) -> None:
    bad = unpaired_dataset / "trainB" / "b_001.png"
    bad.write_bytes(bad.read_bytes()[:100])
    report = UnpairedData(_cfg(unpaired_dataset)).scan("train")
    assert [p.path for p in report.problems] == [str(bad)]
    with pytest.raises(DatasetError, match="b_001.png"):
        report.check(skip_bad=False)
    report.check(skip_bad=True)
    assert len(report.images_b) == 2 and all(r.path_b != str(bad) for r in report.records)


def test_b_is_drawn_per_sample_seed_and_sides_augment_independently(unpaired_dataset: Path) -> None:
    cfg = _cfg(unpaired_dataset)
    data = UnpairedData(cfg)
    records = data.scan("train").records
    dataset = data.train_dataset(records)
    sampler = EpochSampler(len(records), 1, seed=3)
    draws = []
    for epoch in range(4):
        sampler.set_epoch(epoch)
        keys = list(sampler)
        items = [dataset[k] for k in keys]
        assert sorted(Path(it["path_a"]).name for it in items) == [f"a_{i:03d}.png" for i in range(5)]
        draws.append(tuple(Path(it["path_b"]).name for it in sorted(items, key=lambda it: it["path_a"])))
        again = dataset[keys[0]]
        assert torch.equal(again["a"], items[0]["a"]) and torch.equal(again["b"], items[0]["b"])
        assert items[0]["a"].shape == items[0]["b"].shape == (3, 32, 32)
    assert len(set(draws)) > 1, "B should be drawn afresh every epoch"


def test_sides_get_their_own_crop_and_flip(tmp_path: Path) -> None:
    """With B a copy of A, a sample's two sides still differ: each gets its own crop and flip from the seed."""
    import shutil

    root = write_unpaired(tmp_path / "u", {"train": (1, 1)})
    shutil.copy(root / "trainA" / "a_000.png", root / "trainB" / "b_000.png")
    data = UnpairedData(_cfg(root))
    dataset = data.train_dataset(data.scan("train").records)
    same = [torch.equal(dataset[(0, seed)]["a"], dataset[(0, seed)]["b"]) for seed in range(20)]
    assert not all(same)


def test_direction_btoa_swaps_domains_and_channels(unpaired_dataset: Path) -> None:
    cfg = _cfg(unpaired_dataset, direction="BtoA", input_channels=1, output_channels=3)
    data = UnpairedData(cfg)
    records = data.scan("train").records
    item = data.train_dataset(records)[(0, 5)]
    assert Path(item["path_a"]).parent.name == "trainB" and Path(item["path_b"]).parent.name == "trainA"
    assert item["a"].shape[0] == 1 and item["b"].shape[0] == 3
    example = data.load_example(records[0])
    assert example["a"].shape[2] == 1 and Path(records[0].path_b).name == "b_000.png"


def test_holdout_splits_each_domain_stably(unpaired_dataset: Path) -> None:
    records = list_unpaired(unpaired_dataset, "train").records
    train, val = holdout_unpaired(records, 0.4)
    train_files = {r.path_a for r in train} | {r.path_b for r in train}
    val_files = {r.path_a for r in val} | {r.path_b for r in val}
    assert not train_files & val_files
    assert holdout_unpaired(records, 0.4) == (train, val)


@pytest.mark.parametrize("preprocess", ["resize_and_crop", "crop"])
def test_cache_serves_the_same_batches_as_the_dataset(unpaired_dataset: Path, preprocess: str) -> None:
    """On the CPU the decoded cache gives bit-identical batches to the worker path."""
    cfg = _cfg(unpaired_dataset, preprocess=preprocess)
    data = UnpairedData(cfg)
    records = data.scan("train").records
    dataset = data.train_dataset(records)
    cache = UnpairedCache(records, cfg, CPU, "host")
    keys = [(4, 11), (0, 12), (2, 99)]
    batch = cache.batch(keys)
    for i, key in enumerate(keys):
        item = dataset[key]
        assert torch.equal(batch["a"][i], item["a"]) and torch.equal(batch["b"][i], item["b"])
        assert batch["path_b"][i] == item["path_b"]


def test_cache_plan_refuses_mixed_sizes(unpaired_dataset: Path) -> None:
    write_unpaired(unpaired_dataset, {"other": (1, 1)}, size=48)
    (unpaired_dataset / "otherA" / "a_000.png").rename(unpaired_dataset / "trainA" / "big.png")
    cfg = _cfg(unpaired_dataset)
    records = UnpairedData(cfg).scan("train").records
    assert plan_unpaired_cache(records, cfg, CPU, "auto") == (
        None,
        "no decoded cache on cpu (data.cache=auto caches on GPUs only)",
    )
    with pytest.raises(DatasetError, match="input-domain images come in 2 sizes"):
        plan_unpaired_cache(records, cfg, CPU, "host")
