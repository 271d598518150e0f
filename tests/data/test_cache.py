"""Tests for i2i.data.cache (and the paired kind's PairCache): batched augmentation equals the per-sample
reference, the uint8 pair cache, and the decision where (if anywhere) the cache goes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import write_aligned, write_folders
from PIL import Image
from torch.utils.data import default_collate

from i2i.config import from_dict
from i2i.data import cache as cache_module
from i2i.data.cache import augment_batch
from i2i.data.config import DataConfig
from i2i.data.paired import PairCache, PairedDataset, list_pairs, plan_cache
from i2i.data.processing import to_tensor
from i2i.data.transforms import augment_pair, sample_params
from i2i.errors import ConfigError, DatasetError
from i2i.training.sampler import EpochSampler

PREPROCESS = ["resize_and_crop", "crop", "resize"]
MODES = ["bicubic", "bilinear", "nearest"]
# (channels of a, channels of b, (H, W) of a, (H, W) of b): equal sizes, grey input, and b at another size.
PAIR_SHAPES = [
    (3, 3, (50, 45), (50, 45)),
    (1, 3, (50, 45), (50, 45)),
    (3, 1, (50, 45), (50, 45)),
    (3, 3, (20, 40), (20, 40)),  # under crop_size: preprocess=crop scales it up first
    (1, 1, (32, 32), (32, 32)),  # exactly crop_size: preprocess=crop takes the whole image
]
SEEDS = [0, 1, 2, 3, 5, 8, 13, 2**62 + 7]


def config(preprocess: str = "resize_and_crop", **overrides: object) -> DataConfig:
    """A DataConfig with 32-pixel crops from 40-pixel resizes unless overridden."""
    options: dict[str, object] = {"load_size": 40, "crop_size": 32, "preprocess": preprocess, **overrides}
    return DataConfig(**options)  # type: ignore[arg-type]


def uint8_batch(n: int, channels: int, size: tuple[int, int], seed: int) -> torch.Tensor:
    """Random uint8 (N, C, H, W) images."""
    return torch.randint(0, 256, (n, channels, *size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def reference(a: torch.Tensor, b: torch.Tensor, seeds: list[int], cfg: DataConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """augment_pair sample by sample, on the (H, W, C) arrays the dataset decodes, stacked."""
    pairs = [
        augment_pair(to_tensor(ai.permute(1, 2, 0).numpy()), to_tensor(bi.permute(1, 2, 0).numpy()), cfg, seed)
        for ai, bi, seed in zip(a, b, seeds, strict=True)
    ]
    return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])


def paired_config(root: Path, **overrides: object) -> DataConfig:
    options: dict[str, object] = {"root": str(root), "load_size": 36, "crop_size": 32, **overrides}
    return DataConfig(**options)  # type: ignore[arg-type]


def sampler_keys(size: int, batch_size: int = 3, seed: int = 7) -> list[tuple[int, int]]:
    """The (index, seed) keys of one shuffled epoch, as the trainer gets them."""
    sampler = EpochSampler(size, batch_size, seed)
    sampler.set_epoch(1)
    return list(sampler)


def assert_same_batch(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for key in ("a", "b", "index"):
        assert got[key].dtype == want[key].dtype and torch.equal(got[key].cpu(), want[key]), key
    assert got["path_a"] == want["path_a"] and got["path_b"] == want["path_b"]


# --- augment_batch -------------------------------------------------------------------------------------------------


def test_augment_refuses_pairs_of_different_sizes() -> None:
    """One rule for pairs: never resized silently here either (the data kinds refuse them before)."""
    cfg = config()
    a, b = uint8_batch(2, 3, (50, 45), seed=0), uint8_batch(2, 3, (37, 61), seed=1)
    with pytest.raises(ValueError, match="same size"):
        augment_batch(a, b, [0, 1], cfg)
    with pytest.raises(ValueError, match="same size"):
        reference(a, b, [0, 1], cfg)


@pytest.mark.parametrize("preprocess", PREPROCESS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("flip", [True, False])
def test_augment_batch_equals_augment_pair_exactly(preprocess: str, mode: str, flip: bool) -> None:
    """Each sample of a batch is bit-for-bit the per-sample CPU augmentation with its own seed."""
    cfg = config(preprocess, resize_mode=mode, flip=flip)
    for i, (ca, cb, size_a, size_b) in enumerate(PAIR_SHAPES):
        a, b = uint8_batch(len(SEEDS), ca, size_a, seed=i), uint8_batch(len(SEEDS), cb, size_b, seed=100 + i)
        out_a, out_b = augment_batch(a, b, SEEDS, cfg)
        want_a, want_b = reference(a, b, SEEDS, cfg)
        assert out_a.shape == (len(SEEDS), ca, 32, 32) and out_b.shape == (len(SEEDS), cb, 32, 32)
        assert out_a.dtype == torch.float32 and out_a.is_contiguous() and out_b.is_contiguous()
        assert torch.equal(out_a, want_a), (size_a, size_b, ca, cb)
        assert torch.equal(out_b, want_b), (size_a, size_b, ca, cb)


def test_augment_batch_mixes_crops_and_flips_within_a_batch() -> None:
    """The seeds of the test batch really draw different windows and both flip states."""
    params = [sample_params(50, 45, config(), torch.Generator().manual_seed(s)) for s in SEEDS]
    assert {p.flip for p in params} == {True, False}
    assert len({(p.top, p.left) for p in params}) > len(SEEDS) // 2


def test_augment_batch_single_sample_and_key_order() -> None:
    """A batch of one works, and reordering the seeds reorders the outputs: samples don't leak into each other."""
    cfg = config()
    a, b = uint8_batch(3, 3, (50, 45), 1), uint8_batch(3, 3, (50, 45), 2)
    out_a, out_b = augment_batch(a, b, [4, 5, 6], cfg)
    one_a, one_b = augment_batch(a[1:2], b[1:2], [5], cfg)
    assert torch.equal(one_a[0], out_a[1]) and torch.equal(one_b[0], out_b[1])
    rev_a, _ = augment_batch(a.flip(0), b.flip(0), [6, 5, 4], cfg)
    assert torch.equal(rev_a, out_a.flip(0))


