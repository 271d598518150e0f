"""The server's ASGI middleware, each bounding one thing a client could pile up or abuse before the app runs:
``BodyLimit`` (request bodies, before anything parses them), ``HostCheck`` (a ``Host`` that is not this server's:
DNS rebinding), ``InFlightLimit`` (requests handled at once; health and readiness never refused) and ``Unexpected``
(an error nothing answered becomes a JSON 500 and one logged traceback). Refusals are the API's JSON errors; one
sent before the body was read reads (and drops) a bounded rest of it first (``refuse``), so that clients that write
their whole body before reading see the answer instead of a reset connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.responses import JSONResponse

from i2i.errors import show_path
from i2i.serve.config import host_name

log = logging.getLogger("i2i.serve")

ALWAYS_ANSWERED = frozenset({"/v1/health", "/v1/ready"})  # never refused for load: probes must see a live server
DRAIN_BYTES = 32 * 2**20  # the most of a refused body read (and dropped) so that its client can read the refusal
DRAIN_S = 5.0  # ... and for how long at most


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def one_line(text: str, limit: int = 300) -> str:
    """``text`` as one line of at most ``limit`` characters, odd characters escaped (``show_path``)."""
    line = " ".join(show_path(str(text)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The API's error answer: ``{"detail": "<one line>"}`` with ``status``."""
    return JSONResponse({"detail": one_line(message)}, status_code=status, headers=headers)


def _has_body(scope: Scope) -> bool:
    """Whether the request declares a body (a non-zero Content-Length, or chunked)."""
    headers = dict(scope.get("headers") or [])
    return headers.get(b"content-length", b"0").strip() not in (b"0", b"") or b"transfer-encoding" in headers


async def drain(receive: Receive, limit: int = DRAIN_BYTES, timeout_s: float = DRAIN_S) -> None:
    """Reads and drops the rest of a request body: at most ``limit`` bytes, for at most ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    read = 0
    while read <= limit:
        try:
            message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        read += len(message.get("body", b""))


async def refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    read_rest: bool = True,
) -> None:
    """Answers a request with a JSON error and closes its connection, before its body was read.

    The answer goes out at once; with ``read_rest`` its end waits until the rest of the body has been read and
    dropped (``drain``: bounded in bytes and time). Closing a socket with unread bytes resets the connection, and a
    client that writes its whole body before it reads (Python's urllib) would get "broken pipe" instead of this
    answer; nginx's lingering close does the same."""
    response = json_error(status, message, {**(headers or {}), "Connection": "close"})
    if not read_rest or not _has_body(scope):
        await response(scope, receive, send)
        return

    async def held(event: Message) -> None:
        if event["type"] == "http.response.body" and not event.get("more_body", False):
            await send({**event, "more_body": True})
            await drain(receive)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await send(event)

    await response(scope, receive, held)


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is answered 413 before the app sees any of it.

    A declared ``Content-Length`` over the limit is refused without reading the body; a chunked body is read up to
    the limit and refused the moment it passes it. A body that has not arrived whole within ``timeout_s`` is
    answered 408 (a client trickling bytes does not hold a connection forever). Bodies within the limit are handed
    to the app as they came; after them the app reads from the connection itself (so it sees a disconnect).
    """

    def __init__(self, app: Callable, limit: int, timeout_s: float = 30.0) -> None:
        self.app, self.limit, self.timeout_s = app, limit, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await refuse(scope, receive, send, 400, "Content-Length is not a number", read_rest=False)
                return
            if length > self.limit:
                # a body too large to read through is refused at once: the client cannot be helped anyway
                await self._refuse(scope, receive, send, f"{length:,} bytes", read_rest=length <= DRAIN_BYTES)
                return
        messages: list[Message] = []
        size = 0
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                message = f"upload too slow: the body did not arrive within {self.timeout_s:g} s"
                await refuse(scope, receive, send, 408, message, read_rest=False)
                return
            if message["type"] == "http.disconnect":
                return
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(scope, receive, send, f"more than {self.limit:,} bytes")
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: str, read_rest: bool = True) -> None:
        limit_mb = self.limit / 2**20
        message = f"upload too large: {size} is over this server's limit of {limit_mb:g} MB ({self.limit:,} bytes)"
        await refuse(scope, receive, send, 413, message, read_rest=read_rest)


class HostCheck:
    """ASGI middleware: a request whose ``Host`` is not one of ``accepted`` (names without port; None: any) is
    answered 400. A page on another site can point its own DNS name at 127.0.0.1 (DNS rebinding) and so reach a
    server on the visitor's machine; it cannot make the browser send this server's name as the Host."""

    def __init__(self, app: Callable, accepted: frozenset[str] | None) -> None:
        self.app, self.accepted = app, accepted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.accepted is not None:
            value = dict(scope.get("headers") or []).get(b"host")
            name = host_name(value.decode("latin-1")) if value is not None else None
            if name is not None and name not in self.accepted:
                shown = one_line(name, 80)
                message = (
                    f"this server does not answer to host {shown!r} (a page using DNS rebinding?); start it with "
                    f"--allowed-host {shown} if it should"
                )
                await refuse(scope, receive, send, 400, message)
                return
        await self.app(scope, receive, send)


class InFlightLimit:
    """ASGI middleware: at most ``limit`` requests are handled at once; more are answered 503 with Retry-After at
    once. Requests are counted, not sockets, so idle connections cost nothing; ``/v1/health`` and ``/v1/ready``
    are never refused (a probe must tell a loaded server from a dead one)."""

    def __init__(self, app: Callable, limit: int) -> None:
        self.app, self.limit, self.active = app, limit, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_ANSWERED:
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            message = f"server busy: {self.active} requests are in progress (the most it handles); retry shortly"
            await refuse(scope, receive, send, 503, message, {"Retry-After": "1"})
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


class Unexpected:
    """ASGI middleware: an exception nothing else answered becomes a JSON 500 and one logged traceback. (Starlette's
    own handler re-raises it, so uvicorn printed a second traceback and the client got plain text.)"""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:  # noqa: BLE001 - the last place an error can become an answer
            if scope["type"] != "http":
                raise
            log.exception("internal error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await json_error(500, f"internal error ({type(exc).__name__}); the server log has the details")(
                    scope, receive, send
                )
