"""Translating many files with several processes (``torchrun ... -m i2i.cli translate``).

Every process expands the same inputs into the same sorted plan and takes every N-th entry of it (process r of N:
entries r, r + N, ...), so each file has exactly one owner whatever the timing, and the outputs are those of one
process (each image is translated alone, at its own size, by the same network). Outputs are written atomically
(``imageio.write_image``), so after a crash an output file is either whole or absent: ``--skip-existing`` then
translates only what is missing. The processes meet twice: after planning (so that no process sees another's
fresh outputs as files that were there before) and at the end, where the first process prints one summary for all.
They meet through torchrun's rendezvous store (see ``ProcessGroup``). Each process takes the GPU of its local
rank, or on CPUs its share of the cores.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from i2i.parallel import usable_cpus


@dataclass(frozen=True)
class Shard:
    """This process's place among the translating processes (0 of 1 when not launched by torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def take(self, pairs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
        """This process's entries of the plan every process made alike."""
        return pairs[self.rank :: self.world_size]

    def threads(self) -> int:
        """CPU threads for this process: the usable CPUs shared among the processes on this machine."""
        return max(1, usable_cpus() // self.local_world_size)

    def device(self, device: str) -> str:
        """The device to translate on: with several processes on a CUDA machine, the GPU of the local rank."""
        if not self.enabled or device == "cpu":
            return device
        if device.startswith("cuda") or (device == "auto" and _cuda_available()):
            return f"cuda:{self.local_rank}"
        return device


def shard_from_env() -> Shard:
    """Reads the variables ``torchrun`` sets (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Shard()
    return Shard(
        int(os.environ["RANK"]),
        world,
        int(os.environ.get("LOCAL_RANK", "0")),
        int(os.environ.get("LOCAL_WORLD_SIZE", str(world))),
    )


def skip_existing(pairs: list[tuple[Path, Path]]) -> tuple[list[tuple[Path, Path]], int]:
    """The pairs whose output is not written yet, and how many were."""
    todo = [(src, dst) for src, dst in pairs if not os.path.lexists(dst)]
    return todo, len(pairs) - len(todo)


@dataclass
class Summary:
    """What all processes did together."""

    processes: int = 1
    written: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)


class ProcessGroup:
    """The processes' meeting points; a no-op for one process.

    They meet through the key-value store torchrun's rendezvous provides (``env://``: the agent's store, or one
    the first process hosts), not through a gloo or NCCL group: they exchange a few counts, not tensors, and a
    communicator's worker threads only add ways to fail when one process finishes long before another. torch is
    imported only when there are several processes.
    """

    def __init__(self, shard: Shard, timeout: datetime.timedelta = datetime.timedelta(minutes=60)) -> None:
        self.shard = shard
        self._store: Any = None
        if not shard.enabled:
            return
        from torch.distributed import PrefixStore
        from torch.distributed import rendezvous as torch_rendezvous

        store, _, _ = next(torch_rendezvous("env://", shard.rank, shard.world_size, timeout=timeout))
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")  # a restarted group must not see old keys
        self._store = PrefixStore(f"i2i-translate/{attempt}", store)

    def barrier(self, name: str) -> None:
        """Returns once every process has arrived at the barrier called ``name``."""
        if self._store is None:
            return
        if self._store.add(f"{name}/arrived", 1) == self.shard.world_size:
            self._store.set(f"{name}/open", "1")
        self._store.wait([f"{name}/open"])

    def summarize(self, written: int, skipped: int, failed: list[str]) -> Summary:
        """The first process gets everyone's counts and failures (once all have sent theirs); the others their own."""
        own = Summary(self.shard.world_size, written, skipped, list(failed))
        if self._store is None:
            return own
        self._store.set(f"summary/{self.shard.rank}", json.dumps([written, skipped, list(failed)]))
        if self.shard.rank != 0:
            return own
        keys = [f"summary/{rank}" for rank in range(self.shard.world_size)]
        self._store.wait(keys)
        parts = [json.loads(self._store.get(key)) for key in keys]
        return Summary(
            self.shard.world_size,
            sum(p[0] for p in parts),
            sum(p[1] for p in parts),
            [line for p in parts for line in p[2]],
        )


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()
