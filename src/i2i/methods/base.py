"""The contract between a method (networks + objective) and the method-agnostic training loop.

A method owns its networks and computes its losses; the trainer owns optimizers, schedules, devices, logging and
checkpoints. The method never calls ``backward`` or ``optimizer.step`` itself: it hands each loss to
``StepContext.step(name, loss)``, which lets the trainer add mixed precision, gradient scaling or distributed
wrappers without the method knowing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import torch
from torch import nn

from i2i.config import Variant
from i2i.data.config import DataConfig
from i2i.models.base import GeneratorConfig
from i2i.registry import Registry

METHODS: Registry[type[Variant]] = Registry("method")

Batch = dict[str, torch.Tensor | list[str]]


@dataclass
class MethodConfig(Variant):
    """A training method's objective and networks; ``build`` makes the method for a dataset's channel counts."""

    registry: ClassVar[Registry[type[Variant]]] = METHODS
    default_name: ClassVar[str] = "pix2pix"

    def build(self, data: DataConfig) -> Method:
        raise NotImplementedError


@dataclass(frozen=True)
class OptimizerSpec:
    """What an optimizer needs from the method: its parameters and Adam hyper-parameters."""

    params: list[nn.Parameter]
    lr: float
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0


@dataclass
class StepOutput:
    """Result of one training step: detached scalar losses by name (logged and checked for NaN)."""

    losses: dict[str, torch.Tensor] = field(default_factory=dict)


class StepContext(Protocol):
    def step(self, name: str, loss: torch.Tensor) -> None:
        """Zeroes the gradients of optimizer ``name``, back-propagates ``loss`` and steps the optimizer."""


class Method(nn.Module):
    """Base class of training methods. Subclasses set ``config`` and implement the four methods below."""

    config: MethodConfig

    def networks(self) -> dict[str, nn.Module]:
        """Every network with trainable state, by a stable name used in checkpoints."""
        raise NotImplementedError

    def optimizer_specs(self) -> dict[str, OptimizerSpec]:
        raise NotImplementedError

    def training_step(self, batch: Batch, ctx: StepContext) -> StepOutput:
        raise NotImplementedError

    def translation(self) -> tuple[GeneratorConfig, nn.Module]:
        """The generator that maps the input domain to the output domain (what a release ships)."""
        raise NotImplementedError


def set_requires_grad(net: nn.Module, flag: bool) -> None:
    for p in net.parameters():
        p.requires_grad_(flag)
