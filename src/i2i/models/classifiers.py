"""Image classifiers (e.g. which category a sketch shows): a registered backbone plus a head, as plain nn.Modules.

``small_cnn`` is trained from scratch (the default: small enough to train on two CPU cores in minutes).
``vgg16`` and ``resnet18`` are torchvision's architectures, for transfer learning from ImageNet weights the user
names by file (``weights``); building a network never reads that file: ``load_backbone_weights`` does, once, when a
training run starts, and releases carry the trained weights themselves.

Every classifier maps (B, C, H, W) in [-1, 1] (C = 1 or 3) to (B, classes) logits. ImageNet backbones convert their
input to what their weights expect (3 channels, ImageNet mean and standard deviation) inside the network, so the
preprocessing is the same for every backbone. ``head: dense256`` is the original sketch2photo project's transfer head
(Flatten → Dense 256 → BatchNorm → ReLU → Dense(classes)); ``linear`` is one linear layer on pooled features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import nn

from i2i.config import Variant, check_bounds, opt
from i2i.registry import Registry

CLASSIFIERS: Registry[type[Variant]] = Registry("classifier backbone")

Head = Literal["linear", "dense256"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ClassifierNetConfig(Variant):
    """A classifier's architecture; ``build`` makes the network for an input channel count and a class count."""

    registry: ClassVar[Registry[type[Variant]]] = CLASSIFIERS
    default_name: ClassVar[str] = "small_cnn"

    def build(self, in_channels: int, num_classes: int) -> nn.Module:
        raise NotImplementedError

    @property
    def min_size(self) -> int:
        """The smallest input side the network accepts."""
        return 32

    @property
    def pretrained_file(self) -> str | None:
        """The ImageNet weights file to start from, for backbones that take one."""
        return None


def _head(kind: str, features: int, num_classes: int, dropout: float) -> nn.Sequential:
    if kind == "dense256":
        return nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(features, 256),
            nn.BatchNorm1d(256),
            nn.ReLU(inplace=True),
            nn.Linear(256, num_classes),
        )
    return nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(features, num_classes))


# --- small_cnn -----------------------------------------------------------------------------------------------------


@CLASSIFIERS.register("small_cnn")
@dataclass
class SmallCNNConfig(ClassifierNetConfig):
    name: str = opt("small_cnn", "classifier backbone (small_cnn, vgg16, resnet18)")
    width: int = opt(32, "channels of the first stage (doubling per stage)", ge=4, le=256)
    stages: int = opt(4, "conv stages, each two 3x3 conv + BatchNorm + ReLU and a 2x2 max-pool", ge=1, le=7)
    head: Head = opt("linear", "linear: one layer on average-pooled features; dense256: Dense 256 + BN + ReLU + Dense")
    dropout: float = opt(0.3, "dropout before the head", ge=0, lt=1)

    def __post_init__(self) -> None:
        check_bounds(self)

    def build(self, in_channels: int, num_classes: int) -> nn.Module:
        return SmallCNN(self, in_channels, num_classes)

    @property
    def min_size(self) -> int:
        return 2**self.stages


class SmallCNN(nn.Module):
    def __init__(self, cfg: SmallCNNConfig, in_channels: int, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for stage in range(cfg.stages):
            out = cfg.width * 2**stage
            for _ in range(2):
                layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(True)]
                channels = out
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = _head(cfg.head, channels, num_classes, cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))


# --- ImageNet backbones --------------------------------------------------------------------------------------------


