"""What a path is before anything opens it: the one check that a model file, config or weights file is a regular
file (a named pipe would make a read wait forever), torch-free so that the ONNX runtime uses it too."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from i2i.errors import CheckpointError
from i2i.imageio import file_kind


def regular_file(path: Path, missing: str = "file not found") -> int:
    """The size of ``path``, which must be a regular file (symlinks followed): a named pipe, socket, device or
    directory is refused before it is opened (reading a pipe would wait forever). ``missing``: the message when
    there is nothing at ``path``."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: {missing}") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except ValueError:  # a NUL character in the name
        raise CheckpointError(f"{path!r}: not a valid file name") from None
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"{path}: not a regular file ({file_kind(info.st_mode)}); refusing to read it")
    return info.st_size
