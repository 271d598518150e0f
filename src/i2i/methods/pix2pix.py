"""pix2pix (Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017).

Objective (paper eq. 4): G* = arg min_G max_D L_cGAN(G, D) + λ·L_L1(G), where
L_cGAN = E[log D(x, y)] + E[log(1 − D(x, G(x)))] and L_L1 = E‖y − G(x)‖₁. As in the paper (§3.3), D's loss is
halved to slow its learning relative to G, and G maximizes log D(x, G(x)) (the non-saturating form).

Code ↔ paper: ``real_a`` = x (input), ``real_b`` = y (target), ``fake_b`` = G(x), ``gen`` = G, ``disc`` = D.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from i2i.config import check_bounds, opt
from i2i.data.config import DataConfig
from i2i.data.kinds import Example
from i2i.evaluation.metrics import PAIRED_METRICS, Goal, PairedScores
from i2i.inference.pipeline import prepare_generator, translate_arrays
from i2i.inference.preprocessing import Preprocessing
from i2i.losses.adversarial import GANLoss, GANMode
from i2i.methods.base import (
    ADAM_BETA,
    LEARNING_RATE,
    LOSS_WEIGHT,
    METHODS,
    Batch,
    GeneratorSlot,
    Method,
    MethodConfig,
    OptimizerSpec,
    StepContext,
    StepOutput,
    check_crop_fits,
    check_single_map_discriminator,
    frozen,
    set_requires_grad,
)
from i2i.models.base import DiscriminatorConfig, GeneratorConfig
from i2i.models.discriminators import PatchGANConfig
from i2i.models.unet import UNetConfig


@METHODS.register("pix2pix")
@dataclass
class Pix2PixConfig(MethodConfig):
    name: str = opt("pix2pix", "training method (pix2pix)")
    generator: GeneratorConfig = opt(help="generator network", factory=UNetConfig)
    discriminator: DiscriminatorConfig = opt(help="discriminator network", factory=PatchGANConfig)
    gan_mode: GANMode = opt("vanilla", "adversarial loss: vanilla (BCE on logits), lsgan or hinge")
    lambda_l1: float = opt(100.0, "weight λ of the L1 reconstruction term", **LOSS_WEIGHT)
    lr: float = opt(2e-4, "Adam learning rate of both networks", **LEARNING_RATE)
    beta1: float = opt(0.5, "Adam β1", **ADAM_BETA)
    beta2: float = opt(0.999, "Adam β2", **ADAM_BETA)

    def __post_init__(self) -> None:
        check_bounds(self)
        check_single_map_discriminator(self)

    def build(self, data: DataConfig) -> Pix2Pix:
        check_crop_fits(self, data)
        return Pix2Pix(self, data.input_channels, data.output_channels)

    def generator_slots(self, data: DataConfig) -> list[GeneratorSlot]:
        return [GeneratorSlot("generator", self.generator, data.input_channels, data.output_channels)]

    def validation_metrics(self, data: DataConfig) -> dict[str, Goal]:
        return dict(PAIRED_METRICS)


class Pix2Pix(Method):
    sample_tag: ClassVar[str] = "samples/input_output_target"
    graph_safe: ClassVar[bool] = True

    def __init__(self, config: Pix2PixConfig, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.config = config
        self.gen = config.generator.build(in_channels, out_channels)
        # The discriminator is conditional: it sees the input and the (real or generated) output together.
        self.disc = config.discriminator.build(in_channels + out_channels)
        self.gan_loss = GANLoss(config.gan_mode)

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.gen, "discriminator": self.disc}

    def optimizer_specs(self) -> dict[str, OptimizerSpec]:
        betas = (self.config.beta1, self.config.beta2)
        return {
            "disc": OptimizerSpec(list(self.disc.parameters()), self.config.lr, betas),
            "gen": OptimizerSpec(list(self.gen.parameters()), self.config.lr, betas),
        }

    def training_step(self, batch: Batch, ctx: StepContext) -> StepOutput:
        real_a, real_b = batch["a"], batch["b"]  # (B, C, H, W) in [-1, 1]
        fake_b = self.gen(real_a)

        # D: real pairs → 1, generated pairs → 0; G's output is detached so only D learns here.
        set_requires_grad(self.disc, True)
        d_fake = self.gan_loss(self.disc(torch.cat([real_a, fake_b.detach()], 1)), False)
        d_real = self.gan_loss(self.disc(torch.cat([real_a, real_b], 1)), True)
        ctx.step("disc", 0.5 * (d_fake + d_real))

        # G: fool D (non-saturating) and stay close to the target in L1. D's weights are frozen for this pass.
        with frozen(self.disc):
            g_gan = self.gan_loss(self.disc(torch.cat([real_a, fake_b], 1)), True, for_discriminator=False)
            g_l1 = F.l1_loss(fake_b.float(), real_b.float())
            ctx.step("gen", g_gan + self.config.lambda_l1 * g_l1)

        losses = {"g_gan": g_gan, "g_l1": g_l1, "d_real": d_real, "d_fake": d_fake}
        return StepOutput({k: v.detach() for k, v in losses.items()})

    def validator(self, pre: Preprocessing, device: torch.device) -> PairedValidation:
        return PairedValidation(prepare_generator(self.gen, pre.bn_inference), pre, device)


class PairedValidation:
    """Translates each input and scores it against its target at the target's native size (``PairedScores``);
    rows read input | output | target."""

    def __init__(self, net: nn.Module, pre: Preprocessing, device: torch.device) -> None:
        self.net, self.pre, self.device = net, pre, device
        self.scores = PairedScores()

    def score(self, example: Example) -> list[np.ndarray]:
        (output,) = translate_arrays(self.net, [example["a"]], self.pre, self.device)
        self.scores.add(output, example["b"])
        return [example["a"], output, example["b"]]

    def metrics(self) -> dict[str, float]:
        return self.scores.means()
