"""CPU fast path: the oneDNN rewrite gives the eager fp32 network's outputs, for any size, batch and BatchNorm mode."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

import i2i.inference.fast as fast
from i2i.artifact.model import Generator
from i2i.config import from_dict
from i2i.inference.fast import optimize_for_device
from i2i.inference.pipeline import prepare_generator, translate_arrays
from i2i.inference.preprocessing import Preprocessing
from i2i.inference.translator import Translator
from i2i.models import GeneratorConfig, list_generators

CPU = torch.device("cpu")
TOL = 1e-4  # the issue asks for 1e-3 on outputs in [-1, 1]; the rewrite only reorders fp32 sums

pytestmark = pytest.mark.skipif(not fast._onednn_available(), reason="needs PyTorch with oneDNN (x86 CPU builds)")


def calibrated(net: nn.Module, size: int, seed: int = 0) -> nn.Module:
    """Gives BatchNorms the running statistics of random images (fresh ones are 0/1, which folds to nothing)."""
    gen = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None
            nn.init.normal_(m.weight, 1.0, 0.3)
            nn.init.normal_(m.bias, 0.0, 0.3)
    net.train()
    with torch.no_grad():
        for _ in range(2):
            net(torch.rand(2, 3, size, size, generator=gen) * 2 - 1)
    return net.eval()


def tiny_unet(name: str = "unet_128", **overrides) -> nn.Module:
    torch.manual_seed(0)
    fields = {"name": name, "ngf": 8, **({"num_downs": 5} if name == "unet_128" else {}), **overrides}
    net = from_dict(GeneratorConfig, fields, "generator").build(3, 3)
    return calibrated(net, net.size_multiple)


def max_err(a: nn.Module, b: nn.Module, x: torch.Tensor) -> float:
    with torch.inference_mode():
        ya, yb = a(x), b(x)
    assert ya.shape == yb.shape and yb.is_contiguous()
    return (ya - yb).abs().max().item()


@pytest.mark.parametrize("bn_inference", ["per_image", "running"])
@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 64, 96), (2, 96, 32), (1, 160, 128)])
def test_matches_eager_for_any_size_and_batch(bn_inference: str, shape: tuple[int, int, int]) -> None:
    """Sizes that are multiples of the size multiple (32 here), batches of 1 to 3, both BatchNorm rules."""
    net = tiny_unet()
    eager = prepare_generator(net, bn_inference)
    fast_net = optimize_for_device(eager, CPU)
    x = torch.rand(shape[0], 3, *shape[1:], generator=torch.Generator().manual_seed(1)) * 2 - 1
    assert max_err(eager, fast_net, x) <= TOL


@pytest.mark.parametrize("name", [n for n in list_generators() if n.startswith("unet")])
@pytest.mark.parametrize("bn_inference", ["per_image", "running"])
def test_every_unet_at_its_native_size(name: str, bn_inference: str) -> None:
    """Each registered generator at its nominal size, where the innermost feature map is 1×1."""
    net = tiny_unet(name, num_downs=8 if name == "unet_256" else 7, ngf=4)
    eager = prepare_generator(net, bn_inference)
    x = torch.rand(2, 3, net.size_multiple, net.size_multiple, generator=torch.Generator().manual_seed(2)) * 2 - 1
    assert max_err(eager, optimize_for_device(eager, CPU), x) <= TOL


@pytest.mark.parametrize(
    ("name", "overrides", "size"),
    [
        ("resnet_6blocks", {"ngf": 4, "n_blocks": 2}, (36, 44)),
        ("resnet_9blocks", {"ngf": 4, "norm": "batch"}, (32, 32)),
        ("ugatit", {"ngf": 4, "n_blocks": 2, "light": True}, (40, 28)),
        ("ugatit", {"ngf": 4, "n_blocks": 1, "light": False, "img_size": 32}, (32, 32)),
    ],
)
def test_unpaired_generators(name: str, overrides: dict, size: tuple[int, int]) -> None:
    """The CycleGAN and U-GAT-IT generators (reflection padding, transposed or upsampling decoders) stay exact."""
    net = calibrated(GeneratorConfig.registry.get(name)(**overrides).build(3, 3), size[0])
    eager = prepare_generator(net, "running")
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(4)) * 2 - 1
    assert max_err(eager, optimize_for_device(eager, CPU), x) <= TOL


@pytest.mark.parametrize("norm", ["instance", "none"])
def test_other_norms(norm: str) -> None:
    eager = prepare_generator(tiny_unet(norm=norm), "running")
    x = torch.rand(2, 3, 64, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
    assert max_err(eager, optimize_for_device(eager, CPU), x) <= TOL


def test_shapes_are_cached_and_evicted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights are converted per input shape; past MAX_SHAPES the oldest goes, and results stay the same."""
    monkeypatch.setattr(fast, "MAX_SHAPES", 2)
    eager = prepare_generator(tiny_unet(), "per_image")
    fast_net = optimize_for_device(eager, CPU)
    gen = torch.Generator().manual_seed(4)
    inputs = [torch.rand(b, 3, h, w, generator=gen) * 2 - 1 for b, h, w in [(1, 32, 32), (2, 32, 64), (1, 64, 32)]]
    for x in inputs + inputs[::-1] + inputs:
        assert max_err(eager, fast_net, x) <= TOL
    first_conv = next(m for m in fast_net.modules() if isinstance(m, fast._OneDNNConv))
    assert len(first_conv._packed) == 2


