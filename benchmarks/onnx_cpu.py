"""CPU inference: PyTorch eager, i2i's CPU fast path and onnxruntime on the same networks, one 256² image.

Networks of random weights (``--random``, default the full-size ``unet_256``, ngf 64, BatchNorm per image) and,
unless ``--no-bundled``, each generator and classifier bundled in ``models/``. Each model is written as a release
with its ONNX graph (``write_release(..., onnx=True)``, which checks the graph against PyTorch) into a temporary
folder, then timed two ways, every variant once per round, interleaved, after warm-up calls, ``--threads`` threads
for both runtimes:

- **network**: one 1×C×256×256 float input through ``prepare_generator`` as is (eager), through
  ``optimize_for_device`` (i2i's CPU fast path), and through an onnxruntime session on ``model.onnx`` opened the
  way the ONNX runtime opens it (``portable.session.open_session``); max |difference| to eager;
- **end to end**: what users call, one uint8 256×256 image in and out: ``Translator`` (torch runtime, fast path)
  against ``OnnxTranslator`` (``Classifier`` against ``OnnxClassifier`` for probabilities); max difference of the
  outputs in uint8 levels (probabilities for a classifier).

One-way generators are also written as ``--quantize int8`` releases, calibrated on their example inputs and those
flipped (the bundled facades model's for random weights), and their int8 graph is timed both ways too (or the
refusal recorded when its images drift past the bound).

Rows give the median and the median over quiet runs (other processes used at most one CPU tick meanwhile; see
``cpu_inference.py``). Interleaving is fair to changes of load but not to onnxruntime: for a while after torch
calls, onnxruntime runs slower (torch's OpenMP threads are the likely cause). So a second table times each
variant alone (``--block-runs`` calls after a 0.5 s pause), as a process running one runtime sees it, beside the
timing export recorded in the release (``onnx.cpu_ms``, which ``--runtime auto`` follows).

    .venv/bin/python benchmarks/onnx_cpu.py [--runs 30] [--out benchmarks/results/onnx_cpu.json]
    .venv/bin/python benchmarks/onnx_cpu.py --random resnet_9blocks,ugatit:light=true --no-bundled --runs 10 \\
        --block-runs 10 --out benchmarks/results/onnx_cpu_unpaired.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from cpu_inference import _cpu_name, summarize, timed  # the timing that notices other processes

from i2i.artifact.model import Generator, Model, Source
from i2i.artifact.open import open_model
from i2i.artifact.release import write_release
from i2i.atomic import atomic_write_json
from i2i.config import from_dict
from i2i.errors import I2IError
from i2i.imageio import read_image
from i2i.inference.classifier import Classifier
from i2i.inference.fast import optimize_for_device
from i2i.inference.pipeline import prepare_generator
from i2i.inference.preprocessing import Preprocessing
from i2i.inference.translator import Translator
from i2i.models import GeneratorConfig
from i2i.portable.runtime import OnnxClassifier, OnnxTranslator
from i2i.portable.session import open_session

Call = Callable[[], Any]


def random_model(spec: str, tmp: Path) -> Model:
    """A one-way model of random weights from ``NAME[:KEY=VALUE,...]`` (e.g. ``unet_256``, ``ugatit:light=true``);
    BatchNorm per image where the network has BatchNorm."""
    torch.manual_seed(0)
    name, _, options = spec.partition(":")
    overrides = dict(item.split("=", 1) for item in options.split("+") if item)
    values = {k: yaml.safe_load(v) for k, v in overrides.items()}
    cfg = from_dict(GeneratorConfig, {"name": name, **values}, "generator")
    net = cfg.build(3, 3)
    has_bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    pre = Preprocessing(3, 3, size_multiple=cfg.size_multiple, fixed_size=cfg.fixed_size,
                        bn_inference="per_image" if has_bn else "running")  # fmt: skip
    return Model(tmp / spec, "pix2pix", [Generator(cfg, net, pre)], Source("random", "none", 0, "none"))


def calibration_images(model: Model, folder: Path | None) -> list[np.ndarray]:
    """What ``--quantize int8`` is calibrated on here: the model's example inputs (the bundled facades model's for a
    network of random weights), and the same flipped, as a user would name a few inputs of the model's kind."""
    examples = sorted(p for p in ((folder or Path("models/facades")) / "examples").iterdir() if p.suffix == ".png")
    images = [read_image(p, model.generator().preprocessing.input_channels) for p in examples]
    return images + [np.ascontiguousarray(im[::-1, ::-1]) for im in images]


