"""U-Net generator (pix2pix appendix 6.1.1) and the shared layers: shapes, size, init, dropout, skips, BatchNorm."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from i2i.config import from_dict
from i2i.errors import ConfigError
from i2i.inference.pipeline import prepare_generator
from i2i.models import GeneratorConfig, create_discriminator, create_generator
from i2i.models.layers import batchnorm_as_instancenorm, conv_bias, init_weights, norm_layer
from i2i.models.unet import UNetGenerator


def tiny_unet(**overrides) -> UNetGenerator:
    """A 5-level U-Net with 4 filters: 32×32 inputs go down to 1×1."""
    torch.manual_seed(0)
    cfg = from_dict(GeneratorConfig, {"name": "unet_128", "num_downs": 5, "ngf": 4, **overrides})
    return cfg.build(3, 3)


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def convs(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


@pytest.fixture(scope="module")
def default_unet() -> nn.Module:
    torch.manual_seed(0)
    return create_generator("unet_256")


# -- shapes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "size"),
    [("unet_128", (128, 128)), ("unet_128", (128, 384)), ("unet_256", (256, 256)), ("unet_256", (512, 256))],
)
@pytest.mark.parametrize(("cin", "cout"), [(1, 3), (3, 1), (3, 3)])
def test_output_shape_and_range(name: str, size: tuple[int, int], cin: int, cout: int) -> None:
    """The output has the input's size, out_channels channels, and tanh values in [-1, 1]."""
    net = create_generator(name, cin, cout, ngf=2).eval()
    x = torch.rand(2, cin, *size) * 2 - 1
    with torch.no_grad():
        y = net(x)
    assert y.shape == (2, cout, *size)
    assert y.abs().max() <= 1.0
    assert y.std() > 0


def test_size_multiple() -> None:
    """unet_128 needs multiples of 128 and unet_256 multiples of 256 (2**num_downs)."""
    assert create_generator("unet_128", ngf=1).size_multiple == 128
    assert create_generator("unet_256", ngf=1).size_multiple == 256
    assert tiny_unet().size_multiple == 32


def test_innermost_level_is_one_pixel() -> None:
    """unet_256 takes a 256² input down to a 1×1 bottleneck (and unet_128 a 128² one)."""
    for name, side in (("unet_128", 128), ("unet_256", 256)):
        net = create_generator(name, ngf=1).eval()
        x = torch.zeros(1, 3, side, side)
        with torch.no_grad():
            for down in net.downs:
                x = down(x)
        assert x.shape[-2:] == (1, 1)


# -- size and initialization -----------------------------------------------------------------------------------


def test_default_unet_256_parameter_count(default_unet: nn.Module) -> None:
    """The default unet_256 has the reference implementation's 54.414 M parameters."""
    assert round(n_params(default_unet) / 1e6, 3) == 54.414


def test_default_patchgan_parameter_count() -> None:
    """The default 70×70 PatchGAN on 6 input channels has the reference's 2.769 M parameters."""
    assert round(n_params(create_discriminator("patchgan")) / 1e6, 3) == 2.769


def test_default_unet_256_layout(default_unet: nn.Module) -> None:
    """Encoder channels are 64, 128, 256, 512 × 5; every decoder level but the innermost takes a skip concat."""
    down_out = [
        seq[-1].num_features if isinstance(seq[-1], nn.BatchNorm2d) else seq[-1].out_channels
        for seq in default_unet.downs
    ]
    assert down_out == [64, 128, 256, 512, 512, 512, 512, 512]
    up_convs = [next(m for m in up if isinstance(m, nn.ConvTranspose2d)) for up in default_unet.ups]
    assert [c.in_channels for c in up_convs] == [128, 256, 512, 1024, 1024, 1024, 1024, 512]
    assert [c.out_channels for c in up_convs] == [3, 64, 128, 256, 512, 512, 512, 512]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in default_unet.downs[0])  # no norm on the first layer
    assert not any(isinstance(m, nn.BatchNorm2d) for m in default_unet.downs[-1])  # nor on the 1×1 bottleneck


