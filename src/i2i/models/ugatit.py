"""U-GAT-IT networks (Kim et al., ICLR 2020): CAM attention and adaptive layer-instance normalization (AdaLIN).

The generator encodes the image to 4·ngf channels at 1/4 resolution. A class activation map (CAM) then reweights
those channels by the weights of two one-logit classifiers (on global average and global max pooled features),
whose logits are the auxiliary "source or target domain?" output. An MLP on the attended features gives per-image
γ and β for the AdaLIN residual blocks of the decoder, where a learned ratio ρ mixes instance and layer statistics.
The discriminators share the CAM idea with spectrally normalized layers; the method uses a global one
(``n_layers=7``, 286×286 patches) and a local one (``n_layers=5``, 70×70 patches) per domain.

In "full" mode the MLP reads the whole flattened feature map, which ties the network to one input size and holds
most of its weights: at img_size 256, ngf 64 and 4 + 4 blocks the generator has 279.0 M parameters (268.4 M of
them in the MLP's first layer), against 10.6 M in "light" mode, which pools the features first and takes any input
whose sides are multiples of 4 (and at least 8).

Code vs. paper: ``cam_logit`` is η (the auxiliary classifier's logits), ``heatmap`` the attention map a(x) summed
over channels, ``rho`` is ρ, ``gamma``/``beta`` are γ/β.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from i2i.config import MAX_IMAGE_SIDE, check_bounds, opt
from i2i.errors import ConfigError
from i2i.models.base import DISCRIMINATORS, GENERATORS, DiscriminatorConfig, GeneratorConfig

# ----------------------------------------------------------------------------------------------------------------
# configs

# A full generator's MLP holds (img_size/4)² · (4·ngf)² weights in its first layer: 268 M at 256 px and ngf 64,
# 4.3 G (= this cap) at 1024 px, which with its gradient and Adam state is 69 GB per generator (U-GAT-IT trains two).
MAX_MLP_WEIGHTS = 2**32
# The discriminators double their width with each layer: ndf · 2**(n_layers - 2) channels before the CAM (2048 for
# the paper's global one). At 16384 channels a global discriminator holds 3.4 G weights; one layer deeper, 13.6 G
# (218 GB with gradients and Adam state) fit no device.
MAX_DISC_CHANNELS = 16384
# Depth of the U-GAT-IT discriminators: fewer than 4 layers leave no map for the CAM; 14 layers need 12288-pixel
# crops (``min_size``), 15 more than the largest image side.
UGATIT_DEPTH = {"ge": 4, "le": 14}


@GENERATORS.register("ugatit")
@dataclass
class UGATITGeneratorConfig(GeneratorConfig):
    name: str = opt("ugatit", "generator architecture (ugatit)")
    ngf: int = opt(64, "filters in the first layer (x2 after each of the two down-sampling convs)", ge=1, le=1024)
    # At least 1: the decoder needs an AdaLIN block.
    n_blocks: int = opt(4, "residual blocks in the encoder, and as many AdaLIN blocks in the decoder", ge=1, le=256)
    light: bool = opt(False, "pool the features before the gamma/beta MLP: fewer weights and any input size")
    img_size: int = opt(
        256,
        "input side the full (not light) generator is built for, a multiple of 4; its MLP depends on it",
        ge=8,
        le=MAX_IMAGE_SIDE,
    )

    def __post_init__(self) -> None:
        check_bounds(self)
        if self.img_size % 4:
            raise ConfigError(f"img_size: must be a multiple of 4, got {self.img_size}")
        weights = (self.img_size // 4) ** 2 * (4 * self.ngf) ** 2
        if not self.light and weights > MAX_MLP_WEIGHTS:
            raise ConfigError(
                f"img_size: a full generator at img_size {self.img_size} and ngf {self.ngf} would hold "
                f"{weights / 1e9:.1f} G weights in its MLP (at most {MAX_MLP_WEIGHTS / 1e9:.1f} G); use light: true, "
                "or a smaller img_size or ngf"
            )

    def build(self, in_channels: int, out_channels: int) -> UGATITGenerator:
        return UGATITGenerator(self, in_channels, out_channels)

    @property
    def size_multiple(self) -> int:
        return 4

    @property
    def fixed_size(self) -> int | None:
        return None if self.light else self.img_size


@DISCRIMINATORS.register("ugatit")
@dataclass
class UGATITDiscriminatorConfig(DiscriminatorConfig):
    name: str = opt("ugatit", "discriminator architecture (ugatit)")
    ndf: int = opt(64, "filters in the first layer (doubling with each further conv)", ge=1, le=1024)
    n_layers: int = opt(7, "depth: 7 = global (286x286 patches), 5 = local (70x70 patches)", **UGATIT_DEPTH)
    spectral_norm: bool = opt(True, "spectral normalization on the convs and the CAM classifiers")
    returns_cam: ClassVar[bool] = True  # the network returns CAM logits besides its patch logits

    def __post_init__(self) -> None:
        check_bounds(self)
        if problem := self.width_problem(self.n_layers):
            raise ConfigError(f"n_layers: {problem}")

    def width_problem(self, n_layers: int) -> str | None:
        """Why a discriminator of this ndf and ``n_layers`` layers would be too wide to build, or None."""
        width = self.ndf * 2 ** (n_layers - 2)
        if width <= MAX_DISC_CHANNELS:
            return None
        return (
            f"{n_layers} layers at ndf {self.ndf} make a {width}-channel layer (at most {MAX_DISC_CHANNELS}); "
            "lower the depth or ndf"
        )

    def build(self, in_channels: int) -> UGATITDiscriminator:
        return UGATITDiscriminator(self, in_channels)

    @property
    def min_size(self) -> int:
        """The smallest square input this depth accepts (reflection padding needs maps of at least 2 pixels)."""
        size = 4
        while not _fits(size, self.n_layers):
            size += 1
        return size


def _fits(size: int, n_layers: int) -> bool:
    """Whether every reflection pad of an ``n_layers`` discriminator has a map larger than its padding."""
    for _ in range(n_layers - 2):  # the stride-2 convolutions, each after a 1-pixel reflection pad
        if size < 2:
            return False
        size = (size + 2 - 4) // 2 + 1
    return size >= 2 and size - 1 >= 2  # the stride-1 conv, then the classifier's pad


# ----------------------------------------------------------------------------------------------------------------
# normalization


def _mixed_norm(x: torch.Tensor, rho: torch.Tensor, eps: float) -> torch.Tensor:
    """ρ·IN(x) + (1−ρ)·LN(x) in float32, with unbiased variances as in the paper's code.

    With n values per statistic, (x − μ)/√(σ²·n/(n−1) + ε) = √((n−1)/n)·(x − μ)/√(σ² + ε·(n−1)/n): the fused
    instance- and layer-norm kernels compute the right-hand side, keeping only their input and per-row statistics
    for the backward pass instead of every intermediate map of the written-out formula (half the memory).
    """
    x = x.float()  # bf16 statistics over large maps are too coarse
    if torch.compiler.is_exporting():
        # ONNX export with dynamic sizes: the fused kernels' eps would depend on the map size (not a constant an
        # InstanceNormalization node can hold), so the same quantity is written out.
        x_in = (x - x.mean((2, 3), keepdim=True)) / torch.sqrt(x.var((2, 3), keepdim=True) + eps)
        x_ln = (x - x.mean((1, 2, 3), keepdim=True)) / torch.sqrt(x.var((1, 2, 3), keepdim=True) + eps)
        return rho.float() * x_in + (1 - rho.float()) * x_ln
    n_in = x.shape[2] * x.shape[3]
    n_ln = x.shape[1] * n_in
    x_in = F.instance_norm(x, eps=eps * (n_in - 1) / n_in) * math.sqrt((n_in - 1) / n_in)
    x_ln = F.layer_norm(x, x.shape[1:], eps=eps * (n_ln - 1) / n_ln) * math.sqrt((n_ln - 1) / n_ln)
    rho = rho.float()
    return rho * x_in + (1 - rho) * x_ln


def _affine_mixed_norm(
    x: torch.Tensor, rho: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float
) -> torch.Tensor:
    """(ρ·IN(x) + (1−ρ)·LN(x))·γ + β in float32, returned in the input's dtype."""
    return (_mixed_norm(x, rho, eps) * gamma.float() + beta.float()).to(x.dtype)