def generator_calls(
    name: str, model: Model, release: Path, size: int, threads: int, int8: Path | None
) -> tuple[dict[str, Call], dict]:
    """The timed calls for one generator, and the max differences to eager (network) and to torch (end to end)."""
    generator = model.generator()
    pre = generator.preprocessing
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.uniform(-1, 1, (1, pre.input_channels, size, size)).astype(np.float32))
    eager = prepare_generator(generator.network, pre.bn_inference)
    fast = optimize_for_device(prepare_generator(generator.network, pre.bn_inference), torch.device("cpu"))
    session = open_session(release / "model.onnx", name, threads)
    feed = {session.get_inputs()[0].name: x.numpy()}
    image = rng.integers(0, 256, (size, size, pre.input_channels), dtype=np.uint8)
    translator = Translator(generator, "cpu")
    onnx_translator = OnnxTranslator.from_pretrained(release, threads=threads)

    def first(y: Any) -> torch.Tensor:
        return y[0] if isinstance(y, tuple) else y

    with torch.inference_mode():
        reference = first(eager(x)).float()
        diffs = {
            "fast_max_abs": (first(fast(x)).float() - reference).abs().max().item(),
            "onnx_max_abs": float(np.abs(session.run(None, feed)[0] - reference.numpy()).max()),
            "end_to_end_levels": int(
                np.abs(
                    translator.translate_batch([image])[0].astype(int)
                    - onnx_translator.translate_batch([image])[0].astype(int)
                ).max()
            ),
        }
    calls = {
        "network | eager": lambda: eager(x),
        "network | i2i fast": lambda: fast(x),
        "network | onnxruntime": lambda: session.run(None, feed),
        "end to end | torch": lambda: translator.translate_batch([image]),
        "end to end | onnx": lambda: onnx_translator.translate_batch([image]),
    }
    if int8 is not None:
        int8_session = open_session(int8 / "model.onnx", name, threads)
        int8_translator = OnnxTranslator.from_pretrained(int8, threads=threads)
        with torch.inference_mode():
            diffs["int8_max_abs"] = float(np.abs(int8_session.run(None, feed)[0] - reference.numpy()).max())
            diffs["int8_end_to_end_levels"] = int(
                np.abs(
                    translator.translate_batch([image])[0].astype(int)
                    - int8_translator.translate_batch([image])[0].astype(int)
                ).max()
            )
        calls["network | onnxruntime int8"] = lambda: int8_session.run(None, feed)
        calls["end to end | onnx int8"] = lambda: int8_translator.translate_batch([image])
    return calls, diffs