def test_augment_batch_rejects_bad_input() -> None:
    """Float batches and mismatched batch sizes are refused with a message, not broadcast."""
    cfg = config()
    a = uint8_batch(2, 3, (50, 45), 0)
    with pytest.raises(ValueError, match="uint8"):
        augment_batch(a.float(), a, [0, 1], cfg)
    with pytest.raises(ValueError, match="batch sizes"):
        augment_batch(a, a, [0], cfg)


# --- PairCache -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["aligned", "folders"])
@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
@pytest.mark.parametrize("placement", ["device", "host"])
def test_pair_cache_batch_equals_collated_dataset_items(
    tmp_path: Path, layout: str, direction: str, placement: str
) -> None:
    """For the sampler's keys, a cached batch is exactly what the DataLoader collates from PairedDataset."""
    root = (
        write_aligned(tmp_path / "d", {"train": 5})
        if layout == "aligned"
        else write_folders(tmp_path / "d", {"train": 5})
    )
    cfg = paired_config(root, direction=direction, output_channels=1)
    records = list_pairs(root, "train").records
    dataset, cache = PairedDataset(records, cfg, train=True), PairCache(records, cfg, torch.device("cpu"), placement)
    assert len(cache) == 5 and cache.a.shape[1] == 3 and cache.b.shape[1] == 1
    assert cache.nbytes == cache.a.numel() + cache.b.numel()
    keys = sampler_keys(len(records))
    for start in range(0, len(keys), 3):
        chunk = keys[start : start + 3]
        assert_same_batch(cache.batch(chunk), default_collate([dataset[k] for k in chunk]))


@pytest.mark.parametrize("preprocess", PREPROCESS)
def test_pair_cache_matches_dataset_for_every_preprocess(aligned_dataset: Path, preprocess: str) -> None:
    """crop (native 64×64 windows, gathered before normalizing) and resize match the dataset too."""
    cfg = paired_config(aligned_dataset, preprocess=preprocess, resize_mode="bilinear")
    records = list_pairs(aligned_dataset, "train").records
    dataset, cache = PairedDataset(records, cfg, train=True), PairCache(records, cfg, torch.device("cpu"), "host")
    keys = sampler_keys(len(records), seed=3)
    assert_same_batch(cache.batch(keys), default_collate([dataset[k] for k in keys]))


