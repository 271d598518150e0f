"""Faster fp32 inference on CPUs: a generator rewritten for oneDNN, giving the eager network's outputs (to ~1e-5).

On a CPU, eager PyTorch converts every convolution's weights into oneDNN's blocked layout on every call. The pix2pix
U-Net reads 54 M weights per image, most of them in layers with tiny feature maps, so for it those conversions cost
about as much as the arithmetic (and ``ConvTranspose2d`` takes a slower path still). ``optimize_for_device`` keeps:

- each convolution's weights converted once, for each input shape (the best layout depends on the shape; a few
  shapes are kept, least recently used first out);
- activations channels_last (NHWC), the layout oneDNN's kernels read;
- BatchNorm with running statistics folded into the convolution before it, and a ReLU/LeakyReLU/Tanh right after it
  computed inside it;
- a 4×4 stride-2 ConvTranspose2d with few output channels (the U-Net's last layer) as one plain convolution per
  output-pixel parity, which oneDNN runs about twice as fast;
- per-image normalization (InstanceNorm, which is also BatchNorm in ``per_image`` mode) computed by the channels_last
  BatchNorm kernel, one image at a time, instead of InstanceNorm's copy to and from NCHW.

Nothing runs at lower precision; only the order of the floating-point sums changes (outputs within ~5e-6 of eager).
How much faster it is on a given CPU: ``benchmarks/cpu_inference.py`` (results in docs/benchmarks.md). The first call
with a new input shape converts the weights, costing about one eager call.
"""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)

MAX_SHAPES = 4  # input shapes whose converted weights are kept (each a copy of the weights: 218 MB for unet_256)
PHASE_MAX_CHANNELS = 16  # transposed convolutions with fewer output channels run in parity form


def optimize_for_device(net: nn.Module, device: torch.device) -> nn.Module:
    """A copy of the eval-mode ``net`` that runs faster on ``device``, or ``net`` itself where nothing applies.

    Only CPUs with oneDNN (x86) are handled: float32 networks in eval mode get the rewrite described in the module
    docstring; anything else (CUDA, training mode, other dtypes) is returned unchanged. The copy's forward takes
    (B, C, H, W) of any size the network accepts and returns a contiguous (NCHW) tensor, as the network does.
    Convolutions with non-zero padding modes or string padding are left as they are.
    """
    if device.type != "cpu" or net.training or not _onednn_available():
        return net
    if any(p.dtype != torch.float32 or p.device.type != "cpu" for p in net.parameters()):
        return net
    fast = copy.deepcopy(net)
    _rewrite(fast)
    return _NCHWOutput(fast, fallback=net).eval()


def _onednn_available() -> bool:
    ops = torch.ops.mkldnn
    return torch.backends.mkldnn.is_available() and all(
        hasattr(ops, name)
        for name in (
            "_convolution_pointwise",
            "_convolution_transpose_pointwise",
            "_reorder_convolution_weight",
            "_reorder_convolution_transpose_weight",
        )
    )


def _rewrite(net: nn.Module) -> None:
    """Replaces, in place, the convolutions (with the BatchNorm and activation after them) and the InstanceNorms."""
    for parent in list(net.modules()):
        names = list(parent._modules)
        i = 0
        while i < len(names):
            child = parent._modules[names[i]]
            if isinstance(child, (nn.Conv2d, nn.ConvTranspose2d)) and _supported(child):
                # Only a Sequential promises that its next module runs right after the convolution, on its output.
                after = [parent._modules[n] for n in names[i + 1 : i + 3]] if isinstance(parent, nn.Sequential) else []
                norm = after.pop(0) if after and _foldable(child, after[0]) else None
                act = after[0] if after and _post_op(after[0]) is not None else None
                parent._modules[names[i]] = _OneDNNConv(child, norm, act)
                for _ in range((norm is not None) + (act is not None)):
                    i += 1
                    parent._modules[names[i]] = nn.Identity()
            elif isinstance(child, nn.InstanceNorm2d) and not child.track_running_stats:
                parent._modules[names[i]] = _PerImageNorm(child)
            i += 1


