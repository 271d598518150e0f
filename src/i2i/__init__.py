"""i2i: image-to-image translation with GANs (pix2pix first; CycleGAN and U-GAT-IT to follow)."""

__version__ = "0.1.0"

from i2i.inference.translator import Translator  # noqa: E402
from i2i.models import create_discriminator, create_generator, list_generators  # noqa: E402
from i2i.run_config import RunConfig, load_config  # noqa: E402

__all__ = [
    "RunConfig",
    "Translator",
    "__version__",
    "create_discriminator",
    "create_generator",
    "list_generators",
    "load_config",
]
