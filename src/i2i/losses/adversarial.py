"""Adversarial objectives on discriminator logits (any shape, e.g. a PatchGAN grid)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

GANMode = Literal["vanilla", "lsgan", "hinge"]


class GANLoss(nn.Module):
    """GAN loss for a batch of logits, averaged over every patch.

    - ``vanilla``: binary cross-entropy on logits (Goodfellow et al. 2014; pix2pix eq. 1).
    - ``lsgan``: least squares towards 1 (real) and 0 (fake) (Mao et al. 2017; CycleGAN §4).
    - ``hinge``: max(0, 1 ∓ D) for the discriminator, −D for the generator (Lim & Ye 2017).

    Args:
        mode: one of the above.
    """

    def __init__(self, mode: GANMode = "vanilla") -> None:
        super().__init__()
        if mode not in ("vanilla", "lsgan", "hinge"):
            raise ValueError(f"unknown GAN mode '{mode}'")
        self.mode = mode

    def forward(self, logits: torch.Tensor, target_is_real: bool, for_discriminator: bool = True) -> torch.Tensor:
        logits = logits.float()  # the loss is computed in float32 even under autocast
        if self.mode == "vanilla":
            target = torch.ones_like(logits) if target_is_real else torch.zeros_like(logits)
            return F.binary_cross_entropy_with_logits(logits, target)
        if self.mode == "lsgan":
            target = torch.ones_like(logits) if target_is_real else torch.zeros_like(logits)
            return F.mse_loss(logits, target)
        if not for_discriminator:  # hinge, generator side
            return -logits.mean()
        return F.relu(1.0 - logits).mean() if target_is_real else F.relu(1.0 + logits).mean()