def _supported(conv: nn.Conv2d | nn.ConvTranspose2d) -> bool:
    return conv.padding_mode == "zeros" and not isinstance(conv.padding, str)


def _foldable(conv: nn.Module, norm: nn.Module) -> bool:
    if not isinstance(norm, (nn.BatchNorm2d, nn.SyncBatchNorm)) or norm.training or norm.running_mean is None:
        return False
    return not isinstance(conv, nn.ConvTranspose2d) or conv.groups == 1


def _post_op(act: nn.Module) -> tuple[str, list[float]] | None:
    """The oneDNN post-op computing ``act`` inside the convolution, if there is one."""
    if isinstance(act, nn.ReLU):
        return "relu", []
    if isinstance(act, nn.LeakyReLU):
        return "leaky_relu", [act.negative_slope]
    if isinstance(act, nn.Tanh):
        return "tanh", []
    return None


def _is_upsampling_by_two(conv: nn.Module) -> bool:
    """A ConvTranspose2d(k=4, s=2, p=1): each output pixel parity is a 2x2 convolution of the input (see below)."""
    return (
        isinstance(conv, nn.ConvTranspose2d)
        and conv.kernel_size == (4, 4)
        and conv.stride == (2, 2)
        and conv.padding == (1, 1)
        and conv.output_padding == (0, 0)
        and conv.dilation == (1, 1)
        and conv.groups == 1
    )


def _phase_weight(weight: torch.Tensor) -> torch.Tensor:
    """(C_in, C_out, 4, 4) ConvTranspose2d(k=4, s=2, p=1) weight → (4 C_out, C_in, 2, 2) Conv2d weight.

    Output row 2m + a of the transposed convolution is x[m - 1] w[3] + x[m] w[1] (a = 0) or x[m] w[2] + x[m + 1] w[0]
    (a = 1), likewise for columns: a 2x2 convolution per parity (a, b). With the input padded by 1, one convolution
    with 4 C_out channels ordered (a, b, c) gives all four, parity (a, b) read from offset (a, b).
    """
    taps = ([3, 1], [2, 0])
    kernels = [weight[:, :, taps[a]][:, :, :, taps[b]].transpose(0, 1) for a in (0, 1) for b in (0, 1)]
    return torch.cat(kernels).contiguous()


def _interleave_phases(z: torch.Tensor) -> torch.Tensor:
    """(B, 4 C, H + 1, W + 1) channels_last parity outputs → (B, C, 2H, 2W), in one copy.

    The result is NCHW: with few channels (the only case sent here) that is the cheaper layout to write, and it is
    what a generator's last layer must return anyway.
    """
    batch, channels4, h1, w1 = z.shape
    h, w, c = h1 - 1, w1 - 1, channels4 // 4
    s0, _, s2, s3 = z.stride()  # channels_last: s1 == 1, s3 == 4 C, s2 == (W + 1) 4 C
    # out[n, ch, m, a, k, b] = z[n, (a, b, ch), m + a, k + b]: each index of the output is a plain stride into z.
    view = z.as_strided((batch, c, h, 2, w, 2), (s0, 1, s2, s2 + 2 * c, s3, s3 + c))
    return view.contiguous().view(batch, c, 2 * h, 2 * w)


