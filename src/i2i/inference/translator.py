"""Translator: runs one generator of a trained model on uint8 images of any size, in batches, on a device.

``Translator.from_pretrained(path)`` opens any model path (``i2i.artifact.open.open_model``) and takes one of its
directions, or, with ``runtime="onnx"`` (or ``"auto"``), a release's ONNX graph in onnxruntime
(``portable.runtime.OnnxTranslator``, which needs no torch); ``Translator(generator, device)`` wraps a generator
already in memory. Torch is imported when a torch translator is made, not with this module, so that an environment
without it can still use the ONNX runtime through this class.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from i2i.portable.runtime import OnnxTranslator, resolve_runtime, translate_by_size

if TYPE_CHECKING:
    from i2i.artifact.model import Generator


class Translator:
    """Applies a trained generator to uint8 images; on CPUs through the fp32 fast path (``inference.fast``), on
    GPUs eagerly in fp32.

    Example::

        translator = Translator.from_pretrained("releases/facades")
        photo = translator([label_map])[0]  # (H, W, 3) uint8 in, (H, W, 3) uint8 out
    """

    runtime = "torch"
    # The most pixels the network may run at per image (after resizing and padding); None: i2i's pixel limit
    # (``imageio.max_pixels``). A server sets its own.
    max_pixels: int | None = None

    def __init__(self, generator: Generator, device: str = "auto") -> None:
        from i2i.device import resolve_device
        from i2i.inference.fast import optimize_for_device
        from i2i.inference.pipeline import prepare_generator

        self.device = resolve_device(device)
        self.generator_config = generator.config
        self.pre = generator.preprocessing
        net = prepare_generator(generator.network, self.pre.bn_inference).to(self.device)
        self.net = optimize_for_device(net, self.device)

    @classmethod
    def from_pretrained(
        cls, path: str | Path, device: str = "auto", direction: str | None = None, runtime: str = "auto"
    ) -> Translator | OnnxTranslator:
        """Opens a release folder, run folder or checkpoint file and takes the generator of ``direction``
        ("AtoB"/"BtoA"; None: the direction the model was trained in; the other one exists for two-way models).
        ``runtime``: ``torch``, ``onnx`` (a release's ONNX graph, CPU) or ``auto`` (``resolve_runtime``)."""
        if resolve_runtime(runtime, path, device) == "onnx":
            return OnnxTranslator.from_pretrained(path, direction)
        from i2i.artifact.open import open_model

        return cls(open_model(path).generator(direction), device)

    def translate_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Translates (H, W, C) uint8 images that all have the same size, as one batch."""
        from i2i.inference.pipeline import translate_arrays

        return translate_arrays(self.net, images, self.pre, self.device, self.max_pixels)

    def __call__(self, images: list[np.ndarray], batch_size: int = 8) -> list[np.ndarray]:
        """Translates (H, W, C) uint8 images of any sizes; images of equal size are batched together."""
        return translate_by_size(images, self.pre.input_channels, batch_size, self.translate_batch)
