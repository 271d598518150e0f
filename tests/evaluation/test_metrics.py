"""Image metrics: PSNR, SSIM and L1 on uint8 images, checked against scikit-image's definitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from i2i.evaluation.metrics import image_metrics, l1, psnr, ssim

FACADES = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "facades"


def sk_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def sk_psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(peak_signal_noise_ratio(a, b, data_range=255))


def random_image(rng: np.random.Generator, h: int, w: int, c: int) -> np.ndarray:
    return rng.integers(0, 256, (h, w, c), dtype=np.uint8)


def noisy(rng: np.random.Generator, image: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def smooth_image(rng: np.random.Generator, h: int, w: int, c: int) -> np.ndarray:
    """Gradients plus blocks: structure SSIM can find, unlike uniform noise."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = (yy * 255 / h)[..., None] * np.linspace(0.3, 1, c) + (xx * 100 / w)[..., None]
    for _ in range(4):
        y, x = rng.integers(0, h - 4), rng.integers(0, w - 4)
        base[y : y + h // 4, x : x + w // 4] = rng.integers(0, 256, c)
    return np.clip(base, 0, 255).astype(np.uint8)


SIZES = [(64, 80), (256, 256), (7, 7), (33, 17)]


@pytest.mark.parametrize(("h", "w"), SIZES)
@pytest.mark.parametrize("c", [1, 3])
def test_ssim_matches_skimage_on_random_images(h: int, w: int, c: int) -> None:
    """SSIM of two independent random images equals scikit-image's value."""
    rng = np.random.default_rng(h * 1000 + w + c)
    a, b = random_image(rng, h, w, c), random_image(rng, h, w, c)
    assert ssim(a, b) == pytest.approx(sk_ssim(a, b), abs=1e-9)


@pytest.mark.parametrize(("h", "w"), SIZES)
@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("sigma", [2.0, 25.0])
def test_ssim_matches_skimage_on_noisy_copies(h: int, w: int, c: int, sigma: float) -> None:
    """SSIM of a structured image and a noisy copy equals scikit-image's value (high and middling SSIM)."""
    rng = np.random.default_rng(7)
    a = smooth_image(rng, h, w, c) if min(h, w) >= 16 else random_image(rng, h, w, c)
    b = noisy(rng, a, sigma)
    expected = sk_ssim(a, b)
    assert ssim(a, b) == pytest.approx(expected, abs=1e-9)
    assert ssim(b, a) == pytest.approx(expected, abs=1e-9)


def test_ssim_noise_ordering() -> None:
    """More noise lowers SSIM; identical images give exactly 1."""
    rng = np.random.default_rng(1)
    a = smooth_image(rng, 64, 64, 3)
    little, lots = ssim(a, noisy(rng, a, 3)), ssim(a, noisy(rng, a, 40))
    assert 1.0 > little > lots > 0.0
    assert ssim(a, a.copy()) == pytest.approx(1.0, abs=1e-12)


def test_ssim_constant_images() -> None:
    """Flat images (zero variance) match scikit-image too, where only the constants keep SSIM finite."""
    a = np.full((32, 32, 3), 100, np.uint8)
    b = np.full((32, 32, 3), 140, np.uint8)
    assert ssim(a, b) == pytest.approx(sk_ssim(a, b), abs=1e-9)
    assert ssim(a, b) < 1.0


def test_ssim_too_small_raises() -> None:
    """SSIM needs at least a 7×7 window."""
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim(random_image(rng, 6, 6, 3), random_image(rng, 6, 6, 3))
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim(random_image(rng, 100, 6, 3), random_image(rng, 100, 6, 3))


@pytest.mark.parametrize(("h", "w", "c"), [(64, 80, 3), (256, 256, 3), (31, 45, 1), (7, 7, 3)])
@pytest.mark.parametrize("sigma", [1.0, 10.0, 80.0])
def test_psnr_matches_skimage(h: int, w: int, c: int, sigma: float) -> None:
    """PSNR on uint8 values with data range 255 equals scikit-image's value."""
    rng = np.random.default_rng(3)
    a = random_image(rng, h, w, c)
    b = noisy(rng, a, sigma)
    assert psnr(a, b) == pytest.approx(sk_psnr(a, b), abs=1e-4)
    assert psnr(b, a) == pytest.approx(sk_psnr(a, b), abs=1e-4)


def test_psnr_known_value() -> None:
    """An error of 1 everywhere gives 20·log10(255) dB; identical images give inf."""
    a = np.full((8, 8, 3), 10, np.uint8)
    assert psnr(a, a + 1) == pytest.approx(20 * np.log10(255), abs=1e-4)
    assert psnr(a, a.copy()) == float("inf")


def test_l1() -> None:
    """L1 is the mean absolute difference divided by 255, without uint8 wrap-around."""
    a = np.array([[[0], [255]], [[10], [20]]], np.uint8)
    b = np.array([[[255], [0]], [[20], [10]]], np.uint8)
    assert l1(a, b) == pytest.approx((255 + 255 + 10 + 10) / 4 / 255)
    assert l1(b, a) == pytest.approx(l1(a, b))
    rng = np.random.default_rng(0)
    x, y = random_image(rng, 16, 24, 3), random_image(rng, 16, 24, 3)
    assert l1(x, y) == pytest.approx(np.abs(x.astype(float) - y.astype(float)).mean() / 255)
    assert l1(x, x.copy()) == 0.0


@pytest.mark.parametrize("metric", [psnr, ssim, l1, image_metrics])
def test_mismatched_inputs_raise(metric) -> None:
    """Different shapes or non-uint8 images raise ValueError."""
    rng = np.random.default_rng(0)
    a = random_image(rng, 16, 16, 3)
    with pytest.raises(ValueError, match="one shape"):
        metric(a, random_image(rng, 16, 17, 3))
    with pytest.raises(ValueError, match="one shape"):
        metric(a, random_image(rng, 16, 16, 1))
    with pytest.raises(ValueError):
        metric(a, a.astype(np.float32))


def test_image_metrics_bundles_the_three() -> None:
    """image_metrics returns psnr, ssim and l1 of the pair."""
    rng = np.random.default_rng(5)
    a = smooth_image(rng, 32, 32, 3)
    b = noisy(rng, a, 10)
    assert image_metrics(a, b) == {"psnr": psnr(a, b), "ssim": ssim(a, b), "l1": l1(a, b)}


def test_metrics_on_real_facades_halves() -> None:
    """On real JPEG photo/label halves from the facades test split, PSNR and SSIM equal scikit-image's."""
    if not FACADES.is_dir():
        pytest.skip(f"shared facades dataset not found at {FACADES} (it sits beside the checkout in the workspace)")
    files = sorted((FACADES / "test").glob("*.jpg"))[:3]
    assert files, f"no test JPEGs in {FACADES / 'test'}"
    halves = []
    for path in files:
        pair = np.asarray(Image.open(path).convert("RGB"))
        w = pair.shape[1] // 2
        halves.append((pair[:, :w], pair[:, w : 2 * w]))
    pairs = [(a, b) for a, b in halves] + [(halves[0][0], halves[1][0]), (halves[0][1], halves[2][1])]
    for a, b in pairs:
        assert ssim(a, b) == pytest.approx(sk_ssim(a, b), abs=1e-9)
        assert psnr(a, b) == pytest.approx(sk_psnr(a, b), abs=1e-4)


def test_psnr_equals_torchmetrics() -> None:
    """Our PSNR is torchmetrics' (data range 255), computed without importing torchmetrics' heavy stack."""
    import torch
    from torchmetrics.functional.image import peak_signal_noise_ratio

    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-30, 31, a.shape), 0, 255).astype(np.uint8)
    as_t = lambda x: torch.tensor(x, dtype=torch.float64).permute(2, 0, 1)[None]  # noqa: E731
    expected = float(peak_signal_noise_ratio(as_t(a), as_t(b), data_range=255.0))
    assert psnr(a, b) == pytest.approx(expected, abs=1e-5)  # torchmetrics: log(10) in float32


