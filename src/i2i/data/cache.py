"""A GPU-friendly path for paired training data: decode once into a uint8 cache, augment whole batches on the device.

The default path (``PairedDataset`` in DataLoader workers) decodes a PNG/JPEG and augments it on the CPU for every
sample of every epoch; on a GPU that CPU work, not the networks, often sets the pace. Here each pair is decoded once
into uint8 (N, C, H, W) tensors, kept in GPU memory when they fit or in pinned host memory otherwise, and every batch
is resized, cropped and flipped on the training device with one interpolate call and one gather per side.

The augmentation is the one of ``transforms.augment_pair``: the same per-sample seed gives the same parameters (drawn
from the same CPU generator stream), and on the CPU the result is bit-for-bit the same, so turning the cache on or off
changes speed, not training. On CUDA the interpolation kernels may round differently in the last bits.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from i2i.data.config import CacheMode, DataConfig
from i2i.data.datasets import PairRecord, load_pair
from i2i.data.io import probe_image, read_image
from i2i.data.processing import normalize, resize
from i2i.data.transforms import PairParams, sample_params
from i2i.errors import DatasetError

log = logging.getLogger(__name__)

Placement = Literal["device", "host"]

# Shares of free memory the cache may take under cache=auto: training needs most of the GPU, and the host keeps
# room for the page cache, validation and everything else running on the machine.
DEVICE_SHARE = 0.25
HOST_SHARE = 0.25


# --- batched augmentation ------------------------------------------------------------------------------------------


def augment_batch(
    a: torch.Tensor, b: torch.Tensor, seeds: Sequence[int], cfg: DataConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augments uint8 (N, C, H, W) batches of pairs on their device, with one seed per pair.

    Sample i of the result equals ``augment_pair(to_tensor(a_i), to_tensor(b_i), cfg, seeds[i])`` (exactly on the
    CPU): the parameters come from the same seeded CPU generator, and the same float operations run, only batched.

    Args:
        a: input images, uint8 (N, Ca, H, W).
        b: target images, uint8 (N, Cb, Hb, Wb); resized to (H, W) first when the sizes differ, as augment_pair does.
        seeds: the augmentation seed of each pair (from the epoch sampler).
        cfg: preprocess, sizes, resize mode and flip.

    Returns:
        Float (N, Ca, crop, crop) and (N, Cb, crop, crop) tensors in [-1, 1], on the device of ``a``.
    """
    if a.dtype != torch.uint8 or b.dtype != torch.uint8 or a.dim() != 4 or b.dim() != 4:
        raise ValueError(
            f"expected uint8 (N, C, H, W) batches, got {a.dtype} {tuple(a.shape)}, {b.dtype} {tuple(b.shape)}"
        )
    if not len(a) == len(b) == len(seeds) > 0:
        raise ValueError(f"batch sizes differ or are zero: a {len(a)}, b {len(b)}, seeds {len(seeds)}")
    height, width = a.shape[-2:]
    params = [sample_params(height, width, cfg, torch.Generator().manual_seed(seed)) for seed in seeds]
    if b.shape[-2:] != a.shape[-2:]:
        b = resize(normalize(b), (height, width), cfg.resize_mode)
    return _apply_batch(a, params, cfg), _apply_batch(b, params, cfg)


def _apply_batch(x: torch.Tensor, params: list[PairParams], cfg: DataConfig) -> torch.Tensor:
    """``transforms.apply_params`` for a batch whose samples each have their own crop and flip."""
    resized = params[0].resized
    # The resized size depends only on the native size and cfg, which all samples of a batch share.
    assert all(p.resized == resized for p in params), "samples of one batch must share their resized size"
    if tuple(x.shape[-2:]) != resized:
        x = resize(_to_float(x), resized, cfg.resize_mode)
    # Without a resize, cropping before normalizing gives the same numbers for a fraction of the work.
    return _to_float(_crop_and_flip(x, params, cfg.crop_size))


