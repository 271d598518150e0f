"""Config bases and registries for networks: each family registers its config dataclass under a name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from i2i.config import Variant, from_dict
from i2i.registry import Registry

GENERATORS: Registry[type[Variant]] = Registry("generator")
DISCRIMINATORS: Registry[type[Variant]] = Registry("discriminator")


@dataclass
class GeneratorConfig(Variant):
    """A generator's architecture; ``build`` makes the network for given input/output channel counts."""

    registry: ClassVar[Registry[type[Variant]]] = GENERATORS
    default_name: ClassVar[str] = "unet_256"

    def build(self, in_channels: int, out_channels: int) -> nn.Module:
        raise NotImplementedError

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (inputs are padded up to it)."""
        return 1

    @property
    def fixed_size(self) -> int | None:
        """The one square size the network accepts, for architectures built for it (inputs are resized to it)."""
        return None


@dataclass
class DiscriminatorConfig(Variant):
    registry: ClassVar[Registry[type[Variant]]] = DISCRIMINATORS
    default_name: ClassVar[str] = "patchgan"

    def build(self, in_channels: int) -> nn.Module:
        raise NotImplementedError


def create_generator(name: str, in_channels: int = 3, out_channels: int = 3, **overrides: Any) -> nn.Module:
    """Builds a registered generator by name, e.g. ``create_generator("unet_256", ngf=32)``."""
    cfg = from_dict(GeneratorConfig, {"name": name, **overrides}, "generator")
    return cfg.build(in_channels, out_channels)


def create_discriminator(name: str, in_channels: int = 6, **overrides: Any) -> nn.Module:
    cfg = from_dict(DiscriminatorConfig, {"name": name, **overrides}, "discriminator")
    return cfg.build(in_channels)


def list_generators() -> list[str]:
    return GENERATORS.names()


def list_discriminators() -> list[str]:
    return DISCRIMINATORS.names()
