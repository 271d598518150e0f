"""The ``i2i`` command: parses each subcommand's arguments, calls the library, and prints results and user errors
(one line, no traceback). What it decides itself is only argument wiring: e.g. which eval kind a data folder
implies and where a report goes by default."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from i2i.datatools.commands import refuse_risky_out
from i2i.direction import DIRECTIONS
from i2i.errors import I2IError, show_path

log = logging.getLogger("i2i")

TRAIN_EPILOG = """config options (each as --section.key=value or --section.key value; defaults shown are {origin}):
{options}
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def default_eval_dir(model: Path, split: str) -> Path:
    """<run or release folder>/eval/<split>; for a checkpoint file, its run folder's (…/checkpoints/x.pt → …)."""
    from i2i.training.checkpoint import RunFolder

    run = RunFolder.of(model)
    if run is not None:
        return run.eval_dir(split)
    return (model.parent if model.is_file() else model) / "eval" / split


def _train(argv: Sequence[str]) -> int:
    from i2i.config import format_options, from_dict, merge, parse_overrides
    from i2i.run_config import RunConfig, build_raw
    from i2i.training.checkpoint import last_only, load_state
    from i2i.training.trainer import Trainer, headline

    parser = argparse.ArgumentParser(
        prog="i2i train",
        description="Train a model. Recipes live in configs/; every option can be overridden on the command line.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.add_argument("--config", help="recipe YAML file (e.g. configs/pix2pix/facades.yaml)")
    parser.add_argument(
        "--resume",
        help="'auto': continue the run folder's last checkpoint if there is one; or a checkpoint / run folder path",
    )
    parser.add_argument("-h", "--help", action="store_true", help="show this help with every config option")
    args, rest = parser.parse_known_args(argv)
    overrides = parse_overrides(rest)
    raw = build_raw(args.config, overrides)
    cfg = from_dict(RunConfig, raw)
    state = None
    if args.resume and not args.config:
        # Resuming without a recipe: the checkpoint's own config, plus any overrides.
        ckpt = last_only(cfg.run_dir, args.resume)
        if ckpt is not None:
            state = load_state(ckpt)
            cfg = from_dict(RunConfig, merge(state["config"], overrides))
    if args.help:
        origin = f"the values of {args.config} with your overrides" if args.config else "the built-in defaults"
        parser.print_help()
        print()
        print(TRAIN_EPILOG.format(origin=origin, options=format_options(cfg)))
        return 0
    result = Trainer(cfg, resume=args.resume, resume_state=state).fit()
    log.info("run folder: %s (step %d, epoch %d)", result.run_dir, result.step, result.epoch)
    if result.val_metrics:
        log.info("validation: %s", ", ".join(f"{k} {v:.4g}" for k, v in headline(result.val_metrics).items()))
    log.info(
        "checkpoints: %s%s", result.last_checkpoint, f", {result.best_checkpoint}" if result.best_checkpoint else ""
    )
    return 0


def _eval(argv: Sequence[str]) -> int:
    from i2i.artifact.open import open_model
    from i2i.inference.translator import Translator

    parser = argparse.ArgumentParser(
        prog="i2i eval",
        description="Score a model on a dataset split: paired (output vs target), unpaired (<split>A/ and "
        "<split>B/ folders: cycle PSNR/SSIM, identity L1, FID/KID with --fid-weights), or a classifier on class "
        "folders (<split>/<category>/: accuracy, per-category accuracy, confusion matrix, misclassified images).",
    )
    parser.add_argument("model", help="release folder, run folder or checkpoint file")
    parser.add_argument("--data", required=True, help="dataset folder")
    parser.add_argument("--split", default="test", help="split to score (default: test)")
    parser.add_argument("--direction", choices=DIRECTIONS, help="paired data: override the model's direction")
    parser.add_argument("--layout", default="auto", choices=["auto", "aligned", "folders"])
    parser.add_argument(
        "--unpaired", action="store_true", help="score as unpaired data (automatic for <split>A/ + <split>B/ folders)"
    )
    parser.add_argument(
        "--fid-weights", help="unpaired data: FID Inception weights file (pt_inception-2015-12-05-6726825d.pth)"
    )
    parser.add_argument("--out", help="report folder (default: <run or release folder>/eval/<split>)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N")
    parser.add_argument("--batch-size", type=_positive_int, default=8)
    args = parser.parse_args(argv)
    if args.out:
        refuse_risky_out(args.out, "eval")
    out = Path(args.out) if args.out else default_eval_dir(Path(args.model), args.split)
    data = Path(args.data)
    model = open_model(args.model)
    if model.classifier is not None:
        from i2i.evaluation.classification import evaluate_classifier
        from i2i.inference.classifier import Classifier

        classifier = Classifier(model.classifier, args.device)
        summary = evaluate_classifier(classifier, data, out, args.split, str(args.model), args.batch_size)
        print(summary.line())
        print(
            f"report: {out / 'index.html'}  confusion matrix: {out / 'confusion_matrix.png'}  summary: "
            f"{out / 'summary.json'}"
        )
        return 0
    if args.unpaired or ((data / f"{args.split}A").is_dir() and (data / f"{args.split}B").is_dir()):
        from i2i.evaluation.unpaired import evaluate_unpaired

        if len(model.directions) < 2:
            raise I2IError(
                f"{args.model}: this {model.method} model translates {model.trained_direction} only; scoring an "
                "unpaired split needs a model that learns both directions (cyclegan, ugatit)"
            )
        forward = Translator(model.generator("AtoB"), args.device)
        backward = Translator(model.generator("BtoA"), args.device)
        summary = evaluate_unpaired(
            forward, backward, data, out, args.split, str(args.model), args.batch_size, fid_weights=args.fid_weights
        )
        print("\n".join(summary.lines()))
    else:
        from i2i.evaluation.paired import evaluate

        translator = Translator(model.generator(), args.device)
        paired = evaluate(
            translator, data, out, args.split, args.direction, args.layout, str(args.model), args.batch_size
        )
        print(paired.line())
    print(f"report: {out / 'index.html'}  metrics: {out / 'metrics.csv'}  summary: {out / 'summary.json'}")
    return 0


def _translate(argv: Sequence[str]) -> int:
    from tqdm.auto import tqdm

    from i2i.inference.files import plan_outputs, translate_files
    from i2i.inference.sharding import ProcessGroup, shard_from_env, skip_existing
    from i2i.inference.translator import Translator
    from i2i.portable.runtime import RUNTIMES, OnnxTranslator, resolve_runtime

    parser = argparse.ArgumentParser(
        prog="i2i translate",
        description="Translate image files, folders (recursively) and globs. Under torchrun (torchrun "
        "--nproc_per_node N -m i2i.cli translate ...) the inputs are split over the processes.",
    )
    parser.add_argument("model", help="release folder, run folder or checkpoint file")
    parser.add_argument("inputs", nargs="+", help="image files, folders or quoted glob patterns")
    parser.add_argument("--out", required=True, help="output folder (outputs keep the input names)")
    parser.add_argument("--batch-size", type=_positive_int, default=8)
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--overwrite", action="store_true", help="replace existing output files")
    existing.add_argument(
        "--skip-existing",
        action="store_true",
        help="leave inputs whose output file exists alone (to finish an interrupted run; outputs are written whole "
        "or not at all)",
    )
    parser.add_argument(
        "--direction",
        choices=DIRECTIONS,
        help="which way to translate (default: the trained direction; CycleGAN and U-GAT-IT models do both)",
    )
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="auto",
        help="torch, onnx (the release's model.onnx in onnxruntime: no torch needed) or auto (default: on a CPU, the "
        "one export timed faster for this release (onnx if at least 10 %% faster); torch on GPUs; onnx where torch "
        "is not installed)",
    )
    args = parser.parse_args(argv)
    refuse_risky_out(args.out, "translated")
    shard = shard_from_env()
    device = shard.device(args.device)
    group = ProcessGroup(shard)
    pairs = plan_outputs(args.inputs, args.out, args.overwrite or args.skip_existing)
    group.barrier("planned")  # every process has planned before any writes: no one takes fresh outputs for old ones
    mine = shard.take(pairs)
    skipped = 0
    if args.skip_existing:
        mine, skipped = skip_existing(mine)
    if shard.enabled and resolve_runtime(args.runtime, args.model, device) == "onnx":
        translator = OnnxTranslator.from_pretrained(args.model, args.direction, threads=shard.threads())
    else:
        if shard.enabled and not device.startswith("cuda"):
            import torch

            torch.set_num_threads(shard.threads())
        translator = Translator.from_pretrained(args.model, device, args.direction, args.runtime)
    desc = f"translate (process 1 of {shard.world_size})" if shard.enabled else "translate"
    with tqdm(total=len(mine), unit="img", desc=desc, disable=shard.rank != 0) as bar:
        report = translate_files(translator, mine, args.batch_size, on_progress=bar.update)
    summary = group.summarize(len(report.written), skipped, report.failed)
    if shard.rank != 0:
        return 1 if report.failed else 0
    by = f" by {summary.processes} processes" if summary.processes > 1 else ""
    left = f"; {summary.skipped} already there were left alone" if args.skip_existing else ""
    print(f"wrote {summary.written} image(s) to {args.out}{by}{left}")
    return _report_failed(summary.failed)


