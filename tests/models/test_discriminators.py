"""PatchGAN discriminators (pix2pix §3.2.2): patch sizes, analytic and measured, and output grids."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from i2i.config import from_dict
from i2i.errors import ConfigError
from i2i.models import DiscriminatorConfig, create_discriminator
from i2i.models.discriminators import PatchGANDiscriminator, receptive_field

# n_layers → patch side: PixelGAN, 16×16, 70×70 (default) and 286×286 "ImageGAN" of the paper's §4.4.
PATCHES = {0: 1, 1: 16, 3: 70, 5: 286}


def patchgan(n_layers: int, ndf: int = 2, norm: str = "batch", in_channels: int = 6) -> PatchGANDiscriminator:
    torch.manual_seed(0)
    return create_discriminator("patchgan", in_channels, n_layers=n_layers, ndf=ndf, norm=norm)


@pytest.mark.parametrize(("n_layers", "side"), PATCHES.items())
def test_receptive_field(n_layers: int, side: int) -> None:
    """receptive_field gives the paper's patch sizes: 1, 16, 70 and 286."""
    assert receptive_field(patchgan(n_layers)) == side


def test_receptive_field_of_a_plain_stack() -> None:
    """receptive_field composes kernels and strides: two 3×3 convs see 5×5, a stride-2 one in between 7×7."""
    assert receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3))) == 5
    assert receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3, 2), nn.Conv2d(1, 1, 3))) == 7


def measured_patch(net: nn.Module, size: int) -> tuple[int, int, int, int]:
    """Rows and columns (first, last) of the input pixels with a nonzero gradient for the centre logit."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.abs_()  # positive weights and leaky ReLUs: no gradient can cancel or vanish
    x = torch.rand(1, net[0].in_channels, size, size).requires_grad_(True)
    out = net(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows, cols = torch.nonzero(x.grad.abs().sum(1)[0], as_tuple=True)
    return rows.min().item(), rows.max().item(), cols.min().item(), cols.max().item()


@pytest.mark.parametrize(("n_layers", "size"), [(0, 9), (1, 48), (3, 128), (5, 384)])
def test_measured_receptive_field(n_layers: int, size: int) -> None:
    """Back-propagating one centre logit reaches exactly a side × side input patch, away from the borders."""
    net = patchgan(n_layers, norm="none")  # no batch statistics that would spread the gradient
    top, bottom, left, right = measured_patch(net, size)
    assert bottom - top + 1 == PATCHES[n_layers]
    assert right - left + 1 == PATCHES[n_layers]
    assert top > 0 and left > 0 and bottom < size - 1 and right < size - 1  # not clipped by the image


def test_output_grid_30x30_at_256() -> None:
    """The default depth turns a 256×256 pair into a 30×30 grid of single-channel logits."""
    net = patchgan(3).eval()
    with torch.no_grad():
        y = net(torch.rand(2, 6, 256, 256) * 2 - 1)
    assert y.shape == (2, 1, 30, 30)


def test_pixelgan_keeps_input_size() -> None:
    """The 1×1 PixelGAN gives one logit per pixel, non-square inputs included."""
    net = patchgan(0, in_channels=4).eval()
    with torch.no_grad():
        y = net(torch.rand(2, 4, 40, 24))
    assert y.shape == (2, 1, 40, 24)
    assert all(m.kernel_size == (1, 1) for m in net.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_layer_layout(n_layers: int) -> None:
    """Channels double up to 8·ndf; only the last two convs have stride 1; no bias before BatchNorm."""
    ndf = 4
    conv_layers = [m for m in patchgan(n_layers, ndf=ndf).modules() if isinstance(m, nn.Conv2d)]
    assert len(conv_layers) == n_layers + 2
    assert [c.out_channels for c in conv_layers] == [ndf * min(2**i, 8) for i in range(n_layers + 1)] + [1]
    assert [c.stride[0] for c in conv_layers] == [2] * n_layers + [1, 1]
    assert [c.bias is not None for c in conv_layers] == [True] + [False] * n_layers + [True]


def test_weight_init() -> None:
    """Conv weights ~ N(0, 0.02), BatchNorm scales near 1, biases 0."""
    net = patchgan(3, ndf=64)
    for conv in (m for m in net.modules() if isinstance(m, nn.Conv2d)):
        assert conv.weight.std().item() == pytest.approx(0.02, rel=0.15)
        assert conv.bias is None or torch.count_nonzero(conv.bias) == 0
    for bn in (m for m in net.modules() if isinstance(m, nn.BatchNorm2d)):
        assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01)
        assert torch.count_nonzero(bn.bias) == 0


@pytest.mark.parametrize("norm", ["instance", "none"])
def test_other_norms(norm: str) -> None:
    """Without BatchNorm every conv has a bias and the network still runs."""
    net = patchgan(2, norm=norm).eval()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert all(m.bias is not None for m in net.modules() if isinstance(m, nn.Conv2d))
    with torch.no_grad():
        assert net(torch.rand(1, 6, 64, 64)).shape == (1, 1, 14, 14)


@pytest.mark.parametrize(("overrides", "field"), [({"n_layers": -1}, "n_layers"), ({"ndf": 0}, "ndf")])
def test_invalid_config(overrides: dict, field: str) -> None:
    """Negative depth or zero filters raise a ConfigError naming the field."""
    with pytest.raises(ConfigError, match=rf"^discriminator\.{field}:"):
        from_dict(DiscriminatorConfig, overrides, "discriminator")