def _to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 → float in [-1, 1]; float (already normalized) passes through."""
    return normalize(x) if x.dtype == torch.uint8 else x


def _crop_and_flip(x: torch.Tensor, params: list[PairParams], crop: int) -> torch.Tensor:
    """Crops every sample at its own (top, left), mirrored where it flips, in one gather: (N, C, crop, crop)."""
    n, c, _, width = x.shape
    # One small (3, N) transfer carries the parameters; the index grids are built on the device.
    top, left, flip = _to(torch.tensor([[p.top, p.left, int(p.flip)] for p in params]).T, x.device)
    steps = torch.arange(crop, device=x.device)
    rows = top[:, None] + steps  # (N, crop)
    cols = left[:, None] + torch.where(flip[:, None].bool(), crop - 1 - steps, steps)  # (N, crop), reversed if flipped
    # A gather along the flattened H·W axis with one index shared by all channels: on the CPU about 5x faster than
    # advanced indexing with per-dimension index tensors, which computes an offset from four indices per element.
    pixels = (rows[:, :, None] * width + cols[:, None, :]).view(n, 1, crop * crop).expand(n, c, crop * crop)
    return x.flatten(2).gather(2, pixels).view(n, c, crop, crop)


# --- deciding on a cache -------------------------------------------------------------------------------------------


def plan_cache(
    records: Sequence[PairRecord], cfg: DataConfig, device: torch.device, mode: CacheMode
) -> tuple[Placement | None, str]:
    """Decides where (if anywhere) the decoded cache of ``records`` goes, and says why, for the training log.

    ``auto`` caches on the GPU when the cache takes at most DEVICE_SHARE of its free memory, else in pinned host
    memory when it takes at most HOST_SHARE of the available RAM. On a CPU device it stays off: resizing dominates
    the data work, so the cache saves only the decode (facades on 2 cores: about 6-9 ms per image in the training
    process with the cache, 10 ms per image in DataLoader workers that run alongside training without it).
    ``device`` and ``host`` force a placement and raise DatasetError when it cannot work. Every mode needs all
    inputs of the split to share one size and all targets another, read from the image headers.
    """
    early = _precheck(len(records), device, mode)
    if early is not None:
        return early
    nbytes, problem = _cache_size(records, cfg)
    return _placement(nbytes, problem, device, mode)


def _precheck(count: int, device: torch.device, mode: CacheMode) -> tuple[None, str] | None:
    """The decision when it needs no image sizes (cache off, not on a GPU, nothing to cache); else None."""
    if mode == "off":
        return None, "data.cache=off"
    if mode == "device" and device.type != "cuda":
        raise DatasetError(f"data.cache=device needs a CUDA training device, not {device}")
    if mode == "auto" and device.type != "cuda":
        return None, f"no decoded cache on {device} (data.cache=auto caches on GPUs only)"
    if not count:
        return None, "nothing to cache"
    return None


def _placement(nbytes: int, problem: str, device: torch.device, mode: CacheMode) -> tuple[Placement | None, str]:
    """Where a cache of ``nbytes`` goes under ``mode`` (``problem``: why no cache can hold this split)."""
    if problem:
        if mode != "auto":
            raise DatasetError(f"data.cache={mode}: {problem}")
        return None, problem
    if mode == "device":
        return "device", _require(nbytes, torch.cuda.mem_get_info(device)[0], f"free memory on {device}")
    if mode == "host":
        return "host", _require(nbytes, _available_ram(), "available RAM")
    free_gpu = torch.cuda.mem_get_info(device)[0]
    if nbytes <= DEVICE_SHARE * free_gpu:
        return "device", f"{_mib(nbytes)} cache on {device} ({_mib(free_gpu)} free)"
    ram = _available_ram()
    if nbytes <= HOST_SHARE * ram:
        return (
            "host",
            f"{_mib(nbytes)} cache in host memory: over {DEVICE_SHARE:.0%} of {_mib(free_gpu)} free on {device}",
        )
    return None, f"{_mib(nbytes)} cache fits neither {device} ({_mib(free_gpu)} free) nor RAM ({_mib(ram)} available)"


def _require(nbytes: int, available: int, where: str) -> str:
    """The log line of a forced placement; DatasetError when the cache cannot fit at all."""
    if nbytes > available:
        raise DatasetError(f"the decoded cache needs {_mib(nbytes)} but only {_mib(available)} of {where} is left")
    return f"{_mib(nbytes)} cache forced by data.cache ({_mib(available)} of {where})"


def _cache_size(records: Sequence[PairRecord], cfg: DataConfig) -> tuple[int, str]:
    """Bytes the cache of ``records`` would take, read from image headers; a reason instead when sizes differ."""
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        sizes = list(pool.map(lambda r: _pair_size(r, cfg), records))
    for side, name in ((0, "input"), (1, "target")):
        distinct = sorted({s[side] for s in sizes})
        if len(distinct) > 1:
            shown = ", ".join(f"{w}x{h}" for h, w in distinct[:3])
            return 0, f"{name} images come in {len(distinct)} sizes ({shown}); the cache needs one size per side"
    (ha, wa), (hb, wb) = sizes[0]
    return len(records) * (cfg.input_channels * ha * wa + cfg.output_channels * hb * wb), ""


def _pair_size(record: PairRecord, cfg: DataConfig) -> tuple[tuple[int, int], tuple[int, int]]:
    """(input, target) (h, w) of a pair as load_pair will decode it, from the headers alone."""
    first = probe_image(record.path_a)
    if record.path_b is None:  # an A|B file: two halves of equal width
        a = b = (first.height, first.width // 2)
    else:
        second = probe_image(record.path_b)
        a, b = (first.height, first.width), (second.height, second.width)
    return (b, a) if cfg.direction == "BtoA" else (a, b)


def _available_ram() -> int:
    """Bytes of RAM available to new allocations without swapping (MemAvailable), or free pages elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.0f} MiB"


