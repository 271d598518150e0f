"""Network registries and factories: building by name, listing, and the errors for unknown names and keys."""

from __future__ import annotations

import pytest
from torch import nn

from i2i.config import from_dict
from i2i.errors import ConfigError
from i2i.models import (
    DISCRIMINATORS,
    GENERATORS,
    DiscriminatorConfig,
    GeneratorConfig,
    create_discriminator,
    create_generator,
    list_discriminators,
    list_generators,
)
from i2i.models.discriminators import PatchGANConfig, PatchGANDiscriminator
from i2i.models.unet import UNet128Config, UNetConfig, UNetGenerator
from i2i.registry import Registry


def test_create_generator_by_name() -> None:
    """create_generator builds the named architecture with the given overrides and channels."""
    net = create_generator("unet_256", ngf=8)
    assert isinstance(net, UNetGenerator)
    assert net.cfg.ngf == 8 and net.cfg.num_downs == 8
    assert net.downs[0][0].in_channels == 3 and net.downs[0][0].out_channels == 8
    small = create_generator("unet_128", 1, 3, ngf=2)
    assert small.cfg.num_downs == 7
    assert small.downs[0][0].in_channels == 1 and small.ups[0][1].out_channels == 3


def test_create_discriminator_by_name() -> None:
    """create_discriminator builds a PatchGAN with the given input channels and depth."""
    net = create_discriminator("patchgan", 4, n_layers=1, ndf=2)
    assert isinstance(net, PatchGANDiscriminator)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0].in_channels == 4 and len(convs) == 3


def test_lists() -> None:
    """The registries list the built-in architectures, sorted."""
    assert {"unet_128", "unet_256"} <= set(list_generators())
    assert list_generators() == sorted(list_generators())
    assert "patchgan" in list_discriminators()
    assert GENERATORS.get("unet_256") is UNetConfig and GENERATORS.get("unet_128") is UNet128Config
    assert "unet_128" in GENERATORS and "unet_512" not in GENERATORS


def test_default_names() -> None:
    """An empty generator / discriminator section means unet_256 / patchgan with their defaults."""
    gen = from_dict(GeneratorConfig, {})
    assert type(gen) is UNetConfig and gen.num_downs == 8 and gen.ngf == 64
    assert type(from_dict(DiscriminatorConfig, {})) is PatchGANConfig


def test_unknown_name_suggests_and_lists() -> None:
    """A misspelt name raises a ConfigError with the closest name and the valid ones."""
    with pytest.raises(ConfigError) as info:
        create_generator("unet_265")
    message = str(info.value)
    assert "unet_265" in message
    assert "did you mean 'unet_256'" in message
    assert "valid: " + ", ".join(list_generators()) in message
    assert message.startswith("generator.name:")


def test_unknown_discriminator_lists_valid_names() -> None:
    """An unknown discriminator name lists the registered ones."""
    with pytest.raises(ConfigError, match="unknown discriminator 'pixelgan'.*valid: .*patchgan"):
        create_discriminator("pixelgan")


def test_unknown_keyword_suggests_the_field() -> None:
    """A misspelt option raises a ConfigError that names the key and suggests the right one."""
    with pytest.raises(ConfigError, match=r"unknown config key 'generator\.ngff' \(did you mean 'generator\.ngf'\?\)"):
        create_generator("unet_256", ngff=8)


def test_ill_typed_keyword() -> None:
    """A value of the wrong type is refused with its key."""
    with pytest.raises(ConfigError, match=r"generator\.ngf: expected an integer"):
        create_generator("unet_256", ngf="many")
    with pytest.raises(ConfigError, match=r"generator\.norm: 'batchnorm' is not one of"):
        create_generator("unet_256", norm="batchnorm")


def test_duplicate_registration_raises() -> None:
    """Registering a taken name is a ValueError and leaves the first entry in place."""
    with pytest.raises(ValueError, match="generator 'unet_256' is already registered"):
        GENERATORS.register("unet_256")(UNet128Config)
    assert GENERATORS.get("unet_256") is UNetConfig
    with pytest.raises(ValueError, match="already registered"):
        DISCRIMINATORS.register("patchgan")(PatchGANConfig)


def test_registry_basics() -> None:
    """A fresh registry registers, returns, lists and reports unknown names with a suggestion."""
    reg: Registry[int] = Registry("widget")
    assert reg.register("beta")(2) == 2
    reg.register("alpha")(1)
    assert reg.get("alpha") == 1 and reg.get("beta") == 2
    assert reg.names() == ["alpha", "beta"]
    assert "alpha" in reg and "gamma" not in reg
    with pytest.raises(ConfigError, match=r"^unknown widget 'alpah' \(did you mean 'alpha'\?\); valid: alpha, beta$"):
        reg.get("alpah")
    with pytest.raises(ConfigError, match=r"^unknown widget 'zzz'; valid: alpha, beta$"):
        reg.get("zzz")
    with pytest.raises(ValueError):
        reg.register("alpha")(3)
    assert reg.get("alpha") == 1


def test_size_multiple_of_configs() -> None:
    """A generator config reports the input size multiple its architecture needs."""
    assert from_dict(GeneratorConfig, {"name": "unet_128"}).size_multiple == 128
    assert from_dict(GeneratorConfig, {"name": "unet_256", "num_downs": 6}).size_multiple == 64
