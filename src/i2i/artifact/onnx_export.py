"""A release's networks as ONNX graphs that run without PyTorch (``portable.onnx``), each checked against PyTorch
before anything is written.

A generator is exported exactly as inference runs it (``inference.pipeline.prepare_generator``: dropout off,
BatchNorm per the release's ``bn_inference`` rule), with a dynamic batch and, where the architecture allows, dynamic
height and width in multiples of its size multiple (``2**depth`` for a U-Net); a generator built for one size (the
full U-GAT-IT) and every classifier take their fixed square size. Resizing and padding stay outside the graph, in the
runtime, as in the torch path.

The exporter is PyTorch's current one (``torch.onnx.export(..., dynamo=True)`` on a ``torch.export`` program with
``dynamic_shapes``); the TorchScript exporter is tried only when it fails, and the release records which one made
each file. Every graph is then run in onnxruntime on seeded inputs of several sizes and batch sizes and refused
(nothing written) when an output differs from PyTorch's by more than ``TOLERANCE``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from i2i.artifact.model import ClassifierNetwork, Generator
from i2i.artifact.release_format import MAX_SIDE, read_onnx_spec
from i2i.errors import I2IError
from i2i.inference.pipeline import prepare_generator
from i2i.portable.session import open_session

OPSET = 18
INPUT = "image"
OUTPUT = "output"
PROBABILITIES = "probabilities"
# Largest difference allowed between onnxruntime and PyTorch: generator outputs in [-1, 1] (a quarter of one uint8
# level, so uint8 images differ by at most 1 level), classifier probabilities.
TOLERANCE = {"generator": 2e-3, "classifier": 1e-4}
MAX_BATCH = 4096
# The release's ``cpu_ms``: per runtime, timed calls for about a second, at least 5 and at most 30.
MIN_TIMED_CALLS, MAX_TIMED_CALLS, TIMING_BUDGET_S = 5, 30, 1.0
SETTLE_S = 0.5  # pause before timing onnxruntime, after torch's calls (see _median_ms)


@dataclass(frozen=True)
class OnnxGraph:
    """One exported network: the ONNX file's bytes and its ``config.json`` entry."""

    data: bytes
    meta: dict[str, Any]


