"""User-facing error types: each carries a one-line message the CLI prints without a traceback."""

from __future__ import annotations

import difflib
import os
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


def show_path(path: str | os.PathLike[str] | bytes) -> str:
    """A file name fit for a one-line message: unchanged when printable, else with its odd characters escaped.

    Control characters (a newline, a tab, ESC, ...) and other unprintable ones are written as Python escapes
    (``\\n``, ``\\t``, ``\\x1b``, ``\\u2028``), without quotes; bytes that are not valid UTF-8 (kept by Python as
    surrogates) become ``\\xNN``. So a hostile name never splits a message in two or moves the cursor.
    """
    text = os.fsdecode(path)
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable():
            out.append(char)
        elif 0xDC80 <= ord(char) <= 0xDCFF:  # an undecodable byte (surrogateescape)
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        else:
            out.append(repr(char)[1:-1])
    return "".join(out)


class ModelInputError(I2IError):
    """An image a model cannot be run on: too small for its layers, too large at the size the network would run at
    (after resizing and padding), or too thin. ``status`` is what a server answers: 413 (too large) or 422."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class ModelRunError(I2IError):
    """A model failed while running on valid input: its runtime raised, it overran its time limit, or its output is
    not what its release declares (rank, batch, channels, size, category count). A server answers 500 with the
    message, logged as one line."""
