"""``i2i serve``'s settings, with safe defaults: loopback only, bounded uploads, pixels, queue and waiting time."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
HOST_NAME = re.compile(r"\*|\[?[A-Za-z0-9._:-]{1,253}\]?")  # a name, an IPv4 or [IPv6] address, or *


def host_name(value: str) -> str:
    """The host of a ``Host`` header or ``--allowed-host`` value, without its port, brackets or final dot and in
    lower case: ``[::1]:8000`` is ``::1``, ``Example.org.:80`` is ``example.org``."""
    value = value.strip()
    if value.startswith("["):
        name = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        name = value.split(":", 1)[0]
    else:  # no port, or a bare IPv6 address
        name = value
    return name.rstrip(".").lower()


@dataclass
class ServeConfig:
    """How the server runs. Every bound has a default that keeps a 2-core machine responsive."""

    host: str = "127.0.0.1"  # anything else is reachable from other machines: the CLI warns
    port: int = 8000  # 0: any free port (the URL printed says which)
    device: str = "auto"
    runtime: str = "auto"  # torch, onnx (the releases' ONNX graphs: no torch needed) or auto (per release)
    max_upload_bytes: int = 10 * 2**20  # request bodies above this are refused (413) before they are parsed
    body_timeout_s: float = 30.0  # a request body not received whole within this is refused (408)
    max_pixels: int = 2048 * 2048  # decoded images above this many pixels are refused (413), from the header
    workers: int = 1  # inference threads (each model runs one batch at a time)
    queue_size: int = 16  # requests waiting for a worker; more are refused at once (503 + Retry-After)
    timeout_s: float = 10.0  # a request that waits this long for a worker is refused (503 + Retry-After)
    max_batch: int | None = None  # same-model, same-size requests run together; None: 8 on a GPU, 1 on a CPU
    cors_origins: list[str] = field(default_factory=list)  # empty: no CORS headers (the page is same-origin)
    max_connections: int = 1024  # open sockets; beyond it the longest-idle connection is closed (never a request)
    max_requests: int = 64  # requests handled at once; more get 503 + Retry-After (/v1/health and /v1/ready never)
    head_timeout_s: float = 5.0  # a connection that sends no complete request head within this is closed
    allowed_hosts: list[str] = field(default_factory=list)  # Host names accepted besides the bound ones; "*": any
    top_k: int = 5  # categories a classify request returns by default
    png_compression: int = 1  # PNGs sent back: 0 stored (fastest, largest), 1 Huffman only, 2-9 zlib levels

    def check(self) -> None:
        """ValueError naming the first setting out of range."""
        rules = [
            ("port", 0 <= self.port <= 65535, "0..65535"),
            ("max_upload_bytes", self.max_upload_bytes >= 1024, "at least 1024"),
            ("max_pixels", self.max_pixels >= 64 * 64, "at least 4096"),
            ("body_timeout_s", 0 < self.body_timeout_s <= 3600, "above 0 and at most 3600"),
            ("workers", 1 <= self.workers <= 64, "1..64"),
            ("queue_size", 0 <= self.queue_size <= 10_000, "0..10000"),
            ("timeout_s", 0 < self.timeout_s <= 3600, "above 0 and at most 3600"),
            ("max_batch", self.max_batch is None or 1 <= self.max_batch <= 256, "1..256"),
            ("max_connections", self.max_connections >= 16, "at least 16"),
            ("max_requests", 1 <= self.max_requests < self.max_connections, "at least 1 and below max_connections"),
            ("head_timeout_s", 0 < self.head_timeout_s <= 300, "above 0 and at most 300"),
            ("top_k", self.top_k >= 1, "at least 1"),
            ("png_compression", 0 <= self.png_compression <= 9, "0..9"),
            ("runtime", self.runtime in ("auto", "torch", "onnx"), "auto, torch or onnx"),
            ("allowed_hosts", all(HOST_NAME.fullmatch(h) for h in self.allowed_hosts), "host names or *"),
        ]
        for name, ok, rule in rules:
            if not ok:
                raise ValueError(f"{name} must be {rule}, got {getattr(self, name)!r}")

    def accepted_hosts(self) -> frozenset[str] | None:
        """The host names a request's ``Host`` header may carry (any port), None for any. A server bound to this
        machine accepts only its own names: a page elsewhere that points a DNS name at 127.0.0.1 (DNS rebinding)
        would otherwise read the API from the visitor's browser. A public bind accepts any unless names are given."""
        named = {host_name(h) for h in self.allowed_hosts}
        if "*" in named or (self.public and not named):
            return None
        bound = host_name(self.host)
        own = set() if bound in ("0.0.0.0", "::") else {bound}
        return frozenset(LOOPBACK_NAMES | own | named)

    @property
    def public(self) -> bool:
        """Whether other machines may reach the server (any address but a loopback one)."""
        if self.host == "localhost":
            return False
        try:
            return not ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name: it may resolve to anything
            return True