def test_weight_init(default_unet: nn.Module) -> None:
    """Conv weights ~ N(0, 0.02), BatchNorm scales ~ N(1, 0.02), every bias 0."""
    for conv in convs(default_unet):
        w = conv.weight.detach()
        assert w.std().item() == pytest.approx(0.02, rel=0.1)
        assert abs(w.mean().item()) < 0.002
        assert conv.bias is None or torch.count_nonzero(conv.bias) == 0
    bns = [m for m in default_unet.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns
    scales = torch.cat([bn.weight.detach() for bn in bns])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.005)
    assert scales.std().item() == pytest.approx(0.02, rel=0.1)
    assert all(torch.count_nonzero(bn.bias) == 0 for bn in bns)


def test_init_weights_resets_a_module() -> None:
    """init_weights overwrites PyTorch's default init with the pix2pix one."""
    net = nn.Sequential(nn.Conv2d(8, 64, 3), nn.BatchNorm2d(64), nn.ConvTranspose2d(64, 32, 4))
    init_weights(net, gain=0.05)
    assert net[0].weight.std().item() == pytest.approx(0.05, rel=0.1)
    assert torch.count_nonzero(net[0].bias) == 0 and torch.count_nonzero(net[2].bias) == 0
    assert net[1].weight.mean().item() == pytest.approx(1.0, abs=0.03)
    assert net[1].weight.std().item() > 0


# -- dropout ---------------------------------------------------------------------------------------------------


def dropout_positions(net: UNetGenerator) -> list[int]:
    return [i for i, up in enumerate(net.ups) if any(isinstance(m, nn.Dropout) for m in up)]


