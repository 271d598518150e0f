"""User-facing error types: each carries a one-line message the CLI prints without a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class I2IError(Exception):
    """Base class for errors caused by the user's input (files, configs, flags), not by a bug."""


class ConfigError(I2IError):
    """A config key, value or combination is invalid."""


class DatasetError(I2IError):
    """A dataset folder is missing, empty, or holds bad files."""


class CheckpointError(I2IError):
    """A checkpoint or release folder cannot be loaded into the requested model."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Returns ' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""
