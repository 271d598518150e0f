"""A trained model as inference sees it: its generators by direction (a translation model) or its classifier with
the category names (a classifier), each with its preprocessing, and where it came from. ``open.open_model`` makes
one from any model path; ``release.write_release`` writes one as a release folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from i2i.artifact.inputs import InputSpec
from i2i.artifact.release_format import describe_model
from i2i.errors import CheckpointError
from i2i.inference.preprocessing import ClassifierPreprocessing, Preprocessing
from i2i.models.base import GeneratorConfig


class Network:
    """A network of a model with its weights: ``network`` is a network already in memory, or a function that builds
    and loads it; then it is built on first use (opening a two-way model to translate one direction loads that
    direction's weights only)."""

    def __init__(self, network: nn.Module | Callable[[], nn.Module]) -> None:
        self._network = network if isinstance(network, nn.Module) else None
        self._load = None if isinstance(network, nn.Module) else network

    @property
    def network(self) -> nn.Module:
        if self._network is None:
            assert self._load is not None
            self._network, self._load = self._load(), None
        return self._network

    def describe(self) -> str:
        raise NotImplementedError


class Generator(Network):
    """One direction of a translation model: its architecture, its preprocessing and the network with its weights."""

    def __init__(
        self, config: GeneratorConfig, network: nn.Module | Callable[[], nn.Module], preprocessing: Preprocessing
    ) -> None:
        super().__init__(network)
        self.config = config
        self.preprocessing = preprocessing

    def describe(self) -> str:
        return f"the {self.direction} generator"

    @property
    def direction(self) -> str:
        return self.preprocessing.direction


class ClassifierNetwork(Network):
    """A classifier: its architecture, its category names (in label order), its preprocessing and the network."""

    def __init__(
        self,
        config: Any,
        network: nn.Module | Callable[[], nn.Module],
        preprocessing: ClassifierPreprocessing,
        labels: list[str],
    ) -> None:
        super().__init__(network)
        self.config = config
        self.preprocessing = preprocessing
        self.labels = list(labels)

    def describe(self) -> str:
        return "the classifier"


@dataclass
class Source:
    """Where a model's weights came from (recorded in releases)."""

    run: str
    checkpoint: str
    step: int
    dataset: str

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "checkpoint": self.checkpoint, "step": self.step, "dataset": self.dataset}


@dataclass
class Model:
    """A trained model: its method's name and its networks, each with its preprocessing.

    A translation model has generators, the trained direction first: one for methods that learn one direction
    (pix2pix), both for two-way methods (CycleGAN, U-GAT-IT). A classifier has ``classifier`` and no generators.
    ``input`` says what its (trained direction's) input looks like to a person: an image, a sketch or a label map.
    """

    path: Path
    method: str
    generators: list[Generator]
    source: Source
    classifier: ClassifierNetwork | None = None
    input: InputSpec = field(default_factory=InputSpec)

    @property
    def kind(self) -> str:
        """``classifier`` or ``translator``."""
        return "classifier" if self.classifier is not None else "translator"

    @property
    def networks(self) -> list[Network]:
        """Every network a release of this model ships, the first one in ``model.safetensors``."""
        return [self.classifier] if self.classifier is not None else list(self.generators)

    def describe(self) -> str:
        """What the model is, in words, for messages."""
        labels = list(self.classifier.labels) if self.classifier is not None else None
        return describe_model(self.method, labels, self.directions)

    def classifier_network(self) -> ClassifierNetwork:
        """The classifier; a translation model is refused in one line saying what it is."""
        if self.classifier is None:
            raise CheckpointError(
                f"{self.path}: is {self.describe()}, not a classifier; use `i2i translate` (or Translator) with it"
            )
        return self.classifier

    @property
    def trained_direction(self) -> str:
        return self.generators[0].direction if self.generators else ""

    @property
    def directions(self) -> list[str]:
        return [g.direction for g in self.generators]

    def generator(self, direction: str | None = None) -> Generator:
        """The generator that translates ``direction`` ("AtoB"/"BtoA"; None: the trained direction)."""
        if not self.generators:
            raise CheckpointError(
                f"{self.path}: is {self.describe()}, not a translation model; use `i2i classify` (or Classifier) "
                "with it"
            )
        if direction is None:
            return self.generators[0]
        for gen in self.generators:
            if gen.direction == direction:
                return gen
        raise CheckpointError(
            f"{self.path}: this {self.method} model translates {self.trained_direction} only; --direction "
            f"{direction} needs a method that learns both directions (cyclegan, ugatit)"
        )