class _FirstOutput(nn.Module):
    """A generator whose forward returns (image, extras) seen as one returning the image only."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)
        return y[0] if isinstance(y, tuple) else y


class _Probabilities(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x).float(), dim=1)


def export_generator(
    generator: Generator, where: str, quantize: str | None = None, calibration: list[np.ndarray] | None = None
) -> OnnxGraph:
    """``generator`` as an ONNX graph checked against PyTorch; ``where`` names the model in messages. ``quantize``
    ``int8``: the checked graph quantized on the ``calibration`` input images (``artifact.quantize``)."""
    pre, cfg = generator.preprocessing, generator.config
    net = _FirstOutput(prepare_generator(generator.network, pre.bn_inference)).eval()
    what = f"{where}: {generator.describe()} ({cfg.name})"
    if cfg.fixed_size is not None:
        size: dict[str, int] = {"fixed": cfg.fixed_size}
        example_side = cfg.fixed_size
        sizes = [(2, cfg.fixed_size, cfg.fixed_size), (1, cfg.fixed_size, cfg.fixed_size)]
    else:
        multiple = cfg.size_multiple
        size = {"multiple": multiple, "min": _min_side(net, pre.input_channels, multiple)}
        # Traced at two blocks or more: at one block a U-Net's innermost map is 1x1, which the tracer specializes.
        base = multiple * math.ceil(64 / multiple)
        example_side = max(base, 2 * multiple)
        sizes = [(2, base, base), (1, 2 * base, base), (1, base, base + multiple)]
    example = torch.rand(2, pre.input_channels, example_side, example_side) * 2 - 1  # batch 1 would be fixed
    data, exporter = _export(net, example, size, OUTPUT, what)
    diff = _check_parity(data, net, pre.input_channels, sizes, TOLERANCE["generator"], what)
    entry = _entry(size, OUTPUT, exporter, diff, "generator", sizes)
    if quantize is not None:
        from i2i.artifact.quantize import quantize_generator
        from i2i.portable.runtime import OnnxTranslator

        spec = read_onnx_spec({"file": "model.onnx", **entry}, "onnx", what)
        fp32 = OnnxTranslator(open_session(data, what), pre, spec)
        data, entry["quantized"] = quantize_generator(fp32, data, calibration or [], what)
    entry["cpu_ms"] = _time_generator(generator, data, entry, what)
    return OnnxGraph(data, entry)


def export_classifier(classifier: ClassifierNetwork, where: str) -> OnnxGraph:
    """A classifier as an ONNX graph giving category probabilities, checked against PyTorch."""
    pre = classifier.preprocessing
    net = _Probabilities(classifier.network.eval()).eval()
    what = f"{where}: the classifier ({classifier.config.name})"
    size = {"fixed": pre.image_size}
    example = torch.rand(2, pre.input_channels, pre.image_size, pre.image_size) * 2 - 1
    sizes = [(1, pre.image_size, pre.image_size), (3, pre.image_size, pre.image_size)]
    data, exporter = _export(net, example, size, PROBABILITIES, what)
    diff = _check_parity(data, net, pre.input_channels, sizes, TOLERANCE["classifier"], what)
    entry = _entry(size, PROBABILITIES, exporter, diff, "classifier", sizes)
    entry["cpu_ms"] = _time_classifier(classifier, data, entry, what)
    return OnnxGraph(data, entry)


def _entry(
    size: dict[str, int], output: str, exporter: str, diff: float, kind: str, sizes: list[tuple[int, int, int]]
) -> dict[str, Any]:
    return {
        "opset": OPSET,
        "input": INPUT,
        "output": output,
        "size": size,
        "exporter": exporter,
        "parity": {
            "max_abs_diff": float(f"{diff:.3g}"),
            "tolerance": TOLERANCE[kind],
            "checked": [list(s) for s in sizes],
        },
    }


def _min_side(net: nn.Module, channels: int, multiple: int) -> int:
    """The smallest square multiple of ``multiple`` the network runs on (a ResNet's instance norms need more than
    one value per map at 1/4 scale: 8 pixels), found by running it; at most 256."""
    side = multiple
    with torch.no_grad():
        while side < 256:
            try:
                net(torch.zeros(1, channels, side, side))
                return side
            except (RuntimeError, ValueError):
                side += multiple
    return side


def _dynamic_shapes(size: dict[str, int]) -> dict[str, dict[int, Any]]:
    from torch.export import Dim

    shapes: dict[int, Any] = {0: Dim("batch", min=1, max=MAX_BATCH)}
    if "multiple" in size:
        m = size["multiple"]
        if m == 1:
            shapes[2], shapes[3] = Dim("height", min=1, max=MAX_SIDE), Dim("width", min=1, max=MAX_SIDE)
        else:
            shapes[2] = m * Dim("height_blocks", min=1, max=MAX_SIDE // m)
            shapes[3] = m * Dim("width_blocks", min=1, max=MAX_SIDE // m)
    return {"x": shapes}


def _export(net: nn.Module, example: torch.Tensor, size: dict[str, int], output: str, what: str) -> tuple[bytes, str]:
    """ONNX bytes of ``net`` and the exporter that made them ("dynamo", else "torchscript")."""
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter's dependency: refuse early, in one line)
    except ImportError:
        raise I2IError("ONNX export needs the onnx and onnxscript packages: pip install 'i2i[torch]'") from None
    with warnings.catch_warnings(), torch.no_grad(), _quiet_exporter_logs():
        warnings.simplefilter("ignore")
        try:
            program = torch.export.export(net, (example,), dynamic_shapes=_dynamic_shapes(size), strict=False)
        except Exception as exc:  # noqa: BLE001  (any tracing failure: reported in one line, then the fallback)
            problem = f"torch.export: {_first_line(exc)}"
        else:
            try:
                onnx_program = torch.onnx.export(
                    program, (example,), dynamo=True, input_names=[INPUT], output_names=[output],
                    opset_version=OPSET, optimize=True, verbose=False,
                )  # fmt: skip
                return onnx_program.model_proto.SerializeToString(), "dynamo"
            except Exception as exc:  # noqa: BLE001
                problem = f"{_failing_layer(exc, program)}{_first_line(exc)}"
        buffer = io.BytesIO()
        axes = {0: "batch"} | ({} if "fixed" in size else {2: "height", 3: "width"})
        try:
            torch.onnx.export(
                net, (example,), buffer, dynamo=False, input_names=[INPUT], output_names=[output],
                dynamic_axes={INPUT: axes, output: axes if output == OUTPUT else {0: "batch"}}, opset_version=OPSET,
            )  # fmt: skip
        except Exception:  # noqa: BLE001  (the first exporter's message is the one that names the layer)
            raise I2IError(f"{what}: cannot be exported to ONNX: {problem}") from None
    return buffer.getvalue(), "torchscript"


@contextlib.contextmanager
def _quiet_exporter_logs() -> Iterator[None]:
    """The exporter's optimizer logs each pass at INFO ("Removed 25 unused nodes", ...), which the CLI would print:
    only its warnings and errors are the user's concern."""
    loggers = [logging.getLogger(name) for name in ("onnxscript", "onnx_ir", "torch.onnx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _failing_layer(exc: BaseException, program: Any) -> str:
    """'layer NAME: ' for the module whose operation the ONNX translator could not convert, when the error names
    the graph node and the node knows its module; else ''."""
    text = str(exc)
    names = re.findall(r"%(\w+)", text)
    nodes = {node.name: node for node in program.graph.nodes}
    for name in names:
        stack = nodes[name].meta.get("nn_module_stack") if name in nodes else None
        if stack:
            path = list(stack.values())[-1][0]
            layer = re.sub(r"^L\['self'\]\.?", "", str(path)).replace("net.", "", 1) or "the network"
            return f"layer {layer} ({nodes[name].target}): "
    return ""


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _check_parity(
    data: bytes, net: nn.Module, channels: int, sizes: list[tuple[int, int, int]], tolerance: float, what: str
) -> float:
    """The largest difference between onnxruntime and PyTorch over seeded inputs of ``sizes`` (batch, h, w);
    refused (an ``I2IError``) beyond ``tolerance``."""
    session = open_session(data, what, threads=None)
    gen = torch.Generator().manual_seed(0)
    worst = 0.0
    for batch, height, width in sizes:
        x = torch.rand(batch, channels, height, width, generator=gen) * 2 - 1
        with torch.no_grad():
            expected = net(x).float().numpy()
        got = session.run(None, {INPUT: x.numpy()})[0]
        if got.shape != expected.shape:
            raise I2IError(
                f"{what}: the ONNX graph gives shape {got.shape} at {height}x{width}, PyTorch {expected.shape}"
            )
        diff = float(np.max(np.abs(got - expected))) if got.size else 0.0
        if not math.isfinite(diff) or diff > tolerance:
            raise I2IError(
                f"{what}: the ONNX graph differs from PyTorch by {diff:.3g} on a {height}x{width} input (tolerance "
                f"{tolerance:g}); nothing was written"
            )
        worst = max(worst, diff)
    return worst


def _time_generator(generator: Generator, data: bytes, entry: dict[str, Any], what: str) -> dict[str, Any]:
    """The CPU timing of a generator: one image of the side it is trained for (its fixed size, else 256 rounded up
    to its size multiple), end to end, as ``Translator`` runs it (the CPU fast path) and as ``OnnxTranslator`` does."""
    from i2i.inference.fast import optimize_for_device
    from i2i.inference.pipeline import translate_arrays
    from i2i.portable.runtime import OnnxTranslator

    pre, fixed, multiple = generator.preprocessing, entry["size"].get("fixed"), entry["size"].get("multiple")
    side = fixed or max(entry["size"]["min"], multiple * math.ceil(256 / multiple))
    image = np.random.default_rng(0).integers(0, 256, (side, side, pre.input_channels), dtype=np.uint8)
    spec = read_onnx_spec({"file": "model.onnx", **entry}, "onnx", what)
    threads = torch.get_num_threads()
    onnx = OnnxTranslator(open_session(data, what, threads=threads), pre, spec)
    onnx_ms = _median_ms(partial(onnx.translate_batch, [image]), settle=True)
    cpu = torch.device("cpu")
    net = optimize_for_device(prepare_generator(generator.network, pre.bn_inference), cpu)
    with torch.inference_mode():
        torch_ms = _median_ms(partial(translate_arrays, net, [image], pre, cpu))
    return {"torch": torch_ms, "onnx": onnx_ms, "side": side, "threads": threads}


def _time_classifier(classifier: ClassifierNetwork, data: bytes, entry: dict[str, Any], what: str) -> dict[str, Any]:
    """The CPU timing of a classifier: one 256x256 image (resized to its input size), end to end, as ``Classifier``
    runs it and as ``OnnxClassifier`` does."""
    from i2i.inference.pipeline import classify_arrays
    from i2i.portable.runtime import OnnxClassifier

    pre = classifier.preprocessing
    image = np.random.default_rng(0).integers(0, 256, (256, 256, pre.input_channels), dtype=np.uint8)
    spec = read_onnx_spec({"file": "model.onnx", **entry}, "onnx", what)
    threads = torch.get_num_threads()
    onnx = OnnxClassifier(open_session(data, what, threads=threads), pre, list(classifier.labels), spec)
    onnx_ms = _median_ms(partial(onnx.probabilities, [image]), settle=True)
    net, cpu = classifier.network.eval(), torch.device("cpu")
    with torch.inference_mode():
        torch_ms = _median_ms(partial(classify_arrays, net, [image], pre, cpu))
    return {"torch": torch_ms, "onnx": onnx_ms, "side": 256, "threads": threads}


def _median_ms(call: Callable[[], Any], settle: bool = False) -> float:
    """The median time of ``call`` in milliseconds: two warm-up calls, then as many timed calls as fit in about
    ``TIMING_BUDGET_S`` (at least ``MIN_TIMED_CALLS``, at most ``MAX_TIMED_CALLS``).

    Export times onnxruntime first, after a pause (``settle``), then torch, never interleaved: for a while after
    torch's calls onnxruntime runs slower (on the 2-core CI machine a classifier's call took 15.7 ms right after
    torch's and 11 ms after half a second; torch's OpenMP threads are the likely cause). Both run with torch's
    thread count."""
    if settle:
        time.sleep(SETTLE_S)
    call()
    call()
    times: list[float] = []
    while len(times) < MIN_TIMED_CALLS or (len(times) < MAX_TIMED_CALLS and sum(times) < TIMING_BUDGET_S):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return round(1000 * statistics.median(times), 2)
