"""TrainConfig: length, schedule, cadence of logging/validation/checkpoints, and the device."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from i2i.config import check_bounds, opt
from i2i.errors import ConfigError
from i2i.training.precision import PrecisionName

_EVERY = re.compile(r"^\s*(\d+)\s*(steps?|epochs?)?\s*$")

MemoryFormat = Literal["auto", "channels_last", "contiguous"]


@dataclass(frozen=True)
class Every:
    """A cadence: every ``n`` steps or epochs; n = 0 means never."""

    n: int
    unit: Literal["step", "epoch"]

    @staticmethod
    def parse(value: str, field: str) -> Every:
        """'500 steps', '1 epoch', a bare number (steps) or 'never'."""
        if value.strip().lower() in ("never", "none"):
            return Every(0, "step")
        m = _EVERY.match(value.lower())
        if not m:
            raise ConfigError(f"{field}: expected e.g. '500 steps', '1 epoch' or 'never', got {value!r}")
        return Every(int(m.group(1)), "epoch" if (m.group(2) or "").startswith("epoch") else "step")

    def due(self, unit: str, count: int) -> bool:
        """True when ``count`` (completed steps or epochs, matching ``unit``) hits this cadence."""
        return self.n > 0 and unit == self.unit and count % self.n == 0


@dataclass
class TrainConfig:
    batch_size: int = opt(1, "images per optimizer step", ge=1, le=65536)
    n_epochs: int = opt(100, "epochs at the initial learning rate", ge=0)
    n_epochs_decay: int = opt(100, "epochs of linear learning-rate decay to zero after n_epochs", ge=0)
    max_steps: int | None = opt(
        None, "stop after this many steps (the learning-rate schedule still counts epochs)", ge=1
    )
    log_every: str = opt("50 steps", "how often losses go to the progress bar, TensorBoard and metrics.jsonl")
    sample_every: str = opt("1 epoch", "how often a sample grid (input | output | target) is written")
    val_every: str = opt("1 epoch", "how often the validation split is scored (by the method's metrics)")
    checkpoint_every: str = opt("1 epoch", "how often checkpoints/last.pt is rewritten")
    keep_every: str = opt("never", "how often a permanent checkpoints/step_XXXXXXX.pt is kept")
    best_metric: str | None = opt(
        None,
        "validation metric that selects checkpoints/best.pt, one the method reports (e.g. psnr, cycle_ssim, idt_l1); "
        "null: keep the final weights only",
    )
    num_samples: int = opt(4, "validation images shown in each sample grid (0: no sample grids)", ge=0, le=256)
    val_max_images: int | None = opt(None, "score at most this many validation images (null: all)", ge=1)
    device: str = opt("auto", "auto (CUDA if available), cpu, cuda or cuda:N")
    deterministic: bool = opt(False, "use deterministic algorithms (bitwise reproducible, slower on GPUs)")
    precision: PrecisionName = opt(
        "auto", "forward-pass precision: auto (bf16 on GPUs that have it, else fp16; fp32 on CPUs), bf16, fp16, fp32"
    )
    memory_format: MemoryFormat = opt(
        "auto", "tensor layout: channels_last (faster convolutions on GPUs), contiguous, auto (channels_last on GPUs)"
    )
    compile: bool = opt(False, "torch.compile the networks (GPUs: faster steps after a minute or two of compiling)")
    cuda_graphs: bool = opt(
        True, "on a single GPU, capture the whole training step as a CUDA graph after a few warm-up steps"
    )
    progress: bool = opt(True, "show a progress bar")
    tensorboard: bool = opt(True, "write TensorBoard event files to the run folder")

    def __post_init__(self) -> None:
        check_bounds(self)
        if self.n_epochs + self.n_epochs_decay < 1:
            raise ConfigError(
                f"n_epochs_decay: n_epochs + n_epochs_decay must be at least 1, got {self.n_epochs} + "
                f"{self.n_epochs_decay}"
            )
        for name in ("log_every", "sample_every", "val_every", "checkpoint_every", "keep_every"):
            Every.parse(getattr(self, name), name)

    @property
    def total_epochs(self) -> int:
        return self.n_epochs + self.n_epochs_decay

    def every(self, name: str) -> Every:
        """The parsed cadence of field ``name`` (parsed once: the training loop asks after every step)."""
        cache = self.__dict__.setdefault("_every_cache", {})
        key = (name, getattr(self, name))
        if key not in cache:
            cache[key] = Every.parse(key[1], name)
        return cache[key]

    def lr_factor(self, epoch: int) -> float:
        """Learning-rate multiplier during 0-based ``epoch``: 1, then linear decay (the pix2pix/CycleGAN rule)."""
        return 1.0 - max(0, epoch + 1 - self.n_epochs) / float(self.n_epochs_decay + 1)
