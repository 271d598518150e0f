"""The training engine's fast paths compute the same training as the plain fp32 path (GPU cases skip on CPUs)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import torch
from helpers import relative_difference, tiny_config, train_steps

from i2i.run_config import RunConfig
from i2i.training.engine import TrainEngine
from i2i.training.precision import resolve_precision


def _config(tmp_path: Path, dropout: float = 0.5, **train: object) -> RunConfig:
    cfg = tiny_config(tmp_path, tmp_path / "runs", method={"generator": {"dropout": dropout}})
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **train))


def _engine(cfg: RunConfig, device: str, seed: int = 0) -> TrainEngine:
    torch.manual_seed(seed)
    return TrainEngine(cfg, torch.device(device))


def _weights(engine: TrainEngine) -> dict[str, torch.Tensor]:
    return {k: v.detach().float().cpu() for k, v in engine.method.state_dict().items()}


def _train(engine: TrainEngine, steps: int, batch_size: int = 2) -> list[dict[str, float]]:
    return train_steps(engine, steps, batch_size)


def _relative(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return relative_difference(a, b)


def test_auto_precision_is_fp32_on_cpu_and_bf16_or_fp16_on_gpus() -> None:
    assert resolve_precision("auto", torch.device("cpu")).name == "fp32"
    assert resolve_precision("fp16", torch.device("cpu")).needs_scaler
    if torch.cuda.is_available():
        assert resolve_precision("auto", torch.device("cuda")).name in ("bf16", "fp16")


def test_bf16_autocast_on_cpu_trains_like_fp32(tmp_path: Path) -> None:
    """Same init, same batches: bf16 losses stay within bf16 rounding of fp32's, weights nearly identical."""
    fp32 = _engine(_config(tmp_path, precision="fp32"), "cpu")
    bf16 = _engine(_config(tmp_path, precision="bf16"), "cpu")
    assert _relative(_weights(fp32), _weights(bf16)) == 0
    l32, l16 = _train(fp32, 3), _train(bf16, 3)
    for a, b in zip(l32, l16, strict=True):
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=5e-2, abs=1e-2), key
    assert _relative(_weights(fp32), _weights(bf16)) < 1e-2


def test_channels_last_on_cpu_gives_the_same_training(tmp_path: Path) -> None:
    # No dropout: its random mask is laid out in memory order, so the layout changes which element gets which draw.
    plain = _engine(_config(tmp_path, dropout=0.0, memory_format="contiguous"), "cpu")
    last = _engine(_config(tmp_path, dropout=0.0, memory_format="channels_last"), "cpu")
    assert last.channels_last and not plain.channels_last
    # Losses computed before any update (the first step's, but g_gan, which follows D's update) agree to rounding;
    # later ones drift slightly, because Adam's first updates turn rounding-level gradient differences of
    # near-zero entries into ±lr moves.
    for step, (a, b) in enumerate(zip(_train(plain, 3), _train(last, 3), strict=True)):
        for key in a:
            tight = step == 0 and key != "g_gan"
            assert b[key] == pytest.approx(a[key], rel=1e-5 if tight else 1e-2, abs=1e-6), (step, key)


