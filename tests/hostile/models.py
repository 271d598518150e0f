"""A hostile model corpus, built at test time: crafted release folders and training checkpoints.

Each builder returns ``{case name: path}``: the path a user would hand to ``i2i translate`` / ``eval`` / ``export`` or
``Translator.from_pretrained`` (a release folder, a run folder or a checkpoint file). Every case must be refused with
one line naming the path; none may allocate what its config claims, run code, or hang. The networks are tiny (a
4-filter U-Net), so building the whole corpus takes well under a second.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from helpers import tiny_config
from safetensors.torch import load_file, save_file

from i2i.artifact.model import Generator, Model, Source
from i2i.artifact.release import write_release
from i2i.config import from_dict, to_dict
from i2i.inference.preprocessing import Preprocessing
from i2i.models.base import GeneratorConfig
from i2i.training.checkpoint import save_state

GENERATOR = {"name": "unet_128", "num_downs": 5, "ngf": 4}
# Every option within its config range, yet ~2e10 weights (80 GB): only the loading path's own limit refuses it.
HUGE_IN_RANGE = {"name": "resnet_9blocks", "ngf": 1024, "n_blocks": 64}


def tiny_network() -> tuple[GeneratorConfig, torch.nn.Module]:
    cfg = from_dict(GeneratorConfig, dict(GENERATOR), "generator")
    torch.manual_seed(0)
    return cfg, cfg.build(3, 3)


def tiny_model(path: Path) -> Model:
    """A one-way (pix2pix-like) model of a 4-filter U-Net, held in memory."""
    cfg, net = tiny_network()
    pre = Preprocessing(3, 3, "BtoA", size_multiple=32, bn_inference="per_image")
    return Model(path, "pix2pix", [Generator(cfg, net, pre)], Source("hostile", "last.pt", 1, "data"))


def good_release(folder: Path) -> Path:
    return write_release(tiny_model(folder), folder)


def _edit_config(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(release: Path) -> None:
        meta = json.loads((release / "config.json").read_text())
        edit(meta)
        (release / "config.json").write_text(json.dumps(meta))

    return apply


def _set(section: str | None, key: str, value: Any) -> Callable[[Path], None]:
    def edit(meta: dict[str, Any]) -> None:
        (meta[section] if section else meta)[key] = value

    return _edit_config(edit)


def _drop(key: str) -> Callable[[Path], None]:
    return _edit_config(lambda meta: meta.pop(key))


def _edit_weights(edit: Callable[[dict[str, torch.Tensor]], None]) -> Callable[[Path], None]:
    def apply(release: Path) -> None:
        file = release / "model.safetensors"
        state = load_file(str(file))
        edit(state)
        save_file(state, str(file), metadata={"format": "pt"})

    return apply


def _first_float(state: dict[str, torch.Tensor]) -> str:
    return next(k for k, v in state.items() if v.is_floating_point())


def _cast(dtype: torch.dtype) -> Callable[[Path], None]:
    def edit(state: dict[str, torch.Tensor]) -> None:
        key = _first_float(state)
        state[key] = state[key].to(dtype)

    return _edit_weights(edit)


def _poison(value: float, buffer: bool = False) -> Callable[[Path], None]:
    def edit(state: dict[str, torch.Tensor]) -> None:
        key = next(k for k in state if k.endswith("running_var")) if buffer else _first_float(state)
        state[key] = state[key].clone()
        state[key].view(-1)[0] = value

    return _edit_weights(edit)


def _write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def apply(release: Path) -> None:
        target = release / name
        target.unlink()
        target.write_bytes(data.encode() if isinstance(data, str) else data)

    return apply


def _truncate(name: str, keep: float) -> Callable[[Path], None]:
    def apply(release: Path) -> None:
        data = (release / name).read_bytes()
        (release / name).write_bytes(data[: int(len(data) * keep)])

    return apply


def _pad_weights(release: Path) -> None:
    with (release / "model.safetensors").open("ab") as f:
        f.write(b"\0" * 4096)


def _lying_header(release: Path) -> None:
    """A header that claims a larger first tensor than the bytes it points at (offsets left as they were)."""
    file = release / "model.safetensors"
    data = file.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    key = next(k for k in header if k != "__metadata__" and header[k]["shape"])
    header[key]["shape"] = [s * 1000 for s in header[key]["shape"]]
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    file.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + size :])


def _replace_with(kind: str, name: str) -> Callable[[Path], None]:
    def apply(release: Path) -> None:
        target = release / name
        target.unlink()
        if kind == "fifo":
            os.mkfifo(target)
        elif kind == "dir":
            target.mkdir()
        else:  # a symlink to a copy outside the folder (a well-formed file, just not the release's own)
            outside = release.parent / f"{release.name}-outside-{name}"
            shutil.copyfile(release.parent / "_good" / name, outside)
            target.symlink_to(outside)

    return apply


def _reverse_outside(release: Path) -> None:
    """A two-way release whose reverse weights are named by a path that leaves the folder."""
    meta = json.loads((release / "config.json").read_text())
    pre = dict(meta["preprocessing"], direction="AtoB")
    meta["reverse"] = {"weights": "../_good/model.safetensors", "preprocessing": pre}
    (release / "config.json").write_text(json.dumps(meta))


def _reverse_symlink(release: Path) -> None:
    """A two-way release whose model_reverse.safetensors is a symlink to a file outside the folder."""
    meta = json.loads((release / "config.json").read_text())
    meta["reverse"] = {"weights": "model_reverse.safetensors", "preprocessing": dict(meta["preprocessing"])}
    meta["reverse"]["preprocessing"]["direction"] = "AtoB"
    (release / "config.json").write_text(json.dumps(meta))
    (release / "model_reverse.safetensors").symlink_to(release.parent / "_good" / "model.safetensors")


RELEASE_CASES: dict[str, Callable[[Path], None]] = {
    # config.json: structure and types
    "no_generator": _drop("generator"),
    "no_preprocessing": _drop("preprocessing"),
    "version_text": _set(None, "version", "1"),
    "version_float": _set(None, "version", 1.5),
    "method_not_text": _set(None, "method", ["pix2pix"]),
    "source_not_mapping": _set(None, "source", "my run"),
    "source_step_text": _edit_config(lambda meta: meta["source"].update(step="many")),
    "input_channels_text": _set("preprocessing", "input_channels", "three"),
    "input_channels_five": _set("preprocessing", "input_channels", 5),
    "normalize_not_list": _set("preprocessing", "normalize", "-1..1"),
    "direction_unknown": _set("preprocessing", "direction", "sideways"),
    "resize_mode_unknown": _set("preprocessing", "resize_mode", "lanczos"),
    "bn_inference_unknown": _set("preprocessing", "bn_inference", "magic"),
    "size_multiple_zero": _set("preprocessing", "size_multiple", 0),
    "size_multiple_huge": _set("preprocessing", "size_multiple", 2**40),
    "size_multiple_wrong": _set("preprocessing", "size_multiple", 48),
    "infer_size_negative": _set("preprocessing", "infer_size", -5),
    "infer_size_huge": _set("preprocessing", "infer_size", 10**9),
    "fixed_size_huge": _set("preprocessing", "fixed_size", 10**9),
    "generator_not_mapping": _set(None, "generator", "unet_128"),
    "generator_unknown": _set("generator", "name", "unet_999"),
    "ngf_absurd": _set("generator", "ngf", 10**9),
    "ngf_huge": _set("generator", "ngf", 60000),  # plausible digits, ~10^13 parameters
    "ngf_other": _set("generator", "ngf", 8),
    "network_huge_in_range": _set(None, "generator", HUGE_IN_RANGE),
    "num_downs_absurd": _set("generator", "num_downs", 10**12),
    "num_downs_deep": _set("generator", "num_downs", 40),
    "reverse_not_mapping": _set(None, "reverse", ["model_reverse.safetensors"]),
    "reverse_outside": _reverse_outside,
    "reverse_symlink_outside": _reverse_symlink,
    # config.json: the file itself
    "config_not_json": _write("config.json", "format: i2i-release\n"),
    "config_not_object": _write("config.json", "[1, 2, 3]"),
    "config_deep": _write("config.json", "[" * 200_000 + "]" * 200_000),
    "config_huge": _write("config.json", '{"format": "i2i-release", "pad": "' + "x" * (2 << 20) + '"}'),
    "config_binary": _write("config.json", b"\xff\xfe\x00garbage"),
    "config_fifo": _replace_with("fifo", "config.json"),
    "config_dir": _replace_with("dir", "config.json"),
    "config_symlink_outside": _replace_with("symlink", "config.json"),
    # model.safetensors: the file itself
    "weights_fifo": _replace_with("fifo", "model.safetensors"),
    "weights_dir": _replace_with("dir", "model.safetensors"),
    "weights_symlink_outside": _replace_with("symlink", "model.safetensors"),
    "weights_missing": lambda release: (release / "model.safetensors").unlink(),
    "weights_empty": _write("model.safetensors", b""),
    "weights_text": _write("model.safetensors", "these are not weights\n"),
    "weights_truncated": _truncate("model.safetensors", 0.5),
    "weights_header_cut": _truncate("model.safetensors", 0.001),
    "weights_padded": _pad_weights,
    "weights_lying_header": _lying_header,
    # model.safetensors: well-formed, wrong content
    "weights_other_shape": _edit_weights(lambda s: s.update({_first_float(s): torch.zeros(2, 2)})),
    "weights_missing_tensor": _edit_weights(lambda s: s.pop(_first_float(s))),
    "weights_extra_tensor": _edit_weights(lambda s: s.update({"extra.weight": torch.zeros(1)})),
    "weights_int": _cast(torch.int32),
    "weights_float16": _cast(torch.float16),
    "weights_float64": _cast(torch.float64),
    "weights_nan": _poison(float("nan")),
    "weights_inf_buffer": _poison(float("inf"), buffer=True),
}


def release_cases(root: Path) -> dict[str, Path]:
    """Every crafted release of ``RELEASE_CASES`` under ``root``, from one good tiny release (``root/_good``)."""
    good = good_release(root / "_good")
    cases = {}
    for name, craft in RELEASE_CASES.items():
        folder = root / name
        shutil.copytree(good, folder)
        craft(folder)
        cases[name] = folder
    return cases


# --- training checkpoints -----------------------------------------------------------------------------------------


def good_state(root: Path) -> dict[str, Any]:
    """The parts of a training checkpoint that a model is read from: config, progress and generator weights."""
    cfg = tiny_config(root / "data", root / "runs")
    _, net = tiny_network()
    return {"config": to_dict(cfg), "progress": {"step": 1}, "networks": {"generator": net.state_dict()}}


class Payload:
    """What a malicious checkpoint smuggles in: unpickling it would run a shell command."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _state_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path, dict[str, Any]], None]:
    def apply(file: Path, state: dict[str, Any]) -> None:
        edit(state)
        save_state(file, state)

    return apply