@pytest.mark.parametrize(("name", "n"), [("unet_128", 7), ("unet_256", 8)])
def test_dropout_in_three_innermost_decoder_blocks(name: str, n: int) -> None:
    """As in the paper's decoder (CD512-CD512-CD512-C512...): dropout 0.5 in the 3 innermost decoder blocks."""
    net = create_generator(name, ngf=1)
    drops = [m for m in net.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 3
    assert all(d.p == 0.5 for d in drops)
    assert dropout_positions(net) == [n - 3, n - 2, n - 1]


def test_dropout_blocks_and_zero_dropout() -> None:
    """dropout_blocks sets how many innermost blocks drop out; dropout=0 removes every Dropout module."""
    assert dropout_positions(tiny_unet(dropout_blocks=4)) == [1, 2, 3, 4]
    assert dropout_positions(tiny_unet(dropout_blocks=0)) == []
    net = tiny_unet(dropout=0.0)
    assert not any(isinstance(m, nn.Dropout) for m in net.modules())
    assert [d.p for d in tiny_unet(dropout=0.3).modules() if isinstance(d, nn.Dropout)] == [0.3] * 3


def test_dropout_is_random_in_train_mode_only() -> None:
    """Two train-mode passes differ (dropout is on); two eval-mode passes are identical."""
    net = tiny_unet()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        net.train()
        a, b = net(x), net(x)
        assert (a - b).abs().max() > 1e-4
        net.eval()
        assert torch.equal(net(x), net(x))


def test_without_dropout_train_mode_is_deterministic() -> None:
    """With dropout=0 the train-mode pass is deterministic (the randomness above is the dropout)."""
    net = tiny_unet(dropout=0.0).train()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(net(x), net(x))


# -- skip connections and dependence on the input --------------------------------------------------------------


def test_output_depends_on_input() -> None:
    """Different inputs give clearly different outputs (the network is not degenerate)."""
    net = tiny_unet().eval()
    x1, x2 = torch.rand(2, 1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert (net(x1) - net(x2)).abs().mean() > 1e-3


def test_output_pixel_sees_nearby_input() -> None:
    """The gradient of one output pixel is nonzero at the input pixels around it."""
    net = tiny_unet(dropout=0.0).eval()
    x = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_(True)
    net(x)[0, :, 16, 16].sum().backward()
    grad = x.grad.abs().sum(1)[0]
    assert grad[13:19, 13:19].min() > 0


def test_outermost_skip_alone_carries_a_local_image() -> None:
    """With the deeper decoder silenced, the output still follows the input, through the outermost skip only."""
    # downs[0] (4×4, stride 2) and ups[0] (4×4 transposed, stride 2) give output pixel 16 the input window 13..18.
    net = tiny_unet(dropout=0.0, norm="none").eval()
    with torch.no_grad():
        net.ups[1][1].weight.zero_()  # the decoder below level 0 now outputs 0
        net.downs[0][0].weight.abs_()  # positive features pass the decoder's ReLU
        net.ups[0][1].weight.abs_()
    x = torch.rand(1, 3, 32, 32).requires_grad_(True)
    net(x)[0, :, 16, 16].sum().backward()
    rows, cols = torch.nonzero(x.grad.abs().sum(1)[0], as_tuple=True)
    assert sorted(set(rows.tolist())) == list(range(13, 19))
    assert sorted(set(cols.tolist())) == list(range(13, 19))


# -- normalization variants ------------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["instance", "none"])
def test_other_norms_build_and_run(norm: str) -> None:
    """norm=instance/none build, run, hold no BatchNorm, and give their convs a bias."""
    net = tiny_unet(norm=norm).eval()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    has_instance = any(isinstance(m, nn.InstanceNorm2d) for m in net.modules())
    assert has_instance == (norm == "instance")
    assert all(c.bias is not None for c in convs(net))
    with torch.no_grad():
        y = net(torch.rand(1, 3, 64, 32) * 2 - 1)
    assert y.shape == (1, 3, 64, 32) and torch.isfinite(y).all()


def test_no_conv_bias_before_batchnorm() -> None:
    """With BatchNorm, only the final transposed conv (followed by tanh, not a norm) has a bias."""
    net = tiny_unet()
    with_bias = [c for c in convs(net) if c.bias is not None]
    assert with_bias == [net.ups[0][1]]


def test_norm_layer_factory() -> None:
    """norm_layer makes the named module, conv_bias is False only for batch, unknown names raise."""
    assert isinstance(norm_layer("batch")(8), nn.BatchNorm2d)
    inorm = norm_layer("instance")(8)
    assert isinstance(inorm, nn.InstanceNorm2d) and not inorm.affine and not inorm.track_running_stats
    assert isinstance(norm_layer("none")(8), nn.Identity)
    assert [conv_bias(k) for k in ("batch", "instance", "none")] == [False, True, True]
    with pytest.raises(ValueError, match="unknown norm"):
        norm_layer("group")


# -- BatchNorm at inference ------------------------------------------------------------------------------------


def trained_looking_bn_unet() -> UNetGenerator:
    """A BatchNorm U-Net without dropout whose scales, shifts and running statistics are not the defaults."""
    net = tiny_unet(dropout=0.0)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    return net


def test_batchnorm_as_instancenorm_matches_batch_of_one_training() -> None:
    """Converted + eval on one image gives exactly BatchNorm's train-mode output at batch size 1."""
    net = trained_looking_bn_unet()
    converted = batchnorm_as_instancenorm(net).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        expected = net.train()(x)
        got = converted(x)
        running = net.eval()(x)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
    assert (running - expected).abs().max() > 1e-3  # running statistics would give something else


def test_syncbatchnorm_of_multi_gpu_training_is_converted_too() -> None:
    """Validation during multi-GPU training sees SyncBatchNorm layers; per-image inference must convert them."""
    net = trained_looking_bn_unet()
    synced = torch.nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(net))
    converted = batchnorm_as_instancenorm(synced).eval()
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in converted.modules())
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(converted(x), net.train()(x), atol=1e-6, rtol=0)


