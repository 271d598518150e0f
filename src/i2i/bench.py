"""``i2i bench``: how fast a recipe trains and translates on this machine, measured on the real training engine.

For a recipe (and any overrides) it measures, each in the same run:

- **train, resident**: optimizer steps on one batch already on the device (the engine alone);
- **train, end to end**: steps fed by the recipe's real data path (loader or cache), as ``i2i train`` runs them;
- a **baseline** of both: fp32, contiguous layout, unfused Adam, no graphs or compilation — the way the reference
  implementations train — so that the speed-up is a ratio measured here, not a figure from elsewhere;
- FLOPs per step (``torch.utils.flop_counter``), achieved TFLOP/s and its fraction of a large matrix product's
  rate measured on the same device;
- peak memory from the engine's construction on (warm-up, autotuning and graph capture included);
- generator inference latency (batch 1) and throughput (larger batches), eager fp32 vs the fast path.

Timings synchronize the device, take the median of several repeats, and exclude warm-up steps.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from i2i.atomic import atomic_write_text
from i2i.inference.fast import optimize_for_device
from i2i.inference.graphs import GraphedForward
from i2i.inference.pipeline import prepare_generator
from i2i.run_config import RunConfig
from i2i.training.engine import TrainEngine
from i2i.training.precision import resolve_precision

log = logging.getLogger(__name__)


@dataclass
class BenchOptions:
    steps: int = 30  # timed steps per repeat
    warmup: int = 10  # untimed steps first (graph capture, autotuning, compilation)
    repeats: int = 3  # the median of this many timed windows is reported
    end_to_end: bool = True  # also time steps fed by the recipe's data
    baseline: bool = True  # also time the fp32/unfused reference configuration
    inference_batches: tuple[int, ...] = (1, 64)


@dataclass
class BenchResult:
    device: str
    torch_version: str
    recipe: dict[str, Any]
    matmul_tflops: float
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn: Callable[[], Any], n: int, repeats: int, device: torch.device) -> float:
    """Median seconds per call of ``fn`` over ``repeats`` windows of ``n`` calls."""
    windows = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        _sync(device)
        windows.append((time.perf_counter() - t0) / n)
    return statistics.median(windows)


def matmul_tflops(device: torch.device) -> float:
    """Rate of a large matrix product in the type training uses there (bf16 on GPUs, fp32 on CPUs)."""
    dtype, n = (torch.bfloat16, 8192) if device.type == "cuda" else (torch.float32, 1024)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    seconds = _time(lambda: a @ b, 10 if device.type == "cuda" else 3, 3, device)
    return 2 * n**3 / seconds / 1e12


def _baseline(cfg: RunConfig) -> RunConfig:
    train = dataclasses.replace(
        cfg.train, precision="fp32", memory_format="contiguous", compile=False, cuda_graphs=False
    )
    return dataclasses.replace(cfg, train=train)


def synthetic_batch(cfg: RunConfig, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
    """A batch of random images in [-1, 1] shaped like the recipe's training crops."""
    size, data = cfg.data.crop_size, cfg.data
    g = torch.Generator().manual_seed(0)
    return {
        "a": torch.rand(batch_size, data.input_channels, size, size, generator=g) * 2 - 1,
        "b": torch.rand(batch_size, data.output_channels, size, size, generator=g) * 2 - 1,
        "index": torch.arange(batch_size),
    }


