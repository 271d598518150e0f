"""Exact resume: N steps + resume + N steps must give bit-identical weights to 2N steps straight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import REPO, TINY, cli_args, tiny_config

from i2i.config import merge
from i2i.training.checkpoint import load_state
from i2i.training.trainer import Trainer


def _final_state(run_dir: Path) -> dict:
    return load_state(run_dir / "checkpoints" / "last.pt")


def _assert_same_training_state(a: dict, b: dict) -> None:
    assert a["progress"]["step"] == b["progress"]["step"]
    for name in a["networks"]:
        for key, tensor in a["networks"][name].items():
            assert torch.equal(tensor, b["networks"][name][key]), f"{name}.{key} differs"
    for name in a["optimizers"]:
        for pid, slots in a["optimizers"][name]["state"].items():
            for slot, value in slots.items():
                assert torch.equal(value, b["optimizers"][name]["state"][pid][slot]), f"{name} {pid} {slot}"
    assert a["schedulers"] == b["schedulers"]
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])


@pytest.mark.parametrize("num_workers", [0, 2])
def test_resume_mid_epoch_is_bit_exact(aligned_dataset: Path, tmp_path: Path, num_workers: int) -> None:
    """10 steps straight == 3 steps, then a resume from the step-3 checkpoint (mid-epoch, before LR decay)."""
    sections = {
        "data": {"num_workers": num_workers},
        # 4 pairs at batch 1: 3 epochs of 4 steps; the LR decays in epochs 2-3. Keep a checkpoint every 3 steps.
        "train": {"n_epochs": 1, "n_epochs_decay": 2, "max_steps": 10, "keep_every": "3 steps", "deterministic": True},
    }
    straight = Trainer(tiny_config(aligned_dataset, tmp_path, "straight", **sections)).fit()
    assert straight.step == 10

    middle = straight.run_dir / "checkpoints" / "step_0000003.pt"
    resumed_cfg = tiny_config(aligned_dataset, tmp_path, "resumed", **sections)
    resumed = Trainer(resumed_cfg, resume=str(middle)).fit()
    assert resumed.step == 10
    _assert_same_training_state(_final_state(straight.run_dir), _final_state(resumed.run_dir))


def test_resume_at_epoch_boundary_is_bit_exact(aligned_dataset: Path, tmp_path: Path) -> None:
    """A checkpoint written right after an epoch (scheduler stepped) resumes into the same next epoch."""
    sections = {"train": {"n_epochs": 1, "n_epochs_decay": 1, "keep_every": "4 steps", "deterministic": True}}
    straight = Trainer(tiny_config(aligned_dataset, tmp_path, "a", **sections)).fit()
    resumed = Trainer(
        tiny_config(aligned_dataset, tmp_path, "b", **sections),
        resume=str(straight.run_dir / "checkpoints" / "step_0000004.pt"),
    ).fit()
    _assert_same_training_state(_final_state(straight.run_dir), _final_state(resumed.run_dir))


def test_resume_auto_continues_a_longer_schedule(aligned_dataset: Path, tmp_path: Path) -> None:
    """--resume auto picks up last.pt: the same schedule does no more steps, a longer one trains on."""
    cfg = tiny_config(aligned_dataset, tmp_path, "auto")
    first = Trainer(cfg).fit()
    again = Trainer(cfg, resume="auto").fit()
    assert again.step == first.step == 8
    longer = Trainer(tiny_config(aligned_dataset, tmp_path, "auto", train={"n_epochs_decay": 2}), resume="auto").fit()
    assert (longer.step, longer.epoch) == (12, 3)


def test_fresh_run_refuses_existing_run_folder(aligned_dataset: Path, tmp_path: Path) -> None:
    """Starting a new run where one exists asks for --resume auto or another name instead of overwriting."""
    from i2i.errors import I2IError

    cfg = tiny_config(aligned_dataset, tmp_path, "taken")
    Trainer(cfg).fit()
    with pytest.raises(I2IError, match="--resume auto"):
        Trainer(cfg)


def _cli(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "i2i.cli", "train", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"training ended before {path} appeared: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.05)


def _common_args(dataset: Path, out_dir: Path) -> list[str]:
    extra = {
        "train": {"n_epochs": 2, "n_epochs_decay": 2, "checkpoint_every": "1 step", "deterministic": True},
    }
    sections = merge(TINY, {"data": {"root": str(dataset)}, "out_dir": str(out_dir), **extra})
    return [*cli_args(sections), "--train.tensorboard=false"]


@pytest.fixture(scope="module")
def clean_cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One uninterrupted CLI run that the interrupted runs are compared with: (dataset, run folder)."""
    from helpers import write_aligned

    base = tmp_path_factory.mktemp("clean")
    dataset = write_aligned(base / "data", {"train": 4, "val": 2})
    proc = _cli([*_common_args(dataset, base / "runs"), "--name=clean"], REPO)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    return dataset, base / "runs" / "clean"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_resumes_exactly(clean_cli_run: tuple[Path, Path], tmp_path: Path, sig: signal.Signals) -> None:
    """A CLI run killed (SIGKILL) or interrupted (SIGINT) mid-training resumes to the same weights as a clean run."""
    dataset, clean_dir = clean_cli_run
    common = _common_args(dataset, tmp_path)
    victim = _cli([*common, "--name=victim"], REPO)
    _wait_for(tmp_path / "victim" / "checkpoints" / "last.pt", victim)
    victim.send_signal(sig)
    code = victim.wait(timeout=120)
    stderr = victim.stderr.read().decode()
    if sig == signal.SIGINT:  # finishes the step, writes last.pt, says how to continue, exits with status 2
        assert code == 2 and "continue with: i2i train --resume" in stderr, stderr
    interrupted_at = load_state(tmp_path / "victim" / "checkpoints" / "last.pt")["progress"]["step"]
    assert 1 <= interrupted_at < 16, "the run was not interrupted mid-training"

    resumed = _cli([*common, "--name=victim", "--resume=auto"], REPO)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
    _assert_same_training_state(_final_state(clean_dir), _final_state(tmp_path / "victim"))
