"""The README's quick start, run as written in a copy of the repository (under a minute)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import REPO


def quickstart_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- quickstart:begin -->\s*```bash\n(.*?)```\s*<!-- quickstart:end -->", readme, re.S)
    assert block, "README.md has no quickstart block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.split("#")[0].strip()]


def test_quickstart_block_starts_with_make_demo() -> None:
    commands = quickstart_commands()
    assert commands[0] == "make demo"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_readme_quickstart_runs(tmp_path: Path) -> None:
    """make demo runs the bundled models into a gallery; the translate and classify lines do what the README says."""
    venv = REPO / ".venv"
    if not (venv / ".i2i-installed").exists():
        pytest.skip("the .venv built by `make` is missing (run the tests through `make test`)")
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("Makefile", "pyproject.toml", "README.md", "configs", "datasets", "models"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
    os.symlink(venv, work / ".venv")
    # the copied pyproject.toml must not look newer than the install stamp, or make would reinstall
    stamp = (venv / ".i2i-installed").stat().st_mtime
    os.utime(work / "pyproject.toml", (stamp - 1, stamp - 1))

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    commands = quickstart_commands()
    outputs: dict[str, str] = {}
    for command in commands:
        proc = subprocess.run(command, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{command!r} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        outputs[command] = proc.stdout

    assert "gallery: runs/gallery/index.html" in outputs["make demo"]
    page = (work / "runs" / "gallery" / "index.html").read_text()
    for model in ("facades", "shoes", "sketch2photo", "sketch-classifier"):
        assert model in page
    assert "http://" not in page and "https://" not in page
    sketches = sorted(p.name for p in (work / "models" / "sketch2photo" / "examples").glob("*.png"))
    assert sorted(p.name for p in (work / "out" / "sketch2photo").iterdir()) == sketches
    lines = [line for line in outputs[commands[2]].splitlines() if line.strip()]
    assert len(lines) == len(sketches) and all(line.count("%") == 3 for line in lines)

    # the README's Python example runs against the release the quick start wrote
    example = re.search(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    assert example, "README.md has no Python example"
    code = example.group(1) + "\nassert photo.shape == (256, 256, 3) and photo.dtype.name == 'uint8'\n"
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
