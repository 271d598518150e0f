"""One writer per run folder: an exclusive lock on ``<run>/.lock`` held for the whole of ``i2i train``.

The lock is an OS file lock (``flock``), so it goes away with its process however that process ends (``kill -9``
included): a lock left by a dead process is never in the way. The file keeps the holder's process id and command
line, so a second run can say who holds the folder. On systems without ``fcntl`` no lock is taken.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from i2i.errors import I2IError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"


class RunFolderLocked(I2IError):
    """Another process is writing this run folder."""


@contextlib.contextmanager
def run_folder_lock(folder: Path) -> Iterator[Path | None]:
    """Holds the exclusive lock of run folder ``folder`` (created if needed) while the block runs.

    Yields the topmost folder created here (``folder`` itself or a parent such as ``runs/``), which may be removed
    again if the run writes nothing; None when the folder existed. Raises RunFolderLocked naming the holding process
    when another process holds the lock.
    """
    created = next((p for p in reversed([folder, *folder.parents]) if not p.exists()), None)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                raise RunFolderLocked(
                    f"{folder}: this run folder is in use by {holder}; wait for it to finish or stop it "
                    "(two runs writing one folder would mix their checkpoints and logs)"
                ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {' '.join(sys.argv)}\n".encode(errors="replace"))
        yield created
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", errors="replace").strip()
    except OSError:
        text = ""
    pid, _, command = text.partition(" ")
    if not pid.isdigit():
        return "another process"
    return f"process {pid}" + (f" ({command[:200]})" if command else "")


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Deletes the temp files (``.<name>.*.tmp``, see ``i2i.atomic``) a killed writer left in ``folder`` and the
    folders the run writes into. Only safe while holding the run folder's lock: then no one is writing them."""
    removed = []
    for sub in (folder, folder / "checkpoints", folder / "samples"):
        if not sub.is_dir():
            continue
        for tmp in sub.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed
