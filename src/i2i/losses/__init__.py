"""Objectives as small modules: adversarial losses and reconstruction terms."""

from i2i.losses.adversarial import GANLoss, GANMode

__all__ = ["GANLoss", "GANMode"]