def _generator_option(key: str, value: Any) -> Callable[[Path, dict[str, Any]], None]:
    return _state_edit(lambda s: s["config"]["method"]["generator"].update({key: value}))


def _weights(edit: Callable[[dict[str, torch.Tensor]], None]) -> Callable[[Path, dict[str, Any]], None]:
    return _state_edit(lambda s: edit(s["networks"]["generator"]))


def _raw(data: bytes | str) -> Callable[[Path, dict[str, Any]], None]:
    return lambda file, state: file.write_bytes(data.encode() if isinstance(data, str) else data)


def _evil_pickle(file: Path, state: dict[str, Any]) -> None:
    torch.save({**state, "format": "i2i-train-state", "version": 1, "payload": Payload()}, file)


def _legacy_evil_pickle(file: Path, state: dict[str, Any]) -> None:
    with file.open("wb") as f:
        pickle.dump({"format": "i2i-train-state", "x": Payload()}, f, protocol=2)


def _foreign_zip(file: Path, state: dict[str, Any]) -> None:
    with zipfile.ZipFile(file, "w") as z:
        z.writestr("notes/readme.txt", "a zip archive, but no checkpoint")


def _deflated_zip(file: Path, state: dict[str, Any]) -> None:
    """A zip shaped like a torch checkpoint whose records are compressed: they could expand to anything."""
    save_state(file, state)
    with zipfile.ZipFile(file) as z:
        records = {info.filename: z.read(info) for info in z.infolist()}
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in records.items():
            z.writestr(name, data)


