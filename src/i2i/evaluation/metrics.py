"""Per-image quality metrics on uint8 images, defined as the reference figures in our README define them.

- PSNR: on the uint8 values, data range 255 (as torchmetrics and scikit-image define it).
- SSIM: scikit-image's ``structural_similarity(a, b, channel_axis=2, data_range=255)``: a 7×7 uniform window,
  sample covariances, K1 = 0.01, K2 = 0.03, the mean over the window-valid area, averaged over channels.
  torchmetrics' SSIM uses a Gaussian window and population covariances, which gives different numbers, so SSIM is
  computed here with torch convolutions to match the published definition exactly (tests compare with skimage).
- L1: mean absolute difference of pixel values scaled to [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _as_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, C) uint8 → (1, C, H, W) float64."""
    return torch.tensor(image, dtype=torch.float64).permute(2, 0, 1).unsqueeze(0)


def psnr(output: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two (H, W, C) uint8 images; inf when they are identical."""
    _check(output, target)
    if np.array_equal(output, target):
        return float("inf")
    # 10·log10(255² / MSE) over every value, in float64: torchmetrics' and scikit-image's definition. Computed
    # here because importing torchmetrics also imports whatever text and plotting stacks are installed (30 s and
    # more on a fresh machine, seen at the first validation of a GPU run).
    mse = np.mean((output.astype(np.float64) - target.astype(np.float64)) ** 2)
    return float(10.0 * np.log10(255.0**2 / mse))


def ssim(output: np.ndarray, target: np.ndarray, win_size: int = 7) -> float:
    """Structural similarity of two (H, W, C) uint8 images, identical to scikit-image's definition."""
    _check(output, target)
    if min(output.shape[:2]) < win_size:
        raise ValueError(f"SSIM needs images of at least {win_size}x{win_size}, got {output.shape[:2]}")
    x, y = _as_tensor(output), _as_tensor(target)
    channels = x.shape[1]
    kernel = torch.full((channels, 1, win_size, win_size), 1.0 / win_size**2, dtype=torch.float64)

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, kernel, groups=channels)  # 'valid' windows only, as skimage's cropped mean

    n = win_size**2
    cov_norm = n / (n - 1)  # sample covariance
    ux, uy = filt(x), filt(y)
    vx = cov_norm * (filt(x * x) - ux * ux)
    vy = cov_norm * (filt(y * y) - uy * uy)
    vxy = cov_norm * (filt(x * y) - ux * uy)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return float(s.mean(dim=(2, 3)).mean())


def l1(output: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute difference, with pixel values scaled to [0, 1]."""
    _check(output, target)
    return float(np.abs(output.astype(np.float64) - target.astype(np.float64)).mean() / 255.0)


PSNR_CAP = 100.0  # dB; identical images would give inf, which no mean (or JSON file) survives


def image_metrics(output: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """PSNR (capped at PSNR_CAP), SSIM and L1 of one image pair; raises ValueError if SSIM is undefined."""
    return {
        "psnr": min(psnr(output, target), PSNR_CAP),
        "ssim": ssim(output, target),
        "l1": l1(output, target),
    }


def _check(output: np.ndarray, target: np.ndarray) -> None:
    if output.shape != target.shape or output.dtype != np.uint8 or target.dtype != np.uint8:
        raise ValueError(f"expected two uint8 images of one shape, got {output.shape} and {target.shape}")