def test_rewrite_folds_batchnorm_and_replaces_instance_norm() -> None:
    net = tiny_unet()
    running = optimize_for_device(prepare_generator(net, "running"), CPU)
    per_image = optimize_for_device(prepare_generator(net, "per_image"), CPU)
    for rewritten in (running, per_image):
        assert not rewritten.training
        assert not any(
            isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.InstanceNorm2d)) for m in rewritten.net.modules()
        )
    assert not any(isinstance(m, nn.BatchNorm2d) for m in running.net.modules())
    assert any(isinstance(m, fast._PerImageNorm) for m in per_image.modules())
    outermost = per_image.net.ups[0][1]  # ConvTranspose2d(16 → 3) + Tanh: parity form, tanh fused
    assert outermost.phases and outermost.attr == "tanh"


@pytest.mark.parametrize(
    "layers",
    [
        # parity form (few output channels), bias, BatchNorm and activation folded, non-square input
        lambda: [nn.ConvTranspose2d(8, 3, 4, 2, 1), nn.BatchNorm2d(3), nn.ReLU(inplace=True)],
        # oneDNN's transposed convolution, with output padding
        lambda: [nn.ConvTranspose2d(8, 16, 3, 2, 1, output_padding=1), nn.BatchNorm2d(16), nn.Tanh()],
        # grouped, dilated convolution
        lambda: [nn.Conv2d(8, 16, 3, padding=2, dilation=2, groups=2), nn.BatchNorm2d(16), nn.LeakyReLU(0.1)],
        # a norm that can't be folded, then a padding mode left alone
        lambda: [
            nn.Conv2d(8, 8, 3, 1, 1),
            nn.InstanceNorm2d(8, affine=True),
            nn.Conv2d(8, 4, 3, 1, 1, padding_mode="reflect"),
        ],
    ],
)
def test_single_layers(layers) -> None:
    torch.manual_seed(5)
    net = calibrated_layers(nn.Sequential(*layers()))
    x = torch.randn(2, 8, 5, 7)
    assert max_err(net, optimize_for_device(net, CPU), x) <= TOL


def calibrated_layers(net: nn.Sequential) -> nn.Sequential:
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            nn.init.normal_(m.weight, 1.0, 0.3)
            nn.init.normal_(m.bias, 0.0, 0.3)
    return net.eval()


def test_left_alone_where_it_does_not_apply() -> None:
    net = tiny_unet()
    assert optimize_for_device(net.train(), CPU) is net  # training mode: BatchNorm can't be folded
    net.eval()
    assert optimize_for_device(net, torch.device("cuda")) is net  # only CPUs are handled (nothing runs on CUDA here)
    double = copy.deepcopy(net).double()
    assert optimize_for_device(double, CPU) is double


def test_copies_and_translator() -> None:
    """The rewritten network deep-copies (weights are converted again); a CPU Translator runs it."""
    net = tiny_unet()
    fast_net = optimize_for_device(prepare_generator(net, "per_image"), CPU)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.inference_mode():
        fast_net(x)
    assert max_err(fast_net, copy.deepcopy(fast_net), x) == 0.0

    pre = Preprocessing(input_channels=3, output_channels=3, size_multiple=32, bn_inference="per_image")
    cfg = from_dict(GeneratorConfig, {"name": "unet_128", "num_downs": 5, "ngf": 8}, "generator")
    translator = Translator(Generator(cfg, net, pre), device="cpu")
    assert isinstance(translator.net, fast._NCHWOutput)
    images = [np.random.default_rng(i).integers(0, 256, (40, 50, 3), dtype=np.uint8) for i in range(2)]
    eager = translate_arrays(prepare_generator(net, "per_image"), images, pre, CPU)
    for a, b in zip(translator(images), eager, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_a_failing_fast_path_falls_back_to_the_plain_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The oneDNN operators are PyTorch internals; if a release changes them, translation still works."""
    from i2i.models.unet import UNetConfig

    net = UNetConfig(num_downs=5, ngf=4).build(3, 3).eval()
    quick = optimize_for_device(net, torch.device("cpu"))
    if quick is net:
        pytest.skip("no oneDNN on this machine: the fast path is not used at all")

    def broken(*args: object, **kwargs: object) -> torch.Tensor:
        raise RuntimeError("mkldnn::_convolution_pointwise() expected at most 10 argument(s)")

    monkeypatch.setattr(fast._OneDNNConv, "forward", broken)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(quick(x), net(x))
    assert quick.failed
