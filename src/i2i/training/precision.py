"""Mixed precision: which float type the forward passes run in, and whether gradients need loss scaling.

``auto`` picks bf16 on GPUs that support it (as fast as fp16 and needs no loss scaling, since its exponent range
is fp32's), fp16 with a gradient scaler on older GPUs, and fp32 on CPUs, where autocast is slower than fp32 for
convolutions. Weights, optimizer state and the losses' reductions stay fp32 in every mode.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

import torch

from i2i.errors import ConfigError

PrecisionName = Literal["auto", "bf16", "fp16", "fp32"]

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


@dataclass(frozen=True)
class Precision:
    """A resolved precision: ``name`` is bf16, fp16 or fp32; ``dtype`` is autocast's type (None: no autocast)."""

    name: str
    device_type: str

    @property
    def dtype(self) -> torch.dtype | None:
        return _DTYPES[self.name]

    @property
    def needs_scaler(self) -> bool:
        """fp16's narrow exponent underflows small gradients unless the loss is scaled up first."""
        return self.name == "fp16"

    def autocast(self, cache_enabled: bool = True) -> contextlib.AbstractContextManager:
        """The forward-pass context; a no-op for fp32. CUDA-graph capture needs ``cache_enabled=False``."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype, cache_enabled=cache_enabled)


def resolve_precision(name: str, device: torch.device) -> Precision:
    """``auto`` → bf16 on bf16-capable GPUs, fp16 on other GPUs, fp32 on CPUs; other names as given."""
    if name == "auto":
        if device.type == "cuda":
            name = "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
        else:
            name = "fp32"
    if name not in _DTYPES:
        raise ConfigError(f"precision: expected auto, bf16, fp16 or fp32, got {name!r}")
    return Precision(name, device.type)
