"""The contract between a method (networks + objective) and the method-agnostic training loop.

A method owns its networks and computes its losses; the trainer owns optimizers, schedules, devices, logging and
checkpoints. The method never calls ``backward`` or ``optimizer.step`` itself: it hands each loss to
``StepContext.step(name, loss)``, which lets the trainer add mixed precision, gradient scaling or distributed
wrappers without the method knowing. A method's config also declares what the rest of i2i needs to know without
building it: the data kind it reads, the generators that translate (``GeneratorSlot``: what releases ship) and the
validation metrics it reports with which way each is better (what ``train.best_metric`` may name).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
import torch
from torch import nn

from i2i.config import Variant
from i2i.data.config import DataConfig
from i2i.data.kinds import Example, ScanReport
from i2i.errors import ConfigError
from i2i.evaluation.metrics import Goal
from i2i.inference.preprocessing import Preprocessing
from i2i.models.base import GeneratorConfig
from i2i.registry import Registry

METHODS: Registry[type[Variant]] = Registry("method")

# Ranges shared by the methods' options (``opt(..., **LEARNING_RATE)``). torch.optim.Adam takes betas in [0, 1) and
# a positive learning rate; an Adam step moves each weight by about lr, so an lr above 1 cannot train. The papers'
# loss weights go up to 1000 (U-GAT-IT's CAM weight); a weight above 1e6 is a typo, and far above it the weighted
# loss overflows float32.
LEARNING_RATE = {"gt": 0, "le": 1}
ADAM_BETA = {"ge": 0, "lt": 1}
LOSS_WEIGHT = {"ge": 0, "le": 1e6}

Batch = dict[str, torch.Tensor | list[str]]


@dataclass(frozen=True)
class GeneratorSlot:
    """A generator of a method that translates, as a release ships it: its network's name in ``Method.networks()``
    (and in checkpoints), its architecture and channels, and whether it maps the output domain back to the input
    domain (the second generator of two-way methods)."""

    network: str
    config: GeneratorConfig
    in_channels: int
    out_channels: int
    reverse: bool = False

    def build(self) -> nn.Module:
        return self.config.build(self.in_channels, self.out_channels)


@dataclass(frozen=True)
class ClassifierSlot:
    """The classifier of a method that classifies, as a release ships it: its network's name in
    ``Method.networks()``, its architecture, input channels and category names (in label order)."""

    network: str
    config: Any  # a ClassifierNetConfig
    in_channels: int
    labels: list[str]

    def build(self) -> nn.Module:
        return self.config.build(self.in_channels, len(self.labels))


@dataclass
class MethodConfig(Variant):
    """A training method's objective and networks; ``build`` makes the method for a dataset's channel counts."""

    registry: ClassVar[Registry[type[Variant]]] = METHODS
    default_name: ClassVar[str] = "pix2pix"
    data_kind: ClassVar[str] = "paired"  # which i2i.data.DATA_KINDS entry feeds this method
    # Options left null in a recipe and filled from the training data when a run starts (``adopt_data``); a resume
    # takes them from the checkpoint's config.
    data_bound: ClassVar[tuple[str, ...]] = ()

    def build(self, data: DataConfig) -> Method:
        raise NotImplementedError

    def adopt_data(self, report: ScanReport) -> None:
        """Fills (or checks) ``data_bound`` options from the scan of the training split, before ``build``."""

    def classifier_slot(self, data: DataConfig) -> ClassifierSlot | None:
        """The classifier a release ships, for methods that classify (None for translating methods)."""
        return None

    def generator_slots(self, data: DataConfig) -> list[GeneratorSlot]:
        """The generators that translate, the one of the trained direction first (see ``GeneratorSlot``)."""
        raise NotImplementedError

    def validation_metrics(self, data: DataConfig) -> dict[str, Goal]:
        """Every metric the method's validation reports, and whether higher ("max") or lower ("min") is better."""
        raise NotImplementedError