def _report_failed(failed: list[str]) -> int:
    """Lists the inputs a command could not read on stderr; the exit status: 1 if there were any, else 0."""
    if not failed:
        return 0
    print(f"{len(failed)} input(s) could not be read or run through the model:", file=sys.stderr)
    for line in failed:
        print(f"  {show_path(line)}", file=sys.stderr)
    return 1


def _classify(argv: Sequence[str]) -> int:
    import json

    from i2i.inference.classifier import Classifier
    from i2i.inference.files import classify_files, expand_inputs
    from i2i.portable.runtime import RUNTIMES

    parser = argparse.ArgumentParser(
        prog="i2i classify", description="Say which categories image files, folders (recursively) and globs show."
    )
    parser.add_argument("model", help="classifier: release folder, run folder or checkpoint file")
    parser.add_argument("inputs", nargs="+", help="image files, folders or quoted glob patterns")
    parser.add_argument("--top-k", type=_positive_int, default=3, help="categories shown per image (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON document (for scripts)")
    parser.add_argument("--batch-size", type=_positive_int, default=32)
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N")
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="auto",
        help="torch, onnx (the release's model.onnx in onnxruntime: no torch needed) or auto (default: on a CPU, the "
        "one export timed faster for this release (onnx if at least 10 %% faster); torch on GPUs; onnx where torch "
        "is not installed)",
    )
    args = parser.parse_args(argv)
    files = [src for src, _ in expand_inputs(args.inputs)]
    classifier = Classifier.from_pretrained(args.model, args.device, args.runtime)
    report = classify_files(classifier, files, args.top_k, args.batch_size)
    if args.json:
        document = {
            "model": str(args.model),
            "results": [
                {"path": str(path), "top": [{"label": label, "probability": p} for label, p in top]}
                for path, top in report.results
            ],
            "failed": report.failed,
        }
        print(json.dumps(document, indent=2))
    else:
        for path, top in report.results:
            # one line per image, whatever its name or a release's labels hold (escaped as in every message)
            print(f"{show_path(path)}: " + ", ".join(f"{show_path(label)} {p:.1%}" for label, p in top))
    return _report_failed(report.failed)


