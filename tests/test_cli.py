"""The `i2i` command end to end: train → eval → export → translate, and its error handling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, TINY, cli_args, write_aligned
from PIL import Image

from i2i.cli import main

TINY_ARGS = cli_args(TINY)


def test_train_eval_export_translate(tmp_path: Path, capsys) -> None:
    """The whole user path through the CLI, with a recipe file and overrides."""
    data = write_aligned(tmp_path / "data", {"train": 3, "val": 1, "test": 2})
    recipe = REPO / "configs" / "pix2pix" / "facades-mini.yaml"
    common = [f"--data.root={data}", f"--out_dir={tmp_path / 'runs'}", "--name=cli"]
    assert main(["train", "--config", str(recipe), *common, *TINY_ARGS]) == 0
    run = tmp_path / "runs" / "cli"
    assert (run / "checkpoints" / "last.pt").exists() and (run / "config.yaml").exists()

    assert main(["eval", str(run), "--data", str(data)]) == 0
    assert (run / "eval" / "test" / "summary.json").exists()

    assert main(["export", str(run), "--out", str(tmp_path / "release")]) == 0
    assert main(["translate", str(tmp_path / "release"), str(data / "test"), "--out", str(tmp_path / "t")]) == 0
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["0.png", "1.png"]
    capsys.readouterr()


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    """User mistakes print `i2i: error: ...` on one line and exit with status 2 (run as a real process)."""
    cases = [
        ["train", "--config", str(tmp_path / "nope.yaml")],
        ["train", f"--data.root={tmp_path / 'empty'}", "--train.device=cpu"],
        ["eval", str(tmp_path / "no_model"), "--data", str(tmp_path)],
        ["export", str(tmp_path), "--out", str(tmp_path / "x")],
    ]
    (tmp_path / "empty").mkdir()
    for args in cases:
        cmd = [sys.executable, "-m", "i2i.cli", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("i2i: error: "), proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()  # a refused run leaves no run folder behind


def test_bad_flag_values_are_usage_errors(tmp_path: Path, capsys) -> None:
    """A zero or negative --batch-size is refused by the argument parser (usage + one error line), no traceback."""
    for command in (["eval", "m", "--data", "d"], ["translate", "m", "x", "--out", "o"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--batch-size", "0"])
        assert exit_info.value.code == 2
        assert "argument --batch-size: expected a positive integer, got 0" in capsys.readouterr().err


def test_unknown_command_suggests(capsys) -> None:
    assert main(["trian"]) == 2
    assert "did you mean 'train'?" in capsys.readouterr().err


def test_help_lists_commands(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("train", "eval", "translate", "export"):
        assert command in out


def test_resuming_into_another_architecture_is_one_line(tiny_run: Path, tmp_path: Path, capsys) -> None:
    """`--resume CKPT` with an override that changes the networks fails with the differing key, no traceback."""
    ckpt = tiny_run / "checkpoints" / "last.pt"
    args = ["train", "--resume", str(ckpt), "--method.generator.ngf=8", f"--out_dir={tmp_path}", "--name=other"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("i2i: error: ") and "\n" not in err
    assert "method.generator.ngf: checkpoint 4, now 8" in err


@pytest.mark.parametrize("command", ["translate", "eval"])
@pytest.mark.parametrize("out", ["/", "~"])
def test_out_at_the_root_or_home_is_refused(
    command: str, out: str, tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """`--out /` or `--out ~` would scatter outputs over a folder the user did not mean: refused before any work."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    args = [command, str(tiny_run), str(tmp_path), "--out", out] if command == "translate" else []
    if command == "eval":
        args = ["eval", str(tiny_run), "--data", str(tmp_path), "--out", out]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("i2i: error: --out") and "\n" not in err
    assert ("root of the file system" if out == "/" else "your home folder") in err
    assert list(home.iterdir()) == []


def test_a_model_path_with_a_newline_stays_one_line(tiny_run: Path, tmp_path: Path, capsys) -> None:
    """A control character in a user's path is escaped in the message, which stays one line."""
    broken = tmp_path / "run\nfolder"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "in").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "in" / "x.png")
    assert main(["translate", str(broken), str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("i2i: error: ")
    assert "run\\nfolder" in err
