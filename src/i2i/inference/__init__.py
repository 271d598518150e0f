"""Inference: the Translator that applies a released generator to images of any size."""

from i2i.inference.translator import Preprocessing, Translator

__all__ = ["Preprocessing", "Translator"]