def _memory_start(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _memory_peak(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def step_flops(cfg: RunConfig, device: torch.device) -> float:
    """FLOPs of one training step (forward and backward of every network), counted on an eager fp32 engine."""
    engine = TrainEngine(_baseline(cfg), device, fused_adam=False)
    batch = engine.to_device(synthetic_batch(cfg, cfg.train.batch_size, device))
    with FlopCounterMode(display=False) as counter:
        engine.train_step(batch)
    return float(counter.get_total_flops())


def bench_resident(cfg: RunConfig, device: torch.device, opts: BenchOptions, fused: bool = True) -> dict[str, Any]:
    _memory_start(device)
    engine = TrainEngine(cfg, device, fused_adam=fused)
    batch = engine.to_device(synthetic_batch(cfg, cfg.train.batch_size, device))
    for _ in range(opts.warmup):
        engine.train_step(batch)
    seconds = _time(lambda: engine.train_step(batch), opts.steps, opts.repeats, device)
    return {"engine": engine.describe(), "step_ms": seconds * 1e3, "peak_gib": _memory_peak(device)}


def bench_end_to_end(cfg: RunConfig, device: torch.device, opts: BenchOptions) -> dict[str, Any]:
    """Steps fed by the recipe's data path, exactly as the trainer feeds them (a throw-away run folder)."""
    from i2i.training.trainer import Trainer

    _memory_start(device)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(dataclasses.replace(cfg, out_dir=tmp, name="bench"))
        records, _ = trainer.setup()
        batches = trainer.batches(records)
        engine = trainer.engine

        def stream():
            epoch = 0
            while True:
                yield from batches.epoch(epoch, 0)
                epoch += 1

        it = stream()
        for _ in range(opts.warmup):
            engine.train_step(next(it))
        seconds = _time(lambda: engine.train_step(next(it)), opts.steps, opts.repeats, device)
    return {"engine": engine.describe(), "step_ms": seconds * 1e3, "peak_gib": _memory_peak(device)}


def bench_inference(cfg: RunConfig, device: torch.device, opts: BenchOptions) -> list[dict[str, Any]]:
    """Generator forward passes: eager fp32 (the reference way) vs the fast path, per batch size."""
    slot = cfg.generator_slots()[0]
    net = slot.build().to(device)
    pre = cfg.preprocessing(slot)
    eager = prepare_generator(net, pre.bn_inference)
    variants: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"fp32 eager": eager}
    if device.type == "cpu":
        prepared = prepare_generator(net, pre.bn_inference)
        fast_cpu = optimize_for_device(prepared, device)
        if fast_cpu is not prepared:  # oneDNN present
            variants["fp32 oneDNN fast path"] = fast_cpu
    if device.type == "cuda":
        precision = resolve_precision(cfg.train.precision, device)
        fast = prepare_generator(net, pre.bn_inference).to(memory_format=torch.channels_last)
        variants[f"{precision.name} channels_last CUDA graph"] = GraphedForward(
            fast, lambda: precision.autocast(cache_enabled=False)
        )
    rows = []
    size = cfg.data.crop_size
    for batch_size in opts.inference_batches:
        x = torch.rand(batch_size, cfg.data.input_channels, size, size, device=device) * 2 - 1
        for name, fn in variants.items():
            inp = x.contiguous(memory_format=torch.channels_last) if "channels_last" in name else x
            with torch.no_grad():
                for _ in range(3):
                    fn(inp)
                n = max(3, min(50, 2000 // batch_size)) if device.type == "cuda" else 3
                seconds = _time(lambda fn=fn, inp=inp: fn(inp), n, opts.repeats, device)
            rows.append(
                {
                    "measure": f"inference, batch {batch_size}",
                    "variant": name,
                    "ms_per_batch": seconds * 1e3,
                    "images_per_sec": batch_size / seconds,
                }
            )
    return rows


def run_bench(cfg: RunConfig, device: torch.device, opts: BenchOptions) -> BenchResult:
    """Every measurement for one recipe; see the module docstring."""
    from i2i.config import to_dict

    peak = matmul_tflops(device)
    result = BenchResult(
        str(torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"),
        torch.__version__,
        to_dict(cfg),
        peak,
    )
    flops = step_flops(cfg, device)
    batch = cfg.train.batch_size

    def train_row(measure: str, variant: str, r: dict[str, Any]) -> dict[str, Any]:
        seconds = r["step_ms"] / 1e3
        return {
            "measure": measure,
            "variant": variant,
            "engine": r["engine"],
            "batch_size": batch,
            "step_ms": r["step_ms"],
            "images_per_sec": batch / seconds,
            "gflop_per_step": flops / 1e9,
            "tflops": flops / seconds / 1e12,
            "fraction_of_matmul_peak": flops / seconds / 1e12 / peak,
            "peak_gib": r["peak_gib"],
        }

    runs = [("fast", cfg, True)]
    if opts.baseline:
        runs.append(("baseline", _baseline(cfg), False))
    for variant, run_cfg, fused in runs:
        log.info("bench: train, resident batch (%s)", variant)
        result.rows.append(train_row("train, batch on device", variant, bench_resident(run_cfg, device, opts, fused)))
        if opts.end_to_end:
            log.info("bench: train, end to end (%s)", variant)
            result.rows.append(train_row("train, end to end", variant, bench_end_to_end(run_cfg, device, opts)))
    log.info("bench: inference")
    result.rows.extend(bench_inference(cfg, device, opts))
    return result


def format_table(result: BenchResult) -> str:
    """The rows as an aligned text table, with speed-ups of each fast row over its baseline."""
    base = {r["measure"]: r for r in result.rows if r.get("variant") in ("baseline", "fp32 eager")}
    header = ["measure", "variant", "img/s", "ms", "TFLOP/s", "% peak", "peak GiB", "speed-up"]
    lines = []
    for r in result.rows:
        ms = r.get("step_ms", r.get("ms_per_batch"))
        ref = base.get(r["measure"])
        speedup = r["images_per_sec"] / ref["images_per_sec"] if ref and ref is not r else None
        lines.append(
            [
                r["measure"],
                r["variant"],
                f"{r['images_per_sec']:,.1f}",
                f"{ms:.3f}",
                f"{r['tflops']:.3g}" if "tflops" in r else "",
                f"{100 * r['fraction_of_matmul_peak']:.1f}" if "fraction_of_matmul_peak" in r else "",
                f"{r['peak_gib']:.2f}" if r.get("peak_gib") is not None else "",
                f"{speedup:.2f}x" if speedup else "",
            ]
        )
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    out = [f"device: {result.device}, torch {result.torch_version}, matmul {result.matmul_tflops:.3g} TFLOP/s"]
    out.append(fmt.format(*header))
    out.extend(fmt.format(*row) for row in lines)
    return "\n".join(out)


def write_result(result: BenchResult, path: str | Path) -> None:
    atomic_write_text(path, result.to_json() + "\n")
