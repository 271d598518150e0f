"""The README's quick start, run as written in a copy of the repository (it takes a few minutes)."""

from __future__ import annotations

import json
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
@pytest.mark.timeout(1200)
def test_readme_quickstart_runs(tmp_path: Path) -> None:
    """make demo trains, evaluates and reports; the translate and export lines produce what the README says."""
    venv = REPO / ".venv"
    if not (venv / ".i2i-installed").exists():
        pytest.skip("the .venv built by `make` is missing (run the tests through `make test`)")
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("Makefile", "pyproject.toml", "README.md", "configs", "datasets"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
    os.symlink(venv, work / ".venv")
    # the copied pyproject.toml must not look newer than the install stamp, or make would reinstall
    stamp = (venv / ".i2i-installed").stat().st_mtime
    os.utime(work / "pyproject.toml", (stamp - 1, stamp - 1))

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for command in quickstart_commands():
        proc = subprocess.run(command, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, f"{command!r} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        if command == "make demo":
            assert "10 images: PSNR" in proc.stdout and "runs/facades-mini/eval/test/index.html" in proc.stdout
            assert "img/s" in proc.stderr  # the progress bar

    report = work / "runs" / "facades-mini" / "eval" / "test"
    summary = json.loads((report / "summary.json").read_text())
    assert summary["count"] == 10 and summary["direction"] == "BtoA"
    assert (report / "index.html").read_text().count("<tr>") == 11
    translated = sorted(p.name for p in (work / "out" / "facades-mini").iterdir())
    assert translated == ["1.png", "2.png", "3.png"]
    assert (work / "releases" / "facades-mini" / "model.safetensors").exists()

    # the README's Python example runs against the release the quick start wrote
    example = re.search(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    assert example, "README.md has no Python example"
    code = example.group(1) + "\nassert photo.shape == (256, 256, 3) and photo.dtype.name == 'uint8'\n"
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
