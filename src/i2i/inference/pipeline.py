"""Translator: runs a trained generator on images of any size, in batches, with the preprocessing it was trained with.

Every image is processed at its own size: its shorter side is optionally resized to ``infer_size`` (the scale the
model was trained at), it is padded up to the generator's size multiple, translated, cropped back and resized to
the input's original size. Dropout is off and BatchNorm follows the release's ``bn_inference`` rule, so the output of
one image never depends on the other images in its batch.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from i2i.config import from_dict
from i2i.data.config import opposite
from i2i.data.processing import crop_to, denormalize, normalize, pad_to_multiple, resize, short_side_size
from i2i.device import resolve_device
from i2i.errors import CheckpointError
from i2i.inference.fast import optimize_for_device
from i2i.models.base import GeneratorConfig
from i2i.models.layers import batchnorm_as_instancenorm

log = logging.getLogger(__name__)

RELEASE_CONFIG = "config.json"
RELEASE_WEIGHTS = "model.safetensors"
RELEASE_FORMAT = "i2i-release"
RELEASE_VERSION = 1


@dataclass(frozen=True)
class Preprocessing:
    """How pixels must be prepared for a generator and read back from it; stored in a release's config.json."""

    input_channels: int
    output_channels: int
    direction: str = "AtoB"
    normalize: tuple[float, float] = (-1.0, 1.0)  # uint8 0..255 maps linearly onto this range
    size_multiple: int = 1
    infer_size: int | None = None
    resize_mode: str = "bicubic"
    bn_inference: str = "running"  # per_image | running
    fixed_size: int | None = None  # generators built for one square size: inputs are resized to it and back

    def reversed(self) -> Preprocessing:
        """The preprocessing of a generator that maps the other way (channels and direction swapped)."""
        return replace(
            self,
            input_channels=self.output_channels,
            output_channels=self.input_channels,
            direction=opposite(self.direction),
        )


def prepare_generator(net: nn.Module, bn_inference: str) -> nn.Module:
    """An inference-ready copy of ``net``: eval mode (no dropout), BatchNorm per the ``bn_inference`` rule.

    The copy leaves the caller's network (say, one still training) untouched.
    """
    if bn_inference == "per_image" and any(isinstance(m, (nn.BatchNorm2d, nn.SyncBatchNorm)) for m in net.modules()):
        return batchnorm_as_instancenorm(net).eval()
    return copy.deepcopy(net).eval()


@torch.no_grad()
def run_generator(net: nn.Module, x: torch.Tensor, pre: Preprocessing) -> torch.Tensor:
    """Translates float (B, C, H, W) in [-1, 1] of one size; returns (B, C_out, H, W) in [-1, 1]."""
    height, width = x.shape[-2:]
    if pre.fixed_size is not None:
        x = resize(x, (pre.fixed_size, pre.fixed_size), pre.resize_mode)
    elif pre.infer_size is not None:
        x = resize(x, short_side_size(height, width, pre.infer_size), pre.resize_mode)
    padded, size = pad_to_multiple(x, pre.size_multiple)
    y = crop_to(net(padded), size).float()
    return resize(y, (height, width), pre.resize_mode)


def translate_arrays(
    net: nn.Module, images: list[np.ndarray], pre: Preprocessing, device: torch.device
) -> list[np.ndarray]:
    """Translates (H, W, C) uint8 images of one size as one batch; returns (H, W, C_out) uint8 images."""
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)  # np.stack copies: writable, contiguous
    y = denormalize(run_generator(net, normalize(batch.to(device)), pre))
    return [im.permute(1, 2, 0).cpu().numpy() for im in y]


def resolve_bn_inference(gen_cfg: GeneratorConfig, train_batch_size: int) -> str:
    """Turns a generator's ``bn_inference`` setting ('auto' included) into 'per_image' or 'running'."""
    mode = getattr(gen_cfg, "bn_inference", "running")
    if mode == "auto":
        return "per_image" if train_batch_size == 1 else "running"
    return mode


