"""The release format's torch-free half: file names, the ``config.json`` version rules and limits, and the checks
every reader applies to a folder anyone may have crafted (size-capped JSON, files confined to the folder, value
ranges). ``artifact.release`` (weights, writing) and ``portable`` (the ONNX runtime, which runs without torch) both
read releases through it; ``docs/release-format.md`` documents every field.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from i2i.direction import DIRECTIONS
from i2i.errors import CheckpointError
from i2i.fileinfo import regular_file

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
REVERSE_WEIGHTS = "model_reverse.safetensors"
CARD = "README.md"
EXAMPLES = "examples"  # example inputs (optional, not read back)
ONNX = "model.onnx"  # the ONNX graphs (optional: `i2i export --onnx`)
REVERSE_ONNX = "model_reverse.onnx"
FORMAT = "i2i-release"
VERSION = 3  # raise it when a release written by this code could not be read by an older i2i
# Weight storage: float32 (the networks' own dtype; version 1) or float16 (half the size; version 2, which an i2i
# that knows only version 1 refuses instead of misreading).
WEIGHTS_DTYPE_VERSIONS = {"float32": 1, "float16": 2}
# What a release holds: a translation model (any version) or a classifier (version 3 on: an older i2i refuses it
# as too new instead of looking for its generator).
KINDS = {"translator": 1, "classifier": 3}
MAX_LABELS = 100_000
MAX_LABEL_CHARS = 200

MAX_CARD_READ_BYTES = 64 * 1024  # how much of a README.md card_title reads
MAX_CONFIG_BYTES = 2**20  # a release's config.json is about 1.5 kB
MAX_HEADER_BYTES = 2**24  # a safetensors header (JSON) of 16 MiB describes ~100k tensors
MAX_SIDE = 16384  # the largest image side a graph's size rule may name, as configs
# What a release may declare for a generator: no network i2i trains needs inputs in multiples of more than 1024
# pixels (a 10-level U-Net), nor is run at more than 4096 pixels a side; larger values only make every image huge
# (a size_multiple of 16384 turns a 256² sketch into 16384², 7.6 GB). Every image is also held to the pixel limit
# at the size the network runs at (``Preprocessing.check_size``).
MAX_MULTIPLE = 1024
MAX_INFER_SIDE = 4096
MAX_CLASSIFIER_SIDE = 4096  # the largest input a classifier release may ask images to be resized to
RESIZE_MODES = ("bicubic", "bilinear", "nearest")  # data.config.ResizeMode (a test keeps them equal)
BN_MODES = ("per_image", "running")


def is_release(path: str | Path) -> bool:
    """Whether ``path`` is meant as a release folder: it has a ``config.json`` (of any kind: reading checks it)."""
    return os.path.lexists(Path(path) / CONFIG)


def card_title(path: str | Path, limit: int = 300) -> str:
    """What the release in folder ``path`` is, in words: the first line of its ``README.md`` (a heading's text,
    at most ``limit`` characters); "" when it has no readable card. Never raises."""
    card = Path(path) / CARD
    try:
        if not card.is_file() or card.is_symlink():
            return ""
        with card.open("rb") as f:
            text = f.read(MAX_CARD_READ_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""
    first = next((line.strip().lstrip("#").strip() for line in text.splitlines() if line.strip()), "")
    return "".join(c if c.isprintable() else " " for c in first[:limit])  # shown in terminals and pages as is


def read_config(path: Path) -> dict[str, Any]:
    """The parsed ``config.json`` of release folder ``path``, checked to be a release this i2i can read."""
    config_path = path / CONFIG
    meta = read_json(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{config_path}: not an i2i release config (format is not '{FORMAT}')")
    version = meta.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"{config_path}: version must be a whole number, got {version!r}")
    if version > VERSION:
        raise CheckpointError(f"{config_path}: release version {version} is newer than this i2i supports")
    kind = meta.get("kind", "translator")
    if kind not in KINDS:
        raise CheckpointError(f"{config_path}: kind must be one of {', '.join(KINDS)}, got {short(kind)}")
    if version < KINDS[kind]:
        raise CheckpointError(f"{config_path}: kind {kind} needs release version {KINDS[kind]}, got {version}")
    for key in ("classifier" if kind == "classifier" else "generator", "preprocessing"):
        if not isinstance(meta.get(key), dict):
            raise CheckpointError(f"{config_path}: the '{key}' section is missing or not a mapping")
    method = meta.get("method", "")
    if not isinstance(method, str) or len(method) > 64 or not method.isprintable():
        raise CheckpointError(f"{config_path}: method must be a name of printable characters, got {short(method)}")
    return meta


def read_json(path: Path) -> Any:
    """The JSON value in release folder ``path``'s config.json: a regular file inside the folder, of sane size."""
    config_path = path / CONFIG
    if not os.path.lexists(config_path):
        raise CheckpointError(f"{path}: not a release folder (no {CONFIG})")
    inside(path, CONFIG)
    size = regular_file(config_path)
    if size > MAX_CONFIG_BYTES:
        raise CheckpointError(
            f"{config_path}: {size:,} bytes is too large for a release config (at most {MAX_CONFIG_BYTES:,})"
        )
    try:
        return json.loads(config_path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise CheckpointError(f"{config_path}: unreadable ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise CheckpointError(f"{config_path}: unreadable (not UTF-8 text)") from None
    except RecursionError:
        raise CheckpointError(f"{config_path}: unreadable (JSON nested too deeply)") from None
    except ValueError as exc:
        raise CheckpointError(f"{config_path}: unreadable (not valid JSON: {exc})") from None


def inside(folder: Path, name: str) -> Path:
    """``folder / name``, refused when it resolves (symlinks followed) to a place outside ``folder``."""
    file = folder / name
    try:
        real, root = file.resolve(), folder.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise CheckpointError(f"{file}: cannot be resolved ({exc})") from None
    if not real.is_relative_to(root):
        raise CheckpointError(f"{file}: points outside the release folder (to {real}); refusing to read it")
    return file


def read_labels(value: Any, where: str) -> list[str]:
    if (
        not isinstance(value, list)
        or not 2 <= len(value) <= MAX_LABELS
        or not all(isinstance(v, str) and 0 < len(v) <= MAX_LABEL_CHARS for v in value)
    ):
        raise CheckpointError(
            f"{where}: labels must be a list of 2 to {MAX_LABELS:,} category names of 1 to {MAX_LABEL_CHARS} "
            f"characters, got {short(value)}"
        )
    if len(set(value)) != len(value):
        raise CheckpointError(f"{where}: labels must be distinct, got {short(value)}")
    odd = next((v for v in value if not v.isprintable() or v != v.strip()), None)
    if odd is not None:  # a newline would split `i2i classify`'s one line per image, an ESC restyle the terminal
        raise CheckpointError(
            f"{where}: labels must be printable text without control characters or surrounding spaces, got {short(odd)}"
        )
    return list(value)


def file_name(value: Any, where: str, key: str = "reverse.weights") -> str:
    """A file named in config.json (at ``key``): a plain file name inside the release folder, nothing else."""
    if (
        not isinstance(value, str)
        or not value
        or "\0" in value
        or Path(value).name != value
        or value in (".", "..")
        or "/" in value
        or "\\" in value
    ):
        raise CheckpointError(f"{where}: {key} must be a file name inside the release folder, got {short(value)}")
    return value


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for one-line messages about values from a file."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_preprocessing(pre: Any, key: str, where: str, multiple: int, fixed_size: int | None, network: str) -> None:
    """Refuses a generator's preprocessing (``inference.preprocessing.Preprocessing``) that it cannot be run with:
    it would fail, or ask for absurd memory, at translation. ``multiple``/``fixed_size``: the network's own size
    rule; ``network``: its name, for messages."""

    def refuse(field: str, rule: str, value: Any) -> CheckpointError:
        return CheckpointError(f"{where}: {key}.{field} must be {rule}, got {short(value)}")

    for field in ("input_channels", "output_channels"):
        if getattr(pre, field) not in (1, 3):
            raise refuse(field, "1 or 3", getattr(pre, field))
    if pre.direction not in DIRECTIONS:
        raise refuse("direction", " or ".join(DIRECTIONS), pre.direction)
    if tuple(pre.normalize) != (-1.0, 1.0):
        raise refuse("normalize", "[-1.0, 1.0] (the only range supported)", list(pre.normalize))
    if not 1 <= pre.size_multiple <= MAX_MULTIPLE or pre.size_multiple % multiple:
        rule = f"a multiple of {multiple} (the generator's) up to {MAX_MULTIPLE}"
        raise refuse("size_multiple", rule, pre.size_multiple)
    if pre.infer_size is not None and not 1 <= pre.infer_size <= MAX_INFER_SIDE:
        raise refuse("infer_size", f"null or between 1 and {MAX_INFER_SIDE}", pre.infer_size)
    if pre.fixed_size != fixed_size:
        rule = "null" if fixed_size is None else str(fixed_size)
        raise refuse("fixed_size", f"{rule} for {network}", pre.fixed_size)
    if pre.fixed_size is not None and not 1 <= pre.fixed_size <= MAX_INFER_SIDE:
        raise refuse("fixed_size", f"null or between 1 and {MAX_INFER_SIDE}", pre.fixed_size)
    if pre.resize_mode not in RESIZE_MODES:
        raise refuse("resize_mode", ", ".join(RESIZE_MODES), pre.resize_mode)
    if pre.bn_inference not in BN_MODES:
        raise refuse("bn_inference", " or ".join(BN_MODES), pre.bn_inference)


def check_classifier_preprocessing(pre: Any, where: str, min_size: int, network: str) -> None:
    """Refuses a classifier's preprocessing (``ClassifierPreprocessing``) it cannot be run with."""

    def refuse(field: str, rule: str, value: Any) -> CheckpointError:
        return CheckpointError(f"{where}: preprocessing.{field} must be {rule}, got {short(value)}")

    if pre.input_channels not in (1, 3):
        raise refuse("input_channels", "1 or 3", pre.input_channels)
    if not min_size <= pre.image_size <= MAX_CLASSIFIER_SIDE:
        raise refuse("image_size", f"between {min_size} and {MAX_CLASSIFIER_SIDE} for {network}", pre.image_size)
    if pre.resize_mode not in RESIZE_MODES:
        raise refuse("resize_mode", ", ".join(RESIZE_MODES), pre.resize_mode)
    if tuple(pre.normalize) != (-1.0, 1.0):
        raise refuse("normalize", "[-1.0, 1.0] (the only range supported)", list(pre.normalize))


@dataclass(frozen=True)
class OnnxSpec:
    """A release's ONNX graph for one network (the ``onnx`` section, or ``reverse.onnx``): its file, input and
    output names, the image sizes it takes (``fixed`` square side, or any multiple of ``multiple`` of at least
    ``min_side`` pixels), and the (torch, onnx) milliseconds per image export measured on a CPU, if it did."""

    file: str
    input: str
    output: str
    multiple: int | None
    fixed: int | None
    min_side: int
    cpu_ms: tuple[float, float] | None = None


def read_onnx_spec(data: Any, key: str, where: str) -> OnnxSpec:
    """The ``onnx`` entry ``key`` of a release's config.json, every field checked."""
    if not isinstance(data, dict):
        raise CheckpointError(f"{where}: {key} must be a mapping (file, input, output, size), got {short(data)}")
    name = file_name(data.get("file"), where, f"{key}.file")
    names = []
    for field in ("input", "output"):
        value = data.get(field)
        if not isinstance(value, str) or not 0 < len(value) <= 100:
            raise CheckpointError(f"{where}: {key}.{field} must be a tensor name, got {short(value)}")
        names.append(value)
    size = data.get("size")
    if not isinstance(size, dict) or len({"fixed", "multiple"} & set(size)) != 1:
        raise CheckpointError(f"{where}: {key}.size must hold 'fixed' or 'multiple' (and 'min'), got {short(size)}")

    def whole(field: str, default: int | None = None) -> int:
        value = size.get(field, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_SIDE:
            raise CheckpointError(f"{where}: {key}.size.{field} must be a whole number from 1 to {MAX_SIDE}, got "
                                  f"{short(value)}")  # fmt: skip
        return value

    cpu_ms = _cpu_ms(data.get("cpu_ms"), where, key)
    if "fixed" in size:
        fixed = whole("fixed")
        return OnnxSpec(name, names[0], names[1], None, fixed, fixed, cpu_ms)
    multiple = whole("multiple")
    return OnnxSpec(name, names[0], names[1], multiple, None, whole("min", multiple), cpu_ms)


def _cpu_ms(data: Any, where: str, key: str) -> tuple[float, float] | None:
    """The optional ``cpu_ms`` timing of an ``onnx`` entry as (torch, onnx) milliseconds."""
    if data is None:
        return None
    times = [data.get(runtime) if isinstance(data, dict) else None for runtime in ("torch", "onnx")]
    if not all(isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t < 1e9 for t in times):
        raise CheckpointError(f"{where}: {key}.cpu_ms must hold positive milliseconds 'torch' and 'onnx', got "
                              f"{short(data)}")  # fmt: skip
    return float(times[0]), float(times[1])


def describe_model(method: str, labels: list[str] | None, directions: list[str]) -> str:
    """What a model is, in words, for messages: a classifier of ``labels``, or a translation model."""
    if labels is not None:
        shown = ", ".join(labels[:4]) + (", ..." if len(labels) > 4 else "")
        return f"a {method} of {len(labels)} categories ({shown})"
    return f"a {method} translation model ({', '.join(directions)})"
