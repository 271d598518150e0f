"""Hostile and careless clients against real ``i2i serve`` processes (issue 21): sockets opened and left silent or
with half a request head, more sockets than the server keeps, more requests than it handles at once, a client that
leaves while its request waits, a body over the limit written whole before reading, a foreign Host header, HEAD
probes, and the page's headers at both of its URLs. The server must stay reachable, answer every refusal in JSON
and close what it will not serve."""

from __future__ import annotations

import io
import selectors
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from PIL import Image
from serve_helpers import BUNDLED, Server, start_server

HEAD_TIMEOUT = 1.0
SKETCH = (BUNDLED / "sketch2photo" / "examples" / "teapot_1.png").read_bytes()
PAGE_HEADERS = ("content-security-policy", "x-content-type-options", "cache-control")


def _start(*options: str) -> Server:
    if not (BUNDLED / "sketch2photo" / "config.json").is_file():
        pytest.skip(f"the bundled models are missing from {BUNDLED}")
    return start_server([f"sketch2photo={BUNDLED / 'sketch2photo'}", "--device", "cpu", *options])


def _stop(server: Server) -> None:
    assert server.stop() == 0
    assert "Traceback" not in server.text(), server.text()


@pytest.fixture(scope="module")
def guarded() -> Iterator[Server]:
    """sketch2photo with a 1 s head deadline and a 1 MB upload limit."""
    server = _start("--head-timeout", str(HEAD_TIMEOUT), "--max-upload-mb", "1")
    yield server
    _stop(server)


@pytest.fixture(scope="module")
def crowded() -> Iterator[Server]:
    """sketch2photo keeping at most 64 sockets open and handling at most 4 requests at once (a long head deadline,
    so that only those limits close anything)."""
    server = _start("--head-timeout", "30", "--max-connections", "64", "--max-requests", "4")
    yield server
    _stop(server)


def _address(server: Server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    return host, int(port)


def _closed(socks: list[socket.socket], timeout: float) -> dict[socket.socket, tuple[float, bytes]]:
    """Waits until the server has closed each socket (or ``timeout`` passed): when it did and what it sent first."""
    found: dict[socket.socket, tuple[float, bytes]] = {}
    received = {s: b"" for s in socks}
    with selectors.DefaultSelector() as selector:
        for s in socks:
            s.setblocking(False)
            selector.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while len(found) < len(socks) and time.monotonic() < deadline:
            for key, _ in selector.select(max(0.0, deadline - time.monotonic())):
                s = key.fileobj
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, BlockingIOError):
                    chunk = b""
                if chunk:
                    received[s] += chunk
                    continue
                found[s] = (time.monotonic(), received[s])
                selector.unregister(s)
    return found


