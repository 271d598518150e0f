"""Pixels ↔ network arrays in numpy, computing what ``data.processing`` computes with torch: the same [-1, 1]
mapping, the same antialiased resampling (the kernel weights of ``torch.nn.functional.interpolate(...,
antialias=True)``, which are Pillow's), the same bottom/right padding and rounding, so both runtimes see the same
input.

Arrays are float32 (B, C, H, W) in [-1, 1]; images are uint8 (H, W, C).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


def to_network(images: list[np.ndarray]) -> np.ndarray:
    """(H, W, C) uint8 images of one size → float32 (B, C, H, W) in [-1, 1]."""
    batch = np.stack(images).transpose(0, 3, 1, 2).astype(np.float32)
    return batch / np.float32(127.5) - np.float32(1.0)


def to_images(x: np.ndarray) -> list[np.ndarray]:
    """Float (B, C, H, W) in [-1, 1] → (H, W, C) uint8 images, rounded to nearest (ties to even, as torch)."""
    y = np.round((np.clip(x, -1.0, 1.0) + np.float32(1.0)) * np.float32(127.5)).astype(np.uint8)
    return [np.ascontiguousarray(im.transpose(1, 2, 0)) for im in y]


def _bilinear(x: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - np.abs(x), 0.0, None)


def _bicubic(x: np.ndarray) -> np.ndarray:
    a = -0.5  # the antialiasing kernel's (Pillow's), not the -0.75 of torch's plain bicubic
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


_KERNELS = {"bilinear": (_bilinear, 1.0), "bicubic": (_bicubic, 2.0)}


@lru_cache(maxsize=64)
def _weights(in_size: int, out_size: int, mode: str) -> np.ndarray:
    """The (out_size, in_size) matrix of a 1-D antialiased resampling: each output sample's kernel weights over
    the input samples it covers, normalized to sum to 1."""
    kernel, radius = _KERNELS[mode]
    scale = in_size / out_size
    support = radius * scale if scale >= 1.0 else radius
    inv = 1.0 / scale if scale >= 1.0 else 1.0
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    for i in range(out_size):
        center = scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), in_size)
        taps = kernel((np.arange(lo, hi) - center + 0.5) * inv)
        total = taps.sum()
        matrix[i, lo:hi] = taps / total if total != 0 else taps
    return matrix.astype(np.float32)


def resize(x: np.ndarray, size: tuple[int, int], mode: str = "bicubic") -> np.ndarray:
    """Float (B, C, H, W) resized to ``size`` = (h, w), antialiased when shrinking, bicubic clamped to [-1, 1]."""
    height, width = x.shape[-2:]
    if (height, width) == tuple(size):
        return x
    if mode == "nearest":
        rows = np.minimum(np.floor((np.arange(size[0]) + 0.5) * (height / size[0])).astype(int), height - 1)
        cols = np.minimum(np.floor((np.arange(size[1]) + 0.5) * (width / size[1])).astype(int), width - 1)
        return np.ascontiguousarray(x[..., rows[:, None], cols[None, :]])
    rows = _weights(height, size[0], mode)
    cols = _weights(width, size[1], mode)
    out = np.einsum("oh,bchw,pw->bcop", rows, x, cols, optimize=True).astype(np.float32)
    return np.clip(out, -1.0, 1.0) if mode == "bicubic" else out


def short_side_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(h, w) scaled so that the shorter side equals ``short_side``, keeping the aspect ratio."""
    scale = short_side / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def pad_to_multiple(x: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Pads (B, C, H, W) on the bottom/right up to a multiple of ``multiple`` (reflection where the image is large
    enough, else replication); returns the padded array and the original (H, W)."""
    h, w = x.shape[-2:]
    ph = math.ceil(h / multiple) * multiple - h
    pw = math.ceil(w / multiple) * multiple - w
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "edge"
    return np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), mode=mode), (h, w)
