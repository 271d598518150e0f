"""How many threads i2i's file and image work uses by default: one rule for every pool in the package."""

from __future__ import annotations

import os

MAX_IO_THREADS = 16  # I/O-bound pools (reading, hashing) stop gaining well before this on any disk


def usable_cpus() -> int:
    """CPUs this process may run on (respects taskset/cgroup CPU sets where the OS says), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_workers(io_bound: bool = False) -> int:
    """Threads for a pool: one per usable CPU for decoding and image operations (Pillow, OpenCV and hashlib
    release the GIL); twice that, at most ``MAX_IO_THREADS``, for work that mostly waits on the disk."""
    cpus = usable_cpus()
    return min(MAX_IO_THREADS, 2 * cpus) if io_bound else cpus
