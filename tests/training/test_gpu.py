"""GPU paths (skipped without CUDA): training, exact resume and translation on a CUDA device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import tiny_config

from i2i.export.release import load_translator
from i2i.training.checkpoint import load_state
from i2i.training.trainer import Trainer

pytestmark = pytest.mark.gpu


def test_train_and_resume_on_cuda_exactly(aligned_dataset: Path, tmp_path: Path) -> None:
    """Deterministic CUDA training resumed from a mid-run checkpoint reaches the same weights as a straight run."""
    sections = {"train": {"device": "cuda", "deterministic": True, "keep_every": "3 steps", "max_steps": 6}}
    straight = Trainer(tiny_config(aligned_dataset, tmp_path, "a", **sections)).fit()
    resumed = Trainer(
        tiny_config(aligned_dataset, tmp_path, "b", **sections),
        resume=str(straight.run_dir / "checkpoints" / "step_0000003.pt"),
    ).fit()
    a = load_state(straight.run_dir / "checkpoints" / "last.pt")["networks"]
    b = load_state(resumed.run_dir / "checkpoints" / "last.pt")["networks"]
    for net in a:
        for key in a[net]:
            assert torch.equal(a[net][key], b[net][key]), f"{net}.{key}"


def test_cuda_translation_matches_cpu(tiny_run: Path) -> None:
    """The same model gives (nearly) the same output on the GPU as on the CPU."""
    image = np.random.default_rng(0).integers(0, 256, (45, 70, 3), dtype=np.uint8)
    cpu = load_translator(tiny_run, "cpu")([image])[0].astype(int)
    gpu = load_translator(tiny_run, "cuda")([image])[0].astype(int)
    assert np.abs(cpu - gpu).max() <= 2
