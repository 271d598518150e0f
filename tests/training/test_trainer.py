"""The training loop's outputs: run folder, logs, TensorBoard events, samples, checkpoint cadence, bad data, NaN."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from helpers import tiny_config
from PIL import Image

from i2i.errors import DatasetError
from i2i.methods.pix2pix import Pix2Pix
from i2i.training.checkpoint import load_state
from i2i.training.trainer import Trainer, TrainingDiverged


def test_run_folder_has_config_logs_samples_and_checkpoints(aligned_dataset: Path, tmp_path: Path) -> None:
    """A finished run holds the resolved config, metrics.jsonl, TensorBoard events, sample grids and checkpoints."""
    cfg = tiny_config(aligned_dataset, tmp_path, "full", train={"keep_every": "4 steps", "tensorboard": True})
    result = Trainer(cfg).fit()
    run = result.run_dir

    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["data"]["crop_size"] == 32 and saved["method"]["generator"]["ngf"] == 4
    assert saved["train"]["batch_size"] == 1 and saved["method"]["discriminator"]["name"] == "patchgan"

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    loss_steps = [r["step"] for r in records if "g_l1" in r]
    assert loss_steps == [2, 4, 6, 8]
    assert all(np.isfinite(r["g_gan"]) and r["images_per_sec"] > 0 for r in records if "g_gan" in r)
    val = [r for r in records if "val/psnr" in r]
    assert [r["step"] for r in val] == [4, 8] and all(0 < r["val/ssim"] <= 1 for r in val)

    samples = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert samples == ["step_0000004.png", "step_0000008.png"]
    grid = np.asarray(Image.open(run / "samples" / samples[0]))
    assert grid.shape[0] >= 2 * 32 and grid.shape[1] >= 3 * 32  # 2 val rows of input | output | target

    checkpoints = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert checkpoints == ["best.pt", "last.pt", "step_0000004.pt", "step_0000008.pt"]
    assert load_state(run / "checkpoints" / "last.pt")["progress"]["step"] == 8
    assert result.best_checkpoint == run / "checkpoints" / "best.pt"


def test_tensorboard_events_hold_scalars_and_images(aligned_dataset: Path, tmp_path: Path) -> None:
    """The event files are real TensorBoard files with loss curves, validation metrics and sample images."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = Trainer(tiny_config(aligned_dataset, tmp_path, "tb", train={"tensorboard": True})).fit()
    events = EventAccumulator(str(result.run_dir / "tensorboard"))
    events.Reload()
    tags = events.Tags()
    assert {"g_gan", "g_l1", "d_real", "d_fake", "val/psnr", "val/ssim", "lr"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("val/psnr")] == [4, 8]
    assert tags["images"] == ["samples/input_output_target"]


def test_lr_is_constant_then_decays_linearly(aligned_dataset: Path, tmp_path: Path) -> None:
    """The logged learning rate follows the pix2pix rule: constant for n_epochs, then linear decay."""
    cfg = tiny_config(
        aligned_dataset, tmp_path, "lr", train={"n_epochs": 2, "n_epochs_decay": 2, "log_every": "4 steps"}
    )
    run = Trainer(cfg).fit().run_dir
    lrs = [json.loads(line)["lr"] for line in (run / "metrics.jsonl").read_text().splitlines() if "lr" in line]
    assert lrs == pytest.approx([2e-4, 2e-4, 2e-4 * 2 / 3, 2e-4 * 1 / 3])


def test_no_validation_split_means_no_best_checkpoint(aligned_dataset: Path, tmp_path: Path) -> None:
    """val_split null without holdout: training works, samples come from training pairs, no best.pt."""
    cfg = tiny_config(aligned_dataset, tmp_path, "noval", data={"val_split": None})
    result = Trainer(cfg).fit()
    assert result.best_checkpoint is None and result.val_metrics == {}
    assert list((result.run_dir / "samples").glob("*.png"))


def test_holdout_gives_a_validation_set(aligned_dataset: Path, tmp_path: Path) -> None:
    """data.holdout carves a validation set out of the training split (the denoise recipe's 8:2 rule)."""
    cfg = tiny_config(aligned_dataset, tmp_path, "hold", data={"val_split": None, "holdout": 0.5})
    result = Trainer(cfg).fit()
    assert result.val_metrics and result.best_checkpoint is not None


