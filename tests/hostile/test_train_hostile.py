"""Training under hostile conditions: mismatched pairs, failures after a step, a second writer, a killed writer's
temp files, changed options on resume, a full disk. Each must end in one line and lose no training."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import REPO, cli_args, tiny_config, write_folders
from PIL import Image

from i2i.cli import main
from i2i.errors import DatasetError
from i2i.training import trainer as trainer_module
from i2i.training.checkpoint import load_state
from i2i.training.lock import RunFolderLocked, run_folder_lock
from i2i.training.trainer import Trainer, TrainingWriteFailed


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("i2i: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# -- size-mismatched pairs ---------------------------------------------------------------------------------------


@pytest.fixture
def mismatched_dataset(tmp_path: Path) -> Path:
    root = write_folders(tmp_path / "folders", {"train": 4, "val": 2})
    Image.fromarray(np.zeros((40, 56, 3), np.uint8)).save(root / "B" / "val" / "img_0.png")
    return root


def test_a_size_mismatched_pair_is_refused_at_the_pre_scan(mismatched_dataset: Path, tmp_path: Path) -> None:
    """The rule: the two images of a pair are the same size. A mismatch is refused before any step, naming the file,
    both sizes and the two ways out."""
    cfg = tiny_config(mismatched_dataset, tmp_path, "mm", data={"layout": "folders"})
    with pytest.raises(DatasetError) as err:
        Trainer(cfg).fit()
    message = str(err.value)
    assert "img_0.png" in message and "56x40" in message and "48x48" in message
    assert "--resize-b" in message and "--data.skip_bad" in message
    assert not (tmp_path / "mm" / "checkpoints").exists()


def test_skip_bad_trains_without_the_mismatched_pair_to_the_end(mismatched_dataset: Path, tmp_path: Path) -> None:
    """With --data.skip_bad the pair is left out of validation and sample grids: the run ends with its last.pt."""
    cfg = tiny_config(mismatched_dataset, tmp_path, "mm", data={"layout": "folders", "skip_bad": True})
    result = Trainer(cfg).fit()
    assert load_state(result.last_checkpoint)["progress"]["step"] == 8
    assert (result.run_dir / "samples" / "step_0000008.png").is_file()


# -- nothing after a step can lose the run ---------------------------------------------------------------------------


def test_a_failing_final_sample_grid_does_not_lose_the_run(
    aligned_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever fails after the last step (here the final sample grid), last.pt of the last step is written first."""
    calls = []

    def broken_grid(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("grid broke")

    cfg = tiny_config(aligned_dataset, tmp_path, "end", train={"sample_every": "never", "checkpoint_every": "never"})
    monkeypatch.setattr(trainer_module, "sample_grid", broken_grid)
    with pytest.raises(RuntimeError, match="grid broke"):
        Trainer(cfg).fit()
    assert calls
    assert load_state(tmp_path / "end" / "checkpoints" / "last.pt")["progress"]["step"] == 8


def test_a_failing_validation_mid_run_saves_the_step_first(
    aligned_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure in a periodic round (validation at the end of epoch 1) saves the state of that step, then stops."""
    from i2i.methods.pix2pix import PairedValidation

    def broken(self, example):
        raise RuntimeError("metric broke")

    monkeypatch.setattr(PairedValidation, "score", broken)
    cfg = tiny_config(aligned_dataset, tmp_path, "mid", train={"checkpoint_every": "never"})
    with pytest.raises(RuntimeError, match="metric broke"):
        Trainer(cfg).fit()
    assert load_state(tmp_path / "mid" / "checkpoints" / "last.pt")["progress"]["step"] == 4


# -- one writer per run folder ---------------------------------------------------------------------------------------


def test_a_second_run_on_a_locked_folder_is_refused_naming_the_holder(aligned_dataset: Path, tmp_path: Path) -> None:
    cfg = tiny_config(aligned_dataset, tmp_path, "busy")
    with run_folder_lock(cfg.run_dir):
        with pytest.raises(RunFolderLocked, match=rf"in use by process {os.getpid()}"):
            Trainer(cfg).fit()
    assert not (cfg.run_dir / "checkpoints").exists()
    Trainer(cfg).fit()  # released: the run goes ahead


_HOLDER = """
import sys, time
from pathlib import Path
from i2i.training.lock import run_folder_lock
with run_folder_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_the_lock_of_a_killed_process_is_not_in_the_way(aligned_dataset: Path, tmp_path: Path) -> None:
    """A real second process holds the folder: `i2i train` refuses in one line naming it; after `kill -9` of the
    holder (its lock file stays behind) the run starts."""
    cfg = tiny_config(aligned_dataset, tmp_path, "held")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(cfg.run_dir)], stdout=subprocess.PIPE, env={**os.environ}, cwd=REPO
    )
    try:
        assert holder.stdout.readline().strip() == b"locked"
        args = cli_args({"out_dir": str(tmp_path), "name": "held", "data": {"root": str(aligned_dataset)}})
        proc = subprocess.run(
            [sys.executable, "-m", "i2i.cli", "train", *args, "--train.max_steps=1", "--train.device=cpu"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        assert proc.returncode == 2, proc.stderr
        assert f"in use by process {holder.pid}" in proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        holder.kill()
        holder.wait()
    assert (cfg.run_dir / ".lock").exists()
    assert Trainer(cfg).fit().step == 8


# -- a killed writer's temp files --------------------------------------------------------------------------------------


def test_stale_temp_files_are_removed_at_the_next_start(aligned_dataset: Path, tmp_path: Path) -> None:
    cfg = tiny_config(aligned_dataset, tmp_path, "tmp", train={"max_steps": 4})
    Trainer(cfg).fit()
    orphan = cfg.run_dir / "checkpoints" / ".last.pt.k1ll3d.tmp"
    orphan.write_bytes(b"half a checkpoint")
    longer = tiny_config(aligned_dataset, tmp_path, "tmp", train={"max_steps": 6})
    assert Trainer(longer, resume="auto").fit().step == 6
    assert not orphan.exists()
    assert list(cfg.run_dir.rglob("*.tmp")) == []


# -- what may change on resume ---------------------------------------------------------------------------------------


def test_an_override_that_may_not_change_on_resume_is_refused(
    aligned_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--method.lr with --resume auto was ignored but recorded; it is refused in one line, and nothing is written."""
    args = cli_args(
        {"out_dir": str(tmp_path), "name": "lr", "data": {"root": str(aligned_dataset)}, "train": {"max_steps": 2}}
    )
    tiny = cli_args(
        {"data": {"load_size": 36, "crop_size": 32, "num_workers": 0}, "train": {"device": "cpu", "progress": False}}
    )
    arch = ["--method.generator.name=unet_128", "--method.generator.num_downs=5", "--method.generator.ngf=4"]
    assert main(["train", *args, *tiny, *arch]) == 0
    config_before = (tmp_path / "lr" / "config.yaml").read_text()
    last_before = (tmp_path / "lr" / "checkpoints" / "last.pt").read_bytes()
    capsys.readouterr()
    assert main(["train", "--resume", "auto", *args, "--method.lr=1e-3"]) == 2
    line = _one_error_line(capsys)
    assert "method.lr: checkpoint 0.0002, now 0.001" in line
    assert (tmp_path / "lr" / "config.yaml").read_text() == config_before
    assert (tmp_path / "lr" / "checkpoints" / "last.pt").read_bytes() == last_before
    # How long it goes may change, and config.yaml records the value used.
    assert main(["train", "--resume", "auto", *args, "--train.max_steps=3"]) == 0
    assert "max_steps: 3" in (tmp_path / "lr" / "config.yaml").read_text()
    assert load_state(tmp_path / "lr" / "checkpoints" / "last.pt")["progress"]["step"] == 3


def test_the_first_loss_row_after_a_resume_matches_a_straight_run(aligned_dataset: Path, tmp_path: Path) -> None:
    """Losses summed since the last log travel in the checkpoint: the row after a resume averages the same steps."""
    sections = {
        "train": {"max_steps": 8, "log_every": "4 steps", "keep_every": "3 steps", "deterministic": True},
    }
    straight = Trainer(tiny_config(aligned_dataset, tmp_path, "straight", **sections)).fit()
    resumed = Trainer(
        tiny_config(aligned_dataset, tmp_path, "resumed", **sections),
        resume=str(straight.run_dir / "checkpoints" / "step_0000003.pt"),
    ).fit()

    def losses(run_dir: Path) -> dict[int, dict]:
        return {
            r["step"]: {k: v for k, v in r.items() if k not in ("images_per_sec", "lr") and not k.startswith("val/")}
            for r in _rows(run_dir)
            if "lr" in r
        }

    assert set(losses(straight.run_dir)) == {4, 8}
    assert losses(resumed.run_dir)[4] == losses(straight.run_dir)[4]
    assert losses(resumed.run_dir)[8] == losses(straight.run_dir)[8]


def test_resuming_a_finished_run_adds_no_second_final_validation(aligned_dataset: Path, tmp_path: Path) -> None:
    cfg = tiny_config(aligned_dataset, tmp_path, "done", train={"val_every": "never", "sample_every": "never"})
    Trainer(cfg).fit()
    rows = _rows(cfg.run_dir)
    samples = sorted((cfg.run_dir / "samples").iterdir())
    Trainer(cfg, resume="auto").fit()
    assert _rows(cfg.run_dir) == rows
    assert [r["step"] for r in rows if "val/psnr" in r] == [8]
    assert sorted((cfg.run_dir / "samples").iterdir()) == samples


# -- a full disk -----------------------------------------------------------------------------------------------------


def test_a_full_disk_names_the_file_the_step_and_the_intact_checkpoint(
    aligned_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while the epoch-2 checkpoint is written: the error names last.pt, the step and the intact
    epoch-1 checkpoint, goes to train.log too, and leaves no temp file."""
    import i2i.training.checkpoint as checkpoint

    real_save = torch.save
    calls = []

    def full_disk_save(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) >= 2:  # last.pt at step 4 is written; the next write finds the disk full
            f.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(checkpoint.torch, "save", full_disk_save)
    cfg = tiny_config(aligned_dataset, tmp_path, "full", train={"best_metric": None})
    with pytest.raises(TrainingWriteFailed) as err:
        Trainer(cfg).fit()
    message = str(err.value)
    last = cfg.run_dir / "checkpoints" / "last.pt"
    assert f"could not write {cfg.run_dir / 'checkpoints'}" in message
    assert "at step 8 (No space left on device)" in message
    assert f"the last good checkpoint is {last} (step 4), intact" in message
    assert f"free some space and continue with: i2i train --resume {cfg.run_dir}" in message
    assert "\n" not in message
    assert message in (cfg.run_dir / "train.log").read_text()
    assert list(cfg.run_dir.rglob("*.tmp")) == []
    monkeypatch.setattr(checkpoint.torch, "save", real_save)
    assert load_state(last)["progress"]["step"] == 4
    assert Trainer(cfg, resume="auto").fit().step == 8


def test_a_real_full_disk_on_a_small_file_system(aligned_dataset: Path, tmp_path: Path) -> None:
    """On a real tmpfs too small for the run (when this machine lets the test mount one)."""
    mount = tmp_path / "small"
    mount.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("cannot mount a small tmpfs here (needs root and mount permission)")
    try:
        code = textwrap.dedent(
            f"""
            import sys
            from i2i.cli import main
            sys.exit(main(["train", {", ".join(repr(a) for a in _tiny_cli(aligned_dataset, mount))}]))
            """
        )
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
        assert time.monotonic() - start < 300
        assert proc.returncode == 2, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.startswith("i2i: error:")]
        assert len(lines) == 1 and "No space left on device" in lines[0], proc.stderr
        assert "Traceback" not in proc.stderr and "Logging error" not in proc.stderr
        assert not list(mount.rglob("*.tmp"))
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def _tiny_cli(dataset: Path, out_dir: Path) -> list[str]:
    sections = {
        "out_dir": str(out_dir),
        "name": "disk",
        "data": {"root": str(dataset), "load_size": 36, "crop_size": 32, "num_workers": 0},
        "method": {"generator": {"name": "unet_128", "num_downs": 5, "ngf": 16}},
        "train": {"device": "cpu", "progress": False, "checkpoint_every": "1 step", "n_epochs": 2},
    }
    return cli_args(sections)
