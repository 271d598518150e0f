"""Real servers for tests and benchmarks: ``i2i serve`` started as a subprocess on 127.0.0.1 with a free port
(``--port 0``; the URL is read from what it prints), waited on until ``/v1/ready``, stopped with SIGINT (Ctrl-C)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "models"


@dataclass
class Server:
    """A running ``i2i serve``: its base URL (ending in /) and everything it printed so far."""

    url: str
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def text(self) -> str:
        return "".join(self.output)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.reader is not None:
            self.reader.join(timeout=10)  # everything it printed, to the end
        return self.process.returncode


def start_server(args: list[str], timeout: float = 120.0, env: dict[str, str] | None = None) -> Server:
    """Starts ``i2i serve ARGS --port 0`` and returns once it answers ``/v1/ready`` with 200."""
    command = [sys.executable, "-m", "i2i.cli", "serve", "--port", "0", *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    output: list[str] = []
    found = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "i2i serve: open http://" in line:
                found.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not found.is_set():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("i2i serve did not start:\n" + "".join(output))
        time.sleep(0.05)
    url = re.search(r"open (http://\S+/)", "".join(output)).group(1)
    server = Server(url, process, output, reader)
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "v1/ready", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("i2i serve never became ready:\n" + server.text())