def test_missing_validation_split_says_how_to_fix(aligned_dataset: Path, tmp_path: Path) -> None:
    """A missing val split is an error naming the split and the two ways out."""
    cfg = tiny_config(aligned_dataset, tmp_path, "v", data={"val_split": "validation"})
    with pytest.raises(DatasetError, match=r"split 'validation' not found.*--data.val_split=null"):
        Trainer(cfg).fit()


def _add_bad_files(root: Path) -> None:
    (root / "train" / "text.jpg").write_text("this is not an image\n")
    (root / "train" / "empty.png").write_bytes(b"")
    Image.new("RGB", (65, 32)).save(root / "train" / "odd.png")


def test_bad_files_refuse_training_and_are_all_listed(aligned_dataset: Path, tmp_path: Path) -> None:
    """Training refuses a dataset with bad files and lists every one of them at once."""
    _add_bad_files(aligned_dataset)
    with pytest.raises(DatasetError) as err:
        Trainer(tiny_config(aligned_dataset, tmp_path, "bad")).fit()
    message = str(err.value)
    for name in ("text.jpg", "empty.png", "odd.png"):
        assert name in message
    assert "3 bad file(s)" in message and "--data.skip_bad=true" in message
    assert not (tmp_path / "bad" / "checkpoints").exists()


