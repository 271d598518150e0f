"""The order of training samples and the seed of each sample's augmentation, as pure functions of (seed, epoch).

Because nothing here depends on hidden state, a resumed run can jump to any batch of any epoch and see exactly the
samples and augmentations the uninterrupted run saw, and ``world_size`` processes can split each global batch into
contiguous per-rank chunks that together equal the single-process batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

_MASK = (1 << 63) - 1


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A well-mixed 63-bit seed for sample ``index`` in ``epoch`` (splitmix64 finalizer)."""
    z = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB + 1) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & _MASK


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields ``(index, augmentation_seed)`` for one epoch, starting at a given batch.

    Args:
        size: number of samples in the dataset.
        batch_size: per-process batch size.
        seed: run seed; the permutation of epoch e is drawn from (seed, e).
        shuffle: random order (training) or dataset order.
        rank, world_size: this process's place among data-parallel processes.
    """

    def __init__(
        self, size: int, batch_size: int, seed: int, shuffle: bool = True, rank: int = 0, world_size: int = 1
    ) -> None:
        self.size, self.batch_size, self.seed, self.shuffle = size, batch_size, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def batches_per_epoch(self) -> int:
        """Global batches per epoch; a last batch too small to give every process a sample is dropped."""
        global_batch = self.batch_size * self.world_size
        full, rest = divmod(self.size, global_batch)
        return full + (1 if rest >= self.world_size else 0)

    def _order(self) -> list[int]:
        if not self.shuffle:
            return list(range(self.size))
        g = torch.Generator().manual_seed(sample_seed(self.seed, self.epoch, -1))
        return torch.randperm(self.size, generator=g).tolist()

    def _indices(self) -> list[int]:
        order = self._order()
        global_batch = self.batch_size * self.world_size
        mine: list[int] = []
        for b in range(self.start_batch, self.batches_per_epoch()):
            chunk = order[b * global_batch : (b + 1) * global_batch]
            # Shares differ by at most one sample (only in a short last batch), and follow the chunk's order.
            share, extra = divmod(len(chunk), self.world_size)
            start = self.rank * share + min(self.rank, extra)
            mine.extend(chunk[start : start + share + (1 if self.rank < extra else 0)])
        return mine

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for index in self._indices():
            yield index, sample_seed(self.seed, self.epoch, index)

    def __len__(self) -> int:
        return len(self._indices())
