"""``i2i export`` / ``write_release`` only writes what it owns, whole or not at all: never over a folder that is not
a release, never into a run folder, never a release of NaN/inf weights, and never a half-written release."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest
import torch
from hostile.models import good_release, good_state, run_with_stale_export, tiny_model

from i2i.artifact import release as release_module
from i2i.artifact.open import open_model
from i2i.artifact.release import write_release
from i2i.cli import main
from i2i.errors import CheckpointError, I2IError
from i2i.training.checkpoint import save_state

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A run folder with one good checkpoint of the corpus's tiny network (translating AtoB)."""
    folder = tmp_path / "run"
    save_state(folder / "checkpoints" / "last.pt", good_state(tmp_path))
    return folder


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("i2i: error: "), lines
    assert "Traceback" not in lines[0]
    return lines[0]


def siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir())


# --- NaN/inf weights --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "value"), [("downs.0.0.weight", float("nan")), ("running_var", float("inf"))])
def test_nonfinite_weights_or_buffers_are_never_exported(tmp_path: Path, suffix: str, value: float) -> None:
    model = tiny_model(tmp_path)
    net = model.generators[0].network
    with torch.no_grad():
        key, tensor = next((k, v) for k, v in net.state_dict().items() if k.endswith(suffix))
        tensor.view(-1)[3] = value
    with pytest.raises(CheckpointError) as err:
        write_release(model, tmp_path / "release")
    message = str(err.value)
    assert f"tensor '{key}' of the BtoA generator holds NaN or inf values" in message, message
    assert "earlier checkpoint" in message and "lower learning rate" in message and "\n" not in message
    assert not (tmp_path / "release").exists() and siblings(tmp_path / "release") == []


# --- where a release may go ------------------------------------------------------------------------------------


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_that_is_not_a_release_is_never_written_into(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], overwrite: bool
) -> None:
    """A user's folder with a config.json and a README.md (no weights) stays as it was, --overwrite or not."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"theme": "dark"}')
    (mine / "README.md").write_text("my notes")
    assert main(["export", str(run), "--out", str(mine), *(["--overwrite"] * overwrite)]) == 2
    assert one_error_line(capsys) == (
        f"i2i: error: {mine}: not empty and not an i2i release; refusing to write into it (choose a new or empty "
        "folder)"
    )
    assert (mine / "config.json").read_text() == '{"theme": "dark"}' and (mine / "README.md").read_text() == "my notes"
    assert sorted(p.name for p in mine.iterdir()) == ["README.md", "config.json"]
    (mine / "config.json").unlink()
    (mine / "README.md").unlink()
    (mine / "data.csv").write_text("1,2\n")  # no config.json at all
    assert main(["export", str(run), "--out", str(mine), "--overwrite"]) == 2
    assert "not empty and not an i2i release" in one_error_line(capsys)
    file = tmp_path / "file"
    file.write_text("x")
    assert main(["export", str(run), "--out", str(file)]) == 2
    assert one_error_line(capsys) == f"i2i: error: {file}: exists and is not a folder; choose another --out"


def test_a_release_is_replaced_only_with_overwrite_and_only_when_it_holds_nothing_else(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = good_release(tmp_path / "release")  # BtoA; the run translates AtoB
    assert main(["export", str(run), "--out", str(release)]) == 2
    assert one_error_line(capsys) == f"i2i: error: {release} already holds a release; pass --overwrite to replace it"
    (release / "eval" / "test").mkdir(parents=True)  # i2i eval's report of the old weights goes with them
    (release / "eval" / "test" / "summary.json").write_text("{}")
    assert main(["export", str(run), "--out", str(release), "--overwrite"]) == 0
    assert open_model(release).trained_direction == "AtoB"
    assert sorted(p.name for p in release.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    (release / "notes.txt").write_text("mine")
    assert main(["export", str(run), "--out", str(release), "--overwrite"]) == 2
    assert "holds 'notes.txt', which is not part of a release" in one_error_line(capsys)
    assert (release / "notes.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", str(run), "--out", str(empty)]) == 0 and (empty / "model.safetensors").is_file()


def test_a_run_folder_and_its_checkpoints_are_never_export_targets(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """open_model(RUN) must keep meaning the run's checkpoint: exporting into the run folder itself or into its
    checkpoints/ is refused; a subfolder such as <run>/release is fine."""
    assert main(["export", str(run), "--out", str(run)]) == 2
    assert one_error_line(capsys).startswith(
        f"i2i: error: {run}: is a run folder (it holds checkpoints/), which must keep meaning its own checkpoint; "
        f"export next to it or into a subfolder, e.g. --out {run / 'release'}"
    )
    for inside in (run / "checkpoints", run / "checkpoints" / "release"):
        assert main(["export", str(run), "--out", str(inside)]) == 2
        assert f"{inside}: is inside the checkpoints/ folder of run {run}" in one_error_line(capsys)
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints"]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.pt"]
    assert main(["export", str(run), "--out", str(run / "release")]) == 0
    assert open_model(run).path == run / "checkpoints" / "last.pt"
    assert open_model(run / "release").trained_direction == "AtoB"


def test_a_run_folder_with_a_stale_export_in_it_means_its_checkpoint(tmp_path: Path) -> None:
    """A release an older i2i exported into the run folder itself is not what the run folder means."""
    run = run_with_stale_export(tmp_path)
    model = open_model(run)
    assert model.path == run / "checkpoints" / "last.pt" and model.trained_direction == "AtoB"


# --- whole or not at all --------------------------------------------------------------------------------------------


def disk_full_at(name: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Makes the release writer fail on file ``name`` as a full disk would; returns the files it wrote before."""
    written: list[str] = []
    real = release_module._write_file

    def writer(path: Path, data: bytes) -> None:
        assert path.parent.name.startswith("."), "files are written into a temporary folder"
        if path.name == name:
            with path.open("xb") as f:
                f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)
        written.append(path.name)

    monkeypatch.setattr(release_module, "_write_file", writer)
    return written


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "README.md"])
def test_a_full_disk_leaves_neither_a_temporary_nor_a_release_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    run = tmp_path / "run"
    save_state(run / "checkpoints" / "last.pt", good_state(tmp_path))
    out = tmp_path / "exports" / "release"
    disk_full_at(name, monkeypatch)
    with pytest.raises(OSError, match="No space left on device") as err:
        write_release(open_model(run), out)
    assert err.value.filename == str(out / name)
    assert not out.exists() and os.listdir(out.parent) == []
    assert main(["export", str(run), "--out", str(out)]) == 1  # an environment error, not a user one
    assert one_error_line(capsys) == f"i2i: error: [Errno 28] No space left on device: '{out / name}'"
    assert not out.exists() and os.listdir(out.parent) == []