def test_skip_bad_trains_and_says_how_many_were_skipped(
    aligned_dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With data.skip_bad the run trains on the good pairs and reports how many files it skipped."""
    _add_bad_files(aligned_dataset)
    with caplog.at_level("WARNING"):
        result = Trainer(tiny_config(aligned_dataset, tmp_path, "skip", data={"skip_bad": True})).fit()
    assert result.step == 8  # 4 good pairs, 2 epochs
    assert "skipping 3 bad file(s)" in caplog.text


def _poison_at(monkeypatch: pytest.MonkeyPatch, bad_step: int) -> None:
    """Makes the pix2pix step report a NaN loss from ``bad_step`` on (and poison G's weights like a real blow-up)."""
    original = Pix2Pix.training_step
    calls = {"n": 0}

    def step(self, batch, ctx):
        out = original(self, batch, ctx)
        calls["n"] += 1
        if calls["n"] >= bad_step:
            out.losses["g_l1"] = torch.tensor(float("nan"))
            with torch.no_grad():
                next(self.gen.parameters()).fill_(float("nan"))
        return out

    monkeypatch.setattr(Pix2Pix, "training_step", step)


def test_nan_stops_training_and_keeps_the_good_checkpoint(
    aligned_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NaN loss stops the run with a clear message; last.pt still holds the last good step."""
    cfg = tiny_config(aligned_dataset, tmp_path, "nan", train={"checkpoint_every": "2 steps", "log_every": "3 steps"})
    _poison_at(monkeypatch, bad_step=5)
    with pytest.raises(TrainingDiverged) as err:
        Trainer(cfg).fit()
    message = str(err.value)
    assert re.search(r"loss (g_l1|g_gan|d_real|d_fake) became NaN/inf at step 6", message), message
    assert "last good checkpoint" in message
    state = load_state(tmp_path / "nan" / "checkpoints" / "last.pt")
    assert state["progress"]["step"] == 4
    weights = state["networks"]["generator"]
    assert all(torch.isfinite(t).all() for t in weights.values() if t.is_floating_point())


def test_nan_weights_are_never_checkpointed(
    aligned_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when the step's loss is checked only later, a checkpoint is refused once a weight is NaN."""
    cfg = tiny_config(aligned_dataset, tmp_path, "nanw", train={"checkpoint_every": "1 step", "log_every": "100 steps"})
    original = Pix2Pix.training_step

    def step(self, batch, ctx):
        out = original(self, batch, ctx)
        with torch.no_grad():
            next(self.gen.parameters()).fill_(float("nan"))
        return out

    monkeypatch.setattr(Pix2Pix, "training_step", step)
    with pytest.raises(TrainingDiverged, match="of network generator became NaN/inf"):
        Trainer(cfg).fit()
    assert not (tmp_path / "nanw" / "checkpoints" / "last.pt").exists()


def test_inf_batchnorm_buffers_are_never_checkpointed(
    aligned_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Losses can stay finite while a BatchNorm running_var becomes inf (large learning rates): buffers are checked
    too, and the message names the tensor."""
    cfg = tiny_config(aligned_dataset, tmp_path, "infbuf", train={"checkpoint_every": "2 steps"})
    original = Pix2Pix.training_step
    calls = []

    def step(self, batch, ctx):
        out = original(self, batch, ctx)
        calls.append(1)
        if len(calls) == 3:
            with torch.no_grad():
                bn = next(m for m in self.gen.modules() if isinstance(m, torch.nn.BatchNorm2d))
                bn.running_var.fill_(float("inf"))
        return out

    monkeypatch.setattr(Pix2Pix, "training_step", step)
    with pytest.raises(TrainingDiverged, match=r"tensor \S*running_var of network generator became NaN/inf at step 4"):
        Trainer(cfg).fit()
    state = load_state(tmp_path / "infbuf" / "checkpoints" / "last.pt")
    assert state["progress"]["step"] == 2


def test_epoch_cadences_and_no_sample_grids(aligned_dataset: Path, tmp_path: Path) -> None:
    """log_every in epochs logs losses once per epoch; num_samples 0 writes no sample grids."""
    cfg = tiny_config(aligned_dataset, tmp_path, "ep", train={"log_every": "1 epoch", "num_samples": 0})
    run = Trainer(cfg).fit().run_dir
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "g_l1" in r] == [4, 8]
    assert not (run / "samples").exists()


def test_fresh_run_drops_stale_logs(aligned_dataset: Path, tmp_path: Path) -> None:
    """metrics.jsonl left by a run that never wrote a checkpoint does not leak into the new run's log."""
    stale = tmp_path / "stale" / "metrics.jsonl"
    stale.parent.mkdir(parents=True)
    stale.write_text('{"step": 3, "g_l1": 123.0}\n')
    Trainer(tiny_config(aligned_dataset, tmp_path, "stale")).fit()
    assert "123.0" not in stale.read_text()


def test_train_log_records_the_run(aligned_dataset: Path, tmp_path: Path) -> None:
    """train.log in the run folder has the data summary and every validation line."""
    run = Trainer(tiny_config(aligned_dataset, tmp_path, "log")).fit().run_dir
    text = (run / "train.log").read_text()
    assert "data: 4 training pairs, 2 validation pairs" in text
    assert text.count("validation psnr") == 2


def test_decoded_cache_trains_exactly_like_loader_workers(aligned_dataset: Path, tmp_path: Path) -> None:
    """data.cache=host (batched augmentation from decoded uint8) and the worker path give bit-identical weights."""
    sections = {"train": {"batch_size": 2, "max_steps": 5}}
    runs = {}
    for cache in ("off", "host"):
        cfg = tiny_config(aligned_dataset, tmp_path, f"cache-{cache}", data={"cache": cache}, **sections)
        result = Trainer(cfg).fit()
        runs[cache] = load_state(result.last_checkpoint)["networks"]
        used = "augmented in batches" in (result.run_dir / "train.log").read_text(encoding="utf-8")
        assert used == (cache == "host")
    for net, weights in runs["off"].items():
        for key, value in weights.items():
            assert torch.equal(value, runs["host"][net][key]), f"{net}.{key}"


def test_samples_reuse_the_validation_round_when_both_are_due(
    aligned_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation and the sample grid at the same step translate each shared example once, not twice."""
    from i2i.methods.pix2pix import PairedValidation

    calls: list[str] = []
    original = PairedValidation.score

    def counting(self, example):
        calls.append(example["path_a"])
        return original(self, example)

    monkeypatch.setattr(PairedValidation, "score", counting)
    cfg = tiny_config(aligned_dataset, tmp_path, train={"n_epochs": 1, "n_epochs_decay": 0, "num_samples": 2})
    result = Trainer(cfg).fit()
    assert len(calls) == 2  # the 2 val pairs, once each: the grid's 2 rows came from the same round
    assert result.val_metrics and len(list((result.run_dir / "samples").glob("*.png"))) == 1


def test_an_example_too_small_to_score_is_left_out_of_validation_and_samples(tmp_path: Path) -> None:
    """An image under SSIM's 7x7 window is named in a warning; the run, the other rows and the metrics go on."""
    from helpers import write_aligned

    data = write_aligned(tmp_path / "data", {"train": 3, "val": 2})
    Image.fromarray(np.zeros((6, 12, 3), np.uint8)).save(data / "val" / "0_tiny.png")
    cfg = tiny_config(data, tmp_path / "runs", train={"n_epochs": 1, "n_epochs_decay": 0, "num_samples": 3})
    result = Trainer(cfg).fit()
    assert set(result.val_metrics) == {"psnr", "ssim", "l1"}
    (grid,) = (result.run_dir / "samples").glob("*.png")
    assert np.asarray(Image.open(grid)).shape[0] == 2 * 32 + 4  # the two scoreable pairs
    assert "0_tiny" in (result.run_dir / "train.log").read_text()