def classifier_calls(name: str, model: Model, release: Path, threads: int) -> tuple[dict[str, Call], dict]:
    pre = model.classifier.preprocessing
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    torch_classifier = Classifier(model.classifier, "cpu")
    onnx_classifier = OnnxClassifier.from_pretrained(release, threads=threads)
    x = torch.from_numpy(rng.uniform(-1, 1, (1, pre.input_channels, pre.image_size, pre.image_size)).astype(np.float32))
    net = model.classifier.network.eval()
    session = open_session(release / "model.onnx", name, threads)
    feed = {session.get_inputs()[0].name: x.numpy()}
    with torch.inference_mode():
        reference = torch.softmax(net(x).float(), 1).numpy()
        diffs = {
            "onnx_max_abs": float(np.abs(session.run(None, feed)[0] - reference).max()),
            "end_to_end_probability": float(
                np.abs(torch_classifier.probabilities([image]) - onnx_classifier.probabilities([image])).max()
            ),
        }
    calls = {
        "network | eager": lambda: net(x),
        "network | onnxruntime": lambda: session.run(None, feed),
        "end to end | torch": lambda: torch_classifier.probabilities([image]),
        "end to end | onnx": lambda: onnx_classifier.probabilities([image]),
    }
    return calls, diffs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="models")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30, help="timed calls per variant (interleaved rounds)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--block-runs", type=int, default=20, help="timed calls per variant alone, after the rounds")
    parser.add_argument(
        "--random",
        default="unet_256",
        help="generators of random weights to time besides the bundled models, comma-separated NAME[:KEY=VALUE+...] "
        "(default unet_256; e.g. resnet_9blocks,ugatit:light=true; '' for none)",
    )
    parser.add_argument("--no-bundled", action="store_true", help="time only the --random generators")
    parser.add_argument("--out", default="benchmarks/results/onnx_cpu.json")
    args = parser.parse_args()

    import onnxruntime

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="i2i-onnx-bench-"))
    models = [(f"{spec} (random)", random_model(spec, tmp)) for spec in args.random.split(",") if spec]
    folders = [] if args.no_bundled else sorted(p for p in Path(args.models).iterdir() if (p / "config.json").is_file())
    models += [(folder.name, open_model(folder)) for folder in folders]
    folder_of = {folder.name: folder for folder in folders}

    calls: dict[str, Call] = {}
    rows: list[dict[str, Any]] = []
    for name, model in models:
        start = time.perf_counter()
        release = write_release(model, tmp / f"release-{len(rows)}", onnx=True)
        row: dict[str, Any] = {"model": name, "export_s": time.perf_counter() - start}
        row["onnx_mb"] = (release / "model.onnx").stat().st_size / 2**20
        row["cpu_ms"] = json.loads((release / "config.json").read_text())["onnx"]["cpu_ms"]  # export's own timing
        if model.classifier is not None:
            row["architecture"] = model.classifier.config.name
            row["weights"] = sum(p.numel() for p in model.classifier.network.parameters())
            model_calls, row["diff"] = classifier_calls(name, model, release, args.threads)
        else:
            generator = model.generator()
            row["architecture"] = generator.config.name
            row["weights"] = sum(p.numel() for p in generator.network.parameters())
            int8 = None
            if len(model.generators) == 1:
                images = calibration_images(model, folder_of.get(name))
                try:
                    int8 = write_release(model, tmp / f"int8-{len(rows)}", onnx=True, quantize="int8",
                                         calibration=images)  # fmt: skip
                    row["int8"] = json.loads((int8 / "config.json").read_text())["onnx"]["quantized"]
                    row["int8"]["mb"] = (int8 / "model.onnx").stat().st_size / 2**20
                except I2IError as exc:  # refused: the int8 images drifted past the bound
                    row["int8"] = {"refused": str(exc)}
            model_calls, row["diff"] = generator_calls(name, model, release, args.size, args.threads, int8)
        calls.update({f"{name} | {key}": fn for key, fn in model_calls.items()})
        rows.append(row)
        print(f"exported {name} in {row['export_s']:.1f} s", flush=True)

    samples: dict[str, list[tuple[float, int]]] = {key: [] for key in calls}
    blocks: dict[str, list[tuple[float, int]]] = {key: [] for key in calls}
    with torch.inference_mode():
        for fn in calls.values():
            for _ in range(args.warmup):
                fn()
        for _ in range(args.runs):
            for key, fn in calls.items():
                samples[key].append(timed(fn))
        for key, fn in calls.items():  # each variant alone, after the others' threads have gone quiet
            time.sleep(0.5)
            fn()
            blocks[key] = [timed(fn) for _ in range(args.block_runs)]
    for row in rows:
        row["timings"], row["blocks"] = {}, {}
        for key in calls:
            model, path = key.split(" | ", 1)
            if model == row["model"]:
                for where, found in ((row["timings"], samples), (row["blocks"], blocks)):
                    stats = summarize(found[key])
                    stats["ms"] = stats["quiet_median_ms"] or stats["median_ms"]
                    where[path] = stats

    print(
        f"\ntorch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {args.threads} threads, {_cpu_name()}, "
        f"one {args.size}x{args.size} image, {args.runs} interleaved rounds (ms: median over quiet rounds)"
    )
    columns = {  # timing key -> column title
        "network | eager": "eager",
        "network | i2i fast": "i2i fast",
        "network | onnxruntime": "onnxruntime",
        "end to end | torch": "e2e torch",
        "end to end | onnx": "e2e onnx",
        "network | onnxruntime int8": "ort int8",
        "end to end | onnx int8": "e2e int8",
    }
    header = f"{'model':22s} " + " ".join(f"{t:>16s}" for t in columns.values()) + "  onnx-eager | e2e diff"
    for table in ("timings", "blocks"):
        if table == "blocks":
            print(f"\neach variant alone: {args.block_runs} calls after a 0.5 s pause (export's cpu_ms: torch / onnx)")
        print(header + "\n" + "-" * len(header))
        for r in rows:
            cells = []
            for key in columns:
                t = r[table].get(key)
                cells.append(f"{'-':>16s}" if t is None else f"{t['ms']:7.1f} ({t['quiet_runs']:2d}/{t['runs']:2d})")
            d = r["diff"]
            end = d.get("end_to_end_levels", d.get("end_to_end_probability"))
            extra = f"  {d['onnx_max_abs']:.1e} | {end:.3g}"
            if "int8_max_abs" in d:
                extra += f"  int8: {d['int8_max_abs']:.2g} | {d['int8_end_to_end_levels']}"
            if table == "blocks":
                extra = f"  {r['cpu_ms']['torch']:.1f} / {r['cpu_ms']['onnx']:.1f}"
            print(f"{r['model']:22s} " + " ".join(cells) + extra)
    result = {
        "threads": args.threads,
        "size": args.size,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
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
