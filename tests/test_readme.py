"""The README's quick start, run as written in a copy of the repository (under a minute)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from helpers import REPO
from PIL import Image


def quickstart_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- quickstart:begin -->\s*```bash\n(.*?)```\s*<!-- quickstart:end -->", readme, re.S)
    assert block, "README.md has no quickstart block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.split("#")[0].strip()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_line(proc: subprocess.Popen, text: str, timeout: float) -> str:
    """What ``proc`` printed up to and including the first line holding ``text``."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"never printed {text!r}:\n{''.join(seen)[-3000:]}")


def test_quickstart_block_starts_with_make_demo() -> None:
    commands = quickstart_commands()
    assert commands[0] == "make demo"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_readme_quickstart_runs(tmp_path: Path) -> None:
    """make demo serves the bundled models (page and API) until Ctrl-C; the curl, translate and classify lines do what
    the README says while it runs."""
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

    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PORT": str(port)}
    commands = quickstart_commands()
    # make demo serves until Ctrl-C: it runs in the background while the other lines use it
    demo = subprocess.Popen(
        commands[0],
        shell=True,
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        printed = wait_for_line(demo, "i2i serve: open http://", timeout=300)
        assert f"http://127.0.0.1:{port}/" in printed and "Ctrl-C stops it" in printed
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        page = httpx.get(f"http://127.0.0.1:{port}/").text
        assert "<canvas" in page and "https://" not in page and "http://" not in page
        models = [m["name"] for m in httpx.get(f"http://127.0.0.1:{port}/v1/models").json()["models"]]
        assert models == ["facades", "shoes", "sketch-classifier", "sketch2photo"]
        outputs: dict[str, str] = {}
        for command in commands[1:]:
            command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            proc = subprocess.run(command, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, f"{command!r} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            outputs[command] = proc.stdout
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C, as the README says
        rest, _ = demo.communicate(timeout=60)
    assert "i2i serve: stopped" in rest and "Traceback" not in rest  # make itself reports the interrupt

    photo = Image.open(work / "teapot.png")
    assert photo.size == (256, 256) and photo.mode == "RGB"
    classified = json.loads(list(outputs.values())[1])
    assert classified["model"] == "sketch-classifier" and len(classified["predictions"]) == 2
    sketches = sorted(p.name for p in (work / "models" / "sketch2photo" / "examples").glob("*.png"))
    assert sorted(p.name for p in (work / "out" / "sketch2photo").iterdir()) == sketches
    lines = [line for line in list(outputs.values())[3].splitlines() if line.strip()]
    assert len(lines) == len(sketches) and all(line.count("%") == 3 for line in lines)

    # the README's Python example runs against the release the quick start wrote
    example = re.search(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    assert example, "README.md has no Python example"
    code = example.group(1) + "\nassert photo.shape == (256, 256, 3) and photo.dtype.name == 'uint8'\n"
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
