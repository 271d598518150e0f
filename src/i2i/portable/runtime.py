"""``OnnxTranslator`` and ``OnnxClassifier``: a release's ONNX graphs run by onnxruntime, with numpy and Pillow
only, giving what ``Translator`` and ``Classifier`` give (same preprocessing, padding, resizing and rounding; the
BatchNorm rule is inside the graph) within the tolerance the export checked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from i2i.artifact.release_format import (
    CONFIG,
    OnnxSpec,
    check_classifier_preprocessing,
    check_preprocessing,
    inside,
    read_config,
    read_labels,
    read_onnx_spec,
    short,
)
from i2i.config import from_dict
from i2i.errors import CheckpointError, ConfigError, I2IError, ModelInputError, ModelRunError
from i2i.fileinfo import regular_file
from i2i.imageio import to_channels
from i2i.inference.preprocessing import ClassifierPreprocessing, Preprocessing
from i2i.portable import pixels
from i2i.portable.session import RUN_TIMEOUT_S, open_session, run_session

Prediction = list[tuple[str, float]]


def translate_by_size(
    images: list[np.ndarray], channels: int, batch_size: int, translate_batch: Callable[[list[np.ndarray]], list]
) -> list[np.ndarray]:
    """Translates (H, W, ``channels``) uint8 images of any sizes through ``translate_batch``, images of equal size
    batched together (at most ``batch_size`` at once); the results in the order of ``images``."""
    for im in images:
        if not isinstance(im, np.ndarray) or im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != channels:
            shape = getattr(im, "shape", type(im).__name__)
            raise ValueError(f"expected (H, W, {channels}) uint8 images, got {getattr(im, 'dtype', '')} {shape}")
    out: list[np.ndarray | None] = [None] * len(images)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(im.shape[:2], []).append(i)
    for indices in groups.values():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start : start + batch_size]
            for i, result in zip(chunk, translate_batch([images[i] for i in chunk]), strict=True):
                out[i] = result
    return out  # type: ignore[return-value]


def input_refusal(translator: OnnxTranslator | Any, image: np.ndarray) -> ModelInputError | None:
    """Why ``translator`` (either runtime) would refuse ``image`` for its size (``Preprocessing.check_size`` at the
    translator's pixel limit), or None: callers that go through many images (eval) skip it and go on."""
    try:
        translator.pre.check_size(*image.shape[:2], translator.max_pixels)
    except ModelInputError as exc:
        return exc
    return None


def check_classifier_inputs(images: list[np.ndarray]) -> None:
    """Refuses anything but (H, W, 1|3) uint8 arrays, in one line."""
    for im in images:
        if not isinstance(im, np.ndarray) or im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] not in (1, 3):
            shape = getattr(im, "shape", type(im).__name__)
            raise ValueError(f"expected (H, W, 1|3) uint8 images, got {getattr(im, 'dtype', '')} {shape}")


def top_predictions(probabilities: np.ndarray, labels: list[str], top_k: int) -> list[Prediction]:
    """Each row's ``top_k`` most likely categories with their probabilities, most likely first (ties: label order)."""
    out = []
    for probs in probabilities:
        order = np.argsort(-probs, kind="stable")[: max(1, top_k)]
        out.append([(labels[i], float(probs[i])) for i in order])
    return out


def check_output(y: Any, expected: tuple[int, ...], what: str) -> np.ndarray:
    """``y``, a graph's output, refused (ModelRunError, one line naming ``what``) unless it is a finite float array
    of shape ``expected``: a graph that gives another rank, batch, channel count, size or number of categories than
    its release declares, or NaN, would otherwise turn into wrong pixels or names without a word."""
    if not isinstance(y, np.ndarray) or y.dtype.kind != "f":
        kind = getattr(y, "dtype", type(y).__name__)
        raise ModelRunError(f"{what}: its output is {kind}, expected float values")
    if y.shape != tuple(expected):
        raise ModelRunError(f"{what}: its output has shape {list(y.shape)}, expected {list(expected)}")
    if not np.isfinite(y).all():
        raise ModelRunError(f"{what}: its output holds NaN or infinite values")
    return y