def _truncated(file: Path, state: dict[str, Any]) -> None:
    save_state(file, state)
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


def _fifo(file: Path, state: dict[str, Any]) -> None:
    os.mkfifo(file)


def _directory(file: Path, state: dict[str, Any]) -> None:
    file.mkdir()


CHECKPOINT_CASES: dict[str, Callable[[Path, dict[str, Any]], None]] = {
    "ckpt_no_config": _state_edit(lambda s: s.pop("config")),
    "ckpt_no_progress": _state_edit(lambda s: s.pop("progress")),
    "ckpt_no_networks": _state_edit(lambda s: s.pop("networks")),
    "ckpt_networks_list": _state_edit(lambda s: s.update(networks=[1, 2])),
    "ckpt_weights_not_tensors": _state_edit(lambda s: s.update(networks={"generator": {"downs.0.0.weight": "w"}})),
    "ckpt_step_text": _state_edit(lambda s: s.update(progress={"step": "ten"})),
    "ckpt_version_text": _state_edit(lambda s: s.update(version="2")),
    "ckpt_config_text": _state_edit(lambda s: s.update(config="unet")),
    "ckpt_generator_unknown": _generator_option("name", "unet_999"),
    "ckpt_ngf_absurd": _generator_option("ngf", 10**9),
    "ckpt_ngf_huge": _generator_option("ngf", 60000),
    "ckpt_num_downs_absurd": _generator_option("num_downs", 10**12),
    "ckpt_network_huge_in_range": _state_edit(lambda s: s["config"]["method"].update(generator=dict(HUGE_IN_RANGE))),
    "ckpt_weights_int": _weights(lambda w: w.update({k: v.int() for k, v in w.items() if v.is_floating_point()})),
    "ckpt_weights_float64": _weights(lambda w: w.update({k: v.double() for k, v in w.items()})),
    "ckpt_weights_nan": _weights(lambda w: w[next(k for k in w if k.endswith("running_var"))].fill_(float("nan"))),
    "ckpt_text": _raw("this is a text file named .pt\n"),
    "ckpt_empty": _raw(b""),
    "ckpt_foreign_zip": _foreign_zip,
    "ckpt_deflated_zip": _deflated_zip,
    "ckpt_truncated": _truncated,
    "ckpt_evil_pickle": _evil_pickle,
    "ckpt_legacy_evil_pickle": _legacy_evil_pickle,
    "ckpt_fifo": _fifo,
    "ckpt_dir": _directory,
}

