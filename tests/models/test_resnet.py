"""CycleGAN ResNet generator: shapes, size, residual blocks, padding and norm variants, init, registry, config."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from i2i.config import from_dict
from i2i.errors import ConfigError
from i2i.models import GeneratorConfig, create_generator, list_generators
from i2i.models.resnet import ResidualBlock, ResNet6Config, ResNetConfig, ResNetGenerator


def tiny_resnet(**overrides) -> ResNetGenerator:
    torch.manual_seed(0)
    return create_generator("resnet_6blocks", **{"ngf": 4, "n_blocks": 2, **overrides})


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def blocks(net: nn.Module) -> list[ResidualBlock]:
    return [m for m in net.modules() if isinstance(m, ResidualBlock)]


@pytest.mark.parametrize("size", [(32, 32), (36, 44), (64, 48), (8, 12)])
@pytest.mark.parametrize(("cin", "cout"), [(3, 3), (1, 3)])
def test_output_shape_and_range(size: tuple[int, int], cin: int, cout: int) -> None:
    """Any H, W that are multiples of 4 come back at the same size, with tanh values in [-1, 1]."""
    net = create_generator("resnet_6blocks", cin, cout, ngf=4, n_blocks=1).eval()
    with torch.no_grad():
        y = net(torch.rand(2, cin, *size) * 2 - 1)
    assert y.shape == (2, cout, *size)
    assert y.abs().max() <= 1.0 and y.std() > 0


def test_registered_variants_and_size_multiple() -> None:
    """resnet_9blocks and resnet_6blocks are registered with 9 and 6 blocks; inputs must be multiples of 4."""
    assert {"resnet_6blocks", "resnet_9blocks"} <= set(list_generators())
    nine, six = create_generator("resnet_9blocks", ngf=1), create_generator("resnet_6blocks", ngf=1)
    assert isinstance(nine.cfg, ResNetConfig) and type(six.cfg) is ResNet6Config
    assert (len(blocks(nine)), len(blocks(six))) == (9, 6)
    assert nine.size_multiple == six.size_multiple == 4
    assert from_dict(GeneratorConfig, {"name": "resnet_9blocks"}).size_multiple == 4


def test_default_parameter_counts() -> None:
    """At ngf 64 on RGB: 11.378 M (9 blocks) and 7.837 M (6 blocks), as in the CycleGAN reference code."""
    with torch.device("meta"):  # no memory, no init cost
        assert n_params(create_generator("resnet_9blocks")) == 11_378_179
        assert n_params(create_generator("resnet_6blocks")) == 7_837_699


@pytest.mark.parametrize(("norm", "per_channel"), [("instance", 1), ("batch", 2), ("none", 1)])
def test_parameters_per_block(norm: str, per_channel: int) -> None:
    """Each block adds two 3×3 convs at 4·ngf channels, plus a bias (or BatchNorm scale and shift) per channel."""
    c = 4 * 4
    per_block = 2 * (9 * c * c + per_channel * c)
    assert n_params(tiny_resnet(n_blocks=3, norm=norm)) - n_params(tiny_resnet(n_blocks=2, norm=norm)) == per_block
    assert n_params(tiny_resnet(n_blocks=0, norm=norm)) == n_params(tiny_resnet(n_blocks=2, norm=norm)) - 2 * per_block


def test_layout() -> None:
    """7×7 stem, two stride-2 convs up to 4·ngf, blocks at 4·ngf, two transposed convs back, 7×7 output."""
    net = tiny_resnet(ngf=4, n_blocks=2)
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert [c.kernel_size[0] for c in convs] == [7, 3, 3] + [3] * 4 + [3, 3, 7]
    assert [c.out_channels for c in convs] == [4, 8, 16] + [16] * 4 + [8, 4, 3]
    assert [c.stride[0] for c in convs] == [1, 2, 2] + [1] * 4 + [2, 2, 1]
    ups = [c for c in convs if isinstance(c, nn.ConvTranspose2d)]
    assert len(ups) == 2 and all(c.output_padding == (1, 1) for c in ups)
    assert isinstance(net[0], nn.ReflectionPad2d) and net[0].padding == (3, 3, 3, 3)
    assert isinstance(net[-1], nn.Tanh)


def test_blocks_are_residual() -> None:
    """With its last conv zeroed a block is the identity: the output is x + F(x)."""
    net = tiny_resnet().eval()
    block = blocks(net)[0]
    last_conv = [m for m in block.body if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        last_conv.weight.zero_()
        last_conv.bias.zero_()
        x = torch.randn(2, 16, 8, 8)
        assert torch.equal(block(x), x)


@pytest.mark.parametrize(("padding", "pad_type"), [("reflect", nn.ReflectionPad2d), ("replicate", nn.ReplicationPad2d)])
def test_block_padding(padding: str, pad_type: type) -> None:
    """The blocks pad with the chosen mode; 'zero' lets the convs pad instead. The size is kept either way."""
    net = tiny_resnet(padding=padding).eval()
    assert all(sum(isinstance(m, pad_type) for m in b.body) == 2 for b in blocks(net))
    zero = tiny_resnet(padding="zero").eval()
    assert not any(isinstance(m, (nn.ReflectionPad2d, nn.ReplicationPad2d)) for b in blocks(zero) for m in b.body)
    assert all(c.padding == (1, 1) for b in blocks(zero) for c in b.body if isinstance(c, nn.Conv2d))
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert net(x).shape == zero(x).shape == x.shape
    assert n_params(net) == n_params(zero)


def test_dropout_only_when_asked() -> None:
    """dropout > 0 puts one Dropout in each block; the default (0) has none."""
    assert not any(isinstance(m, nn.Dropout) for m in tiny_resnet().modules())
    drops = [m for m in tiny_resnet(dropout=0.5, n_blocks=3).modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 3 and all(d.p == 0.5 for d in drops)


def test_conv_bias_and_init() -> None:
    """Conv weights ~ N(0, 0.02) and biases 0; no bias before BatchNorm (the output conv keeps its own)."""
    net = tiny_resnet(ngf=16)
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    weights = torch.cat([c.weight.detach().flatten() for c in convs])
    assert weights.std().item() == pytest.approx(0.02, rel=0.05)
    assert all(c.bias is not None and torch.count_nonzero(c.bias) == 0 for c in convs)
    bn_convs = [m for m in tiny_resnet(norm="batch").modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert [c.bias is not None for c in bn_convs] == [False] * (len(bn_convs) - 1) + [True]


def test_gradient_reaches_every_parameter() -> None:
    net = tiny_resnet(norm="batch", dropout=0.2)
    y = net(torch.rand(2, 3, 16, 16) * 2 - 1)
    (y * torch.randn_like(y)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_channels_last_bf16_and_deepcopy() -> None:
    """channels_last gives the same output; bf16 autocast runs and stays close; a deep copy computes the same."""
    net = tiny_resnet().eval()
    x = torch.rand(2, 3, 16, 20) * 2 - 1
    with torch.no_grad():
        y = net(x)
        torch.testing.assert_close(net(x.contiguous(memory_format=torch.channels_last)), y, atol=1e-5, rtol=0)
        assert torch.equal(copy.deepcopy(net)(x), y)
        with torch.autocast("cpu", torch.bfloat16):
            y16 = net(x)
    assert y16.dtype == torch.bfloat16
    assert (y16.float() - y).abs().max() < 0.05


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ngf": 0}, "ngf"),
        ({"n_blocks": -1}, "n_blocks"),
        ({"dropout": 1.0}, "dropout"),
        ({"padding": "mirror"}, "padding"),
    ],
)
def test_invalid_config(overrides: dict, field: str) -> None:
    """Bad values raise a ConfigError naming the field."""
    with pytest.raises(ConfigError, match=rf"^generator\.{field}:"):
        from_dict(GeneratorConfig, {"name": "resnet_9blocks", **overrides}, "generator")