def _put(store: torch.Tensor, i: int, image: np.ndarray, record: PairRecord) -> None:
    """Copies a decoded (H, W, C) image into row ``i`` of a (N, C, H, W) store, refusing a different size."""
    h, w, c = image.shape
    if (c, h, w) != tuple(store.shape[1:]):
        raise DatasetError(
            f"pair '{record.name}' ({record.path_a}) decodes to {w}x{h}x{c}, but the cache holds "
            f"{store.shape[3]}x{store.shape[2]}x{store.shape[1]} images: every pair of a split needs the same size"
        )
    # Pillow's arrays are read-only (and A|B halves are strided); torch.from_numpy wants a writable array.
    store[i].copy_(torch.from_numpy(np.require(image, requirements=("C", "W"))).permute(2, 0, 1))


def _to(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A small CPU tensor on ``device`` without stalling the host.

    From pageable memory a host → GPU copy first waits for all work queued on the stream (the previous training
    step), so the host could not prepare the next batch while the GPU computes; from pinned memory it is queued.
    """
    if device.type != "cuda":
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)


def _nbytes(*tensors: torch.Tensor) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _workers() -> int:
    return min(8, os.cpu_count() or 1)


# --- the cache -----------------------------------------------------------------------------------------------------


class PairCache:
    """The pairs of a split decoded once into uint8 tensors, serving augmented batches for epoch-sampler keys.

    Args:
        records: the pairs, all inputs of one size and all targets of one size (see ``plan_cache``).
        cfg: direction, channels and augmentation, as for ``PairedDataset``.
        device: the training device; batches come out there.
        placement: ``device`` keeps the cache on ``device``; ``host`` keeps it in host memory, pinned when CUDA is
            available so that batches copy to the GPU asynchronously.
    """

    def __init__(
        self, records: Sequence[PairRecord], cfg: DataConfig, device: torch.device, placement: Placement
    ) -> None:
        if not records:
            raise DatasetError("cannot cache an empty split")
        self.records = list(records)
        self.cfg = cfg
        self.device = torch.device(device)
        self.placement = placement
        self.a, self.b = self._decode()

    def _decode(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Decodes every pair in threads (Pillow releases the GIL) straight into preallocated uint8 storage."""
        a_store = b_store = torch.empty(0, dtype=torch.uint8)
        with ThreadPoolExecutor(max_workers=_workers()) as pool:
            pairs = pool.map(lambda r: load_pair(r, self.cfg), self.records)
            for i, (record, (a, b)) in enumerate(zip(self.records, pairs, strict=True)):
                if i == 0:
                    a_store, b_store = self._allocate(a.shape), self._allocate(b.shape)
                _put(a_store, i, a, record)
                _put(b_store, i, b, record)
        log.info(
            "cached %d pairs (%s) in %s memory", len(self.records), _mib(_nbytes(a_store, b_store)), self.placement
        )
        return a_store, b_store

    def _allocate(self, hwc: tuple[int, ...]) -> torch.Tensor:
        shape = (len(self.records), hwc[2], hwc[0], hwc[1])
        if self.placement == "device":
            return torch.empty(shape, dtype=torch.uint8, device=self.device)
        return torch.empty(shape, dtype=torch.uint8, pin_memory=torch.cuda.is_available())

    @property
    def nbytes(self) -> int:
        """Bytes held by the cache (inputs and targets)."""
        return _nbytes(self.a, self.b)

    def __len__(self) -> int:
        return len(self.records)

    def batch(self, keys: Sequence[tuple[int, int]]) -> dict:
        """An augmented batch for ``(index, seed)`` keys: the collated PairedDataset items, with a/b on the device.

        Returns:
            ``{"a", "b"}`` float (B, C, crop, crop) in [-1, 1] on the device, ``"path_a"``/``"path_b"`` lists of
            str, and ``"index"`` a CPU LongTensor (B,), as the DataLoader collates them.
        """
        indices = [index for index, _ in keys]
        index = torch.tensor(indices, dtype=torch.long)
        if self.device.type == "cuda":  # pinned, so that moving it to the GPU later does not stall the host
            index = index.pin_memory()
        a, b = augment_batch(self._rows(self.a, index), self._rows(self.b, index), [s for _, s in keys], self.cfg)
        records = [self.records[i] for i in indices]
        return {
            "a": a,
            "b": b,
            "path_a": [r.path_a for r in records],
            "path_b": [r.path_b or r.path_a for r in records],
            "index": index,
        }

    def _rows(self, store: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return _gather_rows(store, index, self.device)


def _gather_rows(store: torch.Tensor, index: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Gathers rows ``index`` of a cache ``store`` onto the training device."""
    if store.device.type == device.type:  # device placement, or host placement when training on the CPU
        return store.index_select(0, _to(index, store.device))
    # Gathered into pinned memory, the host → GPU copy runs asynchronously (pageable memory would block).
    rows = torch.empty((len(index), *store.shape[1:]), dtype=store.dtype, pin_memory=store.is_pinned())
    torch.index_select(store, 0, index, out=rows)
    return rows.to(device, non_blocking=True)


# --- the unpaired cache --------------------------------------------------------------------------------------------


def _domain_lists(records: Sequence[Any], cfg: DataConfig) -> tuple[list[str], list[str]]:
    """(input-domain, output-domain) image paths of unpaired records, in the order the records cycle through them."""
    from i2i.data.unpaired import domains_of

    images_a, images_b = domains_of(list(records))
    return (images_b, images_a) if cfg.direction == "BtoA" else (images_a, images_b)


def plan_unpaired_cache(
    records: Sequence[Any], cfg: DataConfig, device: torch.device, mode: CacheMode
) -> tuple[Placement | None, str]:
    """``plan_cache`` for unpaired records: each domain is decoded once and must hold images of one size."""
    early = _precheck(len(records), device, mode)
    if early is not None:
        return early
    nbytes, problem = 0, ""
    for paths, channels, name in zip(
        _domain_lists(records, cfg), (cfg.input_channels, cfg.output_channels), ("input", "output"), strict=True
    ):
        with ThreadPoolExecutor(max_workers=_workers()) as pool:
            sizes = sorted({(info.height, info.width) for info in pool.map(probe_image, paths)})
        if len(sizes) > 1:
            shown = ", ".join(f"{w}x{h}" for h, w in sizes[:3])
            problem = f"{name}-domain images come in {len(sizes)} sizes ({shown}); the cache needs one size per domain"
            break
        nbytes += len(paths) * channels * sizes[0][0] * sizes[0][1]
    return _placement(nbytes, problem, device, mode)


class UnpairedCache:
    """Both domains of an unpaired split decoded once; serves the batches ``UnpairedDataset`` would give.

    Sample ``(index, seed)`` takes input image ``index mod N_in`` and the output image and both augmentations drawn
    from ``seed`` exactly as the dataset draws them, so on the CPU the batches are the same bit for bit.
    """

    def __init__(self, records: Sequence[Any], cfg: DataConfig, device: torch.device, placement: Placement) -> None:
        if not records:
            raise DatasetError("cannot cache an empty split")
        self.cfg = cfg
        self.device = torch.device(device)
        self.placement = placement
        self.paths_in, self.paths_out = _domain_lists(records, cfg)
        self.count = len(records)
        self.a = self._decode(self.paths_in, cfg.input_channels)
        self.b = self._decode(self.paths_out, cfg.output_channels)
        log.info(
            "cached %d + %d images (%s) in %s memory",
            len(self.paths_in),
            len(self.paths_out),
            _mib(_nbytes(self.a, self.b)),
            placement,
        )

    def _decode(self, paths: list[str], channels: int) -> torch.Tensor:
        store = torch.empty(0, dtype=torch.uint8)
        with ThreadPoolExecutor(max_workers=_workers()) as pool:
            images = pool.map(lambda p: read_image(p, channels), paths)
            for i, (path, image) in enumerate(zip(paths, images, strict=True)):
                if i == 0:
                    h, w, c = image.shape
                    shape = (len(paths), c, h, w)
                    if self.placement == "device":
                        store = torch.empty(shape, dtype=torch.uint8, device=self.device)
                    else:
                        store = torch.empty(shape, dtype=torch.uint8, pin_memory=torch.cuda.is_available())
                _put(store, i, image, PairRecord(Path(path).stem, path))
        return store

    @property
    def nbytes(self) -> int:
        return _nbytes(self.a, self.b)

    def __len__(self) -> int:
        return self.count

    def batch(self, keys: Sequence[tuple[int, int]]) -> dict:
        from i2i.data.unpaired import draw_b

        rows_a, rows_b, params_a, params_b = [], [], [], []
        (ha, wa), (hb, wb) = self.a.shape[-2:], self.b.shape[-2:]
        for index, seed in keys:
            generator, b_index = draw_b(seed, len(self.paths_out))
            rows_a.append(index % len(self.paths_in))
            rows_b.append(b_index)
            params_a.append(sample_params(ha, wa, self.cfg, generator))
            params_b.append(sample_params(hb, wb, self.cfg, generator))
        ia, ib = torch.tensor(rows_a, dtype=torch.long), torch.tensor(rows_b, dtype=torch.long)
        return {
            "a": _apply_batch(self._rows(self.a, ia), params_a, self.cfg),
            "b": _apply_batch(self._rows(self.b, ib), params_b, self.cfg),
            "path_a": [self.paths_in[i] for i in rows_a],
            "path_b": [self.paths_out[i] for i in rows_b],
            "index": torch.tensor([index for index, _ in keys], dtype=torch.long),
        }

    def _rows(self, store: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return _gather_rows(store, index, self.device)