class AdaLIN(nn.Module):
    """Adaptive layer-instance norm (paper eq. in §2.1.1): γ and β come from the MLP, one (B, C) pair per image."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.rho = nn.Parameter(torch.full((1, channels, 1, 1), 0.9))

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        return _affine_mixed_norm(x, self.rho, gamma[:, :, None, None], beta[:, :, None, None], self.eps)


class LIN(nn.Module):
    """Layer-instance norm with learned, per-channel γ and β (the decoder's up-sampling blocks)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.rho = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _affine_mixed_norm(x, self.rho, self.gamma, self.beta, self.eps)


# ----------------------------------------------------------------------------------------------------------------
# generator


def _pad_conv(c_in: int, c_out: int, kernel: int, stride: int = 1, bias: bool = False) -> list[nn.Module]:
    return [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel, stride, bias=bias)]


class _ResBlock(nn.Module):
    """Encoder block: x + (pad, conv, IN, ReLU, pad, conv, IN)(x)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_pad_conv(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(True),
            *_pad_conv(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _AdaLINResBlock(nn.Module):
    """Decoder block: x + (pad, conv, AdaLIN, ReLU, pad, conv, AdaLIN)(x), both AdaLINs with the image's γ, β."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(*_pad_conv(channels, channels, 3))
        self.norm1 = AdaLIN(channels)
        self.conv2 = nn.Sequential(*_pad_conv(channels, channels, 3))
        self.norm2 = AdaLIN(channels)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x), gamma, beta))
        return x + self.norm2(self.conv2(y), gamma, beta)


