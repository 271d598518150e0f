"""CycleGAN and U-GAT-IT on the shared trainer: training steps, exact resume, validation, samples, config checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import tiny_unpaired_config
from PIL import Image

from i2i.errors import ConfigError
from i2i.methods.base import StepOutput
from i2i.training.engine import TrainEngine
from i2i.training.trainer import Trainer

CPU = torch.device("cpu")


def _batch(cfg, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    size = cfg.data.crop_size
    return {k: torch.rand(2, 3, size, size, generator=g) * 2 - 1 for k in ("a", "b")}


@pytest.mark.parametrize("method", ["cyclegan", "ugatit"])
def test_generator_slots_are_both_generators(unpaired_dataset: Path, tmp_path: Path, method: str) -> None:
    """Two-way methods ship A → B first, then B → A with the channels swapped."""
    other = {"data": {"output_channels": 1}, "method": {"lambda_identity": 0}} if method == "cyclegan" else {}
    cfg = tiny_unpaired_config(unpaired_dataset, tmp_path, method, **other)
    built = cfg.method.build(cfg.data)
    forward, back = cfg.generator_slots()
    assert built.networks()[forward.network] is built.gen_ab and built.networks()[back.network] is built.gen_ba
    assert (forward.in_channels, forward.out_channels) == (cfg.data.input_channels, cfg.data.output_channels)
    assert (back.in_channels, back.out_channels) == (cfg.data.output_channels, cfg.data.input_channels)
    assert back.reverse and not forward.reverse
    assert cfg.preprocessing(back) == cfg.preprocessing(forward).reversed()


def test_ugatit_clips_rho_after_the_generator_update(unpaired_dataset: Path, tmp_path: Path) -> None:
    cfg = tiny_unpaired_config(unpaired_dataset, tmp_path, "ugatit")
    engine = TrainEngine(cfg, CPU)
    rhos = [m for n, m in engine.method.gen_ab.named_parameters() if n.endswith("rho")]
    assert rhos
    with torch.no_grad():
        rhos[0].fill_(3.0)
        rhos[-1].fill_(-2.0)
    engine.train_step(_batch(cfg))
    assert all(((r >= 0) & (r <= 1)).all() for r in rhos)
    assert float(rhos[0].detach().max()) == 1.0 and float(rhos[-1].detach().min()) == 0.0


def test_cyclegan_uses_its_pools(unpaired_dataset: Path, tmp_path: Path) -> None:
    cfg = tiny_unpaired_config(unpaired_dataset, tmp_path, "cyclegan")
    engine = TrainEngine(cfg, CPU)
    for seed in range(3):
        engine.train_step(_batch(cfg, seed))
    state = engine.method.training_state()
    assert int(state["pool_a.filled"]) == int(state["pool_b.filled"]) == 3  # pool_size 3, 6 fakes offered


@pytest.mark.parametrize("method", ["cyclegan", "ugatit"])
def test_validation_and_sample_grid(unpaired_dataset: Path, tmp_path: Path, method: str) -> None:
    result = Trainer(tiny_unpaired_config(unpaired_dataset, tmp_path, method, train={"max_steps": 2})).fit()
    expected = {"cycle_psnr", "cycle_ssim", "idt_l1"} | {
        f"{m}_{d}" for m in ("cycle_psnr", "cycle_ssim", "idt_l1") for d in "ab"
    }
    assert set(result.val_metrics) == expected
    assert 0 < result.val_metrics["cycle_psnr"] < 60 and 0 <= result.val_metrics["idt_l1"] <= 2
    assert result.best_checkpoint is not None  # best_metric cycle_psnr
    (grid_path,) = (result.run_dir / "samples").glob("*.png")
    grid = np.asarray(Image.open(grid_path))
    columns = 8 if method == "ugatit" else 6  # U-GAT-IT adds each generator's attention map
    # One row per test sample: max(2 testA, 3 testB) = 3, scaled to the 32-pixel crop height.
    assert grid.shape[0] == 3 * 32 + 2 * 4
    assert grid.shape[1] == columns * 32 + (columns - 1) * 4
    if method == "ugatit":
        heat = grid[:32, 36:68]
        assert heat[..., 2].max() > 200 or heat[..., 0].max() > 200, "a JET-coloured map has strong blue or red"


def test_cyclegan_identity_needs_equal_channels(unpaired_dataset: Path, tmp_path: Path) -> None:
    cfg = tiny_unpaired_config(unpaired_dataset, tmp_path, "cyclegan", data={"input_channels": 1})
    with pytest.raises(ConfigError, match="lambda_identity"):
        cfg.method.build(cfg.data)
    cfg = tiny_unpaired_config(
        unpaired_dataset, tmp_path, "cyclegan", data={"input_channels": 1}, method={"lambda_identity": 0}
    )
    method = cfg.method.build(cfg.data)
    assert method.gen_ab(torch.zeros(1, 1, 32, 32)).shape == (1, 3, 32, 32)


def test_full_ugatit_must_match_the_crop(unpaired_dataset: Path, tmp_path: Path) -> None:
    cfg = tiny_unpaired_config(unpaired_dataset, tmp_path, "ugatit_full", method={"generator": {"img_size": 64}})
    with pytest.raises(ConfigError, match=r"img_size \(64\) must equal data.crop_size \(32\)"):
        cfg.method.build(cfg.data)


def test_ugatit_local_discriminator_depth_is_used(unpaired_dataset: Path, tmp_path: Path) -> None:
    def count(local: int) -> int:
        cfg = tiny_unpaired_config(unpaired_dataset, tmp_path, "ugatit", method={"local_layers": local})
        return sum(p.numel() for p in cfg.method.build(cfg.data).disc_local_a.parameters())

    assert count(4) < count(5)


def test_step_output_is_detached(unpaired_dataset: Path, tmp_path: Path) -> None:
    cfg = tiny_unpaired_config(unpaired_dataset, tmp_path, "cyclegan")
    engine = TrainEngine(cfg, CPU)

    class Ctx:
        def step(self, name: str, loss: torch.Tensor) -> None:
            engine._ctx.step(name, loss)

    out = engine.method.training_step(_batch(cfg), Ctx())
    assert isinstance(out, StepOutput) and not any(v.requires_grad for v in out.losses.values())


def test_ugatit_discriminators_too_deep_for_the_crop_are_a_config_error(unpaired_dataset: Path, tmp_path: Path) -> None:
    cfg = tiny_unpaired_config(unpaired_dataset, tmp_path, "ugatit", method={"discriminator": {"n_layers": 6}})
    with pytest.raises(ConfigError, match=r"crop_size \(32\) is too small for a 6-layer .*at least 48 pixels"):
        cfg.method.build(cfg.data)
    cfg = tiny_unpaired_config(unpaired_dataset, tmp_path, "ugatit", method={"local_layers": 6})
    with pytest.raises(ConfigError, match=r"method.local_layers"):
        cfg.method.build(cfg.data)
