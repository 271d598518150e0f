"""Loading saved weights into a network: the one place where weights from a file (a release's safetensors, a training
checkpoint's state) meet a network, for releases and checkpoints alike.

Whatever the file holds, the result is the network loaded or a one-line ``CheckpointError`` naming the file, the
tensor and the problem, never a traceback and never a network allocated before it is known to fit:

- ``network_layout`` builds the network on torch's meta device (no memory) to learn its tensors' names, shapes and
  dtypes, and refuses architectures over ``MAX_PARAMETERS`` values;
- ``check_fit`` compares that layout with what a file holds (a safetensors header, before any tensor is read):
  the same names, the same shapes and the same dtypes; nothing is ever cast (float16/float64/integer tensors where
  the network holds float32 are refused);
- ``load_weights`` checks the tensors themselves (fit, dtype, no NaN/inf) and loads them;
- ``build_and_load`` does the three in that order: layout, fit, then read, build for real and load.
"""

from __future__ import annotations

import math
import pickle
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from i2i.errors import CheckpointError, I2IError
from i2i.fileinfo import regular_file

# The most values (parameters and buffers) a generator may hold: 2^33 float32 values are 32 GiB. The config ranges
# allow up to 8.3e9 (a U-Net of 14 levels at ngf 512) but also, with all options at their maximum, networks of ~1e11
# that no device holds; the largest built-in default, U-GAT-IT full at 256 pixels and ngf 64, holds 2.8e8.
MAX_PARAMETERS = 2**33


@dataclass(frozen=True)
class TensorSpec:
    """What a tensor is without its values: its shape and dtype."""

    shape: tuple[int, ...]
    dtype: torch.dtype

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def specs_of(tensors: Mapping[str, torch.Tensor]) -> dict[str, TensorSpec]:
    return {k: TensorSpec(tuple(v.shape), v.dtype) for k, v in tensors.items()}


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def check_fit(
    own: Mapping[str, TensorSpec], found: Mapping[str, TensorSpec], source: str, arch: Any, lead: str | None = None
) -> None:
    """Refuses weights ``found`` (a file's tensors) that are not exactly the network's tensors ``own``: the same
    names and shapes (else ``weights do not fit the architecture``, or ``lead``), then the same dtypes (never cast)."""
    missing = [k for k in own if k not in found]
    unexpected = [k for k in found if k not in own]
    wrong_shape = [k for k in found if k in own and own[k].shape != found[k].shape]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"{len(missing)} tensors missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensors (e.g. {unexpected[0]})")
        if wrong_shape:
            k = wrong_shape[0]
            parts.append(
                f"{len(wrong_shape)} tensors of another shape (e.g. {k}: {found[k].shape} in the file, "
                f"{own[k].shape} in the model)"
            )
        lead = lead or f"weights do not fit the architecture {arch}"
        raise CheckpointError(f"{source}: {lead}: " + "; ".join(parts))
    for k, spec in found.items():
        if spec.dtype != own[k].dtype:
            theirs, ours = dtype_name(spec.dtype), dtype_name(own[k].dtype)
            raise CheckpointError(
                f"{source}: tensor '{k}' is {theirs}, the model's is {ours} (weights are never cast: store them as "
                f"{ours})"
            )


def load_weights(net: nn.Module, state: Mapping[str, Any], source: str, arch: Any) -> None:
    """Loads ``state`` into ``net`` after checking it: tensors only, the network's names, shapes and dtypes, and no
    NaN/inf in any floating-point tensor. Any problem is a one-line CheckpointError.

    Args:
        net: the network, built from its config.
        state: tensors by state-dict key.
        source: what the weights came from, for the message (a file, a checkpoint's network name).
        arch: the architecture, for the message (a config dict or a network name).
    """
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{source}: the weights are not a mapping of tensors (got {type(state).__name__})")
    for k, v in state.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise CheckpointError(f"{source}: weights entry {k!r} is not a named tensor (got {type(v).__name__})")
    check_fit(specs_of(net.state_dict()), specs_of(state), source, arch)
    bad = first_nonfinite(state)
    if bad is not None:
        raise CheckpointError(
            f"{source}: tensor '{bad}' holds NaN or inf values; these weights are broken (use an earlier checkpoint)"
        )
    net.load_state_dict(state)


def network_layout(build: Callable[[], nn.Module], source: str, arch: Any) -> dict[str, TensorSpec]:
    """The tensors (names, shapes, dtypes) of the network ``build`` makes, learnt by building it on the meta
    device, which allocates nothing; an architecture over ``MAX_PARAMETERS`` values is refused."""
    try:
        with torch.device("meta"):
            skeleton = build()
    except I2IError:
        raise
    except Exception as exc:  # noqa: BLE001 - options a file may hold that the network's code cannot build
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{source}: the architecture {arch} cannot be built ({detail})") from None
    layout = specs_of(skeleton.state_dict())
    total = sum(spec.numel for spec in layout.values())
    if total > MAX_PARAMETERS:
        raise CheckpointError(
            f"{source}: the architecture {arch} would hold {total:,} values, over the limit of {MAX_PARAMETERS:,}; "
            "refusing to build it"
        )
    return layout


