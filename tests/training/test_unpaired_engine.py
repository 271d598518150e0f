"""The engine's fast paths for the two-way methods: bf16, CUDA-graph capture with device-side pools (GPU cases skip
on CPUs; they need a CUDA machine)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from helpers import relative_difference, tiny_unpaired_config, train_steps, write_unpaired

from i2i.run_config import RunConfig
from i2i.training.checkpoint import load_state
from i2i.training.engine import TrainEngine
from i2i.training.trainer import Trainer


def _config(tmp_path: Path, kind: str, method: dict | None = None, **train: object) -> RunConfig:
    cfg = tiny_unpaired_config(tmp_path, tmp_path / "runs", kind, method=method or {})
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **train))


def _engine(cfg: RunConfig, device: str) -> TrainEngine:
    torch.manual_seed(0)
    return TrainEngine(cfg, torch.device(device))


def _train(engine: TrainEngine, steps: int) -> list[dict[str, float]]:
    return train_steps(engine, steps)


def _relative(a: TrainEngine, b: TrainEngine) -> float:
    return relative_difference(
        {k: v.detach().cpu() for k, v in a.method.state_dict().items()},
        {k: v.detach().cpu() for k, v in b.method.state_dict().items()},
    )


@pytest.mark.parametrize("kind", ["cyclegan", "ugatit"])
def test_bf16_autocast_on_cpu_trains_like_fp32(tmp_path: Path, kind: str) -> None:
    no_pool = {"pool_size": 0} if kind == "cyclegan" else {}
    fp32 = _engine(_config(tmp_path, kind, no_pool, precision="fp32"), "cpu")
    bf16 = _engine(_config(tmp_path, kind, no_pool, precision="bf16"), "cpu")
    l32, l16 = _train(fp32, 3), _train(bf16, 3)
    for a, b in zip(l32, l16, strict=True):
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=0.1, abs=0.02), key
    assert 0 < _relative(fp32, bf16) < 0.05


# ---- GPU ----------------------------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("kind", ["cyclegan", "ugatit"])
def test_cuda_graph_step_matches_eager_steps(tmp_path: Path, kind: str) -> None:
    """The captured step trains as eager steps do (fp32; CycleGAN without its pool, whose draws differ by design)."""
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    no_pool = {"pool_size": 0} if kind == "cyclegan" else {}
    eager = _engine(_config(tmp_path, kind, no_pool, precision="fp32", cuda_graphs=False, device="cuda"), "cuda")
    graph = _engine(_config(tmp_path, kind, no_pool, precision="fp32", cuda_graphs=True, device="cuda"), "cuda")
    assert graph.use_graphs and not eager.use_graphs
    le, lg = _train(eager, 8), _train(graph, 8)
    assert graph._graph is not None
    for a, b in zip(le, lg, strict=True):
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-3, abs=1e-4), key
    assert _relative(eager, graph) < 1e-4


@pytest.mark.gpu
def test_pools_work_inside_the_captured_step(tmp_path: Path) -> None:
    """CycleGAN with its history pools is captured (no host-side decision) and the pools keep changing on replay."""
    engine = _engine(_config(tmp_path, "cyclegan", {"pool_size": 3}, device="cuda"), "cuda")
    _train(engine, 5)
    assert engine._graph is not None
    before = engine.method.pool_b.images.clone()
    losses = _train(engine, 6)
    assert all(torch.isfinite(torch.tensor(list(step.values()))).all() for step in losses)
    assert int(engine.method.pool_b.filled) == 3
    assert not torch.equal(before, engine.method.pool_b.images), "replays keep swapping images into the pool"


@pytest.mark.gpu
@pytest.mark.parametrize("kind", ["cyclegan", "ugatit"])
def test_default_gpu_path_trains_resumes_and_loads_on_cpu(tmp_path: Path, kind: str) -> None:
    """bf16, channels_last, the unpaired device cache and the CUDA graph; the state then resumes on a CPU."""
    data = write_unpaired(tmp_path / "data", {"train": (5, 3), "test": (2, 2)})
    sections = {"train": {"device": "cuda", "keep_every": "4 steps", "max_steps": 8}, "data": {"cache": "device"}}
    run = Trainer(tiny_unpaired_config(data, tmp_path, kind, "gpu", **sections)).fit()
    assert run.step == 8 and "cycle_psnr" in run.val_metrics
    state = load_state(run.run_dir / "checkpoints" / "last.pt")
    cpu = Trainer(
        tiny_unpaired_config(data, tmp_path, kind, "cpu", train={"device": "cpu", "max_steps": 10}),
        resume=str(run.run_dir / "checkpoints" / "last.pt"),
    ).fit()
    assert cpu.step == 10 and state["progress"]["step"] == 8
