"""Training cost of the unpaired recipes on a CPU: seconds per step and peak resident memory, one process each.

For each recipe (CycleGAN, U-GAT-IT light, U-GAT-IT full; the paper's architectures, batch 1) a fresh Python process
builds the training engine exactly as ``i2i train`` does (``TrainEngine``, fp32 on the CPU), takes ``--warmup``
steps and then ``--steps`` timed steps on a synthetic batch at ``--size``², and reports its peak resident set size
(``ru_maxrss``: weights, gradients, Adam moments and activations, plus the interpreter and torch, about 0.4 GiB).
One process per recipe because the peak of a process never goes down. This is the CPU side of "training on a CPU
for small jobs"; the GPU figures are measured by ``benchmarks/gpu_unpaired.sh``.

    .venv/bin/python benchmarks/unpaired_cpu.py [--size 256] [--steps 3] [--threads 2] [--out PATH.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from i2i.atomic import atomic_write_json

RECIPES = {
    "cyclegan": "configs/cyclegan/selfie2anime.yaml",
    "ugatit_light": "configs/ugatit/selfie2anime_light.yaml",
    "ugatit_full": "configs/ugatit/selfie2anime.yaml",
}
REPO = Path(__file__).resolve().parents[1]


def measure(recipe: str, size: int, steps: int, warmup: int, threads: int) -> dict:
    """Runs in the child process: engine, warm-up, timed steps, peak memory."""
    import torch

    from i2i.bench import synthetic_batch
    from i2i.run_config import load_config
    from i2i.training.engine import TrainEngine

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    overrides = [f"--data.crop_size={size}", f"--data.load_size={size}", "--train.device=cpu"]
    if "ugatit/selfie2anime.yaml" in recipe:
        overrides.append(f"--method.generator.img_size={size}")
    cfg = load_config(REPO / recipe, overrides)
    engine = TrainEngine(cfg, torch.device("cpu"))
    params = sum(p.numel() for p in engine.method.parameters())
    batch = synthetic_batch(cfg, 1, engine.device)
    for _ in range(warmup):
        engine.train_step(batch)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        engine.train_step(batch)
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "parameters": params,
        "seconds_per_step_median": times[len(times) // 2],
        "seconds_per_step_min": times[0],
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,  # KiB on Linux
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--methods", default=",".join(RECIPES))
    parser.add_argument("--out", default="benchmarks/results/unpaired_cpu.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.size, args.steps, args.warmup, args.threads)))
        return
    rows = {}
    for name in args.methods.split(","):
        cmd = [sys.executable, __file__, "--child", RECIPES[name], "--size", str(args.size)]
        cmd += ["--steps", str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO).stdout
        rows[name] = json.loads(out.strip().splitlines()[-1])
        print(f"measured {name}", file=sys.stderr)
    print(f"CPU: {platform.processor() or platform.machine()}, {args.threads} threads, {args.size}², batch 1, fp32")
    print(f"{'recipe':<14}{'parameters':>14}{'s/step':>10}{'it/s':>8}{'peak RSS GiB':>14}")
    for name, r in rows.items():
        s = r["seconds_per_step_median"]
        print(f"{name:<14}{r['parameters']:>14,}{s:>10.2f}{1 / s:>8.3f}{r['peak_rss_gib']:>14.2f}")
    result = {"size": args.size, "threads": args.threads, "steps": args.steps, "machine": platform.machine()}
    result["recipes"] = rows
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, result)
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
