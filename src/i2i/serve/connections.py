"""What uvicorn's connections may cost, guarded below the app (``guarded_protocol``): a connection that has not sent a
complete request head within ``head_timeout_s`` of opening (or of starting its next request) is closed, and beyond
``max_connections`` open sockets the longest-idle one is closed. uvicorn's own ``limit_concurrency`` is not used: it
counts sockets, so 127 silent ones took the whole server, health included, offline with a plain-text 503. Requests
in progress are bounded in the app instead (``middleware.InFlightLimit``), which never refuses ``/v1/health`` and
``/v1/ready``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

log = logging.getLogger("i2i.serve")

FD_RESERVE = 256  # file descriptors kept for everything but client sockets (model files, pipes, threads' needs)


def _raw_answer(status: str, detail: str, headers: str = "") -> bytes:
    """A complete HTTP/1.1 JSON error answer that closes the connection, for the protocol level (no app there)."""
    body = json.dumps({"detail": detail}, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n{headers}"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def guarded_protocol(base: type[asyncio.Protocol], head_timeout_s: float, max_open: int) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class ``base`` (h11 or httptools) with two guards against clients that open sockets
    and send nothing, or half a request head, to hold them:

    - a connection is closed unless a complete request head arrives within ``head_timeout_s`` of its opening, or of
      the first byte of its next request (between requests uvicorn's keep-alive timeout closes a silent one). One
      that sent part of a head gets a JSON 408 first.
    - with ``max_open`` sockets open, a new one closes the one idle longest (no request in progress); only if every
      one is running a request is the new one answered 503.

    It relies on two attributes uvicorn's protocols have long had: ``cycle`` (the current request, replaced when a
    new head is complete) and its ``response_complete``. Without them the guards stay off (a warning says so) rather
    than close connections that are running requests.
    """

    class Guarded(base):  # type: ignore[valid-type, misc]
        warned = False

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.i2i_timer: asyncio.TimerHandle | None = None
            self.i2i_seen = time.monotonic()
            self.i2i_head_bytes = 0
            self.i2i_on = hasattr(self, "cycle") and hasattr(self, "connections")
            if not self.i2i_on and not Guarded.warned:
                Guarded.warned = True
                log.warning("i2i serve: this uvicorn's %s is not the one known: idle connections are not closed", base)

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            if not self.i2i_on:
                return
            self._arm()
            if len(self.connections) > max_open and not self._make_room():
                transport.write(  # type: ignore[attr-defined]
                    _raw_answer("503 Service Unavailable", "server busy: too many connections", "retry-after: 1\r\n")
                )
                transport.close()

        def data_received(self, data: bytes) -> None:
            if not self.i2i_on:
                super().data_received(data)
                return
            self.i2i_seen = time.monotonic()
            if self.i2i_timer is None and self._idle():  # the first bytes of the next request's head
                self._arm()
            if self.i2i_timer is not None:
                self.i2i_head_bytes += len(data)
            before = self.cycle
            super().data_received(data)
            if self.cycle is not before:  # a complete head: a request started
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _idle(self) -> bool:
            """Whether no request is in progress on this connection."""
            cycle = self.cycle
            return cycle is None or bool(getattr(cycle, "response_complete", False))

        def _arm(self) -> None:
            self._disarm()
            self.i2i_head_bytes = 0
            self.i2i_timer = asyncio.get_running_loop().call_later(head_timeout_s, self._expire)

        def _disarm(self) -> None:
            timer, self.i2i_timer = getattr(self, "i2i_timer", None), None
            if timer is not None:
                timer.cancel()

        def _expire(self) -> None:
            self.i2i_timer = None
            transport = self.transport
            if transport is None or transport.is_closing():
                return
            if self.i2i_head_bytes:
                detail = f"request head not received within {head_timeout_s:g} s"
                transport.write(_raw_answer("408 Request Timeout", detail))
            transport.close()

        def _make_room(self) -> bool:
            """Closes the connection idle longest (not this one); False when every other one runs a request."""
            idle = [c for c in self.connections if c is not self and isinstance(c, Guarded) and c._idle()]
            idle = [c for c in idle if c.transport is not None and not c.transport.is_closing()]
            if not idle:
                return False
            min(idle, key=lambda c: c.i2i_seen).transport.close()
            return True

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded


def open_files_allowed(wanted: int) -> int:
    """Raises this process's soft limit on open files towards ``wanted`` (within the hard limit) and returns the
    limit then in force; a large number where the platform has no such limit."""
    try:
        import resource
    except ImportError:  # Windows
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return wanted if soft == resource.RLIM_INFINITY else soft
