"""Running a network on images: the steps every translation takes, shared by validation, evaluation and
``Translator``, and those every classification takes (``classify_arrays``), shared by validation, evaluation and
``Classifier``.

Every image is processed at its own size: its shorter side is optionally resized to ``infer_size`` (the scale the
model was trained at), or the whole image to ``fixed_size`` for generators built for one size; it is padded up to the
generator's size multiple, translated, cropped back and resized to the input's original size. Dropout is off and
BatchNorm follows the ``bn_inference`` rule, so the output of one image never depends on the other images in its
batch.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from i2i.data.processing import crop_to, denormalize, normalize, pad_to_multiple, resize, short_side_size
from i2i.errors import ModelRunError
from i2i.inference.preprocessing import ClassifierPreprocessing, Preprocessing
from i2i.models.layers import batchnorm_as_instancenorm


def prepare_generator(net: nn.Module, bn_inference: str) -> nn.Module:
    """An inference-ready copy of ``net``: eval mode (no dropout), BatchNorm per the ``bn_inference`` rule.

    The copy leaves the caller's network (say, one still training) untouched.
    """
    if bn_inference == "per_image" and any(isinstance(m, (nn.BatchNorm2d, nn.SyncBatchNorm)) for m in net.modules()):
        return batchnorm_as_instancenorm(net).eval()
    return copy.deepcopy(net).eval()


def network_input(
    x: torch.Tensor, pre: Preprocessing, max_pixels: int | None = None
) -> tuple[torch.Tensor, tuple[int, int]]:
    """Float (B, C, H, W) in [-1, 1] → the padded tensor the generator sees, and the size to crop its output to.
    An input the network would run on at more than ``max_pixels`` pixels (None: i2i's pixel limit,
    ``imageio.max_pixels``), or too elongated to pad, is refused first (``Preprocessing.check_size``)."""
    height, width = x.shape[-2:]
    pre.check_size(height, width, max_pixels)
    if pre.fixed_size is not None:
        x = resize(x, (pre.fixed_size, pre.fixed_size), pre.resize_mode)
    elif pre.infer_size is not None:
        x = resize(x, short_side_size(height, width, pre.infer_size), pre.resize_mode)
    return pad_to_multiple(x, pre.size_multiple)


@torch.no_grad()
def run_generator(net: nn.Module, x: torch.Tensor, pre: Preprocessing, max_pixels: int | None = None) -> torch.Tensor:
    """Translates float (B, C, H, W) in [-1, 1] of one size; returns (B, C_out, H, W) in [-1, 1]. A network that
    fails on it (out of memory, say) or gives another shape than ``pre`` declares raises ModelRunError in one line."""
    height, width = x.shape[-2:]
    padded, size = network_input(x, pre, max_pixels)
    try:
        y = net(padded)
    except (RuntimeError, MemoryError) as exc:  # torch's errors (an allocation, a kernel) are RuntimeErrors
        raise _failed(f"the generator failed on a {width}x{height} image", exc) from None
    expected = (x.shape[0], pre.output_channels, *padded.shape[-2:])
    if tuple(y.shape) != expected:
        raise ModelRunError(f"the generator gave an output of shape {list(y.shape)}, expected {list(expected)}")
    y = crop_to(y, size).float()
    return resize(y, (height, width), pre.resize_mode)


def to_batch(images: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """(H, W, C) uint8 images of one size → float (B, C, H, W) in [-1, 1] on ``device``."""
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)  # np.stack copies: writable, contiguous
    return normalize(batch.to(device))


def translate_arrays(
    net: nn.Module, images: list[np.ndarray], pre: Preprocessing, device: torch.device, max_pixels: int | None = None
) -> list[np.ndarray]:
    """Translates (H, W, C) uint8 images of one size as one batch; returns (H, W, C_out) uint8 images."""
    y = denormalize(run_generator(net, to_batch(images, device), pre, max_pixels))
    return [im.permute(1, 2, 0).cpu().numpy() for im in y]


@torch.no_grad()
def classify_arrays(
    net: nn.Module, images: list[np.ndarray], pre: ClassifierPreprocessing, device: torch.device
) -> np.ndarray:
    """Class probabilities (N, classes) of (H, W, C) uint8 images of any sizes, ``net`` in eval mode: each image is
    resized to ``pre.image_size`` squared on its own, then all run as one batch (BatchNorm uses its running
    statistics, so one image's result never depends on the others)."""
    size = (pre.image_size, pre.image_size)
    x = torch.cat([resize(to_batch([im], device), size, pre.resize_mode) for im in images])
    try:
        logits = net(x)
    except (RuntimeError, MemoryError) as exc:
        raise _failed("the classifier failed", exc) from None
    return torch.softmax(logits.float(), dim=1).cpu().numpy()


def _failed(what: str, exc: BaseException) -> ModelRunError:
    """``what`` with the first line of torch's message: a one-line error for a network that failed on valid input."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    return ModelRunError(f"{what} ({lines[0][:200]})")
