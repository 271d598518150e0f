"""The server's inference queue: a bounded number of worker threads take jobs from a bounded queue, so the event
loop stays free (health checks answer while the models work) and memory stays bounded.

- ``submit`` refuses a job at once (``Busy``) when ``queue_size`` jobs already wait, and refuses it later when it has
  waited ``timeout_s`` without a worker taking it: a request is answered 503, never left hanging.
- A worker that takes a job also takes the jobs waiting behind it with the same batch key (same model, direction and
  image size), up to ``max_batch``, and runs them as one batch; the function it calls must give each item the
  result it would get alone (the generators do: dropout off, BatchNorm per image or with running statistics).
- Results go back to the waiting coroutine through its event loop. A job whose ``submit`` is cancelled before a
  worker took it is dropped from the queue (counted in ``Stats.dropped``): the app cancels it when the request's
  client disconnects (``app.until_client_leaves``; Starlette itself would let it run), so a stroke the page has
  already replaced does not occupy the worker ahead of the current one. A job already running finishes.
- ``call`` runs a plain function on a worker and waits for it: the server opens and warms up its models there, so
  that every torch call of a CPU server happens on one thread. (OpenMP keeps a thread team per calling thread; a
  model loaded on one thread and run on another ran 1.56x slower on 2 cores here, see docs/benchmarks.md.)
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

BatchFn = Callable[[Sequence[Any]], Sequence[Any]]


class Busy(Exception):
    """The queue is full, or a job waited too long for a worker: the client should retry after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(eq=False)  # compared by identity: the queue removes this very job
class _Job:
    key: Hashable
    item: Any
    run: BatchFn
    loop: asyncio.AbstractEventLoop | None  # None: a blocking ``call`` waits on a concurrent future
    future: asyncio.Future | concurrent.futures.Future
    queued_at: float
    started_at: float | None = None
    batch_size: int = 1


@dataclass
class Result:
    """What a job returned, with how long it waited and how long its batch ran (seconds)."""

    value: Any
    wait_s: float
    run_s: float
    batch_size: int


@dataclass
class Stats:
    """Counters for the readiness endpoint and tests."""

    done: int = 0
    failed: int = 0
    refused_full: int = 0
    refused_timeout: int = 0
    dropped: int = 0  # cancelled (their client left) before a worker took them: never run
    batches: int = 0
    largest_batch: int = 0
    run_s: float = 0.0
    recent_run_s: collections.deque = field(default_factory=lambda: collections.deque(maxlen=32))


