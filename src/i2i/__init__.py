"""i2i: image-to-image translation with GANs: pix2pix, CycleGAN and U-GAT-IT, and image (sketch) classifiers.

The public names are imported on first use, so that commands which need no torch (``i2i data check``, ``i2i
data split``, ...) start in a fraction of a second.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "Translator": "i2i.inference.translator",
    "Classifier": "i2i.inference.classifier",
    "open_model": "i2i.artifact.open",
    "create_discriminator": "i2i.models",
    "create_generator": "i2i.models",
    "list_generators": "i2i.models",
    "RunConfig": "i2i.run_config",
    "load_config": "i2i.run_config",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'i2i' has no attribute {name!r}")