def _export(argv: Sequence[str]) -> int:
    import dataclasses

    from i2i.artifact.inputs import INPUT_KINDS, InputSpec, read_palette
    from i2i.artifact.open import open_model
    from i2i.artifact.quantize import read_calibration
    from i2i.artifact.release import write_release
    from i2i.artifact.release_format import read_config
    from i2i.inference.files import expand_inputs
    from i2i.portable.runtime import onnx_faster_on_cpu

    parser = argparse.ArgumentParser(
        prog="i2i export", description="Write a release folder (config.json + model.safetensors) from a run."
    )
    parser.add_argument("run", help="run folder (uses best.pt, else last.pt), checkpoint file or release folder")
    parser.add_argument(
        "--out",
        required=True,
        help="release folder to write: a new or empty folder (not a run folder nor inside its checkpoints/; "
        "<run>/release is fine)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing release (a folder holding anything else is refused)",
    )
    parser.add_argument(
        "--weights-dtype",
        choices=["float32", "float16"],
        default="float32",
        help="how the weights are stored: float32 (default) or float16 (half the size; loaded back as float32)",
    )
    parser.add_argument(
        "--card", help="a Markdown file to ship as the release's README.md instead of the generated model card"
    )
    parser.add_argument(
        "--input-kind",
        choices=list(INPUT_KINDS),
        help="what the model's input looks like to a person (default: kept from a release, else image): a photo-like "
        "image, a sketch (strokes on white; i2i serve offers a pen and pairs it with served sketch classifiers) or "
        "labels (a label map painted in --palette's colours)",
    )
    parser.add_argument(
        "--palette",
        help="YAML or JSON file of the label map's colours, name: '#rrggbb' in order (implies --input-kind labels)",
    )
    parser.add_argument(
        "--onnx",
        action="store_true",
        help="also write each network as an ONNX graph (model.onnx, model_reverse.onnx) for onnxruntime, checked "
        "against PyTorch on several input sizes (refused, nothing written, beyond the stated tolerance)",
    )
    parser.add_argument(
        "--quantize",
        choices=("int8",),
        help="store a one-way generator's ONNX graph in int8 (4x smaller), calibrated on --calibration images and "
        "refused when its images differ from the fp32 graph's by more than a mean PSNR of 30 dB",
    )
    parser.add_argument(
        "--calibration",
        nargs="+",
        metavar="INPUTS",
        default=[],
        help="for --quantize: input images of the trained direction (files, folders, globs; at least 4, up to 64 "
        "used, every 4th one checks the result)",
    )
    args = parser.parse_args(argv)
    if args.calibration and not args.quantize:
        raise I2IError("--calibration is for --quantize int8")
    model = open_model(args.run)
    if args.palette or args.input_kind:
        if args.palette and args.input_kind not in (None, "labels"):
            raise I2IError(f"--palette is for --input-kind labels, not {args.input_kind}")
        palette = read_palette(args.palette) if args.palette else ()
        kind = args.input_kind or "labels"
        if kind == "labels" and not palette:
            palette = model.input.palette
        model = dataclasses.replace(model, input=InputSpec(kind, palette))
    card = None
    if args.card:
        try:
            card = Path(args.card).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise I2IError(f"--card {args.card}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    calibration = None
    if args.quantize:
        if len(model.generators) != 1:  # refused in write_release, before images are read
            calibration = []
        else:
            files = [path for path, _ in expand_inputs(args.calibration)] if args.calibration else []
            # each image brought to the size the network is fed at as it is read: never all of them at full size
            calibration = read_calibration(files, model.generator().preprocessing)
    out = write_release(
        model, args.out, args.overwrite, args.weights_dtype, card, onnx=args.onnx, quantize=args.quantize,
        calibration=calibration,
    )  # fmt: skip
    print(f"release written to {out}")
    onnx = read_config(out).get("onnx", {}) if args.onnx else {}
    quantized, timing = onnx.get("quantized"), onnx.get("cpu_ms")
    if quantized:
        checked, calibrated = quantized["check_images"], quantized["calibration_images"]
        print(f"model.onnx is int8: mean PSNR {quantized['psnr_vs_fp32_db']:g} dB against the fp32 graph on "
              f"{checked} check image(s), calibrated on {calibrated}")  # fmt: skip
    if timing:
        faster = "onnx" if onnx_faster_on_cpu(out) else "torch"
        side, threads = timing["side"], timing["threads"]
        print(f"on this CPU ({threads} threads, {side}x{side}): torch {timing['torch']:g} ms, onnx "
              f"{timing['onnx']:g} ms per image; --runtime auto takes {faster} on a CPU")  # fmt: skip
    return 0


def _bench(argv: Sequence[str]) -> int:
    from i2i.bench import BenchOptions, format_table, run_bench, write_result
    from i2i.config import parse_overrides
    from i2i.device import resolve_device
    from i2i.run_config import load_config

    parser = argparse.ArgumentParser(
        prog="i2i bench",
        description="Measure training and inference speed of a recipe on this machine (table + JSON).",
    )
    parser.add_argument("--config", help="recipe YAML file (default: the built-in defaults)")
    parser.add_argument("--steps", type=_positive_int, default=30, help="timed steps per repeat (default 30)")
    parser.add_argument("--warmup", type=_positive_int, default=10, help="untimed steps first (default 10)")
    parser.add_argument("--repeats", type=_positive_int, default=3, help="timed windows; the median is reported")
    parser.add_argument("--no-data", action="store_true", help="skip the end-to-end measurement with real data")
    parser.add_argument("--no-baseline", action="store_true", help="skip the fp32 reference configuration")
    parser.add_argument(
        "--inference-batches", default="1,64", help="comma-separated batch sizes for inference (default 1,64)"
    )
    parser.add_argument("--out", default="bench.json", help="JSON results file (default bench.json)")
    args, rest = parser.parse_known_args(argv)
    cfg = load_config(args.config, parse_overrides(rest))
    try:
        batches = tuple(int(b) for b in args.inference_batches.split(",") if b.strip())
    except ValueError:
        parser.error(f"--inference-batches: expected e.g. 1,64, got {args.inference_batches!r}")
    opts = BenchOptions(args.steps, args.warmup, args.repeats, not args.no_data, not args.no_baseline, batches)
    result = run_bench(cfg, resolve_device(cfg.train.device), opts)
    print(format_table(result))
    write_result(result, args.out)
    log.info("results written to %s", args.out)
    return 0


def _gallery(argv: Sequence[str]) -> int:
    import time

    from i2i.gallery import collect, write_page

    parser = argparse.ArgumentParser(
        prog="i2i gallery",
        description="Run every release folder under MODELS_DIR on its examples/ (translate; classify sketches) and "
        "write one HTML page.",
    )
    parser.add_argument("models", nargs="?", default="models", help="folder holding release folders (default models)")
    parser.add_argument("--out", default="runs/gallery", help="output folder (default runs/gallery)")
    parser.add_argument("--device", default="cpu", help="cpu (default), auto (CUDA if available), cuda or cuda:N")
    args = parser.parse_args(argv)
    refuse_risky_out(args.out, "gallery")
    started = time.perf_counter()
    sections = collect(Path(args.models), Path(args.out), args.device)
    page = write_page(sections, Path(args.out), Path(args.models), args.device, time.perf_counter() - started)
    print(f"gallery: {page}")
    return 1 if any(section.problems for section in sections) else 0


def _serve(argv: Sequence[str]) -> int:
    from i2i.portable.runtime import RUNTIMES
    from i2i.serve.catalog import model_paths
    from i2i.serve.config import ServeConfig
    from i2i.serve.server import serve

    d = ServeConfig()
    parser = argparse.ArgumentParser(
        prog="i2i serve",
        description="Serve models: a drawing page at / and a REST API under /v1 (OpenAPI page at /docs). "
        "Ctrl-C stops it.",
    )
    parser.add_argument(
        "models",
        nargs="*",
        help="release folders, run folders or checkpoints, each PATH or NAME=PATH (the name in URLs; default: the "
        "folder name); a folder of release folders stands for all of them; none: the models bundled in models/",
    )
    parser.add_argument("--host", default=d.host, help=f"address to listen on (default {d.host}: this machine only)")
    parser.add_argument("--port", type=int, default=d.port, help=f"port (default {d.port}; 0: any free port)")
    parser.add_argument("--device", default=d.device, help="auto (CUDA if available, default), cpu, cuda or cuda:N")
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default=d.runtime,
        help="torch, onnx (each release's ONNX graphs in onnxruntime: no torch needed) or auto (default: per model, "
        "as i2i translate chooses)",
    )
    parser.add_argument(
        "--max-upload-mb", type=float, default=d.max_upload_bytes / 2**20, help="largest request body in MB (10)"
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=d.max_pixels,
        help=f"largest image (width x height) decoded; checked from the header (default {d.max_pixels}, 2048x2048)",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=d.body_timeout_s,
        help=f"seconds a request body may take to arrive; slower uploads get 408 (default {d.body_timeout_s:g})",
    )
    parser.add_argument("--workers", type=int, default=d.workers, help=f"inference threads (default {d.workers})")
    parser.add_argument(
        "--queue", type=int, default=d.queue_size, help=f"requests that may wait; more get 503 (default {d.queue_size})"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=d.timeout_s,
        help=f"seconds a request may wait for a worker before it gets 503 (default {d.timeout_s:g})",
    )
    parser.add_argument(
        "--max-batch", type=int, help="same-size requests of a model run together, up to this (default: 8 on CUDA, 1)"
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow pages from ORIGIN (e.g. http://localhost:3000) to call the API; repeatable (default: none)",
    )
    parser.add_argument(
        "--png-compression",
        type=int,
        default=d.png_compression,
        help="PNGs sent back: 0 stores them uncompressed (fastest to write, about 1.5x larger), 1 (default) "
        "Huffman-only, 2-9 zlib levels (smaller, slower)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host is NAME (any port); repeatable; * for any. Default: the names of "
        "the address it listens on (127.0.0.1, localhost, [::1] for this machine; any for 0.0.0.0 or ::)",
    )
    parser.add_argument(
        "--head-timeout",
        type=float,
        default=d.head_timeout_s,
        help=f"seconds a connection may take to send a request's line and headers before it is closed, and may "
        f"stay idle between requests (default {d.head_timeout_s:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=d.max_connections,
        help=f"open connections; beyond it the one idle longest is closed (default {d.max_connections})",
    )
    parser.add_argument(
        "--max-requests",
        type=int,
        default=d.max_requests,
        help=f"requests handled at once; more get 503 with Retry-After, /v1/health and /v1/ready never "
        f"(default {d.max_requests})",
    )
    parser.add_argument("--access-log", action="store_true", help="print a line per request")
    args = parser.parse_args(argv)
    config = ServeConfig(
        host=args.host,
        port=args.port,
        device=args.device,
        runtime=args.runtime,
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        max_pixels=args.max_pixels,
        body_timeout_s=args.body_timeout,
        workers=args.workers,
        queue_size=args.queue,
        timeout_s=args.timeout,
        max_batch=args.max_batch,
        cors_origins=list(args.cors_origin),
        png_compression=args.png_compression,
        allowed_hosts=list(args.allowed_host),
        head_timeout_s=args.head_timeout,
        max_connections=args.max_connections,
        max_requests=args.max_requests,
    )
    try:
        config.check()
    except ValueError as exc:
        raise I2IError(f"i2i serve: {exc}") from None
    try:
        serve(model_paths(list(args.models)), config, access_log=args.access_log)
    except KeyboardInterrupt:
        pass
    return 0


def _data(argv: Sequence[str]) -> int:
    from i2i.datatools.commands import main as data_main

    return data_main(argv)


def _one_line(exc: I2IError) -> str:
    """The message of a user error, with control characters (a newline in a file name) escaped so that it stays one
    line; a dataset's list of bad files keeps its line breaks (each listed name is escaped where it is made)."""
    from i2i.errors import DatasetError, show_path

    return str(exc) if isinstance(exc, DatasetError) else show_path(str(exc))


COMMANDS = {
    "train": (_train, "train a model from a recipe"),
    "eval": (_eval, "score a model on a paired, unpaired or class-folder split: CSV, JSON summary and HTML report"),
    "translate": (_translate, "translate images, folders and globs"),
    "classify": (_classify, "say which categories images show (a classifier's top-k with probabilities)"),
    "export": (_export, "write a release folder from a run"),
    "bench": (_bench, "measure training and inference speed of a recipe (table + JSON)"),
    "gallery": (_gallery, "show what the bundled models do with their examples (one HTML page)"),
    "serve": (_serve, "serve models: a drawing page and a REST API (the bundled models by default)"),
    "data": (_data, "prepare and check datasets: check, combine, split, pairs, sketchy, download"),
}


# The import names of the packages the torch and serve extras bring (pyproject.toml): a command that needs one of
# them, run in an install without it (pip install 'i2i[onnx]'), says which extra to install instead of a traceback.
_SERVE_EXTRA = frozenset({"fastapi", "uvicorn", "multipart", "fastapi_offline"})
_TORCH_EXTRA = frozenset(
    {"torch", "torchvision", "safetensors", "tensorboard", "torchmetrics", "torch_fidelity", "onnx", "onnxscript"}
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if argv and argv[0].split("=", 1)[0] == "--max-pixels":  # i2i --max-pixels N COMMAND ...: the image size limit
        from i2i.imageio import take_max_pixels_option

        try:
            argv = take_max_pixels_option(argv)
        except I2IError as exc:
            print(f"i2i: error: {exc}", file=sys.stderr)
            return 2
    if not argv or argv[0] in ("-h", "--help"):
        from i2i.imageio import DEFAULT_MAX_PIXELS

        lines = [f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items()]
        print(
            "usage: i2i [--max-pixels N] COMMAND [options]   (i2i COMMAND --help for details)\n\ncommands:\n"
            + "\n".join(lines)
            + "\n\noptions:\n"
            "  --max-pixels N  refuse images of more than N pixels (width × height) before decoding them\n"
            f"                  (default {DEFAULT_MAX_PIXELS}; the I2I_MAX_PIXELS environment variable sets it too)"
        )
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from i2i import __version__

        print(f"i2i {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        from i2i.errors import did_you_mean

        print(f"i2i: error: unknown command '{name}'{did_you_mean(name, COMMANDS)}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[name][0](rest)
    except I2IError as exc:
        print(f"i2i: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in _TORCH_EXTRA | _SERVE_EXTRA:
            raise
        extra = "serve" if missing in _SERVE_EXTRA else "torch"
        portable = extra == "torch" and name in ("translate", "classify", "serve")
        hint = " (or --runtime onnx with releases that have ONNX graphs)" if portable else ""
        print(
            f"i2i: error: 'i2i {name}' needs {missing}, which is not installed: pip install 'i2i[{extra}]'{hint}",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:  # the reader of our output went away (`i2i classify ... | head`): nothing to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that flushing stdout at exit does not fail again
        return 141
    except OSError as exc:  # disk full, permission denied, ...: say what and where, without a traceback
        print(f"i2i: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("i2i: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
