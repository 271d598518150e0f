"""CPU inference of the pix2pix generator: which fp32 execution path is fastest, and is it as accurate as eager?

For one generator (default ``unet_256``, ngf 64) and a 1×3×256×256 input in [-1, 1], with ``torch.set_num_threads``
(default 2), eval mode and ``torch.inference_mode``, each variant below is timed over interleaved rounds (every
round runs every variant once, so a disturbance hits them all alike), after warm-up calls:

- ``eager``: the current path, ``prepare_generator(net, bn)`` called as is (NCHW);
- ``channels_last``: the same network and input in channels_last;
- ``bn folded``: (running only) BatchNorm folded into the convolutions by ``torch.fx``, NCHW and channels_last;
- ``jit freeze``: ``torch.jit.trace`` + ``torch.jit.freeze``; ``+ optimize_for_inference`` (which may move
  convolutions to mkldnn tensors);
- ``compile``: ``torch.compile`` (inductor), also with ``freezing`` (only with ``--compile``: minutes on 2 cores);
- ``i2i fast``: ``i2i.inference.fast.optimize_for_device`` (oneDNN weights kept in their blocked layout per shape,
  channels_last, BatchNorm folded, transposed convolutions with few outputs in parity form);
- for information only (``--bf16``, 3 runs), ``bf16 autocast``: it misses the 1e-3 bar by design.

Both BatchNorm modes are measured: ``per_image`` (BatchNorm → per-image statistics, the default after batch-size-1
training) and ``running`` (running averages; here calibrated on random images so outputs are not all near 0).
Each row gives the median, the median over *quiet* runs (during which other processes used at most one CPU tick,
10 ms, by /proc/stat: on a shared machine this is the number to read), the minimum, GFLOP/s at the quiet median,
and the max |error| against eager fp32 of the same BatchNorm mode. Output: a table on stdout and JSON (``--out``).

    .venv/bin/python benchmarks/cpu_inference.py [--runs 30] [--compile] [--bf16] [--out PATH.json]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from i2i.atomic import atomic_write_json
from i2i.inference.fast import optimize_for_device
from i2i.inference.pipeline import prepare_generator
from i2i.models import create_generator

Forward = Callable[[torch.Tensor], torch.Tensor]


# -- timing that notices other processes ------------------------------------------------------------------------
def _busy_ticks() -> int:
    with open("/proc/stat") as f:
        v = [int(t) for t in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]  # user nice system irq softirq steal


def _own_ticks() -> int:
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def timed(fn: Callable[[], Any]) -> tuple[float, int]:
    """Seconds for one call, and CPU ticks other processes used meanwhile (-1 where /proc is missing)."""
    try:
        busy, own = _busy_ticks(), _own_ticks()
    except OSError:
        busy = own = None
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    if busy is None:
        return seconds, -1
    return seconds, (_busy_ticks() - busy) - (_own_ticks() - own)


def summarize(samples: list[tuple[float, int]], max_foreign: int = 1) -> dict[str, Any]:
    times = [s for s, _ in samples]
    quiet = [s for s, foreign in samples if foreign <= max_foreign]
    return {
        "median_ms": statistics.median(times) * 1e3,
        "quiet_median_ms": statistics.median(quiet) * 1e3 if quiet else None,
        "min_ms": min(times) * 1e3,
        "runs": len(times),
        "quiet_runs": len(quiet),
    }


# -- the network and its variants ------------------------------------------------------------------------------
def calibrate_running_stats(net: nn.Module, in_channels: int, size: int, seed: int) -> None:
    """Sets BatchNorm running statistics to those of random images, as training would (cumulative average)."""
    gen = torch.Generator().manual_seed(seed)
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    with torch.no_grad():
        for _ in range(4):
            net(torch.rand(2, in_channels, size, size, generator=gen) * 2 - 1)
    for m in norms:
        m.momentum = 0.1
    net.eval()


def variants(
    net: nn.Module, bn: str, x: torch.Tensor, with_compile: bool, with_bf16: bool
) -> dict[str, tuple[Forward, dict]]:
    """name → (forward, notes); every forward takes the NCHW input (layout changes are part of the variant)."""
    cl = torch.channels_last
    eager = prepare_generator(net, bn)
    eager_cl = prepare_generator(net, bn).to(memory_format=cl)
    out: dict[str, tuple[Forward, dict]] = {
        "eager (NCHW)": (eager, {}),
        "channels_last": (lambda t: eager_cl(t.contiguous(memory_format=cl)), {}),
    }
    if bn == "running":
        from torch.fx.experimental.optimization import fuse

        folded = fuse(prepare_generator(net, bn))  # conv + BN → conv (fx)
        folded_cl = fuse(prepare_generator(net, bn)).to(memory_format=cl)
        out["bn folded (fx)"] = (folded, {})
        out["bn folded (fx) + channels_last"] = (lambda t: folded_cl(t.contiguous(memory_format=cl)), {})
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated
        start = time.perf_counter()
        frozen = torch.jit.freeze(torch.jit.trace(prepare_generator(net, bn), x))
        out["jit trace + freeze"] = (frozen, {"build_s": time.perf_counter() - start})
        start = time.perf_counter()
        ofi = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(prepare_generator(net, bn), x)))
        out["jit + optimize_for_inference"] = (ofi, {"build_s": time.perf_counter() - start})
    if with_compile:
        import torch._inductor.config as inductor_config

        for freezing in (False, True):
            inductor_config.freezing = freezing
            torch._dynamo.reset()
            compiled = torch.compile(prepare_generator(net, bn))
            start = time.perf_counter()
            with torch.inference_mode():
                compiled(x)
            name = "torch.compile (inductor)" + (" + freezing" if freezing else "")
            out[name] = (compiled, {"build_s": time.perf_counter() - start})
        inductor_config.freezing = False
    start = time.perf_counter()
    fast = optimize_for_device(prepare_generator(net, bn), torch.device("cpu"))
    with torch.inference_mode():
        fast(x)  # the first call of a shape converts the weights
    out["i2i fast (oneDNN packed)"] = (fast, {"build_s": time.perf_counter() - start})

    def bf16(t: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return eager_cl(t.contiguous(memory_format=cl)).float()

    if with_bf16:
        out["bf16 autocast + channels_last (info only)"] = (bf16, {"info_only": True})
    return out


def matmul_gflops(runs: int, n: int = 2048) -> dict[str, float]:
    """fp32 GEMM rate (MKL/oneDNN) on this machine: the roof any convolution can reach."""
    a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    torch.mm(a, b, out=c)
    times = [timed(lambda: torch.mm(a, b, out=c))[0] for _ in range(runs)]
    return {"best": 2 * n**3 / min(times) / 1e9, "median": 2 * n**3 / statistics.median(times) / 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generator", default="unet_256")
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30, help="timed calls per variant (interleaved rounds)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--bn", nargs="+", default=["per_image", "running"], choices=["per_image", "running"])
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    parser.add_argument("--bf16", action="store_true", help="also time bf16 autocast, 3 runs (very slow without AMX)")
    parser.add_argument("--out", default="benchmarks/results/cpu_inference.json")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    net = create_generator(args.generator, ngf=args.ngf)
    x = torch.rand(args.batch, 3, args.size, args.size, generator=torch.Generator().manual_seed(args.seed)) * 2 - 1
    calibrate_running_stats(net, 3, args.size, args.seed)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        prepare_generator(net, "running")(x)
    gflop = counter.get_total_flops() / 1e9
    params = sum(p.numel() for p in net.parameters())
    peak = matmul_gflops(args.runs)

    rows: list[dict[str, Any]] = []
    for bn in args.bn:
        table = variants(net, bn, x, args.compile, args.bf16)
        with torch.inference_mode():
            reference = table["eager (NCHW)"][0](x)
            errors = {name: (fn(x).float() - reference).abs().max().item() for name, (fn, _) in table.items()}
            for fn, notes in table.values():
                for _ in range(1 if notes.get("info_only") else args.warmup):
                    fn(x)
            samples: dict[str, list[tuple[float, int]]] = {name: [] for name in table}
            for round_ in range(args.runs):
                for name, (fn, notes) in table.items():
                    if round_ < 3 or not notes.get("info_only"):
                        samples[name].append(timed(lambda fn=fn: fn(x)))
        for name, (_, notes) in table.items():
            stats = summarize(samples[name])
            best = stats["quiet_median_ms"] or stats["median_ms"]
            rows.append(
                {
                    "bn_inference": bn,
                    "variant": name,
                    **stats,
                    "gflops_per_s": gflop / (best / 1e3),
                    "max_abs_err": errors[name],
                    "output_std": reference.std().item(),
                    **notes,
                }
            )

    print(f"{args.generator} ngf {args.ngf}: {params / 1e6:.1f} M params, {gflop:.2f} GFLOP per {tuple(x.shape)} call")
    print(f"torch {torch.__version__}, {args.threads} threads, {_cpu_name()} ({' '.join(_cpu_flags())})")
    print(f"fp32 matmul 2048² on {args.threads} threads: {peak['best']:.0f} GFLOP/s best, {peak['median']:.0f} median")
    header = (
        f"{'bn':9s} {'variant':42s} {'median':>8s} {'quiet med':>9s} {'min':>7s} {'quiet':>6s} {'GFLOP/s':>7s} "
        f"{'max|err|':>9s}"
    )
    print(header + "\n" + "-" * len(header))
    for r in rows:
        quiet = f"{r['quiet_median_ms']:9.1f}" if r["quiet_median_ms"] is not None else f"{'-':>9s}"
        extra = f"  (built in {r['build_s']:.1f} s)" if "build_s" in r else ""
        print(
            f"{r['bn_inference']:9s} {r['variant']:42s} {r['median_ms']:8.1f} {quiet} {r['min_ms']:7.1f} "
            f"{r['quiet_runs']:>3d}/{r['runs']:<2d} {r['gflops_per_s']:7.1f} {r['max_abs_err']:9.1e}{extra}"
        )
    result = {
        "generator": args.generator,
        "ngf": args.ngf,
        "params": params,
        "gflop": gflop,
        "input_shape": list(x.shape),
        "threads": args.threads,
        "torch": torch.__version__,
        "cpu": _cpu_name(),
        "cpu_flags": _cpu_flags(),
        "matmul_gflops": peak,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, result)
    print(f"wrote {out}")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                return sorted(f for f in flags if f.startswith(("avx", "amx", "fma")))
    except OSError:
        pass
    return []


if __name__ == "__main__":
    main()