class _ImageNetInput(nn.Module):
    """[-1, 1] with 1 or 3 channels → 3 channels normalized with ImageNet's statistics (what the weights expect)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.repeat = 3 if in_channels == 1 else 1
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x + 1.0) * 0.5
        if self.repeat > 1:
            x = x.expand(-1, 3, -1, -1)
        return (x - self.mean) / self.std


@dataclass
class ImageNetBackboneConfig(ClassifierNetConfig):
    """A torchvision backbone, optionally started from ImageNet weights in a local file and kept frozen."""

    weights: str | None = opt(
        None,
        "ImageNet weights file to start from (torchvision's .pth or a .safetensors; read as tensors only, never "
        "downloaded); null: random initialization",
    )
    freeze: bool = opt(True, "train the head only; the backbone keeps its weights and BatchNorm statistics")
    head: Head = opt("dense256", "dense256: the transfer head (Dense 256 + BN + ReLU + Dense); linear: one layer")
    dropout: float = opt(0.5, "dropout before the head", ge=0, lt=1)

    def __post_init__(self) -> None:
        check_bounds(self)

    @property
    def pretrained_file(self) -> str | None:
        return self.weights


class _BackboneClassifier(nn.Module):
    """``body`` (a torchvision network's feature part, its state-dict keys as torchvision names them) + a head."""

    # The parts of torchvision's ImageNet state dict that are not the body (its 1000-class head); a weights file may
    # hold them, and they are ignored.
    imagenet_head: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        body: nn.Module,
        pool: nn.Module,
        features: int,
        cfg: ImageNetBackboneConfig,
        in_channels: int,
        num_classes: int,
    ) -> None:
        super().__init__()
        self.input = _ImageNetInput(in_channels)
        self.body = body
        self.pool = pool
        self.head = _head(cfg.head, features, num_classes, cfg.dropout)
        self.frozen = cfg.freeze
        if self.frozen:
            self.body.requires_grad_(False)

    def train(self, mode: bool = True) -> _BackboneClassifier:
        super().train(mode)
        if self.frozen:
            self.body.eval()  # a frozen backbone keeps its BatchNorm statistics, as Keras' frozen layers do
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.body(self.input(x))))


@CLASSIFIERS.register("vgg16")
@dataclass
class VGG16Config(ImageNetBackboneConfig):
    name: str = opt("vgg16", "classifier backbone (small_cnn, vgg16, resnet18)")

    def build(self, in_channels: int, num_classes: int) -> nn.Module:
        return VGG16Classifier(self, in_channels, num_classes)


class VGG16Classifier(_BackboneClassifier):
    """VGG16's 13 conv layers (torchvision's ``features``), pooled to 7x7 as torchvision does, then the head."""

    imagenet_head = ("classifier.",)

    def __init__(self, cfg: VGG16Config, in_channels: int, num_classes: int) -> None:
        from torchvision.models.vgg import cfgs, make_layers

        # Only the conv part is built: VGG16's own 1000-class head (123 M weights) is never used.
        features = make_layers(cfgs["D"], batch_norm=False)
        super().__init__(features, nn.AdaptiveAvgPool2d((7, 7)), 512 * 7 * 7, cfg, in_channels, num_classes)

    def body_key(self, key: str) -> str:
        return f"features.{key}"


@CLASSIFIERS.register("resnet18")
@dataclass
class ResNet18Config(ImageNetBackboneConfig):
    name: str = opt("resnet18", "classifier backbone (small_cnn, vgg16, resnet18)")

    def build(self, in_channels: int, num_classes: int) -> nn.Module:
        return ResNet18Classifier(self, in_channels, num_classes)


class ResNet18Classifier(_BackboneClassifier):
    """ResNet-18 up to its global average pool (torchvision's names: conv1, bn1, layer1..4), then the head."""

    imagenet_head = ("fc.",)

    def __init__(self, cfg: ResNet18Config, in_channels: int, num_classes: int) -> None:
        from torchvision.models import resnet18

        net = resnet18(weights=None)
        net.fc = nn.Identity()
        net.avgpool = nn.Identity()
        super().__init__(net, nn.AdaptiveAvgPool2d(1), 512, cfg, in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        body = self.body
        x = self.input(x)
        x = body.maxpool(body.relu(body.bn1(body.conv1(x))))
        x = body.layer4(body.layer3(body.layer2(body.layer1(x))))
        return self.head(self.pool(x))

    def body_key(self, key: str) -> str:
        return key