# Cases handed over as the checkpoint file itself rather than its run folder.
DIRECT = {"ckpt_text", "ckpt_fifo", "ckpt_truncated", "ckpt_evil_pickle"}


def checkpoint_cases(root: Path) -> dict[str, Path]:
    """Every crafted checkpoint of ``CHECKPOINT_CASES`` as ``root/<case>/checkpoints/last.pt``: the run folder's
    path, or for the ``DIRECT`` cases the checkpoint file's (plus ``<case>_file`` for them as a run folder)."""
    base = good_state(root)
    cases = {}
    for name, craft in CHECKPOINT_CASES.items():
        run = root / name
        (run / "checkpoints").mkdir(parents=True)
        file = run / "checkpoints" / "last.pt"
        state = {**base, "networks": {k: dict(v) for k, v in base["networks"].items()}}
        state["config"] = json.loads(json.dumps(base["config"]))
        craft(file, state)
        cases[name] = run
        if name in DIRECT:
            cases[f"{name}_file"] = file
    return cases


# --- what each case must say -------------------------------------------------------------------------------------

WEIGHTS_ARE_NOT_CAST = "the model's is float32 (weights are never cast"
EXPECTED = {
    # release config.json: structure, types and values
    "no_generator": "the 'generator' section is missing or not a mapping",
    "no_preprocessing": "the 'preprocessing' section is missing or not a mapping",
    "version_text": "version must be a whole number, got '1'",
    "version_float": "version must be a whole number, got 1.5",
    "method_not_text": "method must be a name of printable characters",
    "source_not_mapping": "source must be a mapping",
    "source_step_text": "source.step must be a whole number",
    "input_channels_text": "preprocessing.input_channels: expected an integer",
    "input_channels_five": "preprocessing.input_channels must be 1 or 3, got 5",
    "normalize_not_list": "preprocessing.normalize: expected a list",
    "direction_unknown": "preprocessing.direction must be AtoB or BtoA, got 'sideways'",
    "resize_mode_unknown": "preprocessing.resize_mode must be bicubic, bilinear, nearest, got 'lanczos'",
    "bn_inference_unknown": "preprocessing.bn_inference must be per_image or running",
    "size_multiple_zero": "preprocessing.size_multiple must be a multiple of 32 (the generator's) up to 1024, got 0",
    "size_multiple_huge": "preprocessing.size_multiple must be a multiple of 32",
    "size_multiple_wrong": "preprocessing.size_multiple must be a multiple of 32",
    "infer_size_negative": "preprocessing.infer_size must be null or between 1 and 4096, got -5",
    "infer_size_huge": "preprocessing.infer_size must be null or between 1 and 4096",
    "fixed_size_huge": "preprocessing.fixed_size must be null for generator unet_128",
    "generator_not_mapping": "the 'generator' section is missing or not a mapping",
    "generator_unknown": "generator.name",
    "ngf_absurd": "generator.ngf",
    "ngf_huge": "generator.ngf",
    "ngf_other": "weights do not fit the architecture",
    "network_huge_in_range": "over the limit of 8,589,934,592; refusing to build it",
    "num_downs_absurd": "generator.num_downs",
    "num_downs_deep": "generator.num_downs",
    "reverse_not_mapping": "the 'reverse' section must hold 'weights' and 'preprocessing'",
    "reverse_outside": "reverse.weights must be a file name inside the release folder",
    "reverse_symlink_outside": "model_reverse.safetensors: points outside the release folder",
    # release config.json: the file
    "config_not_json": "config.json: unreadable (not valid JSON",
    "config_not_object": "config.json: not an i2i release config",
    "config_deep": "config.json: unreadable (JSON nested too deeply)",
    "config_huge": "bytes is too large for a release config (at most 1,048,576)",
    "config_binary": "config.json: unreadable (not UTF-8 text)",
    "config_fifo": "config.json: not a regular file (a FIFO)",
    "config_dir": "config.json: not a regular file (a directory)",
    "config_symlink_outside": "config.json: points outside the release folder",
    # release weights: the file
    "weights_fifo": "model.safetensors: not a regular file (a FIFO)",
    "weights_dir": "model.safetensors: not a regular file (a directory)",
    "weights_symlink_outside": "model.safetensors: points outside the release folder",
    "weights_missing": "model.safetensors: file not found",
    "weights_empty": "model.safetensors: not a readable safetensors file (0 bytes, too short for a header)",
    "weights_text": "model.safetensors: not a readable safetensors file",
    "weights_truncated": "not a readable safetensors file (truncated or padded",
    "weights_header_cut": "model.safetensors: not a readable safetensors file",
    "weights_padded": "not a readable safetensors file (truncated or padded",
    "weights_lying_header": "its offsets do not hold its shape",
    # release weights: well-formed, wrong content
    "weights_other_shape": "tensors of another shape",
    "weights_missing_tensor": "tensors missing",
    "weights_extra_tensor": "unexpected tensors (e.g. extra.weight)",
    "weights_int": "tensor 'downs.0.0.weight' is int32, " + WEIGHTS_ARE_NOT_CAST,
    "weights_float16": "tensor 'downs.0.0.weight' is float16, " + WEIGHTS_ARE_NOT_CAST,
    "weights_float64": "tensor 'downs.0.0.weight' is float64, " + WEIGHTS_ARE_NOT_CAST,
    "weights_nan": "tensor 'downs.0.0.weight' holds NaN or inf values",
    "weights_inf_buffer": "running_var' holds NaN or inf values",
    # training checkpoints
    "ckpt_no_config": "not a complete i2i checkpoint: 'config' (the run config) is missing",
    "ckpt_no_progress": "not a complete i2i checkpoint: 'progress' (the training progress) is missing",
    "ckpt_no_networks": "not a complete i2i checkpoint: 'networks' (the weights) is missing",
    "ckpt_networks_list": "not a complete i2i checkpoint: 'networks' (the weights) is missing or not a mapping",
    "ckpt_weights_not_tensors": "the weights of network 'generator' are not a mapping of named tensors",
    "ckpt_step_text": "progress.step must be a whole number, got 'ten'",
    "ckpt_version_text": "checkpoint version must be a whole number, got '2'",
    "ckpt_config_text": "'config' (the run config) is missing or not a mapping",
    "ckpt_generator_unknown": "its config no longer builds",
    "ckpt_ngf_absurd": "method.generator.ngf",
    "ckpt_ngf_huge": "method.generator.ngf",
    "ckpt_num_downs_absurd": "method.generator.num_downs",
    "ckpt_network_huge_in_range": "over the limit of 8,589,934,592; refusing to build it",
    "ckpt_weights_int": "tensor 'downs.0.0.weight' is int32, " + WEIGHTS_ARE_NOT_CAST,
    "ckpt_weights_float64": "tensor 'downs.0.0.weight' is float64, " + WEIGHTS_ARE_NOT_CAST,
    "ckpt_weights_nan": "running_var' holds NaN or inf values",
    "ckpt_text": "not a PyTorch checkpoint (neither a zip archive nor a pickle)",
    "ckpt_empty": "not a readable checkpoint (the file is empty)",
    "ckpt_foreign_zip": "a zip archive, but not a PyTorch checkpoint (no data.pkl in it)",
    "ckpt_deflated_zip": "its records are compressed",
    "ckpt_truncated": "not a readable checkpoint (truncated or corrupt",
    "ckpt_evil_pickle": "refused to load: it holds the Python object 'posix.system'",
    "ckpt_legacy_evil_pickle": "refused to load: it holds the Python object",
    "ckpt_fifo": "last.pt: not a regular file (a FIFO)",
    "ckpt_dir": "last.pt: not a regular file (a directory)",
}
CASES = [*RELEASE_CASES, *CHECKPOINT_CASES, *(f"{case}_file" for case in sorted(DIRECT))]
# Torch's words on a file it refused: advice to load it unsafely must never reach the user.
TORCH_ADVICE = ("weights_only", "two options", "trust", "Traceback", "torch.load")


