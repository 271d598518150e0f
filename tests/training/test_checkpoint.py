"""Checkpoint files: atomic writes, safe loading (no arbitrary unpickling), and clear errors for wrong files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
from helpers import tiny_config

from i2i.atomic import atomic_write
from i2i.errors import CheckpointError
from i2i.training.checkpoint import RunFolder, best_or_last, last_only, load_state, save_state
from i2i.training.trainer import Trainer


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the rename never happens (crash, full disk), the previous file is intact and no temp file is left."""
    target = tmp_path / "last.pt"
    atomic_write(target, b"old", durable=True)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, b"new", durable=True)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    """Atomic writes go through a private temp file, but the result is readable like any file open() makes."""
    umask = os.umask(0o022)
    os.umask(umask)
    atomic_write(tmp_path / "x.bin", b"data")
    assert (tmp_path / "x.bin").stat().st_mode & 0o777 == 0o666 & ~umask


class Payload:
    """A class a malicious checkpoint could smuggle in: unpickling it would run __reduce__."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    """A .pt file holding arbitrary Python objects is refused, not unpickled."""
    path = tmp_path / "evil.pt"
    with path.open("wb") as f:
        pickle.dump({"format": "i2i-train-state", "x": Payload()}, f, protocol=2)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_state(path)


def test_refusals_are_in_i2is_words_never_torchs_advice(tmp_path: Path) -> None:
    """Torch's message on a refused file advises re-running with weights_only=False (unsafe): it never reaches the
    user. Each kind of wrong file gets its own one-line message naming it."""
    evil = tmp_path / "evil.pt"
    torch.save({"format": "i2i-train-state", "payload": Payload()}, evil)
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint\n")
    zipped = tmp_path / "archive.pt"
    import zipfile

    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("docs/readme.txt", "hello")
    cases = {
        evil: "refused to load: it holds the Python object 'posix.system', not plain training state",
        text: "not a PyTorch checkpoint (neither a zip archive nor a pickle)",
        zipped: "a zip archive, but not a PyTorch checkpoint (no data.pkl in it)",
    }
    for path, expected in cases.items():
        with pytest.raises(CheckpointError) as err:
            load_state(path)
        message = str(err.value)
        assert message.startswith(f"{path}: {expected}") and "\n" not in message, message
        assert not any(word in message for word in ("weights_only", "two options", "trust")), message


def test_a_checkpoint_must_hold_config_progress_and_networks(tmp_path: Path) -> None:
    full = {"config": {}, "progress": {"step": 3}, "networks": {}}
    for key in full:
        path = tmp_path / f"no_{key}.pt"
        save_state(path, {k: v for k, v in full.items() if k != key})
        with pytest.raises(CheckpointError, match=f"not a complete i2i checkpoint: '{key}' .* is missing"):
            load_state(path)
    path = tmp_path / "odd.pt"
    save_state(path, {**full, "version": "1"})
    with pytest.raises(CheckpointError, match="checkpoint version must be a whole number, got '1'"):
        load_state(path)
    save_state(path, {**full, "progress": {"step": 2.5}})
    with pytest.raises(CheckpointError, match="progress.step must be a whole number, got 2.5"):
        load_state(path)


@pytest.mark.timeout(60)
def test_named_pipes_and_folders_are_never_opened_as_checkpoints(tmp_path: Path) -> None:
    """A FIFO named last.pt would block the reader forever: it is refused from its stat, by every resolver."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    os.mkfifo(run / "checkpoints" / "last.pt")
    (run / "checkpoints" / "best.pt").mkdir()
    pipe = f"{run / 'checkpoints' / 'last.pt'}: not a regular file (a FIFO); refusing to read it"
    with pytest.raises(CheckpointError, match="best.pt: not a regular file \\(a directory\\)"):
        best_or_last(run)
    (run / "checkpoints" / "best.pt").rmdir()
    for call in (lambda: best_or_last(run), lambda: last_only(run, "auto"), lambda: last_only(run, str(run))):
        with pytest.raises(CheckpointError) as err:
            call()
        assert str(err.value) == pipe
    with pytest.raises(CheckpointError) as err:
        load_state(run / "checkpoints" / "last.pt")
    assert str(err.value) == pipe


def test_truncated_and_foreign_files_give_one_line_errors(tmp_path: Path) -> None:
    """Truncated checkpoints, non-i2i torch files and missing files each give a one-line CheckpointError."""
    good = tmp_path / "good.pt"
    save_state(good, {"config": {}, "progress": {"step": 1}, "networks": {"g": {"w": torch.ones(1000)}}})
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.ones(2)}}, foreign)
    for path, pattern in [
        (truncated, "not a readable checkpoint"),
        (foreign, "not an i2i training checkpoint"),
        (tmp_path / "missing.pt", "checkpoint not found"),
    ]:
        with pytest.raises(CheckpointError, match=pattern) as err:
            load_state(path)
        assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert load_state(good)["progress"]["step"] == 1


def test_best_or_last_prefers_best_and_last_only_takes_last(aligned_dataset: Path, tmp_path: Path) -> None:
    """Using a model: best.pt when there is one, else last.pt. Resuming: last.pt only. Wrong paths: clear errors."""
    run = Trainer(tiny_config(aligned_dataset, tmp_path, "r")).fit().run_dir
    folder = RunFolder(run)
    assert best_or_last(run) == folder.best == run / "checkpoints" / "best.pt"
    assert last_only(run, "auto") == last_only(tmp_path, str(run)) == folder.last == run / "checkpoints" / "last.pt"
    assert last_only(run, str(folder.best)) == folder.best and last_only(run, None) is None
    assert last_only(tmp_path / "fresh", "auto") is None
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        last_only(run, str(tmp_path / "nowhere"))
    folder.best.unlink()
    assert best_or_last(run) == folder.last
    with pytest.raises(CheckpointError, match="no such run folder"):
        best_or_last(tmp_path / "nowhere")


def test_run_folder_names_every_file_once(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run")
    assert folder.kept(12) == tmp_path / "run" / "checkpoints" / "step_0000012.pt"
    assert folder.sample(3) == tmp_path / "run" / "samples" / "step_0000003.png"
    assert folder.eval_dir("test") == tmp_path / "run" / "eval" / "test"
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "x.pt").write_bytes(b"")
    assert RunFolder.of(tmp_path / "run" / "checkpoints" / "x.pt") == folder == RunFolder.of(tmp_path / "run")
    assert RunFolder.of(tmp_path) is None


def test_resume_with_another_architecture_names_the_difference(aligned_dataset: Path, tmp_path: Path) -> None:
    """Resuming a checkpoint into a different network says which config keys differ, with both values."""
    first = Trainer(tiny_config(aligned_dataset, tmp_path, "arch")).fit()
    other = tiny_config(
        aligned_dataset, tmp_path, "arch2", method={"generator": {"ngf": 8}, "discriminator": {"n_layers": 3}}
    )
    with pytest.raises(CheckpointError) as err:
        Trainer(other, resume=str(first.last_checkpoint)).fit()
    message = str(err.value)
    assert "method.generator.ngf: checkpoint 4, now 8" in message
    assert "method.discriminator.n_layers: checkpoint 2, now 3" in message
    assert "\n" not in message
