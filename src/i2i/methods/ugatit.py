"""U-GAT-IT (Kim et al., "U-GAT-IT: Unsupervised Generative Attentional Networks with Adaptive Layer-Instance
Normalization for Image-to-Image Translation", ICLR 2020).

Objective (paper §2.2), in both directions: λ_adv·L_lsgan + λ_cycle·L_cycle + λ_identity·L_identity + λ_cam·L_cam
with λ = 1, 10, 10, 1000. Each domain has a global (7 layers at 256²) and a local (5 layers) discriminator; each
discriminator's adversarial loss is applied to its patch output *and* to its CAM logits. The generator's CAM loss
(binary cross-entropy) teaches its auxiliary classifier to tell a source-domain input (→ 1) from one already in the
target domain (the identity pass, → 0). After each generator update every AdaLIN/LIN ρ is clipped to [0, 1].

The reference code computes the generators' forward pass twice per iteration (once for the discriminator update,
once for the generator update) with the same weights; here it is computed once and its detached outputs feed the
discriminator update, which gives the same numbers for one forward pass less.

Code ↔ paper: ``gen_ab`` = G_s→t, ``gen_ba`` = G_t→s, ``disc_global_b``/``disc_local_b`` = D_t (global/local),
``disc_global_a``/``disc_local_a`` = D_s.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from i2i.config import check_bounds, from_dict, opt
from i2i.data.config import DataConfig
from i2i.errors import ConfigError
from i2i.inference.preprocessing import Preprocessing
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
    frozen,
)
from i2i.methods.unpaired import UnpairedMethod, UnpairedMethodConfig, attention_map
from i2i.models.base import DiscriminatorConfig, GeneratorConfig
from i2i.models.ugatit import UGATIT_DEPTH, UGATITDiscriminatorConfig, UGATITGeneratorConfig


@METHODS.register("ugatit")
@dataclass
class UGATITConfig(UnpairedMethodConfig):
    name: str = opt("ugatit", "training method (ugatit)")
    generator: GeneratorConfig = opt(
        help="generator network, one per direction (light: true for the light model)",
        factory=lambda: from_dict(GeneratorConfig, {"name": "ugatit"}, "generator"),
    )
    discriminator: DiscriminatorConfig = opt(
        help="global discriminator, one per domain (its n_layers: 7 at 256 pixels)",
        factory=lambda: from_dict(DiscriminatorConfig, {"name": "ugatit"}, "discriminator"),
    )
    local_layers: int = opt(
        5, "depth of the local discriminators (the global ones use discriminator.n_layers)", **UGATIT_DEPTH
    )
    gan_mode: GANMode = opt("lsgan", "adversarial loss: lsgan (the paper's), vanilla or hinge")
    adv_weight: float = opt(1.0, "weight of the adversarial losses", **LOSS_WEIGHT)
    cycle_weight: float = opt(10.0, "weight of the cycle losses", **LOSS_WEIGHT)
    identity_weight: float = opt(10.0, "weight of the identity losses", **LOSS_WEIGHT)
    cam_weight: float = opt(1000.0, "weight of the generators' CAM losses", **LOSS_WEIGHT)
    lr: float = opt(1e-4, "Adam learning rate of all networks", **LEARNING_RATE)
    beta1: float = opt(0.5, "Adam β1", **ADAM_BETA)
    beta2: float = opt(0.999, "Adam β2", **ADAM_BETA)
    weight_decay: float = opt(1e-4, "Adam weight decay (an L2 term added to the gradients)", ge=0, le=1)

    def __post_init__(self) -> None:
        check_bounds(self)
        # The method calls its generators' CAM outputs and ρ clipping and its discriminators' CAM logits.
        if not isinstance(self.generator, UGATITGeneratorConfig):
            raise ConfigError(
                f"generator.name: U-GAT-IT trains the ugatit generator (CAM attention and AdaLIN), got "
                f"{self.generator.name}; set method.generator.name: ugatit"
            )
        if not isinstance(self.discriminator, UGATITDiscriminatorConfig):
            raise ConfigError(
                f"discriminator.name: U-GAT-IT trains the ugatit discriminator (patch and CAM logits), got "
                f"{self.discriminator.name}; set method.discriminator.name: ugatit"
            )
        if problem := self.discriminator.width_problem(self.local_layers):
            raise ConfigError(f"local_layers: {problem}")

    def build(self, data: DataConfig) -> UGATIT:
        if data.input_channels != data.output_channels:
            raise ConfigError(
                "U-GAT-IT's identity and CAM losses feed each generator images of its output domain, so both "
                f"domains need the same channels (input {data.input_channels}, output {data.output_channels})"
            )
        gen = self.generator
        if not getattr(gen, "light", True) and getattr(gen, "img_size", data.crop_size) != data.crop_size:
            raise ConfigError(
                f"method.generator.img_size ({gen.img_size}) must equal data.crop_size ({data.crop_size}): the full "
                "U-GAT-IT generator is built for one image size (method.generator.light=true works at any size)"
            )
        depths = (("discriminator.n_layers", self.discriminator.n_layers), ("local_layers", self.local_layers))
        for key, depth in depths:
            need = dataclasses.replace(self.discriminator, n_layers=depth).min_size
            if data.crop_size < need:
                raise ConfigError(
                    f"data.crop_size ({data.crop_size}) is too small for a {depth}-layer U-GAT-IT discriminator "
                    f"(method.{key}); it needs crops of at least {need} pixels: raise the crop or lower the depth"
                )
        return UGATIT(self, data.input_channels)


class UGATIT(UnpairedMethod):
    sample_tag: ClassVar[str] = "samples/realA_camA_fakeB_recA_realB_camB_fakeA_recB"
    graph_safe: ClassVar[bool] = True

    def __init__(self, config: UGATITConfig, channels: int) -> None:
        super().__init__()
        self.config = config
        self.gen_ab = config.generator.build(channels, channels)
        self.gen_ba = config.generator.build(channels, channels)
        local = dataclasses.replace(config.discriminator, n_layers=config.local_layers)
        self.disc_global_a = config.discriminator.build(channels)
        self.disc_global_b = config.discriminator.build(channels)
        self.disc_local_a = local.build(channels)
        self.disc_local_b = local.build(channels)
        self.gan_loss = GANLoss(config.gan_mode)

    def networks(self) -> dict[str, nn.Module]:
        return {
            "generator_ab": self.gen_ab,
            "generator_ba": self.gen_ba,
            "discriminator_global_a": self.disc_global_a,
            "discriminator_global_b": self.disc_global_b,
            "discriminator_local_a": self.disc_local_a,
            "discriminator_local_b": self.disc_local_b,
        }

    def _discs(self, domain: str) -> tuple[nn.Module, nn.Module]:
        return (self.disc_global_a, self.disc_local_a) if domain == "a" else (self.disc_global_b, self.disc_local_b)

    def optimizer_specs(self) -> dict[str, OptimizerSpec]:
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        gens = [*self.gen_ab.parameters(), *self.gen_ba.parameters()]
        discs = [p for d in (*self._discs("a"), *self._discs("b")) for p in d.parameters()]
        return {
            "disc": OptimizerSpec(discs, cfg.lr, betas, cfg.weight_decay),
            "gen": OptimizerSpec(gens, cfg.lr, betas, cfg.weight_decay),
        }

    def _adversarial(self, domain: str, images: torch.Tensor, real: bool, for_discriminator: bool) -> torch.Tensor:
        """Sum over the domain's global and local discriminators of the loss on their patch and CAM outputs."""
        total = images.new_zeros((), dtype=torch.float32)
        for disc in self._discs(domain):
            out, cam_logit, _ = disc(images)
            total = total + self.gan_loss(out, real, for_discriminator)
            total = total + self.gan_loss(cam_logit, real, for_discriminator)
        return total

    def training_step(self, batch: Batch, ctx: StepContext) -> StepOutput:
        cfg = self.config
        real_a, real_b = batch["a"], batch["b"]
        fake_b, cam_ab, _ = self.gen_ab.forward_with_cam(real_a)
        fake_a, cam_ba, _ = self.gen_ba.forward_with_cam(real_b)

        # Discriminators: real → 1, generated → 0, on patch outputs and CAM logits alike.
        d_a = self._adversarial("a", real_a, True, True) + self._adversarial("a", fake_a.detach(), False, True)
        d_b = self._adversarial("b", real_b, True, True) + self._adversarial("b", fake_b.detach(), False, True)
        ctx.step("disc", cfg.adv_weight * (d_a + d_b))

        with frozen(*self._discs("a"), *self._discs("b")):
            rec_a, rec_b = self.gen_ba(fake_b), self.gen_ab(fake_a)
            idt_a, cam_aa, _ = self.gen_ba.forward_with_cam(real_a)
            idt_b, cam_bb, _ = self.gen_ab.forward_with_cam(real_b)
            g_adv_a = self._adversarial("a", fake_a, True, False)
            g_adv_b = self._adversarial("b", fake_b, True, False)
            cycle_a = F.l1_loss(rec_a.float(), real_a.float())
            cycle_b = F.l1_loss(rec_b.float(), real_b.float())
            identity_a = F.l1_loss(idt_a.float(), real_a.float())
            identity_b = F.l1_loss(idt_b.float(), real_b.float())
            # Each generator's classifier: an image from its source domain → 1, one from its target domain → 0.
            cam_a = _bce(cam_ba, 1.0) + _bce(cam_aa, 0.0)
            cam_b = _bce(cam_ab, 1.0) + _bce(cam_bb, 0.0)
            loss = (
                cfg.adv_weight * (g_adv_a + g_adv_b)
                + cfg.cycle_weight * (cycle_a + cycle_b)
                + cfg.identity_weight * (identity_a + identity_b)
                + cfg.cam_weight * (cam_a + cam_b)
            )
            ctx.step("gen", loss)
        self.gen_ab.clip_rho()
        self.gen_ba.clip_rho()
        losses = {
            "d_a": d_a,
            "d_b": d_b,
            "g_adv_a": g_adv_a,
            "g_adv_b": g_adv_b,
            "cycle_a": cycle_a,
            "cycle_b": cycle_b,
            "idt_a": identity_a,
            "idt_b": identity_b,
            "cam_a": cam_a,
            "cam_b": cam_b,
        }
        return StepOutput({k: v.detach() for k, v in losses.items()})

    def attention(self, net: nn.Module, image: np.ndarray, pre: Preprocessing, device: torch.device) -> list:
        return [attention_map(net, image, pre, device)]


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))