def test_batchnorm_as_instancenorm_is_independent_of_the_batch() -> None:
    """The converted copy's output for an image does not depend on the other images in its batch."""
    net = trained_looking_bn_unet()
    converted = batchnorm_as_instancenorm(net).eval()
    x0, x1, x2 = torch.rand(3, 1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        alone = converted(x0)[0]
        with_x1 = converted(torch.cat([x0, x1]))[0]
        with_x2 = converted(torch.cat([x2, x1, x0]))[2]
        bn_a = net.train()(torch.cat([x0, x1]))[0]
        bn_b = net.train()(torch.cat([x0, x2]))[0]
    torch.testing.assert_close(with_x1, alone, atol=1e-6, rtol=0)
    torch.testing.assert_close(with_x2, alone, atol=1e-6, rtol=0)
    assert (bn_a - bn_b).abs().max() > 1e-4  # whereas train-mode BatchNorm mixes the batch


def test_batchnorm_as_instancenorm_copies_and_leaves_the_original() -> None:
    """The copy has affine InstanceNorms with the BatchNorm scales; the original keeps its modules and weights."""
    net = trained_looking_bn_unet()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    converted = batchnorm_as_instancenorm(net)
    inorms = [m for m in converted.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in converted.modules())
    assert len(inorms) == len(bns) > 0
    for bn, inorm in zip(bns, inorms, strict=True):
        assert inorm.affine and not inorm.track_running_stats and inorm.eps == bn.eps
        assert torch.equal(inorm.weight, bn.weight) and torch.equal(inorm.bias, bn.bias)
        assert inorm.weight.data_ptr() != bn.weight.data_ptr()
    assert [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)] == bns
    after = net.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_prepare_generator_running_keeps_batchnorm() -> None:
    """'running' puts the net in eval mode (no dropout) and keeps BatchNorm with its running statistics."""
    net = tiny_unet().train()
    ready = prepare_generator(net, "running")
    assert not ready.training and not any(m.training for m in ready.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in ready.modules())
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(ready(x), ready(x))


def test_prepare_generator_per_image_converts() -> None:
    """'per_image' returns an eval-mode copy with InstanceNorm in place of BatchNorm, the original untouched."""
    net = trained_looking_bn_unet()
    ready = prepare_generator(net, "per_image")
    assert ready is not net
    assert not any(m.training for m in ready.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in ready.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(ready(x), net.train()(x), atol=1e-6, rtol=0)


# -- config validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"num_downs": 4}, "num_downs"),
        ({"ngf": 0}, "ngf"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"dropout_blocks": 8}, "dropout_blocks"),
        ({"num_downs": 6, "dropout_blocks": 6}, "dropout_blocks"),
        ({"dropout_blocks": -1}, "dropout_blocks"),
    ],
)
def test_invalid_config_names_the_field(overrides: dict, field: str) -> None:
    """Out-of-range values raise a ConfigError that starts with the field's name."""
    with pytest.raises(ConfigError, match=rf"^{field}:"):
        from_dict(GeneratorConfig, {"name": "unet_256", **overrides})


def test_invalid_config_error_has_the_section_path() -> None:
    """Under a section path the error names the full key."""
    with pytest.raises(ConfigError, match=r"^generator\.num_downs:"):
        from_dict(GeneratorConfig, {"num_downs": 3}, "generator")


def test_largest_valid_dropout_blocks() -> None:
    """dropout_blocks = num_downs - 1 is valid: every decoder block but the outermost drops out."""
    cfg = from_dict(GeneratorConfig, {"name": "unet_128", "num_downs": 5, "dropout_blocks": 4, "ngf": 1})
    assert dropout_positions(cfg.build(3, 3)) == [1, 2, 3, 4]


def test_unet_lite_is_the_unet_with_a_lower_channel_cap() -> None:
    """unet_lite at ngf 64 and cap 8 is exactly unet_256; at its defaults it is small enough to bundle as fp16."""
    full = create_generator("unet_256", 3, 3)
    same = create_generator("unet_lite", 3, 3, ngf=64, max_mult=8)
    assert {k: v.shape for k, v in same.state_dict().items()} == {k: v.shape for k, v in full.state_dict().items()}
    lite = create_generator("unet_lite", 3, 3)
    widest = max(m.out_channels for m in lite.modules() if isinstance(m, torch.nn.Conv2d))
    assert widest == 32 * 4
    weights = sum(p.numel() for p in lite.parameters())
    assert weights * 2 < 10 * 2**20 < weights * 4  # fp16 fits the 10 MB bundle limit, fp32 would not
    out = lite(torch.rand(1, 3, 256, 256) * 2 - 1)
    assert out.shape == (1, 3, 256, 256) and out.abs().max() <= 1
