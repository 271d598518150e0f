"""Shared fixtures (helpers live in tests/helpers.py, importable as ``helpers``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import SHARED_DATASETS, write_aligned, write_folders

# Test networks are tiny: one thread avoids OpenMP spin-waiting against other processes on a 2-core machine.
torch.set_num_threads(1)


@pytest.fixture
def aligned_dataset(tmp_path: Path) -> Path:
    """4 train, 2 val, 2 test A|B pairs of 64×64 halves."""
    return write_aligned(tmp_path / "aligned", {"train": 4, "val": 2, "test": 2})


@pytest.fixture
def folders_dataset(tmp_path: Path) -> Path:
    return write_folders(tmp_path / "folders", {"train": 4, "test": 2})


@pytest.fixture
def shared_facades() -> Path:
    path = SHARED_DATASETS / "facades"
    if not path.is_dir():
        pytest.skip(f"shared datasets not found at {path} (they sit beside the checkout in the project's workspace)")
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 8-step tiny pix2pix run (label → photo, BtoA) on a generated dataset; shared, don't modify it."""
    from helpers import tiny_config

    from i2i.training.trainer import Trainer

    base = tmp_path_factory.mktemp("tiny_run")
    data = write_aligned(base / "data", {"train": 4, "val": 2, "test": 3})
    cfg = tiny_config(data, base / "runs", "tiny", data={"direction": "BtoA"})
    return Trainer(cfg).fit().run_dir


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `gpu` run only where CUDA is available (CI has none; run them on a GPU machine)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (none on this machine)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def unpaired_dataset(tmp_path: Path) -> Path:
    """An unpaired set: trainA 5, trainB 3, testA 2, testB 3 images of 40×40 (counts differ on purpose)."""
    from helpers import write_unpaired

    return write_unpaired(tmp_path / "unpaired", {"train": (5, 3), "test": (2, 3)})


@pytest.fixture(scope="session")
def cyclegan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 10-step tiny CycleGAN run on a generated unpaired set; shared, don't modify it."""
    from helpers import tiny_unpaired_config, write_unpaired

    from i2i.training.trainer import Trainer

    base = tmp_path_factory.mktemp("cyclegan_run")
    data = write_unpaired(base / "data", {"train": (5, 3), "test": (2, 3)})
    return Trainer(tiny_unpaired_config(data, base / "runs", "cyclegan", "cyclegan")).fit().run_dir
