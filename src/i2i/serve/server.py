"""Starting the server: open the models, bind the socket (so ``--port 0`` can say which port it got), print the
URL, and run uvicorn until Ctrl-C.

Connections are guarded below the app (``guarded_protocol``): one that has not sent a complete request head within
``head_timeout_s`` of opening (or of starting its next request) is closed, and beyond ``max_connections`` open
sockets the longest-idle one is closed. uvicorn's own ``limit_concurrency`` is not used: it counts sockets, so 127
silent ones took the whole server, health included, offline with a plain-text 503. Requests in progress are bounded
in the app instead (``InFlightLimit``), which never refuses ``/v1/health`` and ``/v1/ready``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from i2i.errors import I2IError
from i2i.parallel import usable_cpus
from i2i.serve.app import create_app
from i2i.serve.catalog import Catalog, load_catalog
from i2i.serve.config import ServeConfig
from i2i.serve.scheduler import Scheduler

log = logging.getLogger("i2i.serve")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port); I2IError in one line when it cannot be had."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(256)
    except OSError as exc:
        raise I2IError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The URL to open for a listening socket (a wildcard address is shown as this machine's loopback)."""
    host, port = sock.getsockname()[:2]
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


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


def _device(name: str) -> str:
    """The device the models run on; without torch (an ONNX-only install) the CPU, the only one onnxruntime gets."""
    try:
        import torch  # noqa: F401
    except ImportError:
        if name not in ("auto", "cpu"):
            raise I2IError(f"device '{name}' needs torch, which is not installed: pip install 'i2i[torch]'") from None
        return "cpu"
    from i2i.device import resolve_device

    return str(resolve_device(name))


def _threads(catalog: Catalog) -> str:
    """The CPU threads each runtime in use runs a model on."""
    parts = []
    if any(served.runtime == "torch" for served in catalog.models.values()):
        import torch

        parts.append(f"{torch.get_num_threads()} torch threads")
    if any(served.runtime == "onnx" for served in catalog.models.values()):
        parts.append(f"{usable_cpus()} onnxruntime threads")
    return ", ".join(parts)


def serve(
    entries: list[tuple[str, Path]], config: ServeConfig, echo: Callable[[str], None] = print, access_log: bool = False
) -> None:
    """Serves the models until interrupted."""
    config.check()
    device = _device(config.device)
    max_batch = config.max_batch or (8 if device.startswith("cuda") else 1)
    scheduler = Scheduler(config.workers, config.queue_size, config.timeout_s, max_batch)
    try:  # opened on the worker that will run them (see Scheduler.call); it warms them up once serving
        catalog = scheduler.call(lambda: load_catalog(entries, device, config.runtime, config.max_pixels))
    except BaseException:
        scheduler.close()
        raise
    app = create_app(catalog, config, scheduler)
    sock = bind(config.host, config.port)
    if config.public:
        print(
            f"i2i serve: warning: listening on {config.host}: other machines can reach this server, and it has no "
            "login (the default, 127.0.0.1, is this machine only)",
            file=sys.stderr,
        )
    names = ", ".join(f"{name} ({served.runtime})" for name, served in catalog.models.items())
    echo(f"i2i serve: {len(catalog.models)} model(s) on {device}: {names}; {_threads(catalog)}")
    echo(f"i2i serve: open {url_of(sock)}  (API: {url_of(sock)}docs; Ctrl-C stops it)")
    sys.stdout.flush()
    files = open_files_allowed(config.max_connections + FD_RESERVE)
    max_open = min(config.max_connections, files - FD_RESERVE)
    if max_open < config.max_connections:
        print(
            f"i2i serve: warning: at most {max(max_open, 16)} open connections (the open-file limit is {files}; "
            "ulimit -n raises it)",
            file=sys.stderr,
        )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            http=guarded_protocol(AutoHTTPProtocol, config.head_timeout_s, max(max_open, 16)),
            ws="none",
            log_level="warning",
            access_log=access_log,
            timeout_keep_alive=config.head_timeout_s,  # type: ignore[arg-type]  # a float works (call_later)
            timeout_graceful_shutdown=5,
        )
    )
    try:
        server.run(sockets=[sock])  # uvicorn re-raises Ctrl-C (KeyboardInterrupt) once it has shut down
    finally:
        sock.close()
        echo("i2i serve: stopped")
