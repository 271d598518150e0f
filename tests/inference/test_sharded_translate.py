"""``torchrun -m i2i.cli translate``: the inputs split over real processes (gloo, 2 CPU processes), each file
translated exactly once, the outputs those of one process, one summary, and ``--skip-existing`` after a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, torchrun

from i2i.imageio import read_image, write_image
from i2i.inference.sharding import Shard, skip_existing

MODEL = REPO / "models" / "facades"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nine label maps of several sizes (odd ones padded by the model) in two folders."""
    root = tmp_path_factory.mktemp("sharded") / "in"
    examples = sorted((MODEL / "examples").glob("*.png"))
    assert examples, "the bundled facades model has example inputs"
    sizes = [(256, 256), (200, 300), (97, 131), (64, 64), (256, 180), (150, 150), (33, 250), (128, 96), (300, 200)]
    for index, (h, w) in enumerate(sizes):
        image = read_image(examples[index % len(examples)], 3)
        tiled = np.tile(image, (2, 2, 1))[:h, :w]
        write_image(root / ("a" if index % 2 else "b") / f"label_{index}.png", np.ascontiguousarray(tiled))
    return root


@pytest.fixture(scope="module")
def one_process(inputs: Path) -> dict[str, np.ndarray]:
    """What a single process writes (torch runtime, one thread as each of the sharded processes has)."""
    out = inputs.parent / "single"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "i2i.cli", "translate", str(MODEL), str(inputs), "--out", str(out), "--runtime",
           "torch", "--device", "cpu"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return _outputs(out)


def _outputs(folder: Path) -> dict[str, np.ndarray]:
    return {str(p.relative_to(folder)): read_image(p, 3) for p in sorted(folder.rglob("*.png"))}


def _translate(inputs: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    return torchrun(["translate", str(MODEL), str(inputs), "--out", str(out), "--runtime", "torch", *flags])


def test_two_processes_translate_each_file_once_as_one_process_does(
    inputs: Path, one_process: dict[str, np.ndarray], tmp_path: Path
) -> None:
    done = _translate(inputs, tmp_path / "out")
    assert done.returncode == 0, done.stderr[-3000:]
    summaries = [line for line in done.stdout.splitlines() if line.startswith("wrote ")]
    assert summaries == [f"wrote 9 image(s) to {tmp_path / 'out'} by 2 processes"]  # one summary, for both
    got = _outputs(tmp_path / "out")
    assert sorted(got) == sorted(one_process) and len(got) == 9
    for name, image in one_process.items():
        assert np.array_equal(got[name], image), name


def test_an_interrupted_run_is_finished_with_skip_existing(
    inputs: Path, one_process: dict[str, np.ndarray], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert _translate(inputs, out).returncode == 0
    # What a crash leaves: some outputs never written, and a temp file of one being written (writes are atomic).
    lost = ["a/label_1.png", "b/label_4.png", "b/label_8.png"]
    for name in lost:
        (out / name).unlink()
    (out / "a" / ".label_3.png.x1y2.tmp").write_bytes(b"\x89PNG half")
    kept = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}

    refused = _translate(inputs, out)
    assert refused.returncode != 0  # torchrun's own status for a failed worker
    assert "6 output file(s) already exist" in refused.stderr and "--overwrite" in refused.stderr

    done = _translate(inputs, out, "--skip-existing")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = [line for line in done.stdout.splitlines() if line.startswith("wrote ")]
    assert summary == [f"wrote 3 image(s) to {out} by 2 processes; 6 already there were left alone"]
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # the finished ones are not translated again
    got = _outputs(out)
    assert sorted(got) == sorted(one_process)
    for name in lost:
        assert np.array_equal(got[name], one_process[name]), name


def test_the_split_gives_every_input_one_owner() -> None:
    pairs = [(Path(f"in/{i}.png"), Path(f"out/{i}.png")) for i in range(11)]
    for world in (1, 2, 3, 5, 16):
        taken = [pair for rank in range(world) for pair in Shard(rank, world).take(pairs)]
        assert sorted(taken) == sorted(pairs) and len(taken) == len(pairs)


def test_skip_existing_counts_outputs_already_written(tmp_path: Path) -> None:
    pairs = [(tmp_path / f"{i}.src", tmp_path / f"{i}.png") for i in range(4)]
    pairs[1][1].write_bytes(b"x")
    os.symlink(tmp_path / "nowhere", pairs[2][1])  # a dangling link is there too: never written through
    todo, skipped = skip_existing(pairs)
    assert todo == [pairs[0], pairs[3]] and skipped == 2


def test_skip_existing_and_overwrite_exclude_each_other(inputs: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "i2i.cli", "translate", str(MODEL), str(inputs), "--out", str(tmp_path),
           "--overwrite", "--skip-existing"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2 and "not allowed with argument" in done.stderr