def test_state_dict_round_trip_keeps_learning_rates_plain_floats(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    engine = _engine(cfg, "cpu")
    _train(engine, 2)
    engine.step_schedulers()
    state = copy.deepcopy(engine.state_dict())
    for opt_state in state["optimizers"].values():
        assert all(isinstance(g["lr"], float) for g in opt_state["param_groups"])
    other = _engine(cfg, "cpu", seed=1)
    other.load_optimizer_state(state, "test")
    for name, opt in other.optimizers.items():
        assert opt.param_groups[0]["lr"] == engine.optimizers[name].param_groups[0]["lr"]
        assert other.schedulers[name].last_epoch == engine.schedulers[name].last_epoch


# ---- GPU ----------------------------------------------------------------------------------------------------


@pytest.mark.gpu
def test_cuda_graph_step_matches_eager_steps(tmp_path: Path) -> None:
    """The captured step (replayed after the warm-up) trains exactly as eager steps do (fp32, deterministic)."""
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    eager = _engine(_config(tmp_path, precision="fp32", cuda_graphs=False, device="cuda"), "cuda")
    graph = _engine(_config(tmp_path, precision="fp32", cuda_graphs=True, device="cuda"), "cuda")
    assert graph.use_graphs and not eager.use_graphs
    le, lg = _train(eager, 8), _train(graph, 8)
    assert graph._graph is not None
    for a, b in zip(le, lg, strict=True):
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-5), key
    assert _relative(_weights(eager), _weights(graph)) < 1e-4


@pytest.mark.gpu
def test_bf16_on_cuda_trains_like_fp32(tmp_path: Path) -> None:
    fp32 = _engine(_config(tmp_path, precision="fp32", device="cuda"), "cuda")
    bf16 = _engine(_config(tmp_path, precision="bf16", device="cuda"), "cuda")
    for a, b in zip(_train(fp32, 6), _train(bf16, 6), strict=True):
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=5e-2, abs=1e-2), key
    assert _relative(_weights(fp32), _weights(bf16)) < 2e-2


@pytest.mark.gpu
def test_fp16_with_gradient_scaler_trains_on_cuda(tmp_path: Path) -> None:
    engine = _engine(_config(tmp_path, precision="fp16", device="cuda"), "cuda")
    assert engine.scalers and not engine.use_graphs
    losses = _train(engine, 4)
    assert all(torch.isfinite(torch.tensor(list(step.values()))).all() for step in losses)


@pytest.mark.gpu
def test_compiled_networks_match_eager(tmp_path: Path) -> None:
    # No dropout: compiled code draws its random masks differently from eager code.
    eager = _engine(_config(tmp_path, 0.0, precision="fp32", cuda_graphs=False, device="cuda"), "cuda")
    compiled = _engine(_config(tmp_path, 0.0, precision="fp32", cuda_graphs=False, compile=True, device="cuda"), "cuda")
    x = torch.rand(2, 3, 32, 32, device="cuda") * 2 - 1
    with torch.no_grad():
        ref, out = eager.method.gen(x), compiled.method.gen(x)
    # cuDNN and inductor may both use TF32 for fp32 convolutions on Ampere and newer: agreement to ~1e-3, not 1e-6.
    assert (out - ref).abs().max() < 1e-2
    for a, b in zip(_train(eager, 3), _train(compiled, 3), strict=True):
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=2e-2, abs=1e-3), key


def test_gpu_saved_optimizer_state_loads_into_a_cpu_engine(tmp_path: Path) -> None:
    """A state saved by a CUDA-graph run (capturable, tensor lr) resumes on a CPU with the CPU's flags."""
    cfg = _config(tmp_path)
    engine = _engine(cfg, "cpu")
    cpu_fused = bool(engine.optimizers["gen"].param_groups[0]["fused"])
    _train(engine, 2)
    state = copy.deepcopy(engine.state_dict())
    for opt_state in state["optimizers"].values():  # what a graph-captured GPU run writes (fused: the other value)
        for group in opt_state["param_groups"]:
            group.update(fused=not cpu_fused, capturable=True, foreach=None, lr=torch.tensor(group["lr"]))
    other = _engine(cfg, "cpu", seed=1)
    other.load_optimizer_state(state, "gpu-run.pt")
    for name, opt in other.optimizers.items():
        group = opt.param_groups[0]
        assert bool(group["fused"]) == cpu_fused and not group["capturable"] and isinstance(group["lr"], float)
        assert group["lr"] == pytest.approx(engine.optimizers[name].param_groups[0]["lr"], rel=1e-6)  # float32 lr
    _train(other, 1)  # and it steps
