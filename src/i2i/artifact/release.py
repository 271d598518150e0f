"""The release format: a folder that holds what translation needs and nothing else (no optimizer state, no
discriminator, nothing pickled). Everything about it lives here: file names, the ``config.json`` schema and its
version, writing and reading. ``docs/release-format.md`` documents every field and the compatibility promise.

Files:
- ``config.json``: format, version, method, generator architecture, preprocessing, source; for two-way methods a
  ``reverse`` section with the second generator's weights file and preprocessing.
- ``model.safetensors``: the weights of the trained direction's generator.
- ``model_reverse.safetensors``: the reverse generator's weights (CycleGAN, U-GAT-IT).
- ``README.md``: a model card (not read back).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from i2i import __version__
from i2i.artifact.model import Generator, Model, Source
from i2i.atomic import atomic_write, atomic_write_text
from i2i.config import from_dict, to_dict
from i2i.errors import CheckpointError, ConfigError, I2IError
from i2i.inference.preprocessing import Preprocessing
from i2i.models.base import GeneratorConfig
from i2i.models.weights import load_weights

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
REVERSE_WEIGHTS = "model_reverse.safetensors"
CARD = "README.md"
FORMAT = "i2i-release"
VERSION = 1  # raise it when a release written by this code could not be read by an older i2i


def is_release(path: str | Path) -> bool:
    return (Path(path) / CONFIG).is_file()


# --- writing -------------------------------------------------------------------------------------------------------


def release_config(model: Model) -> dict[str, Any]:
    """The ``config.json`` of ``model`` as plain data (the schema, field by field: docs/release-format.md)."""
    first = model.generators[0]
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "i2i_version": __version__,
        "method": model.method,
        "generator": to_dict(first.config),
        "preprocessing": first.preprocessing.to_dict(),
        "source": model.source.to_dict(),
    }
    for reverse in model.generators[1:]:
        meta["reverse"] = {"weights": REVERSE_WEIGHTS, "preprocessing": reverse.preprocessing.to_dict()}
    return meta


def write_release(model: Model, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Writes ``model`` as a release folder: weights first, ``config.json`` last, each file atomically."""
    out_dir = Path(out_dir)
    if (out_dir / WEIGHTS).exists() and not overwrite:
        raise I2IError(f"{out_dir} already holds a release; pass --overwrite to replace it")
    meta = release_config(model)
    files = {WEIGHTS: _weights_bytes(model.generators[0].network)}
    for reverse in model.generators[1:]:
        files[REVERSE_WEIGHTS] = _weights_bytes(reverse.network)
    for name, data in files.items():
        atomic_write(out_dir / name, data, durable=True)
    atomic_write_text(out_dir / CONFIG, json.dumps(meta, indent=2) + "\n", durable=True)
    atomic_write_text(out_dir / CARD, _model_card(meta))
    return out_dir


def _weights_bytes(net: torch.nn.Module) -> bytes:
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    return safetensors_bytes(state, metadata={"format": "pt", "i2i_release": str(VERSION)})


def _model_card(meta: dict) -> str:
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


# --- reading -------------------------------------------------------------------------------------------------------


def read_config(path: Path) -> dict[str, Any]:
    """The parsed ``config.json`` of release folder ``path``, checked to be a release this i2i can read."""
    config_path = path / CONFIG
    try:
        meta = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: not a release folder (no {CONFIG})") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{config_path}: unreadable ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{config_path}: not an i2i release config (format is not '{FORMAT}')")
    version = meta.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"{config_path}: version must be a whole number, got {version!r}")
    if version > VERSION:
        raise CheckpointError(f"{config_path}: release version {version} is newer than this i2i supports")
    for key in ("generator", "preprocessing"):
        if not isinstance(meta.get(key), dict):
            raise CheckpointError(f"{config_path}: the '{key}' section is missing or not a mapping")
    return meta


def read_release(path: str | Path) -> Model:
    """Opens release folder ``path``: its config is checked now, each generator's weights are read on first use."""
    path = Path(path)
    meta = read_config(path)
    where = str(path / CONFIG)
    gen_cfg = _section(GeneratorConfig, meta["generator"], "generator", where)
    entries = [(WEIGHTS, meta["preprocessing"])]
    reverse = meta.get("reverse")
    if reverse is not None:
        if not isinstance(reverse, dict) or not isinstance(reverse.get("preprocessing"), dict):
            raise CheckpointError(f"{where}: the 'reverse' section must hold 'weights' and 'preprocessing'")
        entries.append((_file_name(reverse.get("weights"), where), reverse["preprocessing"]))
    generators = []
    for weights, pre_data in entries:
        pre = _section(Preprocessing, pre_data, "preprocessing", where)
        if tuple(pre.normalize) != (-1.0, 1.0):
            raise CheckpointError(f"{path}: normalization {list(pre.normalize)} is not supported (only [-1, 1])")
        generators.append(Generator(gen_cfg, functools.partial(_load, gen_cfg, pre, path / weights, meta), pre))
    return Model(path, str(meta.get("method", "")), generators, _source(meta.get("source")))


def _load(gen_cfg: GeneratorConfig, pre: Preprocessing, file: Path, meta: dict[str, Any]) -> torch.nn.Module:
    """One generator of a release, built and loaded (on the CPU)."""
    net = gen_cfg.build(pre.input_channels, pre.output_channels)
    try:
        state = load_file(str(file))
    except FileNotFoundError:
        raise CheckpointError(f"{file}: file not found") from None
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for corrupt headers
        raise CheckpointError(f"{file}: not a readable safetensors file ({exc})") from None
    load_weights(net, state, str(file), meta["generator"])
    return net


def _section(cls: type, data: dict[str, Any], name: str, where: str) -> Any:
    try:
        return from_dict(cls, data, name)
    except ConfigError as exc:
        raise CheckpointError(f"{where}: {exc}") from None


def _file_name(value: Any, where: str) -> str:
    """A weights file named in config.json: a plain file name inside the release folder, nothing else."""
    if not isinstance(value, str) or not value or Path(value).name != value or value in (".", ".."):
        raise CheckpointError(f"{where}: reverse.weights must be a file name inside the release folder, got {value!r}")
    return value


def _source(data: Any) -> Source:
    data = data if isinstance(data, dict) else {}
    step = data.get("step", 0)
    return Source(
        str(data.get("run", "")),
        str(data.get("checkpoint", "")),
        step if isinstance(step, int) else 0,
        str(data.get("dataset", "")),
    )
