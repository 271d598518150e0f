"""Conditional PatchGAN discriminators (pix2pix §3.2.2): a grid of real/fake logits, one per image patch.

``n_layers`` sets the patch (receptive field) size: 0 → 1×1 "PixelGAN", 1 → 16×16, 3 → 70×70 (default),
5 → 286×286 "ImageGAN" at 256² inputs. For pix2pix the input is the (condition, image) pair concatenated on channels.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from i2i.config import check_bounds, opt
from i2i.models.base import DISCRIMINATORS, DiscriminatorConfig
from i2i.models.layers import Norm, conv_bias, init_weights, norm_layer


@DISCRIMINATORS.register("patchgan")
@dataclass
class PatchGANConfig(DiscriminatorConfig):
    name: str = opt("patchgan", "discriminator architecture (patchgan)")
    # Each layer halves the map: n_layers 12 already needs 12288-pixel crops (``min_size``).
    n_layers: int = opt(3, "depth: 0 = 1x1 PixelGAN, 1 = 16x16, 3 = 70x70, 5 = 286x286 patches", ge=0, le=12)
    # Widest layer 8·ndf: 2.8 M weights at 64, 0.7 G at 1024 (n_layers 3).
    ndf: int = opt(64, "filters in the first layer (doubling up to 8x)", ge=1, le=1024)
    norm: Norm = opt("batch", "normalization: batch, instance or none")

    def __post_init__(self) -> None:
        check_bounds(self)

    @property
    def min_size(self) -> int:
        """The smallest square input that leaves a logit map: each stride-2 conv halves the side and the two
        stride-1 4×4 convs take one pixel each, so the side over 2**n_layers must be at least 3."""
        return 1 if self.n_layers == 0 else 3 * 2**self.n_layers

    def build(self, in_channels: int) -> nn.Module:
        return PatchGANDiscriminator(self, in_channels)


class PatchGANDiscriminator(nn.Sequential):
    """(B, in, H, W) → (B, 1, h, w) logits; at 256² and n_layers=3 the grid is 30×30."""

    def __init__(self, cfg: PatchGANConfig, in_channels: int) -> None:
        norm, bias, ndf = norm_layer(cfg.norm), conv_bias(cfg.norm), cfg.ndf
        if cfg.n_layers == 0:  # PixelGAN: 1×1 convolutions only
            layers: list[nn.Module] = [
                nn.Conv2d(in_channels, ndf, 1),
                nn.LeakyReLU(0.2, True),
                nn.Conv2d(ndf, ndf * 2, 1, bias=bias),
                norm(ndf * 2),
                nn.LeakyReLU(0.2, True),
                nn.Conv2d(ndf * 2, 1, 1, bias=bias),
            ]
        else:
            layers = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            mult = 1
            for n in range(1, cfg.n_layers):
                prev, mult = mult, min(2**n, 8)
                layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=bias), norm(ndf * mult)]
                layers.append(nn.LeakyReLU(0.2, True))
            prev, mult = mult, min(2**cfg.n_layers, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=bias), norm(ndf * mult)]
            layers += [nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        super().__init__(*layers)
        init_weights(self)


def receptive_field(net: nn.Module) -> int:
    """Side of the input patch that one output logit sees, from the kernel sizes and strides of the convolutions."""
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    field = 1
    for conv in reversed(convs):
        field = (field - 1) * conv.stride[0] + conv.kernel_size[0]
    return field
