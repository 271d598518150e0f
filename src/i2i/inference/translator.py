"""Translator: runs one generator of a trained model on uint8 images of any size, in batches, on a device.

``Translator.from_pretrained(path)`` opens any model path (``i2i.artifact.open.open_model``) and takes one of its
directions; ``Translator(generator, device)`` wraps a generator already in memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from i2i.artifact.model import Generator
from i2i.artifact.open import open_model
from i2i.device import resolve_device
from i2i.inference.fast import optimize_for_device
from i2i.inference.pipeline import prepare_generator, translate_arrays


class Translator:
    """Applies a trained generator to uint8 images; on CPUs through the fp32 fast path (``inference.fast``), on
    GPUs eagerly in fp32.

    Example::

        translator = Translator.from_pretrained("releases/facades")
        photo = translator([label_map])[0]  # (H, W, 3) uint8 in, (H, W, 3) uint8 out
    """

    def __init__(self, generator: Generator, device: str = "auto") -> None:
        self.device = resolve_device(device)
        self.generator_config = generator.config
        self.pre = generator.preprocessing
        net = prepare_generator(generator.network, self.pre.bn_inference).to(self.device)
        self.net = optimize_for_device(net, self.device)

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str = "auto", direction: str | None = None) -> Translator:
        """Opens a release folder, run folder or checkpoint file and takes the generator of ``direction``
        ("AtoB"/"BtoA"; None: the direction the model was trained in; the other one exists for two-way models)."""
        return cls(open_model(path).generator(direction), device)

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
