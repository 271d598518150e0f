"""Blocks shared by several network families: normalization factory and weight initialization."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

Norm = Literal["batch", "instance", "none"]


def norm_layer(kind: Norm) -> Callable[[int], nn.Module]:
    """Returns a constructor ``f(channels) -> nn.Module`` for the named normalization.

    ``batch`` is BatchNorm2d with learnable scale/shift and running statistics; ``instance`` is InstanceNorm2d
    without affine parameters or running statistics (as in pix2pix/CycleGAN); ``none`` is the identity.
    """
    if kind == "batch":
        return lambda c: nn.BatchNorm2d(c, affine=True, track_running_stats=True)
    if kind == "instance":
        return lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)
    if kind == "none":
        return lambda c: nn.Identity()
    raise ValueError(f"unknown norm '{kind}' (valid: batch, instance, none)")


def conv_bias(kind: Norm) -> bool:
    """Convolutions followed by BatchNorm need no bias (the norm's shift replaces it)."""
    return kind != "batch"


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """pix2pix initialization: conv weights ~ N(0, gain), BatchNorm scale ~ N(1, gain), biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net


def batchnorm_as_instancenorm(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose BatchNorm2d layers normalize each image by its own statistics.

    Each BatchNorm2d becomes an InstanceNorm2d with the same scale and shift. For a network trained with batch
    size 1 this is exactly the computation it was trained with, and unlike BatchNorm in train mode the output of
    one image does not depend on the other images in the batch.
    """
    net = copy.deepcopy(net)
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, (nn.BatchNorm2d, nn.SyncBatchNorm)):  # SyncBatchNorm: multi-GPU training
                inorm = nn.InstanceNorm2d(child.num_features, eps=child.eps, affine=True, track_running_stats=False)
                with torch.no_grad():
                    inorm.weight.copy_(child.weight)
                    inorm.bias.copy_(child.bias)
                setattr(parent, name, inorm.to(device=child.weight.device, dtype=child.weight.dtype))
    return net