class _OneDNNConv(nn.Module):
    """A Conv2d or ConvTranspose2d, with the eval BatchNorm2d and activation after it, on weights in oneDNN layout."""

    def __init__(
        self, conv: nn.Conv2d | nn.ConvTranspose2d, norm: nn.Module | None = None, act: nn.Module | None = None
    ) -> None:
        super().__init__()
        weight = conv.weight.detach().clone()
        bias = None if conv.bias is None else conv.bias.detach().clone()
        transposed = isinstance(conv, nn.ConvTranspose2d)
        if norm is not None:
            scale = torch.rsqrt(norm.running_var + norm.eps)
            if norm.weight is not None:
                scale = scale * norm.weight.detach()
            shift = -norm.running_mean * scale
            if norm.bias is not None:
                shift = shift + norm.bias.detach()
            # Output channels are dim 0 of a Conv2d weight, dim 1 of a ConvTranspose2d weight (groups == 1 here).
            weight = weight * (scale.view(1, -1, 1, 1) if transposed else scale.view(-1, 1, 1, 1))
            bias = shift if bias is None else bias * scale + shift
        # oneDNN's transposed convolution is slow for few output channels; the parity form is a plain convolution.
        self.phases = _is_upsampling_by_two(conv) and conv.out_channels < PHASE_MAX_CHANNELS
        if self.phases:
            weight, bias = _phase_weight(weight), None if bias is None else bias.repeat(4)
            transposed = False
        self.transposed = transposed
        self.register_buffer("weight", weight, persistent=False)
        self.register_buffer("bias", bias, persistent=False)
        self.padding, self.stride = list(conv.padding), [1, 1] if self.phases else list(conv.stride)
        self.dilation, self.groups = list(conv.dilation), conv.groups
        self.output_padding = list(conv.output_padding) if transposed else []
        self.attr, self.scalars = _post_op(act) if act is not None else ("none", [])
        self._packed: OrderedDict[tuple[int, ...], torch.Tensor] = OrderedDict()

    def __getstate__(self) -> dict:
        # Converted weights are opaque oneDNN tensors, which copy.deepcopy and pickle cannot handle: a copy re-converts.
        return {**self.__dict__, "_packed": OrderedDict()}

    def _weight_for(self, shape: tuple[int, ...]) -> torch.Tensor:
        packed = self._packed.get(shape)
        if packed is not None:
            self._packed.move_to_end(shape)
            return packed
        if len(self._packed) >= MAX_SHAPES:
            self._packed.popitem(last=False)
        ops = torch.ops.mkldnn
        if self.transposed:
            packed = ops._reorder_convolution_transpose_weight(
                self.weight, self.padding, self.output_padding, self.stride, self.dilation, self.groups, list(shape)
            )
        else:
            packed = ops._reorder_convolution_weight(
                self.weight, self.padding, self.stride, self.dilation, self.groups, list(shape)
            )
        self._packed[shape] = packed
        return packed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        weight = self._weight_for(tuple(x.shape))
        ops = torch.ops.mkldnn
        if self.transposed:
            return ops._convolution_transpose_pointwise(
                x, weight, self.bias, self.padding, self.output_padding, self.stride, self.dilation, self.groups,
                self.attr, self.scalars, "",
            )  # fmt: skip
        y = ops._convolution_pointwise(
            x, weight, self.bias, self.padding, self.stride, self.dilation, self.groups, self.attr, self.scalars, ""
        )
        return _interleave_phases(y) if self.phases else y


class _PerImageNorm(nn.Module):
    """InstanceNorm2d without running statistics, as a batch-of-one BatchNorm per image (fast on channels_last)."""

    def __init__(self, norm: nn.InstanceNorm2d) -> None:
        super().__init__()
        self.eps = norm.eps
        self.weight = None if norm.weight is None else nn.Parameter(norm.weight.detach().clone(), requires_grad=False)
        self.bias = None if norm.bias is None else nn.Parameter(norm.bias.detach().clone(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # For one image, BatchNorm's batch statistics are the image's own, per channel: InstanceNorm exactly.
        outs = [
            F.batch_norm(x[i : i + 1], None, None, self.weight, self.bias, True, 0.0, self.eps) for i in range(len(x))
        ]
        return outs[0] if len(outs) == 1 else torch.cat(outs)


class _NCHWOutput(nn.Module):
    """Runs ``net`` and hands back a contiguous NCHW tensor, as the eager network does.

    The oneDNN operators used here are internal to PyTorch and may change between releases; if they fail, the
    eager ``fallback`` network takes over for good, with one warning, instead of the translation failing.
    """

    def __init__(self, net: nn.Module, fallback: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.fallback = fallback
        self.failed = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.failed:
            try:
                return self.net(x).contiguous()
            except (RuntimeError, TypeError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                log.warning("fast CPU inference unavailable with this PyTorch (%s); using the plain network", first)
                self.failed = True
        return self.fallback(x)