def build_and_load(
    build: Callable[[], nn.Module],
    found: Mapping[str, TensorSpec],
    read: Callable[[], Mapping[str, Any]],
    source: str,
    arch: Any,
    stored: torch.dtype | None = None,
) -> nn.Module:
    """A network built by ``build`` and loaded with the tensors ``read`` returns, described beforehand by ``found``.

    Nothing is allocated until the network's layout (on the meta device) is known to match ``found``: a model file
    cannot make i2i build more than its own tensors describe. ``stored``: the dtype a file *declares* it stores its
    floating-point tensors in (a float16 release); they must all be that dtype and are widened to the network's.
    Undeclared, every tensor must have the network's own dtype.
    """
    layout = network_layout(build, source, arch)
    if stored is not None:
        layout = {k: TensorSpec(v.shape, stored) if v.dtype.is_floating_point else v for k, v in layout.items()}
    check_fit(layout, found, source, arch)
    state = read()
    net = build()
    if stored is not None:
        own = net.state_dict()
        state = {k: v.to(own[k].dtype) if k in own and v.dtype == stored else v for k, v in state.items()}
    load_weights(net, state, source, arch)
    return net


def first_nonfinite(tensors: Mapping[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor holding NaN or inf (parameters and buffers alike), or None.

    One device-side reduction per tensor and a single host sync for the whole state.
    """
    floats = [(k, v) for k, v in tensors.items() if isinstance(v, torch.Tensor) and v.is_floating_point()]
    if not floats:
        return None
    # Reduced where the tensors live and copied to the host once (a blocking copy: non-blocking device-to-host copies
    # may still be in flight when read).
    device = floats[0][1].device
    flags = torch.stack([v.detach().isfinite().all().to(device) for _, v in floats]).cpu()
    if bool(flags.all()):
        return None
    return floats[int((~flags).nonzero()[0])][0]


_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"  # the PROTO opcode a pickle of protocol 2+ starts with: torch's legacy format


def read_torch_file(path: Path, noun: str, plain: str = "tensors") -> Any:
    """What a ``torch.save`` file holds, read with ``weights_only=True``: tensors and plain data only, never code.

    Whatever the file is (a named pipe, a text file, a foreign zip, a truncated or crafted file), the result is its
    content or a one-line CheckpointError in i2i's own words (torch's advice on loading files it refused is never
    passed on). ``noun`` names what the file should be ("checkpoint", "weights file"); ``plain`` what it may hold.
    """
    regular_file(path, f"{noun} not found")
    _check_container(path, noun)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f"the Python object '{found.group(1)}'" if found else "Python objects"
        raise CheckpointError(
            f"{path}: refused to load: it holds {what}, not {plain}; i2i never runs code from a {noun}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - torch raises many types (KeyError, EOFError, RuntimeError) for other files
        raise CheckpointError(f"{path}: not a readable {noun} (truncated or corrupt{_detail(exc)})") from None


def _check_container(path: Path, noun: str) -> None:
    """Refuses files torch.load must not be handed: not a PyTorch file at all, a zip that is not a torch file, or a
    zip whose records are compressed (they could expand to any size; torch writes them stored)."""
    with path.open("rb") as f:
        magic = f.read(4)
    if not magic:
        raise CheckpointError(f"{path}: not a readable {noun} (the file is empty)")
    if magic.startswith(_PICKLE_MAGIC):
        return
    if magic != _ZIP_MAGIC:
        raise CheckpointError(f"{path}: not a PyTorch {noun} (neither a zip archive nor a pickle)")
    try:
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise CheckpointError(
            f"{path}: not a readable {noun} (truncated or corrupt: an incomplete zip archive)"
        ) from None
    if not any(r.filename == "data.pkl" or r.filename.endswith("/data.pkl") for r in records):
        raise CheckpointError(f"{path}: a zip archive, but not a PyTorch {noun} (no data.pkl in it)")
    size = path.stat().st_size
    if any(r.compress_type != zipfile.ZIP_STORED for r in records) or sum(r.file_size for r in records) > size:
        raise CheckpointError(f"{path}: not a {noun} i2i can read (its records are compressed); refusing to expand it")


def _detail(exc: BaseException) -> str:
    """``: <first line of exc>`` for a message, unless torch's text carries advice (weights_only, trusting files)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if not first or any(word in first.lower() for word in ("weights_only", "trust", "option")):
        return ""
    return f": {type(exc).__name__}: {first[:200]}" if isinstance(exc, KeyError) else f": {first[:200]}"


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, or a one-line CheckpointError naming it."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found") from None
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for corrupt files
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable safetensors file ({detail[:200]})") from None
