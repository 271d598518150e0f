"""Test helpers: small real image datasets written to disk, tiny configs, and paths to the shared data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from i2i.run_config import RunConfig, load_config

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


def synthetic_pair(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A facade-like (label map, photo) pair: random coloured rectangles and a shaded rendering of them."""
    label = np.zeros((size, size, 3), dtype=np.uint8)
    label[:] = (0, 0, 170)
    for _ in range(6):
        y, x = rng.integers(0, size - 8, 2)
        h, w = rng.integers(4, size // 2, 2)
        label[y : y + h, x : x + w] = rng.integers(0, 256, 3)
    ramp = np.linspace(0.6, 1.0, size)[:, None, None]
    photo = np.clip(label.astype(np.float64) * ramp + rng.normal(0, 6, label.shape), 0, 255).astype(np.uint8)
    return photo, label


def write_aligned(root: Path, splits: dict[str, int], size: int = 64, seed: int = 0, ext: str = ".png") -> Path:
    """Writes an A|B dataset: ``root/<split>/<i>.png`` with A (photo) left and B (label) right."""
    rng = np.random.default_rng(seed)
    for split, count in splits.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            photo, label = synthetic_pair(rng, size)
            Image.fromarray(np.concatenate([photo, label], axis=1)).save(root / split / f"{i}{ext}")
    return root


def write_folders(root: Path, splits: dict[str, int], size: int = 48, seed: int = 0) -> Path:
    """Writes an A/ + B/ dataset: ``root/A/<split>/<i>.png`` (photo) and ``root/B/<split>/<i>.png`` (label)."""
    rng = np.random.default_rng(seed)
    for split, count in splits.items():
        for side in ("A", "B"):
            (root / side / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            photo, label = synthetic_pair(rng, size)
            Image.fromarray(photo).save(root / "A" / split / f"img_{i}.png")
            Image.fromarray(label).save(root / "B" / split / f"img_{i}.png")
    return root


TINY = {
    "seed": 0,
    "data": {"load_size": 36, "crop_size": 32, "num_workers": 0},
    "method": {
        "generator": {"name": "unet_128", "num_downs": 5, "ngf": 4},
        "discriminator": {"ndf": 4, "n_layers": 2},
    },
    "train": {
        "batch_size": 1,
        "n_epochs": 1,
        "n_epochs_decay": 1,
        "log_every": "2 steps",
        "sample_every": "1 epoch",
        "val_every": "1 epoch",
        "checkpoint_every": "1 epoch",
        "best_metric": "psnr",
        "progress": False,
        "device": "cpu",
    },
}


def tiny_config(root: Path, out_dir: Path, name: str = "tiny", **sections: dict) -> RunConfig:
    """A pix2pix config with 4-filter networks on 32×32 crops: a training step takes milliseconds on a CPU."""
    from i2i.config import merge

    raw = merge(TINY, {"name": name, "out_dir": str(out_dir), "data": {"root": str(root)}})
    return load_config(None, merge(raw, sections))


def cli_args(sections: dict, prefix: str = "") -> list[str]:
    """Flattens a nested config dict into ``--section.key=value`` command-line overrides."""
    args: list[str] = []
    for key, value in sections.items():
        if isinstance(value, dict):
            args += cli_args(value, f"{prefix}{key}.")
        else:
            text = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            args.append(f"--{prefix}{key}={text}")
    return args


def write_unpaired(root: Path, counts: dict[str, tuple[int, int]], size: int = 40, seed: int = 0) -> Path:
    """Writes an unpaired dataset: ``root/<split>A`` (photos) and ``root/<split>B`` (label maps), unequal counts.

    ``counts`` maps a split to its (A, B) image counts; file names differ between the domains, as they do in
    real unpaired sets.
    """
    rng = np.random.default_rng(seed)
    for split, (count_a, count_b) in counts.items():
        for side, count in (("A", count_a), ("B", count_b)):
            folder = root / f"{split}{side}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                photo, label = synthetic_pair(rng, size)
                Image.fromarray(photo if side == "A" else label).save(folder / f"{side.lower()}_{i:03d}.png")
    return root


# Tiny unpaired methods: 4-filter networks on 32×32 crops, a few milliseconds per step on a CPU.
TINY_METHODS = {
    "cyclegan": {
        "name": "cyclegan",
        "generator": {"name": "resnet_6blocks", "ngf": 4, "n_blocks": 1},
        "discriminator": {"name": "patchgan", "ndf": 4, "n_layers": 2, "norm": "instance"},
        "pool_size": 3,
    },
    "ugatit": {
        "name": "ugatit",
        "generator": {"name": "ugatit", "ngf": 4, "n_blocks": 1, "light": True},
        "discriminator": {"name": "ugatit", "ndf": 4, "n_layers": 5},
        "local_layers": 4,
    },
    "ugatit_full": {
        "name": "ugatit",
        "generator": {"name": "ugatit", "ngf": 4, "n_blocks": 1, "light": False, "img_size": 32},
        "discriminator": {"name": "ugatit", "ndf": 4, "n_layers": 5},
        "local_layers": 4,
    },
}


def tiny_unpaired_config(root: Path, out_dir: Path, kind: str, name: str = "tiny", **sections: dict) -> RunConfig:
    """A config of one of TINY_METHODS on an unpaired dataset (validation on its test split)."""
    from i2i.config import merge

    raw = merge(TINY, {"name": name, "out_dir": str(out_dir), "data": {"root": str(root), "val_split": "test"}})
    raw["method"] = TINY_METHODS[kind]
    raw = merge(raw, {"train": {"best_metric": "cycle_psnr"}})
    return load_config(None, merge(raw, sections))


def write_fid_weights(folder: Path) -> Path:
    """A stand-in for the FID Inception weights file, in the real one's format with seeded random values.

    The real file (which can't be fetched here) is a plain dict of float32 tensors with the TF graph's names and no
    BatchNorm counters; conv weights get He-scaled values so activations stay O(1) through the ~50 layers.
    """
    import math

    import torch
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    state = {}
    network = inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    for key, value in network.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        if key.endswith("conv.weight"):
            value = torch.randn_like(value) * math.sqrt(2 / value[0].numel())
        state[key] = value.clone()
    path = folder / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(state, path)
    return path


def train_steps(engine, steps: int, batch_size: int = 2) -> list[dict[str, float]]:
    """Trains ``engine`` on seeded synthetic batches (same dropout masks for every engine compared); the losses."""
    import torch

    from i2i.bench import synthetic_batch

    losses = []
    for step in range(steps):
        torch.manual_seed(100 + step)
        batch = engine.to_device(synthetic_batch(engine.cfg, batch_size, engine.device))
        losses.append({k: float(v) for k, v in engine.train_step(batch).items()})
    return losses


def relative_difference(a: dict, b: dict) -> float:
    """‖a − b‖ / ‖a‖ over the floating-point tensors of two state dicts."""
    num = sum(float((a[k].float() - b[k].float()).norm()) ** 2 for k in a if a[k].is_floating_point())
    den = sum(float(a[k].float().norm()) ** 2 for k in a if a[k].is_floating_point())
    return (num / den) ** 0.5


# --- small versions of registered components, for the contract tests ----------------------------------------------

SMALL_WIDTHS = {"ngf": 4, "ndf": 4, "n_blocks": 1, "width": 4}


def shrink(cfg, size: int):
    """A registered network config made small enough for CPU tests at ``size`` pixels, keeping its architecture:
    narrower (ngf/ndf 4, one block), a full-map generator built for ``size``, U-Nets and discriminators no deeper
    than ``size`` allows."""
    import dataclasses

    changes = {k: v for k, v in SMALL_WIDTHS.items() if hasattr(cfg, k) and getattr(cfg, k) > v}
    if hasattr(cfg, "img_size"):
        changes["img_size"] = size
    if hasattr(cfg, "num_downs"):
        changes["num_downs"] = min(cfg.num_downs, max(5, size.bit_length() - 1))
    cfg = dataclasses.replace(cfg, **changes)
    while getattr(cfg, "min_size", 0) > size:
        cfg = dataclasses.replace(cfg, n_layers=cfg.n_layers - 1)
    return cfg


def write_dataset(kind: str, root: Path, size: int = 64) -> Path:
    """A small dataset of data kind ``kind`` with train and validation splits (every registered kind has one)."""
    if kind == "paired":
        return write_aligned(root, {"train": 4, "val": 2}, size=size)
    if kind == "unpaired":
        counts = {"train": (3, 4), "val": (2, 3)}  # the domains differ in size on purpose
        return write_unpaired(root, counts, size=size)
    if kind == "classes":
        return write_classes(root, {"train": 3, "val": 2}, size=size)
    raise KeyError(f"no test dataset for data kind '{kind}': add one to tests/helpers.py write_dataset")


def contract_config(method: str, root: Path, out_dir: Path, name: str = "run", size: int = 64, **sections):
    """The registered method ``method`` with its default networks shrunk (``shrink``), on ``size``-pixel crops."""
    import dataclasses

    from i2i.config import from_dict, merge
    from i2i.methods import MethodConfig

    method_cfg = from_dict(MethodConfig, {"name": method}, "method")
    method_cfg = dataclasses.replace(
        method_cfg,
        **{
            f.name: shrink(getattr(method_cfg, f.name), size)
            for f in dataclasses.fields(method_cfg)
            if dataclasses.is_dataclass(getattr(method_cfg, f.name))
        },
    )
    raw = merge(
        TINY,
        {"name": name, "out_dir": str(out_dir), "data": {"root": str(root), "load_size": size + 4, "crop_size": size}},
    )
    raw["method"] = method_cfg
    if method_cfg.data_kind == "classes":  # the categories write_dataset makes, known before any scan
        raw["method"] = dataclasses.replace(method_cfg, classes=list(SHAPES))
        raw["data"] = {**raw["data"], "input_channels": 1, "preprocess": "resize"}
    raw = merge(raw, {"train": {"best_metric": None, "deterministic": True}})
    return load_config(None, merge(raw, sections))


# --- class-folder datasets: drawings of simple shapes -------------------------------------------------------------

SHAPES = ("circle", "cross", "square")


def draw_shape(shape: str, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A black line drawing of ``shape`` on white at a random place and size, as a (size, size, 1) uint8 image."""
    from PIL import ImageDraw

    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    half = int(rng.integers(size // 5, size // 3))
    cx, cy = (int(v) for v in rng.integers(half + 2, size - half - 2, 2))
    box = [cx - half, cy - half, cx + half, cy + half]
    width = int(rng.integers(1, 4))
    if shape == "circle":
        draw.ellipse(box, outline=0, width=width)
    elif shape == "square":
        draw.rectangle(box, outline=0, width=width)
    else:
        draw.line([box[0], box[1], box[2], box[3]], fill=0, width=width)
        draw.line([box[0], box[3], box[2], box[1]], fill=0, width=width)
    return np.asarray(image)[:, :, None]


def write_classes(
    root: Path, splits: dict[str, int], size: int = 64, seed: int = 0, shapes: tuple[str, ...] = SHAPES
) -> Path:
    """Writes a class-folder dataset: ``root/<split>/<shape>/<i>.png`` line drawings, ``count`` per shape."""
    rng = np.random.default_rng(seed)
    for split, count in splits.items():
        for shape in shapes:
            folder = root / split / shape
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                Image.fromarray(draw_shape(shape, rng, size)[:, :, 0]).save(folder / f"{shape}_{i}.png")
    return root


# Launching Python processes takes seconds each on a busy 2-core machine; a hang must fail the test, not CI.
LAUNCH_TIMEOUT = 180


def torchrun(args: list[str], nproc: int = 2, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``torchrun --standalone`` (a free port of its own) running ``i2i`` in ``nproc`` processes, one thread each."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    cmd += ["-m", "i2i.cli", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    # Its own session, so a timeout kills the workers too and leaves none waiting in a collective.
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=LAUNCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"torchrun did not finish within {LAUNCH_TIMEOUT}s (hang?):\n{err[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