def _ready_queue(server: Server) -> dict:
    return httpx.get(server.url + "v1/ready", timeout=5).json()["queue"]


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_silent_and_half_sent_connections_neither_block_health_nor_stay_open(guarded: Server) -> None:
    """600 sockets that never finish a request head: health and a translate still answer within 2 s, and the
    server closes every one of them after the head deadline (those that sent part of a head get a JSON 408)."""
    address = _address(guarded)
    opened: dict[socket.socket, float] = {}
    silent, half = [], []
    try:
        for _ in range(300):
            s = socket.create_connection(address, timeout=5)
            opened[s] = time.monotonic()
            silent.append(s)
        for _ in range(300):
            s = socket.create_connection(address, timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            opened[s] = time.monotonic()
            half.append(s)
        started = time.monotonic()
        health = httpx.get(guarded.url + "v1/health", timeout=2)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        photo = httpx.post(
            guarded.url + "v1/models/sketch2photo/translate",
            content=SKETCH,
            headers={"Content-Type": "image/png"},
            timeout=2,
        )
        assert photo.status_code == 200 and photo.content[:4] == b"\x89PNG"
        assert time.monotonic() - started < 2
        closed = _closed(silent + half, timeout=HEAD_TIMEOUT + 3)
        assert len(closed) == 600, f"{600 - len(closed)} idle sockets still open"
        for s, (at, first) in closed.items():
            assert HEAD_TIMEOUT - 0.1 <= at - opened[s] <= HEAD_TIMEOUT + 3
            if s in half:
                assert first.startswith(b"HTTP/1.1 408") and b'"detail":"request head not received' in first
            else:
                assert first == b""
    finally:
        for s in opened:
            s.close()
    assert httpx.get(guarded.url + "v1/health", timeout=2).status_code == 200


def test_a_half_sent_second_request_on_a_kept_alive_connection_is_closed(guarded: Server) -> None:
    address = _address(guarded)
    with socket.create_connection(address, timeout=5) as s:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = b""
        while not first.endswith(b'{"status":"ok"}'):
            first += s.recv(4096)
        assert first.startswith(b"HTTP/1.1 200")
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and no end
        sent = time.monotonic()
        closed = _closed([s], timeout=HEAD_TIMEOUT + 3)
        assert s in closed and closed[s][1].startswith(b"HTTP/1.1 408")
        assert HEAD_TIMEOUT - 0.1 <= closed[s][0] - sent <= HEAD_TIMEOUT + 3


def test_sockets_beyond_the_limit_close_the_idle_ones_and_health_answers(crowded: Server) -> None:
    address = _address(crowded)
    socks = [socket.create_connection(address, timeout=5) for _ in range(150)]
    try:
        started = time.monotonic()
        assert httpx.get(crowded.url + "v1/health", timeout=2).status_code == 200
        assert httpx.get(crowded.url + "v1/models", timeout=2).status_code == 200
        assert time.monotonic() - started < 2
        closed = _closed(socks, timeout=3)  # long before the 30 s head deadline
        assert len(closed) >= 150 - 64, len(closed)
        assert socks[0] in closed  # the oldest go first
    finally:
        for s in socks:
            s.close()


def test_requests_beyond_the_limit_get_a_json_503_and_health_still_answers(crowded: Server) -> None:
    """Four uploads that stall after their headers fill the four places; the fifth request is refused in JSON with
    Retry-After, health and readiness answer, and the places come back when the stalled clients leave."""
    address = _address(crowded)
    stalled = []
    try:
        for _ in range(4):
            s = socket.create_connection(address, timeout=5)
            s.sendall(
                b"POST /v1/models/sketch2photo/translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                b"Content-Length: 5000\r\n\r\n\x89PNG"
            )
            stalled.append(s)
        _wait_for(lambda: httpx.get(crowded.url + "v1/models", timeout=5).status_code == 503, timeout=5)
        busy = httpx.get(crowded.url + "v1/models", timeout=5)
        assert busy.headers["content-type"] == "application/json" and busy.headers["retry-after"] == "1"
        assert busy.json()["detail"].startswith("server busy: 4 requests are in progress")
        assert httpx.get(crowded.url + "v1/health", timeout=2).status_code == 200
        assert httpx.get(crowded.url + "v1/ready", timeout=2).status_code == 200
    finally:
        for s in stalled:
            s.close()
    _wait_for(lambda: httpx.get(crowded.url + "v1/models", timeout=5).status_code == 200, timeout=5)


def test_a_client_that_leaves_while_queued_is_never_run(crowded: Server) -> None:
    """A slow translate holds the one worker; a second request waits behind it and its client closes the socket:
    the waiting job is dropped (counted in /v1/ready), not run after the slow one."""
    before = _ready_queue(crowded)
    big = io.BytesIO()
    Image.fromarray(np.full((1024, 2048, 3), 255, np.uint8)).save(big, "PNG", compress_level=1)
    answers: list[httpx.Response] = []

    def slow() -> None:
        url = crowded.url + "v1/models/sketch2photo/translate"
        answers.append(httpx.post(url, content=big.getvalue(), headers={"Content-Type": "image/png"}, timeout=60))

    worker = threading.Thread(target=slow)
    worker.start()
    try:
        _wait_for(lambda: _ready_queue(crowded)["running"] == 1)
        with socket.create_connection(_address(crowded), timeout=5) as leaving:
            leaving.sendall(
                b"POST /v1/models/sketch2photo/translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                + f"Content-Length: {len(SKETCH)}\r\n\r\n".encode()
                + SKETCH
            )
            _wait_for(lambda: _ready_queue(crowded)["waiting"] == 1)
            assert _ready_queue(crowded)["running"] == 1, "the slow job ended too soon for this test"
    finally:
        worker.join(60)
    assert answers and answers[0].status_code == 200
    _wait_for(lambda: (q := _ready_queue(crowded))["waiting"] == 0 and q["running"] == 0)
    after = _ready_queue(crowded)
    assert after["done"] - before["done"] == 1, "the request of the client that left was run"
    assert after["dropped"] - before.get("dropped", 0) == 1


def test_a_body_over_the_limit_written_whole_reads_the_413(guarded: Server) -> None:
    """urllib writes the whole body before it reads: the server reads (and drops) it so the client sees the 413
    rather than a reset connection."""
    request = urllib.request.Request(
        guarded.url + "v1/models/sketch2photo/translate", data=bytes(8 * 2**20), headers={"Content-Type": "image/png"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    body = refused.value.read()
    assert refused.value.headers["Content-Type"] == "application/json"
    assert b'"detail":"upload too large: 8,388,608 bytes is over this server' in body
    assert httpx.get(guarded.url + "v1/health", timeout=2).status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:1234", "[::1]:8000", "LOCALHOST."])
def test_the_names_of_a_local_server_are_accepted(guarded: Server, host: str) -> None:
    assert httpx.get(guarded.url + "v1/health", headers={"Host": host}, timeout=5).status_code == 200


def test_a_foreign_host_is_refused_in_json(guarded: Server) -> None:
    """A page that points its own DNS name at 127.0.0.1 (DNS rebinding) sends that name as the Host."""
    for method, path, body in [("GET", "v1/models", None), ("POST", "v1/models/sketch2photo/translate", SKETCH)]:
        response = httpx.request(
            method,
            guarded.url + path,
            content=body,
            headers={"Host": "rebind.attacker.example:8000", "Content-Type": "image/png"},
            timeout=5,
        )
        assert response.status_code == 400 and response.headers["content-type"] == "application/json"
        detail = response.json()["detail"]
        assert "'rebind.attacker.example'" in detail and "--allowed-host" in detail and "\n" not in detail


@pytest.mark.parametrize("path", ["v1/health", "v1/ready", "", "static/index.html"])
def test_head_answers_like_get(guarded: Server, path: str) -> None:
    get = httpx.get(guarded.url + path, timeout=5)
    head = httpx.head(guarded.url + path, timeout=5)
    assert get.status_code == head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == get.headers["content-length"]


def test_the_page_has_the_same_security_headers_at_both_urls(guarded: Server) -> None:
    page = httpx.get(guarded.url, timeout=5)
    same_page = httpx.get(guarded.url + "static/index.html", timeout=5)
    assert page.content == same_page.content
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for name in PAGE_HEADERS:
        assert same_page.headers[name] == page.headers[name], name
    script = httpx.get(guarded.url + "static/app.js", timeout=5)
    assert all(script.headers[name] == page.headers[name] for name in PAGE_HEADERS)
