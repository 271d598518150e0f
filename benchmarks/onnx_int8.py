"""Does int8 quantization keep a generator's quality? The bundled facades model, fp32 ONNX against int8 ONNX.

Two releases are written from ``models/facades``: one with the fp32 graph (``i2i export --onnx``) and one with
what ``i2i export --onnx --quantize int8 --calibration ...`` ships (``artifact.quantize``: static QDQ quantization,
int8 weights per channel, uint8 activations calibrated on ``--calibration`` label maps of the training split, every
fourth of them kept to check the graph). For comparison, onnxruntime's dynamic quantization of the fp32 graph (int8
weights, activation ranges computed on every call) is scored too.

Each graph is scored by ``i2i.evaluation.paired.evaluate``, as ``i2i eval`` scores a model, on the 106 test pairs
of the shared facades set (PSNR / SSIM / L1 against the photos) through ``OnnxTranslator``, and timed on one 256²
label map (median of ``--runs`` interleaved calls, ``--threads`` threads). The bound i2i states for shipping int8:
at most 0.1 dB PSNR and 0.005 SSIM lost against the fp32 graph on this test set.

    .venv/bin/python benchmarks/onnx_int8.py [--runs 20] [--out benchmarks/results/onnx_int8.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from i2i.artifact.open import open_model
from i2i.artifact.release import write_release
from i2i.atomic import atomic_write_json
from i2i.evaluation.paired import evaluate
from i2i.imageio import read_image
from i2i.portable.runtime import OnnxTranslator
from i2i.portable.session import open_session

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "facades"
PSNR_BOUND, SSIM_BOUND = 0.1, 0.005


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/facades")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--calibration", type=int, default=32, help="training label maps for the static ranges")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", default="benchmarks/results/onnx_int8.json")
    args = parser.parse_args()
    if not Path(args.data, "test").is_dir():
        sys.exit(f"{args.data}: no facades test split (the shared datasets are needed)")

    from onnxruntime.quantization import QuantType, quantize_dynamic

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="i2i-int8-"))
    model = open_model(args.model)
    train = sorted(Path(args.data, "train").glob("*.jpg"))[: args.calibration]
    labels = [np.ascontiguousarray(image[:, image.shape[1] // 2 :]) for image in (read_image(f, 3) for f in train)]
    release = write_release(model, tmp / "fp32", onnx=True)
    int8 = write_release(model, tmp / "int8", onnx=True, quantize="int8", calibration=labels)
    graphs = {"fp32": release / "model.onnx", "int8 (i2i)": int8 / "model.onnx", "int8 dynamic": tmp / "dynamic.onnx"}
    quantize_dynamic(str(graphs["fp32"]), str(graphs["int8 dynamic"]), weight_type=QuantType.QInt8)
    quantized = json.loads((int8 / "config.json").read_text())["onnx"]["quantized"]

    base = OnnxTranslator.from_pretrained(release, threads=args.threads)
    translators = {name: OnnxTranslator(open_session(path, name, args.threads), base.pre, base.spec)
                   for name, path in graphs.items()}  # fmt: skip
    rows: dict[str, dict[str, Any]] = {}
    for name, translator in translators.items():
        summary = evaluate(translator, args.data, tmp / f"eval-{name}", "test")  # type: ignore[arg-type]
        rows[name] = {"psnr": summary.psnr, "ssim": summary.ssim, "l1": summary.l1, "count": summary.count,
                      "mb": graphs[name].stat().st_size / 2**20}  # fmt: skip
        print(f"{name}: {summary.line()}", flush=True)

    image = np.ascontiguousarray(read_image(sorted(Path(args.data, "test").glob("*.jpg"))[0], 3)[:, 256:])
    samples: dict[str, list[float]] = {name: [] for name in translators}
    for translator in translators.values():
        translator([image])
    for _ in range(args.runs):
        for name, translator in translators.items():
            start = time.perf_counter()
            translator([image])
            samples[name].append(time.perf_counter() - start)
    print(f"\n{'graph':14s} {'MB':>6s} {'PSNR':>7s} {'SSIM':>7s} {'L1':>7s} {'ms':>7s}   change from fp32")
    for name, row in rows.items():
        row["ms"] = 1000 * statistics.median(samples[name])
        row["psnr_change"] = row["psnr"] - rows["fp32"]["psnr"]
        row["ssim_change"] = row["ssim"] - rows["fp32"]["ssim"]
        row["within_bound"] = row["psnr_change"] >= -PSNR_BOUND and row["ssim_change"] >= -SSIM_BOUND
        print(f"{name:14s} {row['mb']:6.1f} {row['psnr']:7.2f} {row['ssim']:7.4f} {row['l1']:7.4f} {row['ms']:7.1f}"
              f"   {row['psnr_change']:+.2f} dB, {row['ssim_change']:+.4f} SSIM")  # fmt: skip
    result = {"model": args.model, "threads": args.threads, "bound": {"psnr": PSNR_BOUND, "ssim": SSIM_BOUND},
              "quantized": quantized, "rows": rows}  # fmt: skip
    atomic_write_json(Path(args.out), result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
