"""The device-side image history pool: fill, then swap about half of the time, and keep its state for resume."""

from __future__ import annotations

import pytest
import torch

from i2i.methods.image_pool import ImagePool


def _images(start: int, n: int) -> torch.Tensor:
    """Images whose every pixel holds their id, so an output tells which input it was."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 2, 3, 3).clone()


def _ids(batch: torch.Tensor) -> list[int]:
    return [int(v) for v in batch[:, 0, 0, 0]]


def test_size_zero_passes_through() -> None:
    x = _images(0, 4)
    assert torch.equal(ImagePool(0)(x), x)


def test_fills_first_then_returns_only_images_it_was_given() -> None:
    torch.manual_seed(0)
    pool = ImagePool(5)
    assert _ids(pool(_images(0, 3))) == [0, 1, 2]  # filling: pass through, store
    assert _ids(pool(_images(3, 2))) == [3, 4]
    assert int(pool.filled) == 5 and sorted(_ids(pool.images)) == [0, 1, 2, 3, 4]
    seen = set(range(5))
    swaps = 0
    for step in range(200):
        new = 5 + step
        (out,) = _ids(pool(_images(new, 1)))
        assert out == new or out in seen, "an output is the new image or one stored earlier"
        swaps += out != new
        held = _ids(pool.images)
        assert len(set(held)) == 5
        if out == new:
            assert set(held) == seen, "no swap leaves the pool as it was"
        else:
            assert new in held and out not in held, "a swap stores the new image in the returned one's slot"
        seen = set(held)
    assert 70 <= swaps <= 130, f"about half of the queries should swap, got {swaps}/200"


def test_state_round_trip_continues_identically() -> None:
    torch.manual_seed(1)
    pool = ImagePool(3)
    for i in range(5):
        pool(_images(2 * i, 2))
    state = {k: v.clone() for k, v in pool.state().items()}
    rng = torch.get_rng_state()
    expected = [_ids(pool(_images(100 + i, 2))) for i in range(5)]
    restored = ImagePool(3)
    restored.load_state(state, torch.device("cpu"))
    torch.set_rng_state(rng)
    assert [_ids(restored(_images(100 + i, 2))) for i in range(5)] == expected


def test_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match="pool size"):
        ImagePool(-1)
