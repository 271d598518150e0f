"""Directions of a translation: A → B or B → A, in the dataset's terms (A = ``trainA`` or the left half of A|B).

Every place that turns a direction into an order of the two sides asks :func:`oriented`, and every place that needs
the other direction asks :func:`opposite`.
"""

from __future__ import annotations

from typing import Literal, TypeVar

Direction = Literal["AtoB", "BtoA"]
DIRECTIONS: tuple[str, str] = ("AtoB", "BtoA")

T = TypeVar("T")


def opposite(direction: str) -> str:
    """The other direction: AtoB ↔ BtoA."""
    return "BtoA" if direction == "AtoB" else "AtoB"


def oriented(a: T, b: T, direction: str) -> tuple[T, T]:
    """(input side, output side) of the dataset's A and B sides under ``direction``."""
    return (b, a) if direction == "BtoA" else (a, b)
