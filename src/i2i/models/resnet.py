"""CycleGAN ResNet generator (Zhu et al., ICCV 2017, appendix 7.2; after Johnson et al. 2016).

A 7×7 stem, two stride-2 down-sampling convolutions, ``n_blocks`` residual blocks at 4·ngf channels and 1/4 of the
input resolution, two stride-2 transposed convolutions back up, and a 7×7 output convolution with tanh. The paper
uses 9 blocks for 256² training images (``resnet_9blocks``, 11.378 M parameters at ngf 64) and 6 for 128²
(``resnet_6blocks``, 7.837 M). Any input whose sides are multiples of 4 comes back at the same size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from i2i.config import check_bounds, opt
from i2i.models.base import GENERATORS, GeneratorConfig
from i2i.models.layers import Norm, conv_bias, init_weights, norm_layer

Padding = Literal["reflect", "replicate", "zero"]

# More residual blocks than this is a typo (the paper: 6 or 9; 256 blocks at ngf 64 hold 302 M weights).
N_BLOCKS = {"ge": 0, "le": 256}
N_BLOCKS_HELP = "residual blocks at 1/4 resolution (the paper: 9 for 256² images, 6 for 128²)"


@GENERATORS.register("resnet_9blocks")
@dataclass
class ResNetConfig(GeneratorConfig):
    name: str = opt("resnet_9blocks", "generator architecture (resnet_6blocks, resnet_9blocks)")
    # Widest layer 4·ngf: 11.4 M weights at 64, 2.9 G at 1024 (two of them train in CycleGAN).
    ngf: int = opt(64, "filters in the first layer (x2 after each of the two down-sampling convs)", ge=1, le=1024)
    n_blocks: int = opt(9, N_BLOCKS_HELP, **N_BLOCKS)
    norm: Norm = opt("instance", "normalization: batch, instance or none")
    dropout: float = opt(0.0, "dropout probability inside each residual block (training only)", ge=0, lt=1)
    padding: Padding = opt("reflect", "padding of the residual blocks' 3x3 convs: reflect, replicate or zero")

    def __post_init__(self) -> None:
        check_bounds(self)

    def build(self, in_channels: int, out_channels: int) -> ResNetGenerator:
        return ResNetGenerator(self, in_channels, out_channels)

    @property
    def size_multiple(self) -> int:
        return 4


@GENERATORS.register("resnet_6blocks")
@dataclass
class ResNet6Config(ResNetConfig):
    name: str = opt("resnet_6blocks", "generator architecture (resnet_6blocks, resnet_9blocks)")
    n_blocks: int = opt(6, N_BLOCKS_HELP, **N_BLOCKS)


class ResidualBlock(nn.Module):
    """``x + F(x)`` where F is pad, 3×3 conv, norm, ReLU, [dropout], pad, 3×3 conv, norm (channels unchanged)."""

    def __init__(self, channels: int, norm: Norm, dropout: float, padding: Padding) -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)

        def pad_conv() -> list[nn.Module]:
            if padding == "zero":
                return [nn.Conv2d(channels, channels, 3, padding=1, bias=bias)]
            pad = nn.ReflectionPad2d(1) if padding == "reflect" else nn.ReplicationPad2d(1)
            return [pad, nn.Conv2d(channels, channels, 3, bias=bias)]

        layers = [*pad_conv(), make_norm(channels), nn.ReLU(True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [*pad_conv(), make_norm(channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNetGenerator(nn.Sequential):
    """(B, in, H, W) in [-1, 1] → (B, out, H, W) in [-1, 1] (tanh output); H and W multiples of 4."""

    def __init__(self, cfg: ResNetConfig, in_channels: int, out_channels: int) -> None:
        make_norm, bias, ngf = norm_layer(cfg.norm), conv_bias(cfg.norm), cfg.ngf
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7, bias=bias),
            make_norm(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):  # ngf → 2·ngf → 4·ngf, halving the resolution each time
            ch = ngf * 2**i
            layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1, bias=bias), make_norm(ch * 2), nn.ReLU(True)]
        layers += [ResidualBlock(ngf * 4, cfg.norm, cfg.dropout, cfg.padding) for _ in range(cfg.n_blocks)]
        for i in range(2):  # 4·ngf → 2·ngf → ngf; output_padding=1 restores exactly twice the size
            ch = ngf * 4 // 2**i
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1, bias=bias),
                make_norm(ch // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        super().__init__(*layers)
        self.cfg = cfg
        init_weights(self)

    @property
    def size_multiple(self) -> int:
        return self.cfg.size_multiple
