"""Contract tests generated from the generator registry: every registered generator (and every mode that changes
how it takes inputs) is checked the day it is registered, at a small width (``helpers.shrink``).

- output shape and range for 3→3, 1→3 and 3→1 channels;
- backward: every parameter gets a finite gradient;
- release round trip: a release written and read back translates exactly as the network in memory;
- CPU fast path (``inference.fast``) within float rounding of the eager network, in both BatchNorm modes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import shrink

from i2i.artifact.model import Generator, Model, Source
from i2i.artifact.release import read_release, write_release
from i2i.config import from_dict
from i2i.inference.fast import optimize_for_device
from i2i.inference.pipeline import prepare_generator, translate_arrays
from i2i.inference.preprocessing import Preprocessing
from i2i.inference.translator import Translator
from i2i.models import GeneratorConfig, list_generators

# Modes of a registered generator that change which inputs it takes (beyond its registered default).
MODES = {"ugatit": [{"light": True}]}
VARIANTS = [(name, {}) for name in list_generators()] + [(n, m) for n, modes in MODES.items() for m in modes]
IDS = [name + "".join(f"-{k}={v}" for k, v in mode.items()) for name, mode in VARIANTS]
CPU = torch.device("cpu")


def small(name: str, mode: dict) -> GeneratorConfig:
    return shrink(from_dict(GeneratorConfig, {"name": name, **mode}, "generator"), 32)


def input_size(cfg: GeneratorConfig) -> int:
    """A square side the network takes as it is: its fixed size, else a multiple of its size multiple near 32."""
    return cfg.fixed_size or cfg.size_multiple * math.ceil(32 / cfg.size_multiple)


def preprocessing(cfg: GeneratorConfig, cin: int = 3, cout: int = 3, bn: str = "running") -> Preprocessing:
    return Preprocessing(cin, cout, size_multiple=cfg.size_multiple, fixed_size=cfg.fixed_size, bn_inference=bn)


def images(count: int, channels: int = 3) -> list[np.ndarray]:
    """Odd-sized uint8 images (they need padding, or resizing for fixed-size networks)."""
    return [np.random.default_rng(i).integers(0, 256, (37, 45, channels), dtype=np.uint8) for i in range(count)]


def test_every_registered_generator_is_covered() -> None:
    assert {name for name, _ in VARIANTS} == set(list_generators()) and list_generators()


@pytest.mark.parametrize(("name", "mode"), VARIANTS, ids=IDS)
@pytest.mark.parametrize(("cin", "cout"), [(3, 3), (1, 3), (3, 1)])
def test_output_shape_and_range(name: str, mode: dict, cin: int, cout: int) -> None:
    cfg = small(name, mode)
    torch.manual_seed(0)
    net = cfg.build(cin, cout).eval()
    size = input_size(cfg)
    with torch.no_grad():
        y = net(torch.rand(2, cin, size, size) * 2 - 1)
    assert y.shape == (2, cout, size, size) and y.dtype == torch.float32
    assert torch.isfinite(y).all() and y.abs().max() <= 1.0


@pytest.mark.parametrize(("name", "mode"), VARIANTS, ids=IDS)
def test_backward_reaches_every_parameter(name: str, mode: dict) -> None:
    cfg = small(name, mode)
    torch.manual_seed(0)
    net = cfg.build(3, 3).train()
    size = input_size(cfg)
    net(torch.rand(2, 3, size, size) * 2 - 1).square().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no finite gradient for {missing}"
    assert any(p.grad.abs().sum() > 0 for p in net.parameters())


@pytest.mark.parametrize(("name", "mode"), VARIANTS, ids=IDS)
def test_release_round_trip_translates_identically(name: str, mode: dict, tmp_path: Path) -> None:
    cfg = small(name, mode)
    torch.manual_seed(0)
    net = cfg.build(3, 3)
    with torch.no_grad():  # away from the initial values, so that loading them back is not a no-op
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    pre = preprocessing(cfg)
    model = Model(tmp_path, "test", [Generator(cfg, net, pre)], Source("run", "last.pt", 1, "data"))
    release = read_release(write_release(model, tmp_path / "release"))
    assert release.generators[0].config == cfg and release.generators[0].preprocessing == pre
    inputs = images(3)
    before, after = Translator(model.generator(), "cpu")(inputs), Translator(release.generator(), "cpu")(inputs)
    for a, b in zip(before, after, strict=True):
        assert a.shape == (37, 45, 3) and np.array_equal(a, b)


@pytest.mark.parametrize(("name", "mode"), VARIANTS, ids=IDS)
@pytest.mark.parametrize("bn", ["per_image", "running"])
def test_cpu_fast_path_matches_eager(name: str, mode: dict, bn: str) -> None:
    cfg = small(name, mode)
    torch.manual_seed(0)
    net = cfg.build(3, 3)
    for m in net.modules():  # running statistics that differ from a fresh layer's
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    eager = prepare_generator(net, bn)
    fast = optimize_for_device(prepare_generator(net, bn), CPU)
    size = input_size(cfg)
    x = torch.rand(2, 3, size, size) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(fast(x), eager(x), rtol=0, atol=1e-4)
    pre = preprocessing(cfg, bn=bn)
    uint8_eager = translate_arrays(eager, images(2), pre, CPU)
    uint8_fast = translate_arrays(fast, images(2), pre, CPU)
    for a, b in zip(uint8_eager, uint8_fast, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
