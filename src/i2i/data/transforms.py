"""Pair-aware, seeded augmentation: one set of geometric parameters drawn per sample and applied to A and B alike.

The parameters come from a per-sample seed (see ``training.sampler``), not from a global RNG, so a sample gets the
same crop and flip whichever worker or process loads it, and a resumed run repeats the exact augmentation stream.
Everything works on float tensors, so the same code runs per sample on the CPU or batched on a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from i2i.data.config import DataConfig
from i2i.data.processing import resize, short_side_size


@dataclass(frozen=True)
class PairParams:
    """Geometric augmentation of one pair: size after resizing, crop origin, horizontal flip."""

    resized: tuple[int, int]  # (h, w) after the resize step
    top: int
    left: int
    flip: bool


def sample_params(height: int, width: int, cfg: DataConfig, generator: torch.Generator) -> PairParams:
    """Draws the augmentation of one pair whose images are ``height`` × ``width`` (A and B alike)."""
    crop = cfg.crop_size
    if cfg.preprocess == "resize_and_crop":
        resized = (cfg.load_size, cfg.load_size)
    elif cfg.preprocess == "resize":
        resized = (crop, crop)
    else:  # crop at native scale; images smaller than the crop are scaled up first
        resized = (height, width) if min(height, width) >= crop else short_side_size(height, width, crop)
    # Draw all three numbers unconditionally so the stream layout does not depend on the image size.
    r = torch.rand(3, generator=generator)
    top = int(r[0] * (resized[0] - crop + 1))
    left = int(r[1] * (resized[1] - crop + 1))
    flip = bool(cfg.flip and r[2] < 0.5)
    return PairParams(resized, top, left, flip)


def apply_params(x: torch.Tensor, params: PairParams, cfg: DataConfig) -> torch.Tensor:
    """Applies resize → crop → flip to a float (C, H, W) or (B, C, H, W) tensor."""
    batched = x.dim() == 4
    x = x if batched else x.unsqueeze(0)
    x = resize(x, params.resized, cfg.resize_mode)
    crop = cfg.crop_size
    x = x[..., params.top : params.top + crop, params.left : params.left + crop]
    if params.flip:
        x = x.flip(-1)
    return x if batched else x.squeeze(0)


def augment_pair(a: torch.Tensor, b: torch.Tensor, cfg: DataConfig, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Augments a pair of float (C, H, W) tensors of equal size with parameters drawn from ``seed``."""
    if a.shape[-2:] != b.shape[-2:]:  # the data kinds refuse such pairs (load_pair); never resized silently here
        raise ValueError(f"the two images of a pair must be the same size, got {tuple(a.shape)} and {tuple(b.shape)}")
    generator = torch.Generator().manual_seed(seed)
    params = sample_params(a.shape[-2], a.shape[-1], cfg, generator)
    return apply_params(a, params, cfg), apply_params(b, params, cfg)
