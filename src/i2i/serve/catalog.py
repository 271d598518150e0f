"""The models a server serves: release folders (or run folders) named on the command line, opened once at start,
each with its translators (one per direction) or its classifier, its example inputs and what a client needs to know
to use it (``info``). Clients name models, never files: the examples are looked up in a table made at start.
"""

from __future__ import annotations

import math
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from i2i.artifact.inputs import InputSpec
from i2i.artifact.release_format import CONFIG, EXAMPLES, card_title, describe_model, is_release, read_config
from i2i.errors import I2IError, did_you_mean, show_path
from i2i.layouts import scan_folder
from i2i.portable.runtime import OnnxClassifier, OnnxTranslator, resolve_runtime

if TYPE_CHECKING:
    from i2i.artifact.model import Model
    from i2i.inference.classifier import Classifier
    from i2i.inference.translator import Translator

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # a model's name in URLs
EXAMPLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._()+-]{0,127}")  # an example's (no '/', no '%', no spaces)
CANVAS = 256  # the drawing size a page starts from when the model does not ask for one
MAX_EXAMPLES = 32  # example inputs listed per model
MAX_EXAMPLE_BYTES = 8 * 2**20
MAX_EXAMPLES_BYTES = 32 * 2**20  # all of a model's examples together (held in memory)
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


@dataclass(frozen=True)
class Example:
    """An example input, read once when the server starts: what a client gets is what was checked then, whatever
    later happens to the file (a swap for a link included)."""

    name: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class ModelFacts:
    """What the server says about a model: its kind, method, directions (the trained one first), categories and
    input. Read from the opened model (torch runtime) or from a release's config.json (ONNX runtime: no torch)."""

    kind: str  # translator or classifier
    method: str
    directions: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    input: InputSpec = field(default_factory=InputSpec)

    @classmethod
    def of(cls, model: Model) -> ModelFacts:
        labels = tuple(model.classifier.labels) if model.classifier is not None else ()
        return cls(model.kind, model.method, tuple(model.directions), labels, model.input)

    @property
    def trained_direction(self) -> str:
        return self.directions[0] if self.directions else ""

    def describe(self) -> str:
        labels = list(self.labels) if self.kind == "classifier" else None
        return describe_model(self.method, labels, list(self.directions))


@dataclass
class ServedModel:
    """One model as the server offers it, on the torch runtime or on its release's ONNX graphs."""

    name: str
    path: Path
    model: ModelFacts
    title: str
    translators: dict[str, Translator | OnnxTranslator] = field(default_factory=dict)
    classifier: Classifier | OnnxClassifier | None = None
    runtime: str = "torch"
    examples: dict[str, Example] = field(default_factory=dict)
    classifiers: list[str] = field(default_factory=list)  # served classifiers that read this model's (sketch) input
    lock: threading.Lock = field(default_factory=threading.Lock)  # one batch at a time per model

    @property
    def kind(self) -> str:
        return self.model.kind

    def direction(self, requested: str | None) -> str:
        """The direction a translate request asked for (None: the trained one); I2IError when it has none."""
        if requested is None:
            return self.model.trained_direction
        if requested not in self.translators:
            if requested not in ("AtoB", "BtoA"):
                raise I2IError(f"direction must be AtoB or BtoA, got {show_path(requested)[:20]!r}")
            raise I2IError(
                f"model {self.name} translates {self.model.trained_direction} only (a {self.model.method} model); "
                "two-way models (cyclegan, ugatit) take the other direction"
            )
        return requested

    def input_channels(self, direction: str | None = None) -> int:
        if self.classifier is not None:
            return self.classifier.pre.input_channels
        return self.translators[self.direction(direction)].pre.input_channels

    def translate(self, direction: str, images: list[np.ndarray]) -> list[np.ndarray]:
        """Translates same-size images as one batch (each gets the output it would get alone)."""
        with self.lock:
            return self.translators[direction].translate_batch(images)

    def classify(self, images: list[np.ndarray]) -> np.ndarray:
        assert self.classifier is not None
        with self.lock:
            return self.classifier.probabilities(images)

    def canvas_size(self) -> int:
        """The square size a page should draw at: the size the model works at."""
        if self.classifier is not None:
            return CANVAS
        pre = self.translators[self.model.trained_direction].pre
        if pre.fixed_size or pre.infer_size:
            return int(pre.fixed_size or pre.infer_size or CANVAS)
        return max(pre.size_multiple, math.ceil(CANVAS / pre.size_multiple) * pre.size_multiple)

    def info(self, base: str = "/v1") -> dict[str, Any]:
        """What a client needs to use this model (the /v1/models entries)."""
        url = f"{base}/models/{self.name}"
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "method": self.model.method,
            "title": self.title,
            "description": self.model.describe(),
            "input": _input_info(self.model.input, self.input_channels()),
            "canvas_size": self.canvas_size(),
            "examples": [{"name": name, "url": f"{url}/examples/{name}"} for name in self.examples],
        }
        if self.classifier is not None:
            data["labels"] = list(self.classifier.labels)
            data["classify_url"] = f"{url}/classify"
            return data
        trained = self.model.trained_direction
        data["directions"] = [
            {
                "direction": direction,
                "trained": direction == trained,
                "input_channels": t.pre.input_channels,
                "output_channels": t.pre.output_channels,
                "size_multiple": t.pre.size_multiple,
                "input": _input_info(self.model.input if direction == trained else InputSpec(), t.pre.input_channels),
            }
            for direction, t in self.translators.items()
        ]
        data["translate_url"] = f"{url}/translate"
        data["classifiers"] = list(self.classifiers)
        return data


