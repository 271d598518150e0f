"""The release format: a folder that holds what translation needs and nothing else (no optimizer state, no
discriminator, nothing pickled). Everything about it lives here: file names, the ``config.json`` schema and its
version, writing and reading. ``docs/release-format.md`` documents every field and the compatibility promise.

Files:
- ``config.json``: format, version, kind, method, the network's architecture (``generator`` or ``classifier``),
  preprocessing, source; a classifier's category names (``labels``); for two-way methods a ``reverse`` section with
  the second generator's weights file and preprocessing.
- ``model.safetensors``: the weights of the trained direction's generator, or of the classifier.
- ``model_reverse.safetensors``: the reverse generator's weights (CycleGAN, U-GAT-IT).
- ``README.md``: a model card (not read back): generated, or the author's own (``card``).
- ``examples/``: example inputs (optional, not read back); kept when the release is replaced.

A release is read as a file anyone may have crafted: every file must be a regular file inside the folder, every
``config.json`` value is checked (types, ranges, agreement with the generator), and a weights file's header is
compared with the network (built on the meta device) before any tensor is read or any memory is allocated
(``i2i.models.weights``). A release is written whole or not at all: built in a temporary sibling folder, then
renamed into place.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save as safetensors_bytes

from i2i import __version__
from i2i.artifact.inputs import InputSpec
from i2i.artifact.model import ClassifierNetwork, Generator, Model, Network, Source
from i2i.artifact.release_format import (
    CARD,
    CONFIG,
    EXAMPLES,
    FORMAT,
    KINDS,
    MAX_HEADER_BYTES,
    MAX_INFER_SIDE,
    MAX_MULTIPLE,
    ONNX,
    REVERSE_ONNX,
    REVERSE_WEIGHTS,
    WEIGHTS,
    WEIGHTS_DTYPE_VERSIONS,
    check_classifier_preprocessing,
    check_preprocessing,
    file_name,
    inside,
    read_config,
    read_json,
    read_labels,
    short,
)
from i2i.atomic import fsync_dir
from i2i.config import from_dict, to_dict
from i2i.errors import CheckpointError, ConfigError, I2IError
from i2i.fileinfo import regular_file
from i2i.inference.preprocessing import ClassifierPreprocessing, Preprocessing
from i2i.models.base import GeneratorConfig
from i2i.models.classifiers import ClassifierNetConfig
from i2i.models.weights import TensorSpec, build_and_load, dtype_name, first_nonfinite, read_safetensors

# Weight storage: float32 (the networks' own dtype) or float16 (half the size), with the release version each needs.
WEIGHTS_DTYPES = {name: (getattr(torch, name), v) for name, v in WEIGHTS_DTYPE_VERSIONS.items()}
# Folders made with mkdtemp are private (0700); a finished release gets the mode a plain mkdir would give it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
# What a release folder may hold besides its own files, when --overwrite replaces it: ``i2i eval``'s reports.
_REPLACEABLE = {CONFIG, WEIGHTS, REVERSE_WEIGHTS, ONNX, REVERSE_ONNX, CARD, EXAMPLES, "eval"}


# --- writing -------------------------------------------------------------------------------------------------------


def release_config(model: Model, weights_dtype: str = "float32") -> dict[str, Any]:
    """The ``config.json`` of ``model`` as plain data (the schema, field by field: docs/release-format.md); its
    version is the lowest that describes it (1; 2 for float16 weights; 3 for a classifier)."""
    version = max(WEIGHTS_DTYPES[weights_dtype][1], KINDS[model.kind])
    meta: dict[str, Any] = {"format": FORMAT, "version": version, "i2i_version": __version__}
    if model.classifier is not None:
        arch = to_dict(model.classifier.config)
        if "weights" in arch:  # the ImageNet file training started from: not needed, and a path of the trainer's
            arch["weights"] = None
        meta |= {
            "kind": "classifier",
            "method": model.method,
            "classifier": arch,
            "labels": list(model.classifier.labels),
            "preprocessing": model.classifier.preprocessing.to_dict(),
            "source": model.source.to_dict(),
        }
        if model.input != InputSpec():
            meta["input"] = model.input.to_dict()
        if weights_dtype != "float32":
            meta["weights_dtype"] = weights_dtype
        return meta
    first = model.generators[0]
    meta |= {
        "method": model.method,
        "generator": to_dict(first.config),
        "preprocessing": first.preprocessing.to_dict(),
        "source": model.source.to_dict(),
    }
    for reverse in model.generators[1:]:
        meta["reverse"] = {"weights": REVERSE_WEIGHTS, "preprocessing": reverse.preprocessing.to_dict()}
    if model.input != InputSpec():
        meta["input"] = model.input.to_dict()
    if weights_dtype != "float32":
        meta["weights_dtype"] = weights_dtype
    return meta


def write_release(
    model: Model,
    out_dir: str | Path,
    overwrite: bool = False,
    weights_dtype: str = "float32",
    card: str | None = None,
    onnx: bool = False,
    quantize: str | None = None,
    calibration: list[np.ndarray] | None = None,
) -> Path:
    """Writes ``model`` as release folder ``out_dir``, whole or not at all.

    ``out_dir`` must be new, an empty folder, or (with ``overwrite``) a release, which is then replaced; a folder
    holding anything else, a run folder and a run's ``checkpoints/`` are refused. The release is built in a
    temporary sibling folder and renamed into place, so a crash or a full disk leaves the previous state (no
    folder, or the old release), never a partial release and no temporary folder. Weights or buffers holding
    NaN/inf are refused before anything is written. ``weights_dtype`` ``float16`` stores the floating-point weights
    at half size (a value beyond float16's range is refused). ``card``: the model card (``README.md``) to ship
    instead of the generated one. A replaced release's ``examples/`` folder is carried into the new one. ``onnx``
    adds each network as an ONNX graph (``model.onnx``, ``model_reverse.onnx``), written only when onnxruntime's
    outputs match PyTorch's (``artifact.onnx_export``); ``quantize`` ``int8`` stores a one-way generator's graph in
    int8, calibrated on the ``calibration`` input images and refused when its images drift (``artifact.quantize``).
    """
    if weights_dtype not in WEIGHTS_DTYPES:
        raise I2IError(f"weights dtype must be one of {', '.join(WEIGHTS_DTYPES)}, got {weights_dtype!r}")
    out_dir = Path(out_dir)
    replacing = _check_destination(out_dir, overwrite)
    meta = release_config(model, weights_dtype)
    stored = WEIGHTS_DTYPES[weights_dtype][0]
    first, *others = model.networks
    files = {WEIGHTS: _weights_bytes(model, first, stored)}
    for reverse in others:
        files[REVERSE_WEIGHTS] = _weights_bytes(model, reverse, stored)
    if quantize is not None:
        _check_quantize(model, quantize, onnx, calibration or [])
    if onnx:
        _add_onnx(model, meta, files, quantize, calibration)
    files[CONFIG] = (json.dumps(meta, indent=2) + "\n").encode("utf-8")
    files[CARD] = (card if card is not None else _model_card(meta)).encode("utf-8")
    _publish(out_dir, files, replacing)
    return out_dir


def _check_quantize(model: Model, quantize: str, onnx: bool, calibration: list[np.ndarray]) -> None:
    """Refuses, before any work, a quantization that cannot be done."""
    from i2i.artifact.quantize import QUANTIZE, check_calibration

    if quantize not in QUANTIZE:
        raise I2IError(f"quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
    if not onnx:
        raise I2IError("--quantize int8 quantizes the ONNX graph: add --onnx")
    if model.classifier is not None or len(model.generators) != 1:
        raise I2IError(
            f"{model.path}: --quantize int8 is for one-way translation models (pix2pix); this is {model.describe()}"
        )
    check_calibration(len(calibration))


def _add_onnx(
    model: Model,
    meta: dict[str, Any],
    files: dict[str, bytes],
    quantize: str | None = None,
    calibration: list[np.ndarray] | None = None,
) -> None:
    """Exports every network of ``model`` to ONNX (each checked against PyTorch) into ``files`` and ``meta``."""
    from i2i.artifact.onnx_export import export_classifier, export_generator

    where = str(model.path)
    if model.classifier is not None:
        graph = export_classifier(model.classifier, where)
        files[ONNX], meta["onnx"] = graph.data, {"file": ONNX} | graph.meta
        return
    for index, generator in enumerate(model.generators):
        graph = export_generator(generator, where, quantize, calibration)
        name = ONNX if index == 0 else REVERSE_ONNX
        files[name] = graph.data
        (meta if index == 0 else meta["reverse"])["onnx"] = {"file": name} | graph.meta


def _check_destination(out_dir: Path, overwrite: bool) -> bool:
    """Refuses a destination a release may not go to; True when it is a release that will be replaced (or a folder
    holding nothing but ``examples/``, which the new release keeps)."""
    if os.path.lexists(out_dir) and not out_dir.is_dir():
        raise I2IError(f"{out_dir}: exists and is not a folder; choose another --out")
    where = out_dir.resolve()
    if (where / "checkpoints").is_dir():
        raise I2IError(
            f"{out_dir}: is a run folder (it holds checkpoints/), which must keep meaning its own checkpoint; "
            f"export next to it or into a subfolder, e.g. --out {out_dir / 'release'}"
        )
    for folder in (where, *where.parents):
        if folder.name == "checkpoints" and ((folder.parent / "config.yaml").is_file() or any(folder.glob("*.pt"))):
            raise I2IError(
                f"{out_dir}: is inside the checkpoints/ folder of run {folder.parent}; export elsewhere, e.g. "
                f"--out {folder.parent / 'release'}"
            )
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return False
    if {p.name for p in out_dir.iterdir()} == {EXAMPLES} and (out_dir / EXAMPLES).is_dir():
        return True  # example inputs waiting for their model: the release goes around them
    if not _holds_release(out_dir):
        raise I2IError(
            f"{out_dir}: not empty and not an i2i release; refusing to write into it (choose a new or empty folder)"
        )
    if not overwrite:
        raise I2IError(f"{out_dir} already holds a release; pass --overwrite to replace it")
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in _REPLACEABLE and not _is_temp(p.name))
    if foreign:
        raise I2IError(
            f"{out_dir}: holds '{foreign[0]}', which is not part of a release; move it away before replacing the "
            "release"
        )
    return True


def _holds_release(folder: Path) -> bool:
    """Whether ``folder``'s config.json says it is an i2i release (format ``i2i-release``; any version)."""
    try:
        meta = read_json(folder)
    except CheckpointError:
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def _is_temp(name: str) -> bool:
    """A leftover of an interrupted atomic write (``.<name>.<random>.tmp``): part of the release being replaced."""
    return name.startswith(".") and name.endswith(".tmp")


def _weights_bytes(model: Model, network: Network, stored: torch.dtype) -> bytes:
    state = {k: v.detach().cpu().contiguous() for k, v in network.network.state_dict().items()}
    bad = first_nonfinite(state)
    if bad is not None:
        raise CheckpointError(
            f"{model.path}: cannot export: tensor '{bad}' of {network.describe()} holds NaN or inf "
            "values (training diverged); export an earlier checkpoint, or train again with a lower learning rate"
        )
    if stored != torch.float32:
        state = {k: v.to(stored) if v.dtype == torch.float32 else v for k, v in state.items()}
        bad = first_nonfinite(state)
        if bad is not None:
            raise CheckpointError(
                f"{model.path}: cannot export as {dtype_name(stored)}: tensor '{bad}' of {network.describe()} "
                "holds values beyond its range; export as float32"
            )
    version = next(v for d, v in WEIGHTS_DTYPES.values() if d == stored)
    return safetensors_bytes(state, metadata={"format": "pt", "i2i_release": str(version)})


def _publish(out_dir: Path, files: dict[str, bytes], replacing: bool) -> None:
    """Writes ``files`` into a temporary sibling of ``out_dir`` and renames it to ``out_dir``; an old release is
    renamed aside first and removed last. Any failure removes the temporary folder and keeps the old release."""
    target = out_dir.resolve() if out_dir.is_symlink() else out_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    aside = tmp.with_name(tmp.name + ".old")
    try:
        for name, data in files.items():
            try:
                _write_file(tmp / name, data)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror or str(exc), str(out_dir / name)) from None
        if replacing and (target / EXAMPLES).is_dir() and not (target / EXAMPLES).is_symlink():
            shutil.copytree(target / EXAMPLES, tmp / EXAMPLES, symlinks=True)
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes a private folder; a release is as readable as any folder
        fsync_dir(tmp)
        if replacing:
            os.rename(target, aside)
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(aside, target)
                raise
        else:
            os.replace(tmp, target)  # target is absent or an empty folder
        fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if replacing:
        shutil.rmtree(aside, ignore_errors=True)


