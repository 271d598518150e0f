"""CycleGAN (Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks", ICCV 2017).

Objective (paper eq. 3, with the identity term of §5.2):
L(G, F, D_X, D_Y) = L_GAN(G, D_Y) + L_GAN(F, D_X) + λ_A·E‖F(G(x)) − x‖₁ + λ_B·E‖G(F(y)) − y‖₁
                    + λ_idt·(λ_B·E‖G(y) − y‖₁ + λ_A·E‖F(x) − x‖₁),
with least-squares GAN losses (§4) and each discriminator trained on a history of 50 generated images (§4).
Each step updates both generators together, then both discriminators (their loss halved, as in the paper).

Code ↔ paper: ``real_a`` = x, ``real_b`` = y, ``gen_ab`` = G, ``gen_ba`` = F, ``disc_b`` = D_Y (judges domain B),
``disc_a`` = D_X.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from i2i.config import check_bounds, from_dict, opt
from i2i.data.config import DataConfig
from i2i.errors import ConfigError
from i2i.losses.adversarial import GANLoss, GANMode
from i2i.methods.base import (
    ADAM_BETA,
    LEARNING_RATE,
    LOSS_WEIGHT,
    METHODS,
    Batch,
    OptimizerSpec,
    StepContext,
    StepOutput,
    check_crop_fits,
    check_single_map_discriminator,
    frozen,
)
from i2i.methods.image_pool import ImagePool
from i2i.methods.unpaired import UnpairedMethod, UnpairedMethodConfig
from i2i.models.base import DiscriminatorConfig, GeneratorConfig
from i2i.models.discriminators import PatchGANConfig


@METHODS.register("cyclegan")
@dataclass
class CycleGANConfig(UnpairedMethodConfig):
    name: str = opt("cyclegan", "training method (cyclegan)")
    generator: GeneratorConfig = opt(
        help="generator network, one per direction",
        factory=lambda: from_dict(GeneratorConfig, {"name": "resnet_9blocks"}, "generator"),
    )
    discriminator: DiscriminatorConfig = opt(
        help="discriminator network, one per domain", factory=lambda: PatchGANConfig(norm="instance")
    )
    gan_mode: GANMode = opt("lsgan", "adversarial loss: lsgan (least squares, the paper's), vanilla or hinge")
    lambda_a: float = opt(10.0, "weight of the cycle loss A → B → A", **LOSS_WEIGHT)
    lambda_b: float = opt(10.0, "weight of the cycle loss B → A → B", **LOSS_WEIGHT)
    lambda_identity: float = opt(
        0.5, "identity loss weight, relative to lambda_a/lambda_b (0: no identity loss)", **LOSS_WEIGHT
    )
    # Each pool holds pool_size float32 images of the crop size on the training device (50 at 256²: 39 MB).
    pool_size: int = opt(50, "generated images each discriminator keeps and sees again (0: no history)", ge=0, le=1000)
    lr: float = opt(2e-4, "Adam learning rate of all networks", **LEARNING_RATE)
    beta1: float = opt(0.5, "Adam β1", **ADAM_BETA)
    beta2: float = opt(0.999, "Adam β2", **ADAM_BETA)

    def __post_init__(self) -> None:
        check_bounds(self)
        check_single_map_discriminator(self)

    def build(self, data: DataConfig) -> CycleGAN:
        if self.lambda_identity > 0 and data.input_channels != data.output_channels:
            raise ConfigError(
                f"method.lambda_identity={self.lambda_identity} needs domains with equal channels "
                f"(input {data.input_channels}, output {data.output_channels}); set it to 0"
            )
        check_crop_fits(self, data)
        return CycleGAN(self, data.input_channels, data.output_channels)


class CycleGAN(UnpairedMethod):
    graph_safe: ClassVar[bool] = True  # the image pools decide on the device

    def __init__(self, config: CycleGANConfig, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.config = config
        self.gen_ab = config.generator.build(in_channels, out_channels)
        self.gen_ba = config.generator.build(out_channels, in_channels)
        self.disc_a = config.discriminator.build(in_channels)
        self.disc_b = config.discriminator.build(out_channels)
        self.pool_a = ImagePool(config.pool_size)  # fakes of domain A, shown to disc_a
        self.pool_b = ImagePool(config.pool_size)
        self.gan_loss = GANLoss(config.gan_mode)

    def networks(self) -> dict[str, nn.Module]:
        return {
            "generator_ab": self.gen_ab,
            "generator_ba": self.gen_ba,
            "discriminator_a": self.disc_a,
            "discriminator_b": self.disc_b,
        }

    def optimizer_specs(self) -> dict[str, OptimizerSpec]:
        betas = (self.config.beta1, self.config.beta2)
        gens = [*self.gen_ab.parameters(), *self.gen_ba.parameters()]
        discs = [*self.disc_a.parameters(), *self.disc_b.parameters()]
        return {"gen": OptimizerSpec(gens, self.config.lr, betas), "disc": OptimizerSpec(discs, self.config.lr, betas)}

    def training_step(self, batch: Batch, ctx: StepContext) -> StepOutput:
        cfg = self.config
        real_a, real_b = batch["a"], batch["b"]
        fake_b, fake_a = self.gen_ab(real_a), self.gen_ba(real_b)
        rec_a, rec_b = self.gen_ba(fake_b), self.gen_ab(fake_a)

        # Generators: fool both discriminators (frozen for this pass), close both cycles, keep identities.
        with frozen(self.disc_a, self.disc_b):
            g_gan_ab = self.gan_loss(self.disc_b(fake_b), True, for_discriminator=False)
            g_gan_ba = self.gan_loss(self.disc_a(fake_a), True, for_discriminator=False)
            cycle_a = F.l1_loss(rec_a.float(), real_a.float())
            cycle_b = F.l1_loss(rec_b.float(), real_b.float())
            loss = g_gan_ab + g_gan_ba + cfg.lambda_a * cycle_a + cfg.lambda_b * cycle_b
            losses = {"g_gan_ab": g_gan_ab, "g_gan_ba": g_gan_ba, "cycle_a": cycle_a, "cycle_b": cycle_b}
            if cfg.lambda_identity > 0:
                idt_b = F.l1_loss(self.gen_ab(real_b).float(), real_b.float())
                idt_a = F.l1_loss(self.gen_ba(real_a).float(), real_a.float())
                loss = loss + cfg.lambda_identity * (cfg.lambda_b * idt_b + cfg.lambda_a * idt_a)
                losses.update(idt_a=idt_a, idt_b=idt_b)
            ctx.step("gen", loss)

        # Discriminators: real → 1, fakes (from the history pools) → 0.
        d_real_b = self.gan_loss(self.disc_b(real_b), True)
        d_fake_b = self.gan_loss(self.disc_b(self.pool_b(fake_b)), False)
        d_real_a = self.gan_loss(self.disc_a(real_a), True)
        d_fake_a = self.gan_loss(self.disc_a(self.pool_a(fake_a)), False)
        ctx.step("disc", 0.5 * (d_real_b + d_fake_b) + 0.5 * (d_real_a + d_fake_a))
        losses.update(d_real_a=d_real_a, d_fake_a=d_fake_a, d_real_b=d_real_b, d_fake_b=d_fake_b)
        return StepOutput({k: v.detach() for k, v in losses.items()})

    def training_state(self) -> dict[str, torch.Tensor]:
        state = {}
        for name, pool in (("pool_a", self.pool_a), ("pool_b", self.pool_b)):
            state.update({f"{name}.{k}": v for k, v in pool.state().items()})
        return state

    def load_training_state(self, state: dict[str, torch.Tensor]) -> None:
        device = next(self.gen_ab.parameters()).device
        for name, pool in (("pool_a", self.pool_a), ("pool_b", self.pool_b)):
            prefix = f"{name}."
            pool.load_state({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}, device)