class Translator:
    """Applies a trained generator to uint8 images.

    Example::

        translator = Translator.from_pretrained("releases/facades")
        photo = translator([label_map])[0]  # (H, W, 3) uint8 in, (H, W, 3) uint8 out
    """

    def __init__(
        self, generator: nn.Module, generator_config: GeneratorConfig, pre: Preprocessing, device: str = "auto"
    ) -> None:
        self.device = resolve_device(device)
        self.generator_config = generator_config
        self.pre = pre
        self.net = optimize_for_device(prepare_generator(generator, pre.bn_inference).to(self.device), self.device)

    # -- loading ---------------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | Path, device: str = "auto", direction: str | None = None) -> Translator:
        """Loads a release folder (config.json + model.safetensors) written by ``i2i export``.

        ``direction`` ("AtoB"/"BtoA") picks the reverse generator of releases that ship one (unpaired methods);
        None: the direction the model was trained in.
        """
        from safetensors.torch import load_file

        path = Path(path)
        meta = read_release_config(path)
        gen_cfg = from_dict(GeneratorConfig, meta["generator"], "generator")
        pre = from_dict(Preprocessing, meta["preprocessing"], "preprocessing")
        weights = path / RELEASE_WEIGHTS
        if direction is not None and direction != pre.direction:
            reverse = meta.get("reverse")
            if not isinstance(reverse, dict):
                raise CheckpointError(
                    f"{path}: this release translates {pre.direction} only (its method learns one direction)"
                )
            pre = from_dict(Preprocessing, reverse["preprocessing"], "preprocessing")
            weights = path / str(reverse["weights"])
        if tuple(pre.normalize) != (-1.0, 1.0):
            raise CheckpointError(f"{path}: normalization {list(pre.normalize)} is not supported (only [-1, 1])")
        net = gen_cfg.build(pre.input_channels, pre.output_channels)
        try:
            state = load_file(str(weights))
        except FileNotFoundError:
            raise CheckpointError(f"{weights}: file not found") from None
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for corrupt headers
            raise CheckpointError(f"{weights}: not a readable safetensors file ({exc})") from None
        load_weights(net, state, str(weights), meta["generator"])
        return cls(net, gen_cfg, pre, device)

    # -- use -------------------------------------------------------------------------------------------------
    def translate_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Translates (H, W, C) uint8 images that all have the same size, as one batch."""
        return translate_arrays(self.net, images, self.pre, self.device)

    def __call__(self, images: list[np.ndarray], batch_size: int = 8) -> list[np.ndarray]:
        """Translates (H, W, C) uint8 images of any sizes; images of equal size are batched together."""
        for im in images:
            if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != self.pre.input_channels:
                raise ValueError(f"expected (H, W, {self.pre.input_channels}) uint8 images, got {im.dtype} {im.shape}")
        out: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, im in enumerate(images):
            groups.setdefault(im.shape[:2], []).append(i)
        for indices in groups.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                for i, result in zip(chunk, self.translate_batch([images[i] for i in chunk]), strict=True):
                    out[i] = result
        return out  # type: ignore[return-value]


def read_release_config(path: Path) -> dict[str, Any]:
    config_path = path / RELEASE_CONFIG
    try:
        meta = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: not a release folder (no {RELEASE_CONFIG})") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{config_path}: unreadable ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != RELEASE_FORMAT:
        raise CheckpointError(f"{config_path}: not an i2i release config (format is not '{RELEASE_FORMAT}')")
    if meta.get("version", 0) > RELEASE_VERSION:
        raise CheckpointError(f"{config_path}: release version {meta['version']} is newer than this i2i supports")
    return meta


def load_weights(net: nn.Module, state: dict[str, torch.Tensor], source: str, arch: Any) -> None:
    """Loads ``state`` into ``net``; weights made for another architecture give a one-line CheckpointError."""
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong_shape = [k for k in state if k in own and own[k].shape != state[k].shape]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"{len(missing)} tensors missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensors (e.g. {unexpected[0]})")
        if wrong_shape:
            k = wrong_shape[0]
            parts.append(
                f"{len(wrong_shape)} tensors of another shape (e.g. {k}: {tuple(state[k].shape)} in the file, "
                f"{tuple(own[k].shape)} in the model)"
            )
        raise CheckpointError(f"{source}: weights do not fit the architecture {arch}: " + "; ".join(parts))
    net.load_state_dict(state)


def preprocessing_dict(pre: Preprocessing) -> dict[str, Any]:
    data = asdict(pre)
    data["normalize"] = list(pre.normalize)
    return data
