"""CPU cost of each generator a model could ship with: weights, release file size, and latency at 256².

For each generator (registered name and options), built with seed 0 and 3 → 3 channels: the number of weights, the
size of its ``model.safetensors`` as fp32 and as fp16, GFLOP per 1×3×256×256 call, and the latency of one call on
``--threads`` CPU threads (default 2) with eager PyTorch and with i2i's CPU fast path (what ``i2i translate`` and
``Translator`` run), BatchNorm in ``per_image`` mode (the default after batch-size-1 training). Every round runs
every network once (interleaved), after warm-up calls; rows report the median and the median over quiet runs
(other processes used at most one CPU tick meanwhile; see ``cpu_inference.py``). Output: a table and JSON.

    .venv/bin/python benchmarks/generators_cpu.py [--runs 20] [--out benchmarks/results/generators_cpu.json]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import torch
from cpu_inference import _cpu_name, summarize, timed  # the timing that notices other processes
from safetensors.torch import save as safetensors_bytes
from torch.utils.flop_counter import FlopCounterMode

from i2i.atomic import atomic_write_json
from i2i.inference.fast import optimize_for_device
from i2i.inference.pipeline import prepare_generator
from i2i.models import create_generator

GENERATORS: list[tuple[str, dict[str, Any]]] = [
    ("unet_256", {}),
    ("unet_lite", {}),
    ("unet_lite", {"ngf": 16}),
    ("resnet_9blocks", {}),
    ("resnet_6blocks", {"ngf": 32}),
]


def _label(name: str, options: dict[str, Any]) -> str:
    return name + "".join(f" {k}={v}" for k, v in options.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20, help="timed calls per network and path (interleaved rounds)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/generators_cpu.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    x = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    paths: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for name, options in GENERATORS:
        torch.manual_seed(0)
        net = create_generator(name, 3, 3, **options).eval()
        state = {k: v.contiguous() for k, v in net.state_dict().items()}
        half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        eager = prepare_generator(net, "per_image")
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            eager(x)
        fast = optimize_for_device(prepare_generator(net, "per_image"), torch.device("cpu"))
        label = _label(name, options)
        paths[f"{label} | eager"] = eager
        paths[f"{label} | i2i fast"] = fast
        rows.append(
            {
                "generator": label,
                "weights": sum(p.numel() for p in net.parameters()),
                "fp32_mb": len(safetensors_bytes(state)) / 2**20,
                "fp16_mb": len(safetensors_bytes(half)) / 2**20,
                "gflop": counter.get_total_flops() / 1e9,
            }
        )
    samples: dict[str, list[tuple[float, int]]] = {key: [] for key in paths}
    with torch.inference_mode():
        for fn in paths.values():
            for _ in range(args.warmup):
                fn(x)
        for _ in range(args.runs):
            for key, fn in paths.items():
                samples[key].append(timed(lambda fn=fn: fn(x)))
    for row in rows:
        for path in ("eager", "i2i fast"):
            stats = summarize(samples[f"{row['generator']} | {path}"])
            row[path] = stats
            row[f"{path}_ms"] = stats["quiet_median_ms"] or stats["median_ms"]

    print(f"torch {torch.__version__}, {args.threads} threads, {_cpu_name()}, input {tuple(x.shape)}")
    header = (
        f"{'generator':28s} {'weights':>8s} {'fp32 MB':>8s} {'fp16 MB':>8s} {'GFLOP':>7s} {'eager ms':>9s} "
        f"{'fast ms':>8s} {'quiet':>6s}"
    )
    print(header + "\n" + "-" * len(header))
    for r in rows:
        print(
            f"{r['generator']:28s} {r['weights'] / 1e6:7.2f}M {r['fp32_mb']:8.1f} {r['fp16_mb']:8.1f} "
            f"{r['gflop']:7.1f} {r['eager_ms']:9.1f} {r['i2i fast_ms']:8.1f} "
            f"{r['i2i fast']['quiet_runs']:>3d}/{r['i2i fast']['runs']:<2d}"
        )
    result = {
        "threads": args.threads,
        "input_shape": list(x.shape),
        "torch": torch.__version__,
        "cpu": _cpu_name(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