class _CAM(nn.Module):
    """Class activation map: two one-logit classifiers on pooled features, whose weights reweight the channels.

    Returns the fused features (B, C, h, w), the logits (B, 2) [avg-pool, max-pool] and the heatmap (B, 1, h, w).
    """

    def __init__(self, channels: int, act: nn.Module, sn: bool = False) -> None:
        super().__init__()
        wrap = _spectral_norm if sn else (lambda m: m)
        self.gap_fc = wrap(nn.Linear(channels, 1, bias=False))
        self.gmp_fc = wrap(nn.Linear(channels, 1, bias=False))
        self.fuse = nn.Sequential(nn.Conv2d(channels * 2, channels, 1), act)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        gap_w, gmp_w = self.gap_fc.weight, self.gmp_fc.weight  # (1, C); spectrally normalized where enabled
        gap_logit = self.gap_fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
        gmp_logit = self.gmp_fc(F.adaptive_max_pool2d(x, 1).flatten(1))
        x = torch.cat([x * gap_w[:, :, None, None], x * gmp_w[:, :, None, None]], 1)
        x = self.fuse(x)
        return x, torch.cat([gap_logit, gmp_logit], 1), x.sum(1, keepdim=True)


class UGATITGenerator(nn.Module):
    """(B, in, H, W) in [-1, 1] → (B, out, H, W) in [-1, 1]; ``forward_with_cam`` also gives the CAM outputs."""

    def __init__(self, cfg: UGATITGeneratorConfig, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.cfg = cfg
        ngf, c = cfg.ngf, cfg.ngf * 4
        encoder: list[nn.Module] = [*_pad_conv(in_channels, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        for i in range(2):  # ngf → 2·ngf → 4·ngf, halving the resolution each time
            ch = ngf * 2**i
            encoder += [*_pad_conv(ch, ch * 2, 3, stride=2), nn.InstanceNorm2d(ch * 2), nn.ReLU(True)]
        encoder += [_ResBlock(c) for _ in range(cfg.n_blocks)]
        self.encoder = nn.Sequential(*encoder)
        self.cam = _CAM(c, nn.ReLU(True))

        mlp_in = c if cfg.light else (cfg.img_size // 4) ** 2 * c
        self.mlp = nn.Sequential(
            nn.Linear(mlp_in, c, bias=False), nn.ReLU(True), nn.Linear(c, c, bias=False), nn.ReLU(True)
        )
        self.gamma = nn.Linear(c, c, bias=False)
        self.beta = nn.Linear(c, c, bias=False)

        self.blocks = nn.ModuleList(_AdaLINResBlock(c) for _ in range(cfg.n_blocks))
        decoder: list[nn.Module] = []
        for i in range(2):  # 4·ngf → 2·ngf → ngf, doubling the resolution each time
            ch = c // 2**i
            decoder += [nn.Upsample(scale_factor=2, mode="nearest"), *_pad_conv(ch, ch // 2, 3)]
            decoder += [LIN(ch // 2), nn.ReLU(True)]
        decoder += [*_pad_conv(ngf, out_channels, 7), nn.Tanh()]
        self.decoder = nn.Sequential(*decoder)

    @property
    def size_multiple(self) -> int:
        return self.cfg.size_multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_cam(x)[0]

    def forward_with_cam(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns the image (B, out, H, W), the CAM logits (B, 2) and the heatmap (B, 1, H/4, W/4)."""
        size = self.cfg.img_size
        if not self.cfg.light and tuple(x.shape[-2:]) != (size, size):
            h, w = x.shape[-2:]
            raise ValueError(
                f"full U-GAT-IT generator was built for {size}x{size} inputs, got {h}x{w} (HxW); "
                "use the light generator (light: true) for other sizes"
            )
        x, cam_logit, heatmap = self.cam(self.encoder(x))  # (B, 4·ngf, H/4, W/4)
        style = F.adaptive_avg_pool2d(x, 1) if self.cfg.light else x
        style = self.mlp(style.flatten(1))
        gamma, beta = self.gamma(style), self.beta(style)  # (B, 4·ngf) each
        for block in self.blocks:
            x = block(x, gamma, beta)
        return self.decoder(x), cam_logit, heatmap

    @torch.no_grad()
    def clip_rho(self) -> None:
        """Clamps every ρ to [0, 1], as the paper does after each generator update."""
        for m in self.modules():
            if isinstance(m, (AdaLIN, LIN)):
                m.rho.clamp_(0.0, 1.0)


# ----------------------------------------------------------------------------------------------------------------
# discriminator


class UGATITDiscriminator(nn.Module):
    """(B, in, H, W) → (logits (B, 1, h, w), CAM logits (B, 2), heatmap (B, 1, h + 1, w + 1)).

    ``n_layers − 2`` stride-2 convolutions, then a stride-1 one, the CAM, and a stride-1 output conv. Measured at
    256×256 inputs: n_layers 5 (local) sees 70×70 patches on a 30×30 grid, n_layers 7 (global) 286×286 patches (wider
    than the image) on a 6×6 grid; n_layers 4 sees 34×34 patches on a 62×62 grid.
    """

    def __init__(self, cfg: UGATITDiscriminatorConfig, in_channels: int) -> None:
        super().__init__()
        self.cfg = cfg
        sn = _spectral_norm if cfg.spectral_norm else (lambda m: m)

        def conv_act(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
            return [nn.ReflectionPad2d(1), sn(nn.Conv2d(c_in, c_out, 4, stride)), nn.LeakyReLU(0.2, True)]

        ndf = cfg.ndf
        layers = conv_act(in_channels, ndf, 2)
        for i in range(1, cfg.n_layers - 2):
            layers += conv_act(ndf * 2 ** (i - 1), ndf * 2**i, 2)
        ch = ndf * 2 ** (cfg.n_layers - 3)
        layers += conv_act(ch, ch * 2, 1)
        self.body = nn.Sequential(*layers)
        c = ch * 2  # ndf · 2^(n_layers − 2)
        self.cam = _CAM(c, nn.LeakyReLU(0.2, True), sn=cfg.spectral_norm)
        self.head = nn.Sequential(nn.ReflectionPad2d(1), sn(nn.Conv2d(c, 1, 4, 1, bias=False)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, cam_logit, heatmap = self.cam(self.body(x))
        return self.head(x), cam_logit, heatmap
