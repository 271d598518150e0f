"""Files written whole or not at all: a temp file beside the target, then a rename (fsynced for training state).

Every file i2i writes whole goes through here: checkpoints, releases, images, eval reports, manifests, split plans and
benchmark results. A crash at any moment leaves the old file or the new one, never a partial file. The logs a run
appends to as it goes (``train.log``, ``metrics.jsonl``, TensorBoard events) are appended line by line instead;
``metrics.jsonl`` is rewritten through here when a resumed run trims it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

# Files made with mkstemp are private (0600); finished files get the mode a plain open() would give them.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: str | Path, data: bytes, durable: bool = False) -> None:
    """Writes ``data`` to a temp file beside ``path`` and renames it over ``path``.

    A crash at any moment leaves the old file or the new one, never a partial file. With ``durable`` the data
    and the rename are fsynced too (for training state; not needed for thousands of output images).
    """
    atomic_write_with(path, lambda f: f.write(data), durable)


def atomic_write_with(path: str | Path, write: Callable[[BinaryIO], object], durable: bool = False) -> None:
    """``atomic_write`` of whatever ``write(file)`` writes into the open temp file: large payloads (a checkpoint)
    stream straight to disk instead of being built in memory first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            os.fchmod(f.fileno(), 0o666 & ~_UMASK)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None:  # a failed write() names no file; the message should name the one being written
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Makes the entries of ``folder`` (renames into it) durable; a no-op where the file system cannot."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory
    finally:
        os.close(fd)


def atomic_write_text(path: str | Path, text: str, durable: bool = False) -> None:
    """``atomic_write`` of UTF-8 text."""
    atomic_write(path, text.encode("utf-8"), durable)


def atomic_write_json(path: str | Path, data: Any, durable: bool = False) -> None:
    """``atomic_write`` of indented JSON with a final newline."""
    atomic_write_text(path, json.dumps(data, indent=2) + "\n", durable)
