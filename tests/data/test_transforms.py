"""Tests for i2i.data.transforms (seeded pair augmentation) and i2i.data.processing (pixels ↔ tensors)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from i2i.data.config import DataConfig
from i2i.data.processing import (
    crop_to,
    denormalize,
    pad_to_multiple,
    resize,
    short_side_size,
    to_tensor,
    to_uint8_image,
)
from i2i.data.transforms import PairParams, apply_params, augment_pair, sample_params
from i2i.imageio import resize_image

PREPROCESS = ["resize_and_crop", "crop", "resize"]
SIZES = [(64, 64), (30, 100), (300, 200), (10, 10), (32, 33), (1, 500)]


def config(preprocess: str = "resize_and_crop", **overrides: object) -> DataConfig:
    """A DataConfig with 32-pixel crops from 40-pixel resizes unless overridden."""
    options: dict[str, object] = {"load_size": 40, "crop_size": 32, "preprocess": preprocess, **overrides}
    return DataConfig(**options)  # type: ignore[arg-type]


def params(height: int, width: int, cfg: DataConfig, seed: int) -> PairParams:
    """sample_params with a fresh generator seeded with ``seed``."""
    return sample_params(height, width, cfg, torch.Generator().manual_seed(seed))


def random_image(channels: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A float (C, H, W) tensor in [-1, 1]."""
    return torch.rand(channels, height, width, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# --- sample_params -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preprocess", PREPROCESS)
def test_sample_params_is_reproducible(preprocess: str) -> None:
    """The same seed draws the same parameters; a generator's stream gives a fixed sequence."""
    cfg = config(preprocess)
    assert params(100, 80, cfg, 123) == params(100, 80, cfg, 123)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    seq1 = [sample_params(100, 80, cfg, g1) for _ in range(10)]
    seq2 = [sample_params(100, 80, cfg, g2) for _ in range(10)]
    assert seq1 == seq2
    if preprocess != "resize":
        assert len({(p.top, p.left) for p in seq1}) > 1


def test_sample_params_stream_layout_does_not_depend_on_size() -> None:
    """Every draw consumes the same random numbers, so what follows is independent of the image size."""
    cfg = config("crop")
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    sample_params(20, 20, cfg, g1)
    sample_params(500, 300, cfg, g2)
    assert torch.equal(torch.rand(4, generator=g1), torch.rand(4, generator=g2))


@pytest.mark.parametrize("preprocess", PREPROCESS)
def test_sample_params_crops_stay_in_bounds(preprocess: str) -> None:
    """For every mode, size and seed the crop window lies inside the resized image."""
    cfg = config(preprocess)
    for height, width in SIZES:
        for seed in range(200):
            p = params(height, width, cfg, seed)
            assert 0 <= p.top <= p.resized[0] - cfg.crop_size, (height, width, seed, p)
            assert 0 <= p.left <= p.resized[1] - cfg.crop_size, (height, width, seed, p)


def test_sample_params_resized_sizes() -> None:
    """resize_and_crop resizes to load_size, resize to crop_size, crop keeps a large enough native size."""
    assert params(100, 70, config("resize_and_crop"), 0).resized == (40, 40)
    resized_only = params(100, 70, config("resize"), 0)
    assert (resized_only.resized, resized_only.top, resized_only.left) == ((32, 32), 0, 0)
    assert params(100, 70, config("crop"), 0).resized == (100, 70)


def test_sample_params_crop_scales_small_images_up() -> None:
    """preprocess=crop on an image smaller than crop_size scales it up, keeping the aspect ratio."""
    cfg = config("crop")
    assert params(20, 40, cfg, 0).resized == (32, 64)
    assert params(16, 16, cfg, 0).resized == (32, 32)
    p = params(10, 100, cfg, 3)
    assert p.resized == (32, 320) and p.top == 0 and 0 <= p.left <= 288


def test_sample_params_without_flip_never_flips() -> None:
    """flip=False: no seed flips."""
    cfg = config(flip=False)
    assert not any(params(64, 64, cfg, seed).flip for seed in range(300))


def test_sample_params_flips_about_half_the_time() -> None:
    """flip=True: about half of the seeds flip."""
    cfg = config(flip=True)
    flips = sum(params(64, 64, cfg, seed).flip for seed in range(400))
    assert 150 < flips < 250


# --- apply_params / augment_pair -----------------------------------------------------------------------------------


@pytest.mark.parametrize("preprocess", PREPROCESS)
@pytest.mark.parametrize("mode", ["bicubic", "bilinear", "nearest"])
def test_apply_params_batched_matches_unbatched(preprocess: str, mode: str) -> None:
    """(C, H, W) and the same images batched as (B, C, H, W) get identical results."""
    cfg = config(preprocess, resize_mode=mode)
    x, y = random_image(3, 50, 45, seed=1), random_image(3, 50, 45, seed=2)
    for seed in range(5):
        p = params(50, 45, cfg, seed)
        single = apply_params(x, p, cfg)
        assert single.shape == (3, 32, 32)
        assert torch.equal(apply_params(x.unsqueeze(0), p, cfg), single.unsqueeze(0))
        batch = apply_params(torch.stack([x, y]), p, cfg)
        assert batch.shape == (2, 3, 32, 32)
        torch.testing.assert_close(batch[0], single, rtol=0, atol=1e-6)
        torch.testing.assert_close(batch[1], apply_params(y, p, cfg), rtol=0, atol=1e-6)


def test_apply_params_crop_and_flip_values() -> None:
    """At native scale the output is exactly the window at (top, left), mirrored when flip is set."""
    cfg = config("crop")
    x = random_image(1, 40, 50)
    out = apply_params(x, PairParams((40, 50), 3, 7, False), cfg)
    assert torch.equal(out, x[:, 3:35, 7:39])
    out = apply_params(x, PairParams((40, 50), 3, 7, True), cfg)
    assert torch.equal(out, x[:, 3:35, 7:39].flip(-1))


def test_augment_pair_uses_one_draw_for_both() -> None:
    """augment_pair crops and flips A and B with the same parameters, drawn from the seed."""
    cfg = config("crop")
    a = random_image(3, 48, 48, seed=1)
    b = random_image(1, 48, 48, seed=2)
    for seed in range(10):
        out_a, out_b = augment_pair(a, b, cfg, seed)
        p = params(48, 48, cfg, seed)
        assert torch.equal(out_a, apply_params(a, p, cfg))
        assert torch.equal(out_b, apply_params(b, p, cfg))
        assert out_a.shape == (3, 32, 32) and out_b.shape == (1, 32, 32)


# --- processing: tensors -------------------------------------------------------------------------------------------


def test_uint8_round_trip_is_exact() -> None:
    """to_tensor → to_uint8_image gives back every uint8 value exactly, for 1 and 3 channels."""
    values = np.arange(256, dtype=np.uint8)
    for channels in (1, 3):
        image = np.stack([np.roll(values, c) for c in range(channels)], axis=-1).reshape(16, 16, channels)
        t = to_tensor(image)
        assert t.shape == (channels, 16, 16) and t.dtype == torch.float32
        assert t.min().item() == -1.0 and t.max().item() == 1.0
        back = to_uint8_image(t)
        assert back.dtype == np.uint8
        np.testing.assert_array_equal(back, image)


def test_denormalize_clamps_and_rounds() -> None:
    """denormalize maps [-1, 1] to 0..255, clamps outside values and rounds to nearest."""
    t = torch.tensor([-3.0, -1.0, 0.0, 1.0, 5.0, 1.4 / 127.5 - 1, 1.6 / 127.5 - 1])
    assert denormalize(t).tolist() == [0, 0, 128, 255, 255, 1, 2]
    assert denormalize(t).dtype == torch.uint8


def test_to_tensor_accepts_read_only_arrays_without_warning() -> None:
    """Arrays from Pillow are read-only; to_tensor converts them without torch's non-writable warning."""
    code = (
        "import warnings, numpy as np\n"
        "warnings.simplefilter('error')\n"
        "from i2i.data.processing import to_tensor\n"
        "a = np.full((4, 4, 1), 255, dtype=np.uint8); a.flags.writeable = False\n"
        "t = to_tensor(a)\n"
        "assert t.shape == (1, 4, 4) and float(t.min()) == 1.0\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


# --- processing: padding and resizing ------------------------------------------------------------------------------


def test_pad_to_multiple_and_crop_to_round_trip_odd_size() -> None:
    """A 37×91 image pads to 64×96 and crops back exactly; the pad reflects the image."""
    x = random_image(3, 37, 91).unsqueeze(0)
    padded, size = pad_to_multiple(x, 32)
    assert padded.shape == (1, 3, 64, 96) and size == (37, 91)
    assert torch.equal(crop_to(padded, size), x)
    assert torch.equal(padded[..., 37, :91], x[..., 35, :])  # reflect: the edge row is not repeated
    assert torch.equal(padded[..., 63, :91], x[..., 9, :])
    assert torch.equal(padded[..., :37, 91], x[..., :, 89])


def test_pad_to_multiple_larger_than_image_replicates() -> None:
    """A 5×5 image padded to 32 (more than the image) replicates its edges instead of failing."""
    x = random_image(2, 5, 5).unsqueeze(0)
    padded, size = pad_to_multiple(x, 32)
    assert padded.shape == (1, 2, 32, 32) and size == (5, 5)
    assert torch.equal(crop_to(padded, size), x)
    assert torch.equal(padded[..., 31, 31], x[..., 4, 4])
    assert torch.equal(padded[..., 20, :5], x[..., 4, :])
    assert torch.equal(padded[..., :5, 20], x[..., :, 4])


def test_pad_to_multiple_already_a_multiple_is_unchanged() -> None:
    """An image whose sides are multiples already comes back as it is."""
    x = random_image(3, 64, 32).unsqueeze(0)
    padded, size = pad_to_multiple(x, 32)
    assert padded is x and size == (64, 32)


@pytest.mark.parametrize("size", [(37, 37), (8, 8), (3, 19)])
def test_resize_bicubic_stays_in_range(size: tuple[int, int]) -> None:
    """Bicubic overshoot on a ±1 checkerboard is clamped: values stay within [-1, 1]."""
    board = (torch.arange(16).view(4, 4) + torch.arange(16).view(4, 4).T) % 2 * 2.0 - 1.0
    x = board.repeat(3, 4, 4).unsqueeze(0)  # (1, 3, 16, 16) of exactly -1 and 1
    out = resize(x, size, "bicubic")
    assert out.shape == (1, 3, *size)
    assert out.min() >= -1.0 and out.max() <= 1.0


def test_resize_modes_and_same_size() -> None:
    """Same size returns the input; nearest keeps input values; bilinear gives the requested size."""
    x = random_image(3, 10, 12).unsqueeze(0)
    assert resize(x, (10, 12)) is x
    nearest = resize(x, (20, 24), "nearest")
    assert nearest.shape == (1, 3, 20, 24)
    assert torch.equal(nearest[..., ::2, ::2], x)
    assert resize(x, (5, 7), "bilinear").shape == (1, 3, 5, 7)


def test_short_side_size_keeps_aspect_ratio() -> None:
    """The shorter side becomes the target; the longer one scales by the same factor."""
    assert short_side_size(100, 200, 50) == (50, 100)
    assert short_side_size(300, 200, 256) == (384, 256)
    assert short_side_size(256, 256, 128) == (128, 128)
    h, w = short_side_size(333, 517, 256)
    assert h == 256 and abs(w / h - 517 / 333) < 0.01
    assert short_side_size(1, 1000, 2) == (2, 2000)


@pytest.mark.parametrize("channels", [1, 3])
def test_resize_image_returns_requested_size(channels: int) -> None:
    """resize_image gives (h, w, C) uint8 and keeps a flat colour flat."""
    image = np.full((30, 40, channels), 77, dtype=np.uint8)
    out = resize_image(image, (17, 53))
    assert out.shape == (17, 53, channels) and out.dtype == np.uint8
    assert (out == 77).all()
    assert resize_image(image, (30, 40)) is image
    noise = np.random.default_rng(0).integers(0, 256, (30, 40, channels), dtype=np.uint8)
    assert resize_image(noise, (60, 20)).shape == (60, 20, channels)