def _input_info(spec: InputSpec, channels: int) -> dict[str, Any]:
    palette = [{"name": c.name, "color": c.hex} for c in spec.palette] or None
    return {"kind": spec.kind, "channels": channels, "palette": palette}


@dataclass
class Catalog:
    """The served models by name, in the order given."""

    models: dict[str, ServedModel]
    ready: threading.Event = field(default_factory=threading.Event)
    warm_error: str | None = None

    def get(self, name: str) -> ServedModel:
        """The model called ``name``; LookupError with a one-line message otherwise."""
        model = self.models.get(name)
        if model is None:
            shown = show_path(name)[:64]
            raise LookupError(
                f"no model named {shown!r}{did_you_mean(name, self.models)}; the server has: {', '.join(self.models)}"
            )
        return model

    def warm_up(self) -> None:
        """Runs every network once at its canvas size (the CPU fast path converts its weights on the first call of
        a shape), then marks the catalog ready."""
        try:
            for served in self.models.values():
                size = served.canvas_size()
                if served.classifier is not None:
                    served.classify([np.full((size, size, served.input_channels()), 255, np.uint8)])
                for direction, translator in served.translators.items():
                    blank = np.full((size, size, translator.pre.input_channels), 255, np.uint8)
                    served.translate(direction, [blank])
        except Exception as exc:  # noqa: BLE001 - reported by the readiness endpoint and the log
            self.warm_error = f"{type(exc).__name__}: {exc}"
        self.ready.set()


def parse_model_arg(text: str) -> tuple[str | None, Path]:
    """``PATH`` or ``NAME=PATH`` from the command line."""
    if "=" in text and NAME.fullmatch(text.split("=", 1)[0]):
        name, path = text.split("=", 1)
        return name, Path(path)
    return None, Path(text)


def bundled_models_folder() -> Path | None:
    """The repo's ``models/`` folder (the bundled releases): ``./models`` if it holds releases, else the one beside
    the package's source tree (an editable install of a clone); None when neither exists."""
    for folder in (Path.cwd() / "models", Path(__file__).resolve().parents[3] / "models"):
        if folder.is_dir() and any(is_release(p) for p in folder.iterdir() if p.is_dir()):
            return folder
    return None


def model_paths(args: list[str]) -> list[tuple[str, Path]]:
    """(name, path) for each ``PATH``/``NAME=PATH``; with none, every release in the bundled models folder. A folder
    that holds releases (like ``models/``) stands for all of them. I2IError in one line for a bad name or path."""
    if not args:
        folder = bundled_models_folder()
        if folder is None:
            raise I2IError("no models named and no bundled models/ folder found; name release folders to serve")
        args = [str(folder)]
    entries: list[tuple[str, Path]] = []
    for arg in args:
        name, path = parse_model_arg(arg)
        if name is None and path.is_dir() and not is_release(path) and not (path / "checkpoints").is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".") and is_release(p))
            if inside:
                entries += [(p.name, p) for p in inside]
                continue
        if not path.exists():
            raise I2IError(f"{show_path(path)}: no such model (a release folder, run folder or checkpoint file)")
        shown = path.name if path.name not in ("", ".", "..") else path.resolve().name
        entries.append((name or shown.removesuffix(".pt"), path))
    seen: dict[str, Path] = {}
    for name, path in entries:
        if not NAME.fullmatch(name):
            raise I2IError(
                f"{show_path(path)}: {show_path(name)!r} cannot be a model name (letters, digits, '.', '_', '-'; "
                "at most 64); name it with NAME=PATH"
            )
        if name in seen:
            raise I2IError(f"two models named {name} ({seen[name]} and {path}); name one with NAME=PATH")
        seen[name] = path
    return entries


