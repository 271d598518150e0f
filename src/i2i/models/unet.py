"""pix2pix U-Net generator (Isola et al., CVPR 2017, appendix 6.1.1): encoder-decoder with skip connections.

Level i of the encoder halves the resolution; the decoder mirrors it and concatenates the encoder feature map of
the same resolution before each up-convolution. ``unet_256`` (8 levels) takes a 256² input down to 1×1, ``unet_128``
(7 levels) takes 128² down to 1×1; any input whose sides are multiples of 2**num_downs works. ``unet_lite`` is the
8-level U-Net with 32 filters and a channel cap of 4× (128 channels) instead of 8× (512): small and fast enough to
bundle and to run on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from i2i.config import check_bounds, opt
from i2i.errors import ConfigError
from i2i.models.base import GENERATORS, GeneratorConfig
from i2i.models.layers import Norm, conv_bias, init_weights, norm_layer

BNInference = Literal["auto", "per_image", "running"]

# At least 5 levels, as before ranges were declared; inputs are multiples of 2**num_downs, so 14 levels already need
# 16384-pixel sides (the largest image side an option takes).
NUM_DOWNS = {"ge": 5, "le": 14}
NUM_DOWNS_HELP = "down-sampling levels; inputs must be multiples of 2**num_downs (padded if not)"


@GENERATORS.register("unet_256")
@dataclass
class UNetConfig(GeneratorConfig):
    name: str = opt("unet_256", "generator architecture (unet_128, unet_256)")
    num_downs: int = opt(8, NUM_DOWNS_HELP, **NUM_DOWNS)
    # Weights grow with ngf²: 54 M at 64, 3.5 G at 512 (4096-channel inner layers); at 1024 the 13.9 G weights and
    # their Adam state (223 GB) fit no accelerator.
    ngf: int = opt(64, "filters in the first encoder layer (doubling up to 8x)", ge=1, le=512)
    norm: Norm = opt("batch", "normalization: batch, instance or none")
    dropout: float = opt(0.5, "dropout probability in the innermost decoder blocks (training only)", ge=0, lt=1)
    dropout_blocks: int = opt(
        3, "how many of the innermost decoder blocks use dropout (the paper: 3); at most num_downs - 1", ge=0
    )
    bn_inference: BNInference = opt(
        "auto",
        "BatchNorm at inference: per_image (each image's own statistics, as trained at batch size 1), "
        "running (the running averages), auto (per_image if trained at batch size 1, else running)",
    )

    def __post_init__(self) -> None:
        check_bounds(self)
        if self.dropout_blocks >= self.num_downs:
            raise ConfigError(f"dropout_blocks: must be in [0, {self.num_downs - 1}], got {self.dropout_blocks}")

    def build(self, in_channels: int, out_channels: int) -> UNetGenerator:
        return UNetGenerator(self, in_channels, out_channels)

    @property
    def size_multiple(self) -> int:
        return 2**self.num_downs


@GENERATORS.register("unet_128")
@dataclass
class UNet128Config(UNetConfig):
    name: str = opt("unet_128", "generator architecture (unet_128, unet_256)")
    num_downs: int = opt(7, NUM_DOWNS_HELP, **NUM_DOWNS)


@GENERATORS.register("unet_lite")
@dataclass
class UNetLiteConfig(UNetConfig):
    """A U-Net sized for CPUs and for bundling: fewer filters and a lower channel cap (4.2 M weights, 8.3 MB as fp16,
    at the defaults, against 54.4 M for unet_256)."""

    name: str = opt("unet_lite", "generator architecture (unet_128, unet_256, unet_lite)")
    ngf: int = opt(32, "filters in the first encoder layer (doubling up to max_mult times)", ge=1, le=512)
    max_mult: int = opt(4, "channel cap: encoder channels double up to ngf * max_mult", ge=1, le=8)


class UNetGenerator(nn.Module):
    """U-Net: ``forward(x)`` maps (B, in, H, W) in [-1, 1] to (B, out, H, W) in [-1, 1] (tanh output)."""

    def __init__(self, cfg: UNetConfig, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.cfg = cfg
        n, ngf, norm = cfg.num_downs, cfg.ngf, norm_layer(cfg.norm)
        bias = conv_bias(cfg.norm)
        cap = getattr(cfg, "max_mult", 8)  # unet_lite lowers the cap; the paper's U-Nets keep 8
        ch = [ngf * min(2**i, cap) for i in range(n)]  # channels after encoder level i

        downs = [nn.Sequential(nn.Conv2d(in_channels, ch[0], 4, 2, 1, bias=bias))]
        for i in range(1, n):
            layers: list[nn.Module] = [nn.LeakyReLU(0.2, True), nn.Conv2d(ch[i - 1], ch[i], 4, 2, 1, bias=bias)]
            if i < n - 1:  # the innermost encoder level has no norm (it may be 1×1)
                layers.append(norm(ch[i]))
            downs.append(nn.Sequential(*layers))

        ups = [nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(ch[0] * 2, out_channels, 4, 2, 1), nn.Tanh())]
        for i in range(1, n):
            in_ch = ch[i] if i == n - 1 else ch[i] * 2  # every level but the innermost receives a skip concat
            layers = [nn.ReLU(True), nn.ConvTranspose2d(in_ch, ch[i - 1], 4, 2, 1, bias=bias), norm(ch[i - 1])]
            if cfg.dropout > 0 and i >= n - cfg.dropout_blocks:
                layers.append(nn.Dropout(cfg.dropout))
            ups.append(nn.Sequential(*layers))

        self.downs = nn.ModuleList(downs)  # downs[i]: level i encoder, outermost first
        self.ups = nn.ModuleList(ups)  # ups[i]: decoder block producing level i's input resolution
        init_weights(self)

    @property
    def size_multiple(self) -> int:
        return self.cfg.size_multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        y = self.ups[-1](skips[-1])
        for i in range(len(self.ups) - 2, -1, -1):
            y = self.ups[i](torch.cat([skips[i], y], dim=1))
        return y