RUNTIMES = ("auto", "torch", "onnx")
# On a CPU, auto takes the ONNX graph only when export timed it at most this fraction of torch's time: closer than
# that, a second of timed calls cannot tell them apart, and the choice would change from one export to the next.
ONNX_CLEARLY_FASTER = 0.9


def resolve_runtime(runtime: str, path: str | Path, device: str = "auto") -> str:
    """``torch`` or ``onnx`` for ``runtime``. ``auto`` takes the ONNX graph where torch is not installed; on a CPU,
    the runtime that export measured faster for this release (its ``cpu_ms``: the ONNX graph when onnxruntime is
    installed and was at least 10 % faster); torch otherwise (GPUs, run folders, checkpoints, releases without a
    graph)."""
    if runtime not in RUNTIMES:
        raise I2IError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if runtime == "onnx":
        return runtime
    try:
        import torch
    except ImportError:
        if runtime == "torch":
            raise I2IError("the torch runtime needs PyTorch, which is not installed: pip install 'i2i[torch]', "
                           "or use --runtime onnx with a release that has model.onnx") from None  # fmt: skip
        return "onnx"
    if runtime == "torch" or device not in ("auto", "cpu") or not onnx_faster_on_cpu(path):
        return "torch"
    if device == "auto" and torch.cuda.is_available():
        return "torch"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "torch"
    return "onnx"


def onnx_faster_on_cpu(path: str | Path) -> bool:
    """Whether ``path`` is a release with an ONNX graph that export timed clearly faster on a CPU than the torch
    runtime (``ONNX_CLEARLY_FASTER``)."""
    try:
        folder = Path(path)
        data = read_config(folder).get("onnx")
        if not isinstance(data, dict):
            return False
        spec = read_onnx_spec(data, "onnx", str(folder / CONFIG))
    except CheckpointError:
        return False
    return spec.cpu_ms is not None and spec.cpu_ms[1] <= ONNX_CLEARLY_FASTER * spec.cpu_ms[0]


def _section(cls: type, data: Any, name: str, where: str) -> Any:
    try:
        return from_dict(cls, data, name)
    except ConfigError as exc:
        raise CheckpointError(f"{where}: {exc}") from None


def _session(
    folder: Path, spec: OnnxSpec, channels: int, threads: int | None, outputs_per_image: int, rank: int
) -> Any:
    """The session of ``spec``'s file, refused in one line when its input or output does not match config.json:
    one float input of ``channels`` (and the fixed size, if any) after the batch, and a float output whose second
    dimension, where the graph fixes it, is ``outputs_per_image`` (a generator's channels, a classifier's labels),
    of ``rank`` dimensions (4 for a generator, 2 for a classifier) where the graph says."""
    file = inside(folder, spec.file)
    regular_file(file, f"no {spec.file}: this release has no ONNX graph for it")
    session = open_session(file, str(file), threads)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    shape = list(inputs[0].shape) if len(inputs) == 1 else []
    expected = [channels] + ([spec.fixed, spec.fixed] if spec.fixed else [])
    fixed_dims = [d for d in shape[1:] if isinstance(d, int)] if len(shape) == 4 else None
    if (
        len(inputs) != 1
        or inputs[0].name != spec.input
        or len(shape) != 4
        or shape[1] != channels
        or (spec.fixed and shape[2:] != [spec.fixed, spec.fixed])
        or (not spec.fixed and fixed_dims != [channels])
        or not outputs
        or outputs[0].name != spec.output
    ):
        got = ", ".join(f"{i.name} {list(i.shape)}" for i in inputs) or "none"
        raise CheckpointError(
            f"{file}: its inputs ({got}) or output do not match {CONFIG} (one input '{spec.input}' of "
            f"{expected} after the batch, output '{spec.output}'); export the release again"
        )
    types = [(i.name, i.type) for i in inputs[:1] + outputs[:1] if i.type != "tensor(float)"]
    if types:
        raise CheckpointError(f"{file}: its tensor {types[0][0]!r} is {types[0][1]}, not float32 as i2i exports")
    out_shape = list(outputs[0].shape or []) if outputs else []
    if out_shape and (len(out_shape) != rank or (isinstance(out_shape[1], int) and out_shape[1] != outputs_per_image)):
        raise CheckpointError(  # a shape the graph leaves open is checked on every run instead (check_output)
            f"{file}: its output has shape {out_shape}, expected {rank} dimensions with {outputs_per_image} values "
            f"per image as {CONFIG} declares (channels, or one per label); export the release again"
        )
    return session


class OnnxTranslator:
    """One generator of a release run by onnxruntime on uint8 images of any size; mirrors ``Translator``.

    Example::

        translator = OnnxTranslator.from_pretrained("models/facades")
        photo = translator([label_map])[0]  # (H, W, 3) uint8 in, (H, W, 3) uint8 out
    """

    runtime = "onnx"
    # The most pixels the graph may run at per image (after resizing and padding); None: i2i's pixel limit
    # (``imageio.max_pixels``). A server sets its own.
    max_pixels: int | None = None
    timeout_s: float = RUN_TIMEOUT_S  # one run of the graph is stopped after this

    def __init__(self, session: Any, pre: Preprocessing, spec: OnnxSpec) -> None:
        self.session = session
        self.pre = pre
        self.spec = spec

    @classmethod
    def from_pretrained(
        cls, path: str | Path, direction: str | None = None, threads: int | None = None
    ) -> OnnxTranslator:
        """Opens release folder ``path`` and the ONNX graph of ``direction`` (None: the trained one); ``threads``:
        onnxruntime's intra-op threads (None: one per usable CPU)."""
        folder = Path(path)
        meta = read_config(folder)
        where = str(folder / CONFIG)
        if meta.get("kind") == "classifier":
            raise CheckpointError(f"{folder}: is a classifier, not a translation model; use `i2i classify` with it")
        entries = [(meta, "preprocessing", "onnx")]
        if isinstance(meta.get("reverse"), dict):
            entries.append((meta["reverse"], "reverse.preprocessing", "reverse.onnx"))
        found = []
        for section, pre_key, onnx_key in entries:
            pre = _section(Preprocessing, section.get("preprocessing"), pre_key, where)
            found.append((pre, section, pre_key, onnx_key))
        if direction is None:
            chosen = found[0]
        else:
            matches = [f for f in found if f[0].direction == direction]
            if not matches:
                raise CheckpointError(
                    f"{folder}: this model translates {found[0][0].direction} only; --direction {direction} needs a "
                    "method that learns both directions (cyclegan, ugatit)"
                )
            chosen = matches[0]
        pre, section, pre_key, onnx_key = chosen
        if section.get("onnx") is None:
            raise CheckpointError(
                f"{folder}: has no ONNX graph for {pre.direction} ({onnx_key} missing in {CONFIG}); add one with "
                f"`i2i export {folder} --out NEW_FOLDER --onnx`"
            )
        spec = read_onnx_spec(section["onnx"], onnx_key, where)
        multiple = spec.multiple or 1
        check_preprocessing(pre, pre_key, where, multiple, spec.fixed, f"the ONNX graph ({spec.file})")
        return cls(_session(folder, spec, pre.input_channels, threads, pre.output_channels, 4), pre, spec)

    def network_input(self, images: list[np.ndarray]) -> tuple[np.ndarray, tuple[int, int]]:
        """What the graph is fed for (H, W, C) uint8 images of one size (resized and padded as in PyTorch), and the
        size to crop its output to."""
        pre = self.pre
        height, width = images[0].shape[:2]
        pre.check_size(height, width, self.max_pixels)
        x = pixels.to_network(images)
        if pre.fixed_size is not None:
            x = pixels.resize(x, (pre.fixed_size, pre.fixed_size), pre.resize_mode)
        elif pre.infer_size is not None:
            x = pixels.resize(x, pixels.short_side_size(height, width, pre.infer_size), pre.resize_mode)
        x, size = pixels.pad_to_multiple(x, pre.size_multiple)
        if min(x.shape[-2:]) < self.spec.min_side:
            raise ModelInputError(
                f"a {width}x{height} image is too small for this model: it needs at least {self.spec.min_side} "
                f"pixels on each side after padding to a multiple of {pre.size_multiple}, got "
                f"{x.shape[-1]}x{x.shape[-2]}"
            )
        return np.ascontiguousarray(x), size

    def translate_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Translates (H, W, C) uint8 images that all have the same size, as one batch."""
        if not images:
            return []
        height, width = images[0].shape[:2]
        x, (h, w) = self.network_input(images)
        y = run_session(self.session, self.spec.output, {self.spec.input: x}, self.spec.file, self.timeout_s)
        expected = (x.shape[0], self.pre.output_channels, *x.shape[2:])
        check_output(y, expected, self.spec.file)
        return pixels.to_images(pixels.resize(y[..., :h, :w], (height, width), self.pre.resize_mode))

    def __call__(self, images: list[np.ndarray], batch_size: int = 8) -> list[np.ndarray]:
        """Translates (H, W, C) uint8 images of any sizes; images of equal size are batched together."""
        return translate_by_size(images, self.pre.input_channels, batch_size, self.translate_batch)


class OnnxClassifier:
    """A classifier release run by onnxruntime; mirrors ``Classifier`` (probabilities, top-k)."""

    runtime = "onnx"
    timeout_s: float = RUN_TIMEOUT_S  # one run of the graph is stopped after this

    def __init__(self, session: Any, pre: ClassifierPreprocessing, labels: list[str], spec: OnnxSpec) -> None:
        self.session = session
        self.pre = pre
        self.labels = labels
        self.spec = spec

    @classmethod
    def from_pretrained(cls, path: str | Path, threads: int | None = None) -> OnnxClassifier:
        folder = Path(path)
        meta = read_config(folder)
        where = str(folder / CONFIG)
        if meta.get("kind") != "classifier":
            raise CheckpointError(f"{folder}: is a translation model, not a classifier; use `i2i translate` with it")
        labels = read_labels(meta.get("labels"), where)
        pre = _section(ClassifierPreprocessing, meta["preprocessing"], "preprocessing", where)
        if meta.get("onnx") is None:
            raise CheckpointError(
                f"{folder}: has no ONNX graph (onnx missing in {CONFIG}); add one with "
                f"`i2i export {folder} --out NEW_FOLDER --onnx`"
            )
        spec = read_onnx_spec(meta["onnx"], "onnx", where)
        if spec.fixed != pre.image_size:
            raise CheckpointError(
                f"{where}: onnx.size.fixed must be preprocessing.image_size ({pre.image_size}), got {short(spec.fixed)}"
            )
        check_classifier_preprocessing(pre, where, 1, f"the ONNX graph ({spec.file})")
        return cls(_session(folder, spec, pre.input_channels, threads, len(labels), 2), pre, labels, spec)

    def probabilities(self, images: list[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """(N, categories) probabilities of (H, W, 1|3) uint8 images of any sizes."""
        check_classifier_inputs(images)
        if not images:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        size = (self.pre.image_size, self.pre.image_size)
        rows = [
            pixels.resize(pixels.to_network([to_channels(im, self.pre.input_channels)]), size, self.pre.resize_mode)
            for im in images
        ]
        chunks = []
        for i in range(0, len(rows), batch_size):
            x = np.concatenate(rows[i : i + batch_size])
            y = run_session(self.session, self.spec.output, {self.spec.input: x}, self.spec.file, self.timeout_s)
            chunks.append(check_output(y, (x.shape[0], len(self.labels)), self.spec.file))
        return np.concatenate(chunks)

    def __call__(self, images: list[np.ndarray], top_k: int = 5) -> list[Prediction]:
        """The ``top_k`` most likely categories of each image with their probabilities, most likely first."""
        return top_predictions(self.probabilities(images), self.labels, top_k)
