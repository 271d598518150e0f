"""Translator: any size and aspect ratio, batch independence, channels, and the preprocessing it records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from i2i.artifact.model import Generator
from i2i.inference.pipeline import run_generator
from i2i.inference.preprocessing import Preprocessing
from i2i.inference.translator import Translator
from i2i.models import create_generator


@pytest.fixture
def translator(tiny_run: Path) -> Translator:
    return Translator.from_pretrained(tiny_run)


@pytest.mark.parametrize("size", [(32, 32), (37, 91), (200, 33), (1, 1), (64, 300)])
def test_any_size_and_aspect_ratio(translator: Translator, size: tuple[int, int]) -> None:
    """Outputs keep the input's height and width, whatever they are (the U-Net needs multiples of 32 here)."""
    image = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    (out,) = translator([image])
    assert out.shape == (*size, 3) and out.dtype == np.uint8


def test_batching_does_not_change_results(translator: Translator) -> None:
    """An image's output is the same alone, in a batch of equal-size images, and among images of other sizes."""
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (40, 48, 3), dtype=np.uint8) for _ in range(5)]
    images.insert(2, rng.integers(0, 256, (70, 30, 3), dtype=np.uint8))
    together = translator(images, batch_size=4)
    alone = [translator([im], batch_size=1)[0] for im in images]
    for a, b in zip(together, alone, strict=True):
        assert np.array_equal(a, b)


def test_translator_is_deterministic_and_in_eval_mode(translator: Translator) -> None:
    """Dropout is off at inference: two calls give identical outputs; BatchNorm follows the release rule."""
    image = np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert np.array_equal(translator([image])[0], translator([image])[0])
    assert not translator.net.training
    assert translator.pre.bn_inference == "per_image"  # trained at batch size 1 with BatchNorm, bn_inference auto
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in translator.net.modules())


def test_wrong_channel_count_is_refused(translator: Translator) -> None:
    gray = np.zeros((32, 32, 1), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"expected \(H, W, 3\) uint8"):
        translator([gray])


def test_infer_size_resizes_to_the_training_scale_and_back() -> None:
    """With infer_size, the generator sees the short side at that size; the output returns to the input size."""
    seen: list[tuple[int, int]] = []
    net = create_generator("unet_128", num_downs=5, ngf=2)
    net.register_forward_pre_hook(lambda m, args: seen.append(tuple(args[0].shape[-2:])))
    pre = Preprocessing(input_channels=3, output_channels=3, size_multiple=32, infer_size=64)
    y = run_generator(net.eval(), torch.zeros(1, 3, 128, 256), pre)
    assert seen == [(64, 128)] and tuple(y.shape) == (1, 3, 128, 256)


def test_grayscale_model(tmp_path: Path) -> None:
    """A 1 → 3 channel model (colorization) takes (H, W, 1) images and returns (H, W, 3)."""
    net = create_generator("unet_128", in_channels=1, out_channels=3, num_downs=5, ngf=2)
    cfg_pre = Preprocessing(input_channels=1, output_channels=3, size_multiple=32)
    from i2i.config import from_dict
    from i2i.models import GeneratorConfig

    gen_cfg = from_dict(GeneratorConfig, {"name": "unet_128", "num_downs": 5, "ngf": 2})
    translator = Translator(Generator(gen_cfg, net, cfg_pre))
    (out,) = translator([np.zeros((20, 30, 1), dtype=np.uint8)])
    assert out.shape == (20, 30, 3)