def test_pair_cache_host_on_cpu_is_plain_memory(folders_dataset: Path) -> None:
    """Host placement on a CPU-only machine keeps ordinary (unpinned) uint8 tensors and batches on the CPU."""
    cfg = paired_config(folders_dataset)
    records = list_pairs(folders_dataset, "train").records
    cache = PairCache(records, cfg, torch.device("cpu"), "host")
    assert cache.a.dtype == torch.uint8 and cache.a.shape == (4, 3, 48, 48) and not cache.a.is_pinned()
    batch = cache.batch([(3, 11), (0, 12)])
    assert batch["a"].device.type == "cpu" and batch["a"].shape == (2, 3, 32, 32)
    assert batch["index"].tolist() == [3, 0] and batch["path_a"][0] == records[3].path_a


def test_pair_cache_refuses_mixed_sizes(folders_dataset: Path) -> None:
    """Built without plan_cache on a split of mixed sizes, the cache names the odd pair."""
    for side in ("A", "B"):
        Image.fromarray(np.zeros((40, 48, 3), dtype=np.uint8)).save(folders_dataset / side / "train" / "img_2.png")
    records = list_pairs(folders_dataset, "train").records
    with pytest.raises(DatasetError, match="img_2.*same size"):
        PairCache(records, paired_config(folders_dataset), torch.device("cpu"), "host")


# --- plan_cache ----------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Pretends a CUDA device with the returned free bytes (plan_cache only asks how much memory is free)."""
    memory = {"gpu": 10**9, "ram": 10**10}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (memory["gpu"], 2 * memory["gpu"]))
    monkeypatch.setattr(cache_module, "_available_ram", lambda: memory["ram"])
    return memory


def test_plan_cache_off_and_cpu_auto(aligned_dataset: Path) -> None:
    """cache=off never caches; auto on a CPU device keeps the DataLoader path; both say why."""
    cfg = paired_config(aligned_dataset)
    records = list_pairs(aligned_dataset, "train").records
    assert plan_cache(records, cfg, torch.device("cpu"), "off") == (None, "data.cache=off")
    placement, reason = plan_cache(records, cfg, torch.device("cpu"), "auto")
    assert placement is None and "cpu" in reason
    assert plan_cache(records, cfg, torch.device("cpu"), "host")[0] == "host"


def test_plan_cache_forced_device_on_cpu_raises(aligned_dataset: Path) -> None:
    cfg = paired_config(aligned_dataset)
    records = list_pairs(aligned_dataset, "train").records
    with pytest.raises(DatasetError, match="CUDA"):
        plan_cache(records, cfg, torch.device("cpu"), "device")


def test_plan_cache_auto_places_by_free_memory(aligned_dataset: Path, fake_gpu: dict[str, int]) -> None:
    """auto: the GPU when the cache is at most a quarter of its free memory, then host RAM, then nothing."""
    cfg = paired_config(aligned_dataset, output_channels=1)
    records = list_pairs(aligned_dataset, "train").records
    nbytes = 4 * 64 * 64 * (3 + 1)  # 4 pairs of 64×64 halves, RGB input and grey target
    cuda = torch.device("cuda")
    fake_gpu["gpu"] = 4 * nbytes
    assert plan_cache(records, cfg, cuda, "auto")[0] == "device"
    fake_gpu["gpu"] = 4 * nbytes - 1
    assert plan_cache(records, cfg, cuda, "auto")[0] == "host"
    fake_gpu["ram"] = 4 * nbytes - 1
    placement, reason = plan_cache(records, cfg, cuda, "auto")
    assert placement is None and "fits neither" in reason
    assert plan_cache(records, cfg, cuda, "device")[0] == "device"  # forced: it fits in the free memory at all
    fake_gpu["gpu"] = nbytes - 1
    with pytest.raises(DatasetError, match="needs"):
        plan_cache(records, cfg, cuda, "device")
    fake_gpu["ram"] = nbytes - 1
    with pytest.raises(DatasetError, match="needs"):
        plan_cache(records, cfg, cuda, "host")


