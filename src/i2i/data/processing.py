"""Pixels ↔ tensors, shared by training, evaluation, translation and the demo.

Network tensors are float (B, C, H, W) in [-1, 1]; images on disk and in memory are uint8 (H, W, C).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from i2i.portable.pixels import short_side_size  # noqa: F401  (re-exported: one rule for both runtimes)


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """(H, W, C) uint8 → (C, H, W) float32 in [-1, 1]."""
    # Arrays from Pillow are read-only; torch warns on those, so they are copied (the float conversion copies anyway).
    t = torch.from_numpy(np.require(array, requirements=("C", "W"))).permute(2, 0, 1)
    return normalize(t)


def normalize(t: torch.Tensor) -> torch.Tensor:
    """uint8 (or float in [0, 255]) → float32 in [-1, 1]."""
    return t.to(torch.float32) / 127.5 - 1.0


def denormalize(t: torch.Tensor) -> torch.Tensor:
    """Float in [-1, 1] → uint8 in [0, 255], rounded to nearest."""
    return ((t.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)


def to_uint8_image(t: torch.Tensor) -> np.ndarray:
    """(C, H, W) float in [-1, 1] → (H, W, C) uint8 array."""
    return denormalize(t).permute(1, 2, 0).cpu().numpy()


def resize(x: torch.Tensor, size: tuple[int, int], mode: str = "bicubic") -> torch.Tensor:
    """Resizes float (B, C, H, W) in [-1, 1] to ``size`` = (h, w); antialiased when shrinking, as Pillow does."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest-exact")
    out = F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=True)
    # Bicubic overshoots at edges; images stay in [-1, 1] as Pillow's uint8 resize keeps them in range.
    return out.clamp_(-1.0, 1.0) if mode == "bicubic" else out


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pads (B, C, H, W) on the bottom/right up to a multiple of ``multiple``; returns the padded tensor and (H, W).

    Reflection padding where the image is large enough (it continues textures), replication otherwise.
    """
    h, w = x.shape[-2:]
    ph = math.ceil(h / multiple) * multiple - h
    pw = math.ceil(w / multiple) * multiple - w
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undoes pad_to_multiple: keeps the top-left (h, w)."""
    return x[..., : size[0], : size[1]]
