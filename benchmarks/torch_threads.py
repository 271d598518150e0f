"""Why ``i2i serve`` opens its models on the inference worker: CPU inference time of one bundled generator when the
model is opened and run on the main thread, opened on the main thread and run on another thread (what a server
that loads first and serves from a worker does), and opened and run on the same other thread.

Each case runs in a fresh process (OpenMP thread teams live as long as the process), ``--calls`` timed calls after
3 warm-up calls, on ``--threads`` torch threads; the table gives the median wall time and the CPU time per call.

    .venv/bin/python benchmarks/torch_threads.py [--model models/facades] [--out benchmarks/results/torch_threads.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from i2i.atomic import atomic_write_json

CASES = {
    "main": "opened and run on the main thread",
    "other": "opened on the main thread, run on another thread",
    "same-other": "opened and run on the same other thread",
}


def measure(model: str, calls: int, threads: int, case: str) -> dict[str, float]:
    """One case, in this process."""
    import torch

    from i2i.imageio import read_image
    from i2i.inference.translator import Translator

    torch.set_num_threads(threads)
    image = read_image(sorted((Path(model) / "examples").glob("*.png"))[0])
    state: dict = {}

    def load() -> None:
        state["t"] = Translator.from_pretrained(model, "cpu")

    def run() -> None:
        translator = state["t"]
        for _ in range(3):
            translator([image])
        wall, cpu0 = [], time.process_time()
        for _ in range(calls):
            started = time.perf_counter()
            translator([image])
            wall.append((time.perf_counter() - started) * 1000)
        state["result"] = {
            "wall_ms": round(statistics.median(wall), 2),
            "cpu_ms": round((time.process_time() - cpu0) / calls * 1000, 2),
        }

    def in_thread(fn) -> None:
        thread = threading.Thread(target=fn)
        thread.start()
        thread.join()

    if case == "main":
        load()
        run()
    elif case == "other":
        load()
        in_thread(run)
    else:
        in_thread(lambda: (load(), run()))
    return state["result"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/facades")
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per case (interleaved)")
    parser.add_argument("--case", choices=list(CASES), help=argparse.SUPPRESS)  # one case in a child process
    parser.add_argument("--out", default="benchmarks/results/torch_threads.json")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(measure(args.model, args.calls, args.threads, args.case)))
        return
    runs: dict[str, list[dict[str, float]]] = {case: [] for case in CASES}
    for _ in range(args.repeats):
        for case in CASES:
            command = [sys.executable, __file__, "--model", args.model, "--calls", str(args.calls)]
            command += ["--threads", str(args.threads), "--case", case]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            runs[case].append(json.loads(out.strip().splitlines()[-1]))
    rows = {
        case: {
            "what": CASES[case],
            "wall_ms": round(statistics.median(r["wall_ms"] for r in results), 2),
            "cpu_ms": round(statistics.median(r["cpu_ms"] for r in results), 2),
            "runs": results,
        }
        for case, results in runs.items()
    }
    base = rows["main"]["wall_ms"]
    print(f"{args.model}, {args.threads} torch threads, {args.calls} calls x {args.repeats} processes per case")
    print(f"{'case':<11} {'wall ms':>8} {'cpu ms':>8} {'vs main':>8}  what")
    for case, row in rows.items():
        print(f"{case:<11} {row['wall_ms']:>8.1f} {row['cpu_ms']:>8.1f} {row['wall_ms'] / base:>7.2f}x  {row['what']}")
    result = {"model": args.model, "threads": args.threads, "calls": args.calls, "cases": rows}
    result["command"] = "python benchmarks/torch_threads.py " + " ".join(sys.argv[1:])
    atomic_write_json(Path(args.out), result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