def _write_file(path: Path, data: bytes) -> None:
    """One file of a release being built, written and fsynced."""
    with path.open("xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _model_card(meta: dict) -> str:
    if meta.get("kind") == "classifier":
        return _classifier_card(meta)
    pre, gen, src = meta["preprocessing"], meta["generator"], meta["source"]
    reverse = ""
    if "reverse" in meta:
        back = meta["reverse"]["preprocessing"]["direction"]
        reverse = (
            f"\n- also translates {back} (`{REVERSE_WEIGHTS}`): "
            f"`i2i translate THIS_FOLDER in/ --out out/ --direction {back}`"
        )
    return f"""# i2i release: {src["run"]}

- method: {meta["method"]}; generator: {gen["name"]} ({", ".join(f"{k}={v}" for k, v in gen.items() if k != "name")})
- input: {pre["input_channels"]} channel(s), output: {pre["output_channels"]} channel(s), direction {pre["direction"]}
- trained on `{src["dataset"]}` for {src["step"]} steps (checkpoint `{src["checkpoint"]}`){reverse}

Use it:

```
i2i translate THIS_FOLDER inputs/ --out outputs/
```

```python
from i2i import Translator
from i2i.imageio import read_image
translator = Translator.from_pretrained("THIS_FOLDER")
output = translator([read_image("input.png", channels={pre["input_channels"]})])[0]
```
"""


def _classifier_card(meta: dict) -> str:
    pre, arch, src, labels = meta["preprocessing"], meta["classifier"], meta["source"], meta["labels"]
    shown = ", ".join(labels[:20]) + (f" and {len(labels) - 20} more" if len(labels) > 20 else "")
    return f"""# i2i release: {src["run"]}

- classifier: {arch["name"]} ({", ".join(f"{k}={v}" for k, v in arch.items() if k != "name")})
- {len(labels)} categories: {shown}
- input: {pre["input_channels"]} channel(s), resized to {pre["image_size"]}x{pre["image_size"]}
- trained on `{src["dataset"]}` for {src["step"]} steps (checkpoint `{src["checkpoint"]}`)

Use it:

```
i2i classify THIS_FOLDER drawing.png --top-k 3
```

```python
from i2i import Classifier
from i2i.imageio import read_image
classifier = Classifier.from_pretrained("THIS_FOLDER")
print(classifier([read_image("drawing.png")])[0])  # [(category, probability), ...], most likely first
```
"""


# --- reading -------------------------------------------------------------------------------------------------------


def read_release(path: str | Path) -> Model:
    """Opens release folder ``path``: its config is checked now, each generator's weights are read on first use."""
    path = Path(path)
    meta = read_config(path)
    where = str(path / CONFIG)
    if meta.get("kind") == "classifier":
        return _read_classifier(path, meta, where)
    gen_cfg = _section(GeneratorConfig, meta["generator"], "generator", where)
    _check_generator(gen_cfg, where)
    entries = [(WEIGHTS, meta["preprocessing"], "preprocessing")]
    reverse = meta.get("reverse")
    if reverse is not None:
        if not isinstance(reverse, dict) or not isinstance(reverse.get("preprocessing"), dict):
            raise CheckpointError(f"{where}: the 'reverse' section must hold 'weights' and 'preprocessing'")
        entries.append((file_name(reverse.get("weights"), where), reverse["preprocessing"], "reverse.preprocessing"))
    stored = _weights_dtype(meta, where)
    generators = []
    for weights, pre_data, key in entries:
        pre = _section(Preprocessing, pre_data, key, where)
        _check_preprocessing(pre, gen_cfg, key, where)
        build = functools.partial(gen_cfg.build, pre.input_channels, pre.output_channels)
        load = functools.partial(_load, build, path, weights, meta["generator"], stored)
        generators.append(Generator(gen_cfg, load, pre))
    if len(generators) > 1 and generators[0].direction == generators[1].direction:
        raise CheckpointError(
            f"{where}: reverse.preprocessing.direction: both generators translate {generators[0].direction}; the "
            "reverse one translates the other way"
        )
    spec = InputSpec.from_dict(meta.get("input"), where)
    return Model(path, str(meta.get("method", "")), generators, _source(meta.get("source"), where), input=spec)


def _check_generator(gen_cfg: GeneratorConfig, where: str) -> None:
    if gen_cfg.size_multiple > MAX_MULTIPLE:
        raise CheckpointError(
            f"{where}: generator {gen_cfg.name} would take images in multiples of {gen_cfg.size_multiple} pixels, "
            f"more than a release may declare (at most {MAX_MULTIPLE})"
        )
    if gen_cfg.fixed_size is not None and gen_cfg.fixed_size > MAX_INFER_SIDE:
        raise CheckpointError(
            f"{where}: generator {gen_cfg.name} is built for {gen_cfg.fixed_size}-pixel images, more than a release "
            f"may declare (at most {MAX_INFER_SIDE})"
        )


def _check_preprocessing(pre: Preprocessing, gen_cfg: GeneratorConfig, key: str, where: str) -> None:
    """Refuses values a generator cannot be run with (they would fail, or ask for absurd memory, at translation)."""
    check_preprocessing(pre, key, where, gen_cfg.size_multiple, gen_cfg.fixed_size, f"generator {gen_cfg.name}")


def _weights_dtype(meta: dict[str, Any], where: str) -> torch.dtype | None:
    """The storage dtype a release declares for its floating-point weights: None for float32 (the networks' own,
    so nothing is widened), float16 for a version-2 half-size release."""
    name = meta.get("weights_dtype", "float32")
    if name not in WEIGHTS_DTYPES:
        raise CheckpointError(f"{where}: weights_dtype must be one of {', '.join(WEIGHTS_DTYPES)}, got {short(name)}")
    dtype, version = WEIGHTS_DTYPES[name]
    if meta["version"] < version:
        raise CheckpointError(f"{where}: weights_dtype {name} needs release version {version}, got {meta['version']}")
    return None if dtype == torch.float32 else dtype


def _read_classifier(path: Path, meta: dict[str, Any], where: str) -> Model:
    """A classifier release: its architecture, category names and preprocessing checked now, its weights read on
    first use."""
    arch = _section(ClassifierNetConfig, meta["classifier"], "classifier", where)
    labels = read_labels(meta.get("labels"), where)
    pre = _section(ClassifierPreprocessing, meta["preprocessing"], "preprocessing", where)

    check_classifier_preprocessing(pre, where, arch.min_size, arch.name)
    stored = _weights_dtype(meta, where)
    build = functools.partial(arch.build, pre.input_channels, len(labels))
    load = functools.partial(_load, build, path, WEIGHTS, meta["classifier"], stored)
    network = ClassifierNetwork(arch, load, pre, labels)
    spec = InputSpec.from_dict(meta.get("input"), where)
    source = _source(meta.get("source"), where)
    return Model(path, str(meta.get("method", "")), [], source, classifier=network, input=spec)


def _load(build: Any, folder: Path, name: str, arch: Any, stored: torch.dtype | None) -> torch.nn.Module:
    """One network of a release, built and loaded (on the CPU, in float32) once its weights file's header fits
    it; weights stored as ``stored`` (float16) are widened."""
    file = inside(folder, name)
    size = regular_file(file)
    header = _weights_header(file, size)
    return build_and_load(build, header, functools.partial(read_safetensors, file), str(file), arch, stored)


_SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def _weights_header(file: Path, size: int) -> dict[str, TensorSpec]:
    """The tensors a safetensors file describes (names, shapes, dtypes), read from its header alone and checked
    against the file's size: every tensor's bytes are there, and nothing else is."""

    def corrupt(why: str) -> CheckpointError:
        return CheckpointError(f"{file}: not a readable safetensors file ({why})")

    with file.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise corrupt(f"{size} bytes, too short for a header")
        length = int.from_bytes(head, "little")
        if length > min(size - 8, MAX_HEADER_BYTES):
            raise corrupt(f"its header claims {length:,} bytes; the file holds {size:,}")
        raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise corrupt("its header is not valid JSON") from None
    if not isinstance(header, dict):
        raise corrupt("its header is not a mapping of tensors")
    header.pop("__metadata__", None)
    specs, end = {}, 0
    for name, entry in header.items():
        try:
            dtype = _SAFETENSORS_DTYPES[entry["dtype"]]
            shape = tuple(entry["shape"])
            start, stop = entry["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise corrupt(f"tensor '{name}' lacks a known dtype, a shape or its offsets") from None
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (*shape, start, stop)):
            raise corrupt(f"tensor '{name}' has a shape or offsets that are not whole numbers >= 0")
        if stop - start != math.prod(shape) * dtype.itemsize:
            raise corrupt(f"tensor '{name}': its offsets do not hold its shape {list(shape)}")
        specs[name] = TensorSpec(shape, dtype)
        end = max(end, stop)
    if 8 + length + end != size:
        raise corrupt(f"truncated or padded: its header describes {8 + length + end:,} bytes, the file holds {size:,}")
    return specs


def _section(cls: type, data: dict[str, Any], name: str, where: str) -> Any:
    try:
        return from_dict(cls, data, name)
    except ConfigError as exc:
        raise CheckpointError(f"{where}: {exc}") from None


def _source(data: Any, where: str) -> Source:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CheckpointError(f"{where}: source must be a mapping (run, checkpoint, step, dataset), got {short(data)}")
    step = data.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool):
        raise CheckpointError(f"{where}: source.step must be a whole number, got {short(step)}")
    return Source(str(data.get("run", "")), str(data.get("checkpoint", "")), step, str(data.get("dataset", "")))
