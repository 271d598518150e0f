"""The inference queue on its own: batching by key, bounded waiting, refusals, errors and cancelled clients."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from i2i.serve.config import ServeConfig
from i2i.serve.scheduler import Busy, Scheduler


def run(coro):
    return asyncio.run(coro)


def test_results_come_back_to_their_own_requests() -> None:
    scheduler = Scheduler(workers=2, queue_size=64)

    async def main():
        return await asyncio.gather(*(scheduler.submit("k", i, lambda xs: [x * 10 for x in xs]) for i in range(40)))

    results = run(main())
    scheduler.close()
    assert [r.value for r in results] == [i * 10 for i in range(40)]
    assert scheduler.stats.done == 40 and scheduler.stats.failed == 0


def test_jobs_of_one_key_are_batched_up_to_max_batch() -> None:
    gate = threading.Event()
    seen: list[list] = []

    def work(items):
        gate.wait(5)
        seen.append(list(items))
        return [("done", i) for i in items]

    scheduler = Scheduler(workers=1, queue_size=64, max_batch=3)

    async def main():
        first = asyncio.ensure_future(scheduler.submit("a", 0, work))  # occupies the worker until the gate opens
        await asyncio.sleep(0.1)
        rest = [asyncio.ensure_future(scheduler.submit(k, i, work)) for i, k in enumerate("abababa", start=1)]
        await asyncio.sleep(0.1)
        gate.set()
        return await asyncio.gather(first, *rest)

    results = run(main())
    scheduler.close()
    assert [r.value for r in results] == [("done", i) for i in range(8)]
    assert seen[0] == [0]
    assert seen[1:] == [[1, 3, 5], [2, 4, 6], [7]]  # same key together, oldest first, at most 3
    assert [r.batch_size for r in results[1:4]] == [3, 3, 3] and scheduler.stats.largest_batch == 3


def test_a_full_queue_refuses_at_once_with_a_retry_time() -> None:
    gate = threading.Event()
    scheduler = Scheduler(workers=1, queue_size=2, timeout_s=30)

    def slow(items):
        gate.wait(5)
        return list(items)

    async def main():
        running = asyncio.ensure_future(scheduler.submit("k", 0, slow))
        await asyncio.sleep(0.1)
        waiting = [asyncio.ensure_future(scheduler.submit("k", i, slow)) for i in (1, 2)]
        await asyncio.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(Busy, match="2 requests are already waiting") as info:
            await scheduler.submit("k", 3, slow)
        refused_in = time.monotonic() - started
        gate.set()
        return info.value, refused_in, await asyncio.gather(running, *waiting)

    busy, refused_in, done = run(main())
    scheduler.close()
    assert refused_in < 0.5 and busy.retry_after >= 1
    assert [r.value for r in done] == [0, 1, 2] and scheduler.stats.refused_full == 1


def test_a_job_that_waits_too_long_is_refused_and_never_runs() -> None:
    gate = threading.Event()
    ran: list = []
    scheduler = Scheduler(workers=1, queue_size=8, timeout_s=0.2)

    def slow(items):
        ran.extend(items)
        gate.wait(5)
        return list(items)

    async def main():
        first = asyncio.ensure_future(scheduler.submit("k", "first", slow))
        await asyncio.sleep(0.05)
        with pytest.raises(Busy, match="no worker was free within 0.2 s"):
            await scheduler.submit("k", "late", slow)
        gate.set()
        return await first  # started before its timeout: it finishes, however long it takes

    result = run(main())
    time.sleep(0.1)
    scheduler.close()
    assert result.value == "first" and ran == ["first"] and scheduler.stats.refused_timeout == 1


def test_errors_reach_the_request_and_the_workers_go_on() -> None:
    scheduler = Scheduler(workers=1)

    def broken(items):
        raise RuntimeError("out of memory")

    async def main():
        with pytest.raises(RuntimeError, match="out of memory"):
            await scheduler.submit("k", 1, broken)
        return await scheduler.submit("k", 2, lambda xs: list(xs))

    assert run(main()).value == 2
    scheduler.close()
    assert scheduler.stats.failed == 1


def test_a_cancelled_request_leaves_the_queue() -> None:
    gate = threading.Event()
    ran: list = []
    scheduler = Scheduler(workers=1, queue_size=8, timeout_s=30)

    def slow(items):
        ran.extend(items)
        gate.wait(5)
        return list(items)

    async def main():
        first = asyncio.ensure_future(scheduler.submit("k", "first", slow))
        await asyncio.sleep(0.05)
        gone = asyncio.ensure_future(scheduler.submit("k", "gone", slow))
        await asyncio.sleep(0.05)
        assert scheduler.waiting == 1
        gone.cancel()
        await asyncio.sleep(0.05)
        assert scheduler.waiting == 0
        gate.set()
        await first

    run(main())
    scheduler.close()
    assert ran == ["first"]


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        Scheduler(workers=0)
    with pytest.raises(ValueError, match="max_upload_bytes"):
        ServeConfig(max_upload_bytes=10).check()
    assert not ServeConfig().public and not ServeConfig(host="127.0.0.2").public and not ServeConfig(host="::1").public
    assert ServeConfig(host="0.0.0.0").public and ServeConfig(host="example.test").public


@pytest.mark.parametrize("compression", [0, 1, 6])
@pytest.mark.parametrize("channels", [1, 3])
def test_png_replies_are_lossless_at_every_compression(compression: int, channels: int) -> None:
    import io

    import numpy as np
    from PIL import Image

    from i2i.serve.app import encode_png

    image = np.random.default_rng(compression).integers(0, 256, (37, 53, channels), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(encode_png(image, compression))))
    assert np.array_equal(decoded.reshape(image.shape), image)
