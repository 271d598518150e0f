"""Classifier: runs a trained classifier on uint8 images of any size and says which categories they show.

``Classifier.from_pretrained(path)`` opens any model path (``i2i.artifact.open.open_model``) that holds a classifier,
or, with ``runtime="onnx"`` (or ``"auto"``), a release's ONNX graph (``portable.runtime.OnnxClassifier``);
``Classifier(network, device)`` wraps one already in memory. It mirrors ``Translator``, torch imported on use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from i2i.imageio import to_channels
from i2i.portable.runtime import (
    OnnxClassifier,
    Prediction,
    check_classifier_inputs,
    check_output,
    resolve_runtime,
    top_predictions,
)

if TYPE_CHECKING:
    from i2i.artifact.model import ClassifierNetwork

__all__ = ["Classifier", "Prediction"]


class Classifier:
    """Applies a trained classifier to uint8 images (BatchNorm with its running statistics, dropout off).

    Example::

        classifier = Classifier.from_pretrained("models/sketch-classifier")
        classifier([drawing])[0]  # [("teapot", 0.98), ("strawberry", 0.01), ...], most likely first
    """

    runtime = "torch"

    def __init__(self, network: ClassifierNetwork, device: str = "auto") -> None:
        from i2i.device import resolve_device

        self.device = resolve_device(device)
        self.labels = list(network.labels)
        self.pre = network.preprocessing
        self.net = network.network.eval().to(self.device)

    @classmethod
    def from_pretrained(
        cls, path: str | Path, device: str = "auto", runtime: str = "auto"
    ) -> Classifier | OnnxClassifier:
        """Opens a release folder, run folder or checkpoint file of a classifier; a translation model is refused
        in one line saying what it is. ``runtime``: ``torch``, ``onnx`` or ``auto`` (``resolve_runtime``)."""
        if resolve_runtime(runtime, path, device) == "onnx":
            return OnnxClassifier.from_pretrained(path)
        from i2i.artifact.open import open_model

        return cls(open_model(path).classifier_network(), device)

    def probabilities(self, images: list[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """(N, categories) probabilities of (H, W, 1|3) uint8 images of any sizes (converted to the model's
        channels as ``read_image`` would)."""
        from i2i.inference.pipeline import classify_arrays

        check_classifier_inputs(images)
        if not images:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        converted = [to_channels(im, self.pre.input_channels) for im in images]
        chunks = [
            classify_arrays(self.net, converted[i : i + batch_size], self.pre, self.device)
            for i in range(0, len(converted), batch_size)
        ]
        return check_output(np.concatenate(chunks), (len(images), len(self.labels)), "the classifier")

    def __call__(self, images: list[np.ndarray], top_k: int = 5) -> list[Prediction]:
        """The ``top_k`` most likely categories of each image with their probabilities, most likely first."""
        return top_predictions(self.probabilities(images), self.labels, top_k)
