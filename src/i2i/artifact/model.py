"""A trained model as inference sees it: its generators by direction, with their preprocessing, and where it came
from. ``open.open_model`` makes one from any model path; ``release.write_release`` writes one as a release folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from i2i.errors import CheckpointError
from i2i.inference.preprocessing import Preprocessing
from i2i.models.base import GeneratorConfig


class Generator:
    """One direction of a model: its architecture, its preprocessing and the network with its weights.

    ``network`` is a network already in memory, or a function that builds and loads it: then it is built on first
    use, so that opening a two-way model to translate one direction loads that direction's weights only.
    """

    def __init__(
        self, config: GeneratorConfig, network: nn.Module | Callable[[], nn.Module], preprocessing: Preprocessing
    ) -> None:
        self.config = config
        self.preprocessing = preprocessing
        self._network = network if isinstance(network, nn.Module) else None
        self._load = None if isinstance(network, nn.Module) else network

    @property
    def network(self) -> nn.Module:
        if self._network is None:
            assert self._load is not None
            self._network, self._load = self._load(), None
        return self._network

    @property
    def direction(self) -> str:
        return self.preprocessing.direction


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
    """A trained model: its method's name and its generators, the trained direction first.

    Methods that learn one direction (pix2pix) have one generator; two-way methods (CycleGAN, U-GAT-IT) have both.
    """

    path: Path
    method: str
    generators: list[Generator]
    source: Source

    @property
    def trained_direction(self) -> str:
        return self.generators[0].direction

    @property
    def directions(self) -> list[str]:
        return [g.direction for g in self.generators]

    def generator(self, direction: str | None = None) -> Generator:
        """The generator that translates ``direction`` ("AtoB"/"BtoA"; None: the trained direction)."""
        if direction is None:
            return self.generators[0]
        for gen in self.generators:
            if gen.direction == direction:
                return gen
        raise CheckpointError(
            f"{self.path}: this {self.method} model translates {self.trained_direction} only; --direction "
            f"{direction} needs a method that learns both directions (cyclegan, ugatit)"
        )
