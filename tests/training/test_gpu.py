"""GPU paths (skipped without CUDA): training, exact resume and translation on a CUDA device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import tiny_config

from i2i.inference.translator import Translator
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
    cpu = Translator.from_pretrained(tiny_run, "cpu")([image])[0].astype(int)
    gpu = Translator.from_pretrained(tiny_run, "cuda")([image])[0].astype(int)
    assert np.abs(cpu - gpu).max() <= 2


def test_fast_path_training_on_cuda_resumes_and_loads_on_cpu(aligned_dataset: Path, tmp_path: Path) -> None:
    """The default GPU path (bf16, channels_last, device cache, CUDA graph) trains, resumes and saves portable state."""
    sections = {"train": {"device": "cuda", "keep_every": "4 steps", "max_steps": 8}, "data": {"cache": "device"}}
    run = Trainer(tiny_config(aligned_dataset, tmp_path, "fast", **sections)).fit()
    assert run.step == 8
    resumed = Trainer(
        tiny_config(aligned_dataset, tmp_path, "fast2", **sections),
        resume=str(run.run_dir / "checkpoints" / "step_0000004.pt"),
    ).fit()
    assert resumed.step == 8
    state = load_state(resumed.run_dir / "checkpoints" / "last.pt")
    assert all(isinstance(g["lr"], float) for o in state["optimizers"].values() for g in o["param_groups"])
    cpu = Trainer(
        tiny_config(aligned_dataset, tmp_path, "cpu", train={"device": "cpu", "n_epochs": 2, "max_steps": 10}),
        resume=str(resumed.run_dir / "checkpoints" / "last.pt"),
    ).fit()
    assert cpu.step == 10


def test_graphed_inference_matches_eager() -> None:
    from i2i.inference.graphs import GraphedForward
    from i2i.models.unet import UNetConfig

    net = UNetConfig(num_downs=5, ngf=8).build(3, 3).cuda().eval()
    graphed = GraphedForward(net)
    for shape in [(1, 3, 32, 32), (4, 3, 64, 32), (1, 3, 32, 32)]:
        x = torch.rand(shape, device="cuda") * 2 - 1
        with torch.no_grad():
            assert torch.allclose(graphed(x), net(x), atol=1e-5)
    assert len(graphed._graphs) == 2
