"""Crafted model files (tests/hostile/models.py) handed to ``i2i translate``, ``i2i eval`` and ``i2i export``: exit
status 2 and exactly one stderr line, ``i2i: error: <path>: <what is wrong>``; no traceback, no torch advice, no
hang, and nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import write_aligned, write_unpaired
from hostile.models import CASES, TORCH_ADVICE, expected, fifos_under, release_cases, unblocking
from PIL import Image

from i2i.cli import main

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from hostile.models import checkpoint_cases

    root = tmp_path_factory.mktemp("hostile_cli")
    corpus = {**release_cases(root / "releases"), **checkpoint_cases(root / "checkpoints")}
    inputs = root / "inputs"
    inputs.mkdir()
    Image.fromarray(np.zeros((24, 30, 3), dtype=np.uint8)).save(inputs / "x.png")
    paired = write_aligned(root / "paired", {"test": 1}, size=32)
    unpaired = write_unpaired(root / "unpaired", {"test": (1, 1)}, size=32)
    return {"root": root, "inputs": inputs, "paired": paired, "unpaired": unpaired, **corpus}


def command(name: str, case: str, setup: dict[str, Path], out: Path) -> list[str]:
    model = str(setup[case])
    reverse = case.startswith("reverse_")  # the crafted file is the reverse generator's: ask for that direction
    if name == "translate":
        return ["translate", model, str(setup["inputs"]), "--out", str(out), *(["--direction", "AtoB"] * reverse)]
    if name == "eval":
        data = setup["unpaired" if reverse else "paired"]
        return ["eval", model, "--data", str(data), "--out", str(out), "--device", "cpu"]
    return ["export", model, "--out", str(out)]


@pytest.mark.parametrize("name", ["translate", "eval", "export"])
@pytest.mark.parametrize("case", CASES)
def test_the_cli_refuses_every_crafted_model_in_one_line(
    name: str, case: str, setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    capsys.readouterr()
    with unblocking(fifos_under(setup[case])) as rescued:
        code = main(command(name, case, setup, out))
    assert not rescued, f"{case}: hung reading a named pipe"
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("i2i: error: "), err
    assert str(setup[case]) in lines[0] and expected(case) in lines[0], err
    assert not any(word in err for word in TORCH_ADVICE), err
    assert not out.exists() and not list(tmp_path.glob(".out.*")), "a refused model wrote something"


def test_a_named_pipe_as_weights_does_not_hang_a_real_process(tmp_path: Path) -> None:
    """The same as a separate process, killed if it hangs: a FIFO is never opened."""
    release = release_cases(tmp_path / "releases")["weights_fifo"]
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(inputs / "a.png")
    cmd = [sys.executable, "-m", "i2i.cli", "translate", str(release), str(inputs), "--out", str(tmp_path / "o")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0] == f"i2i: error: {release / 'model.safetensors'}: not a regular file (a FIFO); refusing to read it"
