"""A small generic registry: components register under a name and are built by name with helpful errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from i2i.errors import ConfigError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to entries (classes, factories or config types) of one kind of component.

    Args:
        kind: what is registered, used in error messages ("generator", "method").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that records ``obj`` under ``name``; a duplicate name is a programming error."""

        def decorator(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is already registered")
            self._entries[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        """Returns the entry for ``name``; an unknown name raises ConfigError listing the valid ones."""
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(sorted(self._entries))
            raise ConfigError(
                f"unknown {self.kind} '{name}'{did_you_mean(name, self._entries)}; valid: {valid}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries
