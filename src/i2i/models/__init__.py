"""Networks: pure nn.Modules built from registered config dataclasses (no optimizers, devices or file I/O)."""

from i2i.models import classifiers, discriminators, resnet, ugatit, unet  # noqa: F401  (registers the architectures)
from i2i.models.base import (
    DISCRIMINATORS,
    GENERATORS,
    DiscriminatorConfig,
    GeneratorConfig,
    create_discriminator,
    create_generator,
    list_discriminators,
    list_generators,
)

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "DiscriminatorConfig",
    "GeneratorConfig",
    "create_discriminator",
    "create_generator",
    "list_discriminators",
    "list_generators",
]
