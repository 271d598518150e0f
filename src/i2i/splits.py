"""Which split a pair belongs to: one seeded hash scheme for every command that splits data.

A pair's *key* is its name: the file stem of an A|B file or of an A/ + B/ pair (``0001`` for ``0001.jpg``), or the
output stem ``i2i data pairs`` gives a photo (``sub__x`` for ``sub/x.jpg``). Each key gets a position in [0, 1) from
SHA-256 of ``"<seed>\\0<key>"``; keys are ordered by position (ties by key) and cut at exact counts: val and test
get their share of the pairs rounded half up, train the rest (10 pairs at 0.8,0.2 → 8 + 2; 7 → 6 + 1).

So the same files, ratios and seed give the same split in ``i2i data split``, ``i2i data pairs`` and training's
``--data.holdout`` (which uses seed 0), whatever order the file system lists them in; adding files later moves only
the few pairs that sit next to a cut.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from i2i.errors import ConfigError

SPLIT_NAMES = ("train", "val", "test")
HOLDOUT_SEED = 0  # training's --data.holdout is the split `i2i data split --seed 0` makes


def position(key: str, seed: int) -> float:
    """The key's place in [0, 1) under ``seed``."""
    digest = hashlib.sha256(f"{seed}\0{key}".encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_counts(n: int, ratios: Sequence[float]) -> list[int]:
    """Pairs per split for ratios that sum to 1: every split after the first gets its share rounded half up."""
    rest = [math.floor(n * r + 0.5) for r in ratios[1:]]
    if sum(rest) > n:  # only when the later shares are nearly everything: keep the first split from going negative
        rest[-1] -= sum(rest) - n
    return [n - sum(rest), *rest]


def split_of(keys: Sequence[str], ratios: Sequence[float], seed: int = 0) -> list[str]:
    """The split name (train, val or test) of each key, in the input order.

    Repeated keys (``x.png`` and ``x.jpg`` of one folder share the key ``x``) sit next to each other in the order.
    """
    if len(ratios) > len(SPLIT_NAMES):
        raise ValueError(f"at most {len(SPLIT_NAMES)} ratios, got {len(ratios)}")
    order = sorted(range(len(keys)), key=lambda i: (position(keys[i], seed), keys[i], i))
    out = [""] * len(keys)
    start = 0
    for split, count in zip(SPLIT_NAMES, split_counts(len(keys), ratios), strict=False):
        for i in order[start : start + count]:
            out[i] = split
        start += count
    return out


def normalize_ratios(values: Sequence[float]) -> tuple[float, ...]:
    """Checks 2 (train, val) or 3 (train, val, test) finite shares >= 0 with train > 0; scales them to sum 1."""
    shown = ",".join(f"{v:g}" for v in values)
    if len(values) not in (2, 3):
        raise ConfigError(f"ratios: expected 2 (train,val) or 3 (train,val,test) numbers, got {len(values)}: {shown}")
    if not all(math.isfinite(v) and v >= 0 for v in values) or values[0] <= 0:
        raise ConfigError(f"ratios: every part must be a number >= 0 and train's above 0, got {shown}")
    total = sum(values)
    return tuple(v / total for v in values)


def parse_ratios(text: str) -> tuple[float, ...]:
    """'0.8,0.2', '0.8,0.1,0.1' or '8,1,1' → ratios scaled to sum 1 (2 parts: train/val; 3: train/val/test)."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"ratios: expected 2 or 3 comma-separated numbers like 0.8,0.2, got {text!r}") from None
    return normalize_ratios(values)
