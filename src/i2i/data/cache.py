"""The decoded-cache machinery every data kind shares: where a cache goes, decoding into it, batched augmentation.

The default data path (a kind's Dataset in DataLoader workers) decodes a PNG/JPEG and augments it on the CPU for
every sample of every epoch; on a GPU that CPU work, not the networks, often sets the pace. A kind's cache
(``paired.PairCache``, ``unpaired.UnpairedCache``) decodes each image once into uint8 (N, C, H, W) tensors, kept in
GPU memory when they fit or in pinned host memory otherwise, and resizes, crops and flips whole batches on the
training device with one interpolate call and one gather per side.

The augmentation is the one of ``transforms``: the same per-sample seed gives the same parameters (drawn from the
same CPU generator stream), and on the CPU the result is bit-for-bit the same, so turning the cache on or off
changes speed, not training. On CUDA the interpolation kernels may round differently in the last bits.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, TypeVar

import numpy as np
import torch

from i2i.data.config import CacheMode, DataConfig
from i2i.data.processing import normalize, resize
from i2i.data.transforms import PairParams, sample_params
from i2i.errors import DatasetError
from i2i.parallel import default_workers

Placement = Literal["device", "host"]
T = TypeVar("T")

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
        b: target images, uint8 (N, Cb, H, W): the same size as ``a`` (the data kinds refuse pairs that are not).
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
        raise ValueError(f"the two images of a pair must be the same size, got {tuple(a.shape)} and {tuple(b.shape)}")
    return apply_batch(a, params, cfg), apply_batch(b, params, cfg)


def apply_batch(x: torch.Tensor, params: list[PairParams], cfg: DataConfig) -> torch.Tensor:
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
    top, left, flip = to_device(torch.tensor([[p.top, p.left, int(p.flip)] for p in params]).T, x.device)
    steps = torch.arange(crop, device=x.device)
    rows = top[:, None] + steps  # (N, crop)
    cols = left[:, None] + torch.where(flip[:, None].bool(), crop - 1 - steps, steps)  # (N, crop), reversed if flipped
    # A gather along the flattened H·W axis with one index shared by all channels: on the CPU much faster than
    # advanced indexing with per-dimension index tensors, which computes an offset from four indices per element.
    pixels = (rows[:, :, None] * width + cols[:, None, :]).view(n, 1, crop * crop).expand(n, c, crop * crop)
    return x.flatten(2).gather(2, pixels).view(n, c, crop, crop)


# --- deciding on a cache -------------------------------------------------------------------------------------------


def plan(
    count: int, device: torch.device, mode: CacheMode, measure: Callable[[], tuple[int, str]]
) -> tuple[Placement | None, str]:
    """Decides where (if anywhere) a kind's decoded cache goes, and says why, for the training log.

    ``measure()`` returns the bytes the cache would take, read from image headers, or a reason why no cache can
    hold the split (images of several sizes on one side). ``auto`` caches on the GPU when the cache takes at most
    DEVICE_SHARE of its free memory, else in pinned host memory when it takes at most HOST_SHARE of the available
    RAM. On a CPU device it stays off: resizing dominates the data work, so the cache saves only the decode.
    ``device`` and ``host`` force a placement and raise DatasetError when it cannot work.
    """
    if mode == "off":
        return None, "data.cache=off"
    if mode == "device" and device.type != "cuda":
        raise DatasetError(f"data.cache=device needs a CUDA training device, not {device}")
    if mode == "auto" and device.type != "cuda":
        return None, f"no decoded cache on {device} (data.cache=auto caches on GPUs only)"
    if not count:
        return None, "nothing to cache"
    nbytes, problem = measure()
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
        return "device", f"{mib(nbytes)} cache on {device} ({mib(free_gpu)} free)"
    ram = _available_ram()
    if nbytes <= HOST_SHARE * ram:
        return (
            "host",
            f"{mib(nbytes)} cache in host memory: over {DEVICE_SHARE:.0%} of {mib(free_gpu)} free on {device}",
        )
    return None, f"{mib(nbytes)} cache fits neither {device} ({mib(free_gpu)} free) nor RAM ({mib(ram)} available)"


def one_size(sizes: Sequence[tuple[int, int]], what: str) -> str:
    """'' when all (h, w) ``sizes`` are equal, else the reason a cache cannot hold ``what`` (e.g. "input images")."""
    distinct = sorted(set(sizes))
    if len(distinct) <= 1:
        return ""
    shown = ", ".join(f"{w}x{h}" for h, w in distinct[:3])
    return f"{what} come in {len(distinct)} sizes ({shown}); the cache needs one size per side"


def _require(nbytes: int, available: int, where: str) -> str:
    """The log line of a forced placement; DatasetError when the cache cannot fit at all."""
    if nbytes > available:
        raise DatasetError(f"the decoded cache needs {mib(nbytes)} but only {mib(available)} of {where} is left")
    return f"{mib(nbytes)} cache forced by data.cache ({mib(available)} of {where})"


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


def mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.0f} MiB"


# --- decoding into a cache and reading batches out -----------------------------------------------------------------


def decode_stores(
    items: Sequence[T],
    decode: Callable[[T], tuple[np.ndarray, ...]],
    name: Callable[[T], str],
    device: torch.device,
    placement: Placement,
) -> list[torch.Tensor]:
    """Decodes every item in threads (Pillow releases the GIL) into one uint8 (N, C, H, W) store per image it yields.

    ``decode(item)`` gives the item's images (one per store, (H, W, C) uint8); a store's size is that of its first
    image, and an item whose image differs is a DatasetError naming it (``name(item)``).
    """
    if not items:
        raise DatasetError("cannot cache an empty split")
    stores: list[torch.Tensor] = []
    with ThreadPoolExecutor(max_workers=default_workers()) as pool:
        for i, (item, images) in enumerate(zip(items, pool.map(decode, items), strict=True)):
            if i == 0:
                stores = [
                    _allocate((len(items), im.shape[2], im.shape[0], im.shape[1]), device, placement) for im in images
                ]
            for store, image in zip(stores, images, strict=True):
                _put(store, i, image, name(item))
    return stores


def _allocate(shape: tuple[int, ...], device: torch.device, placement: Placement) -> torch.Tensor:
    if placement == "device":
        return torch.empty(shape, dtype=torch.uint8, device=device)
    return torch.empty(shape, dtype=torch.uint8, pin_memory=torch.cuda.is_available())


def _put(store: torch.Tensor, i: int, image: np.ndarray, name: str) -> None:
    """Copies a decoded (H, W, C) image into row ``i`` of a (N, C, H, W) store, refusing a different size."""
    h, w, c = image.shape
    if (c, h, w) != tuple(store.shape[1:]):
        raise DatasetError(
            f"{name} decodes to {w}x{h}x{c}, but the cache holds {store.shape[3]}x{store.shape[2]}x{store.shape[1]} "
            "images: every image of a side of a split needs the same size"
        )
    # Pillow's arrays are read-only (and A|B halves are strided); torch.from_numpy wants a writable array.
    store[i].copy_(torch.from_numpy(np.require(image, requirements=("C", "W"))).permute(2, 0, 1))


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A small CPU tensor on ``device`` without stalling the host.

    From pageable memory a host → GPU copy first waits for all work queued on the stream (the previous training
    step), so the host could not prepare the next batch while the GPU computes; from pinned memory it is queued.
    """
    if device.type != "cuda":
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)


def nbytes(*tensors: torch.Tensor) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def gather_rows(store: torch.Tensor, index: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Gathers rows ``index`` (a CPU LongTensor) of a cache ``store`` onto the training device."""
    if store.device.type == device.type:  # device placement, or host placement when training on the CPU
        return store.index_select(0, to_device(index, store.device))
    # Gathered into pinned memory, the host → GPU copy runs asynchronously (pageable memory would block).
    rows = torch.empty((len(index), *store.shape[1:]), dtype=store.dtype, pin_memory=store.is_pinned())
    torch.index_select(store, 0, index, out=rows)
    return rows.to(device, non_blocking=True)
