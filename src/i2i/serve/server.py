"""Starting the server: open the models, bind the socket (so ``--port 0`` can say which port it got), print the
URL, and run uvicorn until Ctrl-C, its connections guarded (``connections``)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from i2i.errors import I2IError
from i2i.parallel import usable_cpus
from i2i.serve.app import create_app
from i2i.serve.catalog import Catalog, load_catalog
from i2i.serve.config import ServeConfig
from i2i.serve.connections import FD_RESERVE, guarded_protocol, open_files_allowed
from i2i.serve.scheduler import Scheduler


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
