"""Classifier: runs a trained classifier on uint8 images of any size and says which categories they show.

``Classifier.from_pretrained(path)`` opens any model path (``i2i.artifact.open.open_model``) that holds a classifier;
``Classifier(network, device)`` wraps one already in memory. It mirrors ``Translator``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from i2i.artifact.model import ClassifierNetwork
from i2i.artifact.open import open_model
from i2i.device import resolve_device
from i2i.imageio import to_channels
from i2i.inference.pipeline import classify_arrays

Prediction = list[tuple[str, float]]


class Classifier:
    """Applies a trained classifier to uint8 images (BatchNorm with its running statistics, dropout off).

    Example::

        classifier = Classifier.from_pretrained("models/sketch-classifier")
        classifier([drawing])[0]  # [("teapot", 0.98), ("strawberry", 0.01), ...], most likely first
    """

    def __init__(self, network: ClassifierNetwork, device: str = "auto") -> None:
        self.device = resolve_device(device)
        self.labels = list(network.labels)
        self.pre = network.preprocessing
        self.net = network.network.eval().to(self.device)

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str = "auto") -> Classifier:
        """Opens a release folder, run folder or checkpoint file of a classifier; a translation model is refused
        in one line saying what it is."""
        return cls(open_model(path).classifier_network(), device)

    def probabilities(self, images: list[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """(N, categories) probabilities of (H, W, 1|3) uint8 images of any sizes (converted to the model's
        channels as ``read_image`` would)."""
        for im in images:
            if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] not in (1, 3):
                raise ValueError(f"expected (H, W, 1|3) uint8 images, got {im.dtype} {im.shape}")
        if not images:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        converted = [to_channels(im, self.pre.input_channels) for im in images]
        chunks = [
            classify_arrays(self.net, converted[i : i + batch_size], self.pre, self.device)
            for i in range(0, len(converted), batch_size)
        ]
        return np.concatenate(chunks)

    def __call__(self, images: list[np.ndarray], top_k: int = 5) -> list[Prediction]:
        """The ``top_k`` most likely categories of each image with their probabilities, most likely first."""
        out = []
        for probs in self.probabilities(images):
            order = np.argsort(-probs, kind="stable")[: max(1, top_k)]
            out.append([(self.labels[i], float(probs[i])) for i in order])
        return out