def check_single_map_discriminator(cfg: MethodConfig) -> None:
    """For methods whose adversarial loss takes one logit map per image (pix2pix, CycleGAN): refuses a
    discriminator config whose network also returns CAM logits (``returns_cam``)."""
    disc = cfg.discriminator  # type: ignore[attr-defined]
    if getattr(disc, "returns_cam", False):
        raise ConfigError(
            f"discriminator.name: {cfg.name} needs a discriminator with one logit map (patchgan); {disc.name} "
            "also returns CAM logits (it is U-GAT-IT's)"
        )


def check_crop_fits(cfg: MethodConfig, data: DataConfig) -> None:
    """Training crops must be large enough for the discriminator's depth (``min_size``) and, for a generator built
    for one input size (``fixed_size``), be that size; checked before any network is built."""
    gen, disc = cfg.generator, cfg.discriminator  # type: ignore[attr-defined]
    if gen.fixed_size is not None and gen.fixed_size != data.crop_size:
        raise ConfigError(
            f"data.crop_size ({data.crop_size}) must equal the input size the generator is built for "
            f"({gen.fixed_size}, method.generator.img_size)"
        )
    need = getattr(disc, "min_size", 1)
    if data.crop_size < need:
        raise ConfigError(
            f"data.crop_size ({data.crop_size}) is too small for a {disc.n_layers}-layer {disc.name} discriminator "
            f"(method.discriminator.n_layers); it needs crops of at least {need} pixels: raise the crop or lower "
            "the depth"
        )


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


class Validation(Protocol):
    """One validation round of a method: scores examples one by one and reports the means of its metrics."""

    def score(self, example: Example) -> list[np.ndarray]:
        """Scores one example and returns its sample-grid row; raises ValueError (scoring nothing) when a metric
        is undefined for it (e.g. an image smaller than SSIM's window)."""

    def metrics(self) -> dict[str, float]:
        """The means so far, by the names of ``MethodConfig.validation_metrics`` (empty before any example), and
        any finer figures worth logging (e.g. ``accuracy/<category>``)."""


class StepContext(Protocol):
    def step(self, name: str, loss: torch.Tensor) -> None:
        """Zeroes the gradients of optimizer ``name``, back-propagates ``loss`` and steps the optimizer."""


class Method(nn.Module):
    """Base class of training methods. Subclasses set ``config`` and implement the methods below."""

    config: MethodConfig
    sample_tag: ClassVar[str] = "samples"  # TensorBoard tag of the sample grids (names the grid's columns)
    # True when ``training_step`` makes no host-side decision (Python random draws, ``.item()``, data-dependent
    # branches): the whole step can then be captured once as a CUDA graph and replayed.
    graph_safe: ClassVar[bool] = False

    def networks(self) -> dict[str, nn.Module]:
        """Every network with trainable state, by a stable name used in checkpoints."""
        raise NotImplementedError

    def optimizer_specs(self) -> dict[str, OptimizerSpec]:
        raise NotImplementedError

    def training_step(self, batch: Batch, ctx: StepContext) -> StepOutput:
        raise NotImplementedError

    def training_state(self) -> dict[str, torch.Tensor]:
        """State besides network weights and optimizers that an exact resume needs (e.g. image pools)."""
        return {}

    def load_training_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restores what ``training_state`` returned (an empty dict: a fresh start)."""

    def load_initial_weights(self) -> None:
        """Loads pretrained weights a fresh run starts from (e.g. an ImageNet backbone); not called on resume."""

    def validator(self, pre: Preprocessing, device: torch.device) -> Validation:
        """A validation round with the current weights, run as inference would run them (``pre`` is the trained
        direction's preprocessing). Called once per round, so it can prepare inference copies of the networks."""
        raise NotImplementedError


def set_requires_grad(net: nn.Module, flag: bool) -> None:
    for p in net.parameters():
        p.requires_grad_(flag)


@contextlib.contextmanager
def frozen(*nets: nn.Module) -> Iterator[None]:
    """Within the block the networks' parameters need no gradients (e.g. D during G's pass); restored after."""
    for net in nets:
        set_requires_grad(net, False)
    try:
        yield
    finally:
        for net in nets:
            set_requires_grad(net, True)
