"""CPU cost of each model bundled in ``models/``: weights, file size, and the latency of one 256² image.

For each release folder under ``--models`` (default ``models``): its kind, the number of weights, the size of its
weights file, and the time of one call on ``--threads`` CPU threads (default 2) through what users run
(``Translator`` for a generator, uint8 in and out, its preprocessing included; ``Classifier`` for a classifier).
Generators are also timed eagerly (the same network, no CPU fast path) for the ratio. Every round runs every model
once (interleaved), after warm-up calls; rows report the median and the median over quiet runs (other processes
used at most one CPU tick meanwhile; see ``cpu_inference.py``). Output: a table and JSON.

    .venv/bin/python benchmarks/bundled_models.py [--runs 20] [--out benchmarks/results/bundled_models.json]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cpu_inference import _cpu_name, summarize, timed  # the timing that notices other processes

from i2i.artifact.open import open_model
from i2i.atomic import atomic_write_json
from i2i.inference.classifier import Classifier
from i2i.inference.pipeline import prepare_generator, translate_arrays
from i2i.inference.translator import Translator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="models")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20, help="timed calls per model and path (interleaved rounds)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/bundled_models.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    rng = np.random.default_rng(0)
    calls: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for folder in sorted(p for p in Path(args.models).iterdir() if (p / "config.json").is_file()):
        model = open_model(folder)
        weights = folder / "model.safetensors"
        row: dict[str, Any] = {"model": folder.name, "kind": model.kind, "file_mb": weights.stat().st_size / 2**20}
        if model.classifier is not None:
            classifier = Classifier(model.classifier, "cpu")
            row["weights"] = sum(p.numel() for p in classifier.net.parameters())
            row["architecture"] = model.classifier.config.name
            image = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
            calls[f"{folder.name} | i2i"] = lambda c=classifier, im=image: c.probabilities([im])
        else:
            generator = model.generator()
            translator = Translator(generator, "cpu")
            pre = generator.preprocessing
            row["weights"] = sum(p.numel() for p in generator.network.parameters())
            row["architecture"] = generator.config.name
            row["bn_inference"] = pre.bn_inference
            image = rng.integers(0, 256, (args.size, args.size, pre.input_channels), dtype=np.uint8)
            eager = prepare_generator(generator.network, pre.bn_inference)
            calls[f"{folder.name} | i2i"] = lambda t=translator, im=image: t.translate_batch([im])
            calls[f"{folder.name} | eager"] = lambda n=eager, p=pre, im=image: translate_arrays(n, [im], p, cpu)
        rows.append(row)
    if not rows:
        raise SystemExit(f"{args.models}: no release folders")
    samples: dict[str, list[tuple[float, int]]] = {key: [] for key in calls}
    with torch.inference_mode():
        for fn in calls.values():
            for _ in range(args.warmup):
                fn()
        for _ in range(args.runs):
            for key, fn in calls.items():
                samples[key].append(timed(fn))
    for row in rows:
        for path in ("i2i", "eager"):
            key = f"{row['model']} | {path}"
            if key in samples:
                stats = summarize(samples[key])
                row[path] = stats
                row[f"{path}_ms"] = stats["quiet_median_ms"] or stats["median_ms"]

    print(f"torch {torch.__version__}, {args.threads} threads, {_cpu_name()}, one {args.size}x{args.size} image")
    header = (
        f"{'model':20s} {'kind':10s} {'architecture':13s} {'weights':>8s} {'file MB':>8s} {'ms':>7s} {'eager ms':>9s}"
    )
    print(header + "\n" + "-" * len(header))
    for r in rows:
        eager = f"{r['eager_ms']:9.1f}" if "eager_ms" in r else f"{'':9s}"
        print(
            f"{r['model']:20s} {r['kind']:10s} {r['architecture']:13s} {r['weights'] / 1e6:7.2f}M {r['file_mb']:8.2f} "
            f"{r['i2i_ms']:7.1f} {eager}"
        )
    result = {
        "threads": args.threads,
        "size": args.size,
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