def load_catalog(
    entries: list[tuple[str, Path]], device: str = "auto", runtime: str = "auto", max_pixels: int | None = None
) -> Catalog:
    """Opens every model on ``runtime`` (``resolve_runtime`` for each: ``auto`` follows the release's timing) and
    prepares its networks on ``device``; I2IError (one line, naming the model) when one cannot be used. Sketch
    translators are paired with every served classifier whose input is a sketch too. ``max_pixels``: the most
    pixels a translator may run at per image, after resizing and padding (None: i2i's pixel limit)."""
    models: dict[str, ServedModel] = {}
    for name, path in entries:
        title = card_title(path) if path.is_dir() else ""
        if resolve_runtime(runtime, path, device) == "onnx":
            served = _onnx_model(name, path, title)
        else:
            from i2i.artifact.open import open_model
            from i2i.inference.classifier import Classifier
            from i2i.inference.translator import Translator

            model = open_model(path)
            served = ServedModel(name, path, ModelFacts.of(model), title)
            if model.kind == "classifier":
                served.classifier = Classifier(model.classifier_network(), device)
            else:
                served.translators = {g.direction: Translator(g, device) for g in model.generators}
        for translator in served.translators.values():
            translator.max_pixels = max_pixels  # the server's cap holds at the size the network runs at too
        served.examples = _examples(path / EXAMPLES) if path.is_dir() else {}
        models[name] = served
    sketch_classifiers = [
        s.name for s in models.values() if s.classifier is not None and s.model.input.kind == "sketch"
    ]
    for served in models.values():
        if served.translators and served.model.input.kind == "sketch":
            served.classifiers = sketch_classifiers
    return Catalog(models)


def _onnx_model(name: str, path: Path, title: str) -> ServedModel:
    """A release served on its ONNX graphs: every direction that has one (the trained one must)."""
    meta = read_config(path)
    where = str(path / CONFIG)
    spec = InputSpec.from_dict(meta.get("input"), where)
    method = str(meta.get("method", ""))
    if meta.get("kind") == "classifier":
        classifier = OnnxClassifier.from_pretrained(path)
        facts = ModelFacts("classifier", method, labels=tuple(classifier.labels), input=spec)
        return ServedModel(name, path, facts, title, classifier=classifier, runtime="onnx")
    trained = OnnxTranslator.from_pretrained(path)
    translators: dict[str, Translator | OnnxTranslator] = {trained.pre.direction: trained}
    reverse = meta.get("reverse")
    if isinstance(reverse, dict) and reverse.get("onnx") is not None:
        other = "BtoA" if trained.pre.direction == "AtoB" else "AtoB"
        translators[other] = OnnxTranslator.from_pretrained(path, other)
    facts = ModelFacts("translator", method, tuple(translators), input=spec)
    return ServedModel(name, path, facts, title, translators=translators, runtime="onnx")


def _examples(folder: Path) -> dict[str, Example]:
    """The example inputs a client may fetch: regular image files directly in ``folder`` with a safe name.

    ``folder`` is a release's ``examples/``, and every example must be the release's own: a folder that is a link,
    or resolves outside the release folder, gives no examples at all, and a file that is a link, no regular file or
    resolves outside ``folder`` is left out. Else a link to ``/home/someone`` would offer every image in it to any
    client."""
    try:
        if folder.is_symlink() or not folder.is_dir():
            return {}
        real = folder.resolve(strict=True)
        if not real.is_relative_to(folder.parent.resolve(strict=True)):
            return {}
        images = scan_folder(folder).images
    except (OSError, RuntimeError):  # RuntimeError: a link loop (Path.resolve)
        return {}
    found: dict[str, Example] = {}
    held = 0
    for path in images:
        media = MEDIA_TYPES.get(path.suffix.lower())
        if media is None or not EXAMPLE_NAME.fullmatch(path.name):
            continue
        try:  # an entry of the real folder itself, opened without following a link: the release's own file
            data = _read_regular(path, MAX_EXAMPLE_BYTES)
        except OSError:
            continue
        if data is None or held + len(data) > MAX_EXAMPLES_BYTES:
            continue
        held += len(data)
        found[path.name] = Example(path.name, media, data)
        if len(found) >= MAX_EXAMPLES:
            break
    return found


def _read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of ``path`` if it is, when opened, a regular file (not a link: O_NOFOLLOW) of at most ``limit``
    bytes; None otherwise."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        data = f.read(limit + 1)
    return data if len(data) <= limit else None
