"""Device names → torch devices: 'auto' picks CUDA when it is available."""

from __future__ import annotations

import torch

from i2i.errors import I2IError


def resolve_device(name: str) -> torch.device:
    """'auto' → cuda if available else cpu; 'cpu', 'cuda', 'cuda:N' as given, refused when CUDA is missing."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise I2IError(f"unknown device '{name}' (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise I2IError(f"device '{name}' asked for, but CUDA is not available on this machine")
    return device