class Scheduler:
    """Runs batch functions on ``workers`` threads, ``queue_size`` jobs waiting at most, each at most ``timeout_s``."""

    def __init__(self, workers: int = 1, queue_size: int = 16, timeout_s: float = 10.0, max_batch: int = 1) -> None:
        if workers < 1 or queue_size < 0 or timeout_s <= 0 or max_batch < 1:
            raise ValueError("workers >= 1, queue_size >= 0, timeout_s > 0 and max_batch >= 1 are needed")
        self.workers, self.queue_size, self.timeout_s, self.max_batch = workers, queue_size, timeout_s, max_batch
        self.stats = Stats()
        self._queue: collections.deque[_Job] = collections.deque()
        self._running = 0
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"i2i-infer-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    # --- the event loop's side ---------------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @property
    def running(self) -> int:
        return self._running

    async def submit(self, key: Hashable, item: Any, run: BatchFn) -> Result:
        """Runs ``run([item, ...])`` on a worker (batched with jobs of the same ``key``) and returns this item's
        result. Raises Busy when the queue is full or no worker took the job within ``timeout_s``; re-raises what
        ``run`` raised."""
        loop = asyncio.get_running_loop()
        job = _Job(key, item, run, loop, loop.create_future(), time.monotonic())
        with self._cond:
            if self._closed:
                raise Busy("the server is shutting down", self._retry_after())
            if len(self._queue) >= self.queue_size + max(0, self.workers - self._running):
                self.stats.refused_full += 1
                raise Busy(
                    f"server busy: {len(self._queue)} requests are already waiting (the queue holds "
                    f"{self.queue_size}); retry shortly",
                    self._retry_after(),
                )
            self._queue.append(job)
            self._cond.notify()
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), self.timeout_s)
        except asyncio.TimeoutError:
            with self._cond:
                if job.started_at is None and job in self._queue:
                    self._queue.remove(job)
                    self.stats.refused_timeout += 1
                    raise Busy(
                        f"server busy: no worker was free within {self.timeout_s:g} s; retry shortly",
                        self._retry_after(),
                    ) from None
            return await job.future  # already running: it finishes (its size is bounded by the pixel cap)
        except asyncio.CancelledError:  # the client went away: a job not started yet is dropped
            with self._cond:
                if job.started_at is None and job in self._queue:
                    self._queue.remove(job)
                    self.stats.dropped += 1
            raise

    def call(self, fn: Callable[[], Any], timeout_s: float | None = None) -> Any:
        """Runs ``fn()`` on a worker thread, after the jobs already waiting, and returns what it returns (or raises
        what it raised). Blocking: for threads other than the event loop's. Not bounded by the queue size."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        job = _Job(object(), None, lambda items: [fn()], None, future, time.monotonic())
        with self._cond:
            if self._closed:
                raise Busy("the server is shutting down", 1)
            self._queue.append(job)
            self._cond.notify()
        return future.result(timeout_s).value

    def _retry_after(self) -> int:
        """Seconds a refused client should wait: about how long the jobs ahead need, at least 1."""
        recent = self.stats.recent_run_s
        per_job = sum(recent) / len(recent) if recent else 1.0
        return max(1, min(60, round(per_job * (len(self._queue) + 1) / self.workers)))

    def close(self) -> None:
        """Stops the workers after the jobs they are running; waiting jobs are refused."""
        with self._cond:
            self._closed = True
            pending = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for job in pending:
            self._deliver(job, error=Busy("the server is shutting down", 1))
        for thread in self._threads:
            thread.join(timeout=30)

    # --- the workers' side -------------------------------------------------------------------------------------

    def _take(self) -> list[_Job] | None:
        """The next batch: the first waiting job and up to ``max_batch - 1`` more with its key; None when closed."""
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            first = self._queue.popleft()
            batch = [first]
            if self.max_batch > 1:
                for job in list(self._queue):
                    if len(batch) >= self.max_batch:
                        break
                    if job.key == first.key:
                        self._queue.remove(job)
                        batch.append(job)
            now = time.monotonic()
            for job in batch:
                job.started_at = now
            self._running += 1
            return batch

    def _work(self) -> None:
        while (batch := self._take()) is not None:
            live = [job for job in batch if not job.future.cancelled()]
            started = time.monotonic()
            try:
                values = list(batch[0].run([job.item for job in live])) if live else []
                if len(values) != len(live):
                    raise RuntimeError(f"a batch of {len(live)} gave {len(values)} results")
                error = None
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting request, which answers it
                values, error = [], exc
            run_s = time.monotonic() - started
            with self._cond:
                self._running -= 1
                self.stats.dropped += len(batch) - len(live)
                self.stats.batches += 1
                self.stats.largest_batch = max(self.stats.largest_batch, len(live))
                self.stats.run_s += run_s
                self.stats.recent_run_s.append(run_s / max(1, len(live)))
                if error is None:
                    self.stats.done += len(live)
                else:
                    self.stats.failed += len(live)
            for i, job in enumerate(live):
                assert job.started_at is not None
                if error is not None:
                    self._deliver(job, error=error)
                else:
                    self._deliver(job, Result(values[i], job.started_at - job.queued_at, run_s, len(live)))

    @staticmethod
    def _deliver(job: _Job, result: Result | None = None, error: BaseException | None = None) -> None:
        if job.loop is None:  # a blocking call
            assert isinstance(job.future, concurrent.futures.Future)
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)
            return

        def settle() -> None:
            if job.future.done():
                return
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)

        try:
            job.loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop has closed: nobody is waiting
            pass
