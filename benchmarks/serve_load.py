"""Load on a real ``i2i serve``: throughput and latency at 1, 4 and 16 concurrent clients (and 64, past the queue),
beside the same model called directly through the Python API in the same run.

The server runs as its own process (``i2i serve MODEL --device cpu``, default settings: one worker, a queue of 16,
a 10 s wait limit) on 127.0.0.1; the clients are threads of this process, each sending the same 256² PNG in a loop
for ``--seconds`` per level and waiting ``Retry-After`` when refused. Latency is the client's round trip (upload,
decode, queue, model, PNG encode, download). The direct row is ``Translator`` on the decoded image in this process
with the server idle (same number of torch threads). The server's overhead at concurrency 1 is
(median round trip − median direct call) / median direct call.

    .venv/bin/python benchmarks/serve_load.py [--model models/facades] [--seconds 15] \\
        [--out benchmarks/results/serve_load.json]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import torch
from cpu_inference import _cpu_name  # the benchmarks' one CPU-name reader

from i2i.atomic import atomic_write_json
from i2i.imageio import decode_image
from i2i.inference.translator import Translator


def start(model: Path, threads: int, extra: list[str]) -> tuple[subprocess.Popen, str]:
    """Starts the server on a free port and returns it with its URL once it is ready."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "i2i.cli", "serve", str(model), "--device", "cpu", "--port", "0", *extra]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    for line in proc.stdout:
        if match := re.search(r"open (http://\S+/)", line):
            url = match.group(1)
            break
    else:
        raise SystemExit("the server did not start")
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # keep its pipe drained
    for _ in range(600):
        try:
            if httpx.get(url + "v1/ready", timeout=5).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server never became ready")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def load(url: str, path: str, body: bytes, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` threads posting ``body`` for ``seconds``; latencies of answered requests and counts."""
    latencies: list[float] = []
    model_ms: list[float] = []
    phases: dict[str, list[float]] = {}
    counts = {"ok": 0, "busy": 0, "errors": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    response = http.post(path, content=body, headers={"Content-Type": "image/png"})
                except httpx.HTTPError:
                    with lock:
                        counts["errors"] += 1
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    if response.status_code == 200:
                        counts["ok"] += 1
                        latencies.append(elapsed)
                        model_ms.append(float(response.headers["x-inference-ms"]))
                        for part in response.headers.get("server-timing", "").split(","):
                            if ";dur=" in part:
                                phase, value = part.strip().split(";dur=")
                                phases.setdefault(phase, []).append(float(value))
                    elif response.status_code == 503:
                        counts["busy"] += 1
                    else:
                        counts["errors"] += 1
                if response.status_code == 503:
                    time.sleep(float(response.headers.get("retry-after", "1")))

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    wall = time.monotonic() - started
    ms = [x * 1000 for x in latencies]
    return {
        "clients": clients,
        "seconds": round(wall, 2),
        **counts,
        "throughput_per_s": round(counts["ok"] / wall, 2),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else None,
        "model_ms_median": round(statistics.median(model_ms), 1) if model_ms else None,
        "server_timing_ms_median": {k: round(statistics.median(v), 2) for k, v in phases.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/facades")
    parser.add_argument("--example", help="input image (default: the model's first example)")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each concurrency level")
    parser.add_argument("--levels", default="1,4,16,64")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the server and the direct calls")
    parser.add_argument("--direct-calls", type=int, default=60)
    parser.add_argument("--server-args", default="", help="more options for i2i serve, e.g. '--png-compression 0'")
    parser.add_argument("--out", default="benchmarks/results/serve_load.json")
    args = parser.parse_args()
    model = Path(args.model)
    example = Path(args.example) if args.example else sorted((model / "examples").glob("*.png"))[0]
    body = example.read_bytes()
    torch.set_num_threads(args.threads)

    proc, url = start(model, args.threads, args.server_args.split())
    try:
        name = httpx.get(url + "v1/models").json()["models"][0]["name"]
        path = f"v1/models/{name}/translate"
        # the direct Python API in this process, with the server idle
        translator = Translator.from_pretrained(model, "cpu")
        image = decode_image(body, example.name, translator.pre.input_channels)
        for _ in range(5):
            translator([image])
        direct = []
        for _ in range(args.direct_calls):
            started = time.perf_counter()
            translator([image])
            direct.append((time.perf_counter() - started) * 1000)
        del translator
        load(url, path, body, 2, 3.0)  # warm-up: connections, allocator, the server's caches
        rows = [load(url, path, body, int(c), args.seconds) for c in args.levels.split(",")]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)

    direct_p50 = statistics.median(direct)
    one = next(r for r in rows if r["clients"] == 1)
    overhead = (one["p50_ms"] - direct_p50) / direct_p50
    print(f"model {model} ({example.name}, {image.shape[1]}x{image.shape[0]}), {args.threads} torch threads, CPU")
    print(f"direct Python API: p50 {direct_p50:.1f} ms, p95 {percentile(direct, 95):.1f} ms ({len(direct)} calls)")
    header = f"{'clients':>7} {'ok':>6} {'503':>5} {'errors':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    print(header + f" {'model ms':>9}")
    for r in rows:
        print(
            f"{r['clients']:>7} {r['ok']:>6} {r['busy']:>5} {r['errors']:>6} {r['throughput_per_s']:>7.2f} "
            f"{r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['model_ms_median']:>9}"
        )
    print(f"server overhead at 1 client: {overhead:+.1%} of the direct call ({one['p50_ms'] - direct_p50:.1f} ms)")
    phases = one["server_timing_ms_median"]
    print("at 1 client, medians inside the server: " + ", ".join(f"{k} {v:.1f} ms" for k, v in phases.items()))
    result = {
        "model": str(model),
        "example": example.name,
        "threads": args.threads,
        "cpu": _cpu_name(),
        "direct_ms": {"p50": round(direct_p50, 2), "p95": round(percentile(direct, 95), 2), "calls": len(direct)},
        "levels": rows,
        "overhead_at_1_client": round(overhead, 4),
        "server_args": args.server_args,
        "command": "python benchmarks/serve_load.py " + " ".join(sys.argv[1:]),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