def test_a_failed_overwrite_keeps_the_old_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    save_state(run / "checkpoints" / "last.pt", good_state(tmp_path))
    release = good_release(tmp_path / "exports" / "release")
    before = {p.name: p.read_bytes() for p in release.iterdir()}
    written = disk_full_at("config.json", monkeypatch)
    with pytest.raises(OSError, match="No space left on device"):
        write_release(open_model(run), release, overwrite=True)
    assert written == ["model.safetensors"]
    assert {p.name: p.read_bytes() for p in release.iterdir()} == before
    assert os.listdir(release.parent) == ["release"]

    monkeypatch.undo()  # the disk has room again; now the rename of the new release into place fails
    real_rename = os.rename

    def rename(src: str | Path, dst: str | Path) -> None:
        if Path(dst) == release and not Path(src).name.endswith(".old"):
            raise OSError(errno.EIO, "Input/output error")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="Input/output error"):
        write_release(open_model(run), release, overwrite=True)
    assert {p.name: p.read_bytes() for p in release.iterdir()} == before
    assert os.listdir(release.parent) == ["release"]


def test_a_release_appears_whole_with_ordinary_permissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "release"
    real = release_module._write_file

    def writer(path: Path, data: bytes) -> None:
        assert not out.exists(), "the release folder appeared before all its files were written"
        real(path, data)

    monkeypatch.setattr(release_module, "_write_file", writer)
    write_release(tiny_model(tmp_path), out)
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask for p in out.iterdir())
    assert json.loads((out / "config.json").read_text())["format"] == "i2i-release"
    assert os.listdir(tmp_path) == ["release"]


def test_write_release_errors_are_i2i_errors(tmp_path: Path) -> None:
    """Refusals are I2IError (the CLI prints them as one line with status 2)."""
    release = good_release(tmp_path / "r")
    with pytest.raises(I2IError, match="--overwrite"):
        write_release(tiny_model(tmp_path), release)