# --- aggregates: one definition each, for validation and eval ----------------------------------------------------


def _noisy(image: np.ndarray, seed: int, sigma: float = 20.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image.astype(float) + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def test_paired_scores_are_means_of_the_per_image_metrics() -> None:
    from i2i.evaluation.metrics import PairedScores

    rng = np.random.default_rng(0)
    targets = [rng.integers(0, 256, (20, 24, 3), dtype=np.uint8) for _ in range(3)]
    outputs = [_noisy(t, i) for i, t in enumerate(targets)]
    scores = PairedScores()
    assert scores.means() == {}
    per_image = [scores.add(o, t) for o, t in zip(outputs, targets, strict=True)]
    with pytest.raises(ValueError):
        scores.add(np.zeros((5, 5, 3), np.uint8), np.zeros((5, 5, 3), np.uint8))  # under SSIM's window: not counted
    assert scores.count == 3
    for key in ("psnr", "ssim", "l1"):
        assert scores.means()[key] == pytest.approx(np.mean([m[key] for m in per_image]))


def test_cycle_scores_count_each_image_once_and_average_the_domains() -> None:
    from i2i.evaluation.metrics import CycleScores, cycle_metrics

    rng = np.random.default_rng(1)
    a = [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(2)]
    b = [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(3)]
    scores = CycleScores()
    per_a = [scores.add("a", f"a{i}", im, _noisy(im, i), _noisy(im, 10 + i, 5)) for i, im in enumerate(a)]
    per_b = [scores.add("b", f"b{i}", im, _noisy(im, 20 + i), _noisy(im, 30 + i, 5)) for i, im in enumerate(b)]
    assert scores.add("a", "a0", a[0], a[0], a[0]) is None  # a repeat (validation cycles the smaller domain)
    means = scores.means()
    assert set(means) == set(cycle_metrics(identity=True))
    for name in ("cycle_psnr", "cycle_ssim", "idt_l1"):
        mean_a = np.mean([s[name] for s in per_a])
        mean_b = np.mean([s[name] for s in per_b])
        assert means[f"{name}_a"] == pytest.approx(mean_a) and means[f"{name}_b"] == pytest.approx(mean_b)
        assert means[name] == pytest.approx((mean_a + mean_b) / 2)  # not weighted by the domains' sizes
    assert cycle_metrics(identity=True)["idt_l1"] == "min" and cycle_metrics(identity=True)["cycle_psnr"] == "max"


def test_cycle_scores_add_many_counts_nothing_when_one_image_fails() -> None:
    from i2i.evaluation.metrics import CycleScores

    good = np.full((16, 16, 3), 100, np.uint8)
    tiny = np.full((4, 4, 3), 100, np.uint8)
    scores = CycleScores()
    with pytest.raises(ValueError):
        scores.add_many([("a", "x", good, good, None), ("b", "y", tiny, tiny, None)])
    assert scores.count("a") == scores.count("b") == 0 and scores.means() == {}
    assert set(scores.add("a", "x", good, _noisy(good, 0)) or {}) == {"cycle_psnr", "cycle_ssim"}