def expected(case: str) -> str:
    return EXPECTED[case.removesuffix("_file")]


def direction(case: str) -> str | None:
    """The direction that reads the crafted part: the reverse generator for the ``reverse_`` cases."""
    return "AtoB" if case.startswith("reverse_") else None


def run_with_stale_export(root: Path) -> Path:
    """A run folder with a good checkpoint and, beside it, a release exported into the run folder itself by an
    older i2i (with other weights): the run folder must keep meaning its own checkpoint."""
    run = root / "stale_run"
    (run / "checkpoints").mkdir(parents=True)
    save_state(run / "checkpoints" / "last.pt", good_state(root))
    stale = good_release(root / "_stale")
    for file in stale.iterdir():  # the release translates BtoA, the run's checkpoint AtoB: they are told apart
        shutil.copyfile(file, run / file.name)
    return run


# Runs beside a test, in its own process (a reader stuck in a native library's open() may hold the GIL): after
# argv[1] seconds, opens the write end of every named pipe in argv[2:] that a reader is blocked on, which releases
# the reader (then gives it end-of-file), and prints its path.
_UNBLOCKER = """
import os, sys, time
time.sleep(float(sys.argv[1]))
while True:
    for fifo in sys.argv[2:]:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only while a reader has it open
        except OSError:
            continue
        print(fifo, flush=True)
        os.close(fd)
    time.sleep(0.05)
"""


@contextmanager
def unblocking(fifos: Iterable[Path], after: float = 5.0) -> Iterator[list[str]]:
    """Turns a hang on a named pipe into a test failure: a helper process releases any reader still blocked on one
    of ``fifos`` after ``after`` seconds and reports it in the list this yields (filled on exit; a test asserts
    that it stays empty). Without ``fifos`` it does nothing."""
    fifos = [str(f) for f in fifos]
    rescued: list[str] = []
    if not fifos:
        yield rescued
        return
    helper = subprocess.Popen([sys.executable, "-c", _UNBLOCKER, str(after), *fifos], stdout=subprocess.PIPE, text=True)
    try:
        yield rescued
    finally:
        helper.kill()
        rescued.extend(helper.communicate()[0].splitlines())


def fifos_under(path: Path) -> list[Path]:
    """The named pipes a case's path holds (the path itself, or under it)."""
    return [p for p in (path, *(path.rglob("*") if path.is_dir() else ())) if p.is_fifo()]