def test_plan_cache_mixed_sizes(tmp_path: Path, fake_gpu: dict[str, int]) -> None:
    """Inputs of two sizes: auto says why it won't cache, a forced placement raises with the same reason."""
    root = write_folders(tmp_path / "d", {"train": 3}, size=48)
    Image.fromarray(np.zeros((40, 48, 3), dtype=np.uint8)).save(root / "A" / "train" / "img_1.png")
    records = list_pairs(root, "train").records
    cfg = paired_config(root)
    placement, reason = plan_cache(records, cfg, torch.device("cuda"), "auto")
    assert placement is None and "input images come in 2 sizes" in reason and "48x40" in reason
    _, reason = plan_cache(records, paired_config(root, direction="BtoA"), torch.device("cuda"), "auto")
    assert "target images come in 2 sizes" in reason  # BtoA: the A folder holds the targets
    with pytest.raises(DatasetError, match="data.cache=host: input images come in 2 sizes"):
        plan_cache(records, cfg, torch.device("cpu"), "host")


def test_plan_cache_sizes_aligned_halves(tmp_path: Path, fake_gpu: dict[str, int]) -> None:
    """An A|B file counts as two halves: only the file size matters, A and B of it always agree."""
    root = write_aligned(tmp_path / "d", {"train": 2}, size=32)
    records = list_pairs(root, "train").records
    fake_gpu["gpu"] = 4 * 2 * 2 * 3 * 32 * 32
    assert plan_cache(records, paired_config(root), torch.device("cuda"), "auto")[0] == "device"


def test_cache_option_is_validated_by_the_config_loader() -> None:
    assert DataConfig().cache == "auto"
    assert from_dict(DataConfig, {"cache": "host"}).cache == "host"
    with pytest.raises(ConfigError, match="cache: 'gpu' is not one of"):
        from_dict(DataConfig, {"cache": "gpu"})


# --- CUDA ----------------------------------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("preprocess", PREPROCESS)
@pytest.mark.parametrize("mode", MODES)
def test_augment_batch_on_cuda_matches_cpu(preprocess: str, mode: str) -> None:
    """On the GPU the same parameters are applied; interpolation kernels round differently, within 1e-5."""
    cfg = config(preprocess, resize_mode=mode)
    for i, (ca, cb, size_a, size_b) in enumerate(PAIR_SHAPES):
        a, b = uint8_batch(len(SEEDS), ca, size_a, seed=i), uint8_batch(len(SEEDS), cb, size_b, seed=100 + i)
        cpu_a, cpu_b = augment_batch(a, b, SEEDS, cfg)
        gpu_a, gpu_b = augment_batch(a.cuda(), b.cuda(), SEEDS, cfg)
        assert gpu_a.is_cuda and gpu_b.is_cuda
        torch.testing.assert_close(gpu_a.cpu(), cpu_a, rtol=0, atol=1e-5)
        torch.testing.assert_close(gpu_b.cpu(), cpu_b, rtol=0, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.parametrize("placement", ["device", "host"])
def test_pair_cache_on_cuda(aligned_dataset: Path, placement: str) -> None:
    """Device and pinned-host caches give CUDA batches matching the CPU dataset path within 1e-5."""
    cfg = paired_config(aligned_dataset)
    records = list_pairs(aligned_dataset, "train").records
    cache = PairCache(records, cfg, torch.device("cuda"), placement)
    assert cache.a.is_cuda if placement == "device" else cache.a.is_pinned()
    dataset = PairedDataset(records, cfg, train=True)
    keys = sampler_keys(len(records))
    got, want = cache.batch(keys), default_collate([dataset[k] for k in keys])
    assert got["a"].is_cuda and got["b"].is_cuda and not got["index"].is_cuda
    torch.testing.assert_close(got["a"].cpu(), want["a"], rtol=0, atol=1e-5)
    torch.testing.assert_close(got["b"].cpu(), want["b"], rtol=0, atol=1e-5)
    assert torch.equal(got["index"], want["index"]) and got["path_a"] == want["path_a"]
