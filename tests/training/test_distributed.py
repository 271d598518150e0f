"""Data-parallel training: the sampler's per-rank shards, and real ``torchrun`` launches (gloo, 2 CPU processes).

The claim under test (``training.distributed``): N processes with a global batch of B follow the same trajectory as
one process with batch B. Two things make processes differ by design, so the launched runs switch them off:
BatchNorm statistics are per process on CPUs (torch has no SyncBatchNorm there), and each process draws its own
dropout masks. With instance norm and no dropout every sample's loss depends only on that sample, so splitting a
batch across processes changes nothing but the order of floating-point sums.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import torch
from helpers import TINY, cli_args, torchrun, write_aligned
from torch import nn

from i2i.cli import main as i2i_main
from i2i.config import from_dict, merge
from i2i.run_config import RunConfig
from i2i.training.checkpoint import load_state
from i2i.training.sampler import EpochSampler

# -- the sampler: pure functions of (seed, epoch, batch), no processes ---------------------------------------------


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _rank_samplers(size: int, local_batch: int, world: int, epoch: int, start: int = 0) -> list[EpochSampler]:
    samplers = [EpochSampler(size, local_batch, seed=3, rank=r, world_size=world) for r in range(world)]
    for s in samplers:
        s.set_epoch(epoch, start)
    return samplers


def _single(size: int, global_batch: int, epoch: int, start: int = 0) -> EpochSampler:
    s = EpochSampler(size, global_batch, seed=3)
    s.set_epoch(epoch, start)
    return s


@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [1, 5, 6, 7, 8, 13, 16])
@pytest.mark.parametrize("local_batch", [1, 2, 3])
def test_rank_shards_make_up_the_single_process_batches(world: int, size: int, local_batch: int) -> None:
    """Each global batch, concatenated by rank, is the single-process batch (indices and augmentation seeds).

    Every rank takes the same number of steps with at least one sample in each (else the all-reduce would hang), and
    an epoch covers each index once, except a last global batch smaller than the world size, which is dropped.
    """
    global_batch = local_batch * world
    for epoch in (0, 1):
        ranks = _rank_samplers(size, local_batch, world, epoch)
        single = _single(size, global_batch, epoch)
        steps = ranks[0].batches_per_epoch()
        assert all(s.batches_per_epoch() == steps for s in ranks)
        # A DataLoader groups each rank's stream into batches of local_batch (drop_last=False).
        per_rank = [_chunks(list(s), local_batch) for s in ranks]
        assert all(len(batches) == steps for batches in per_rank), "ranks would take different numbers of steps"
        assert all(len(batch) >= 1 for batches in per_rank for batch in batches)

        expected = _chunks(list(single), global_batch)
        rest = size % global_batch
        dropped = 0 < rest < world
        assert len(expected) == steps + dropped
        for b in range(steps):
            assert [key for r in range(world) for key in per_rank[r][b]] == expected[b]
            shares = [len(per_rank[r][b]) for r in range(world)]
            assert max(shares) - min(shares) <= 1

        seen = [index for batches in per_rank for batch in batches for index, _ in batch]
        assert len(seen) == len(set(seen)) == size - (rest if dropped else 0)
        assert len(ranks[0]) == sum(len(batch) for batch in per_rank[0])


@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [7, 13])
def test_start_batch_resumes_each_rank_mid_epoch(world: int, size: int) -> None:
    """set_epoch(e, k) on every rank yields the rest of the epoch from global batch k, which is what the single
    process sees from its batch k: a run can be resumed mid-epoch with a different number of processes."""
    local_batch = 2
    full = [list(s) for s in _rank_samplers(size, local_batch, world, epoch=1)]
    steps = _rank_samplers(size, local_batch, world, epoch=1)[0].batches_per_epoch()
    for start in range(steps + 1):
        resumed = [list(s) for s in _rank_samplers(size, local_batch, world, epoch=1, start=start)]
        # Every batch before the last is full, so batch k of a rank starts at k * local_batch of its stream.
        assert resumed == [stream[start * local_batch :] for stream in full]
        single = _chunks(list(_single(size, local_batch * world, epoch=1, start=start)), local_batch * world)
        by_rank = [_chunks(stream, local_batch) for stream in resumed]
        for b in range(steps - start):
            assert [key for r in range(world) for key in by_rank[r][b]] == single[b]


# -- real launches ---------------------------------------------------------------------------------------------------

# 7 pairs at a global batch of 4: each epoch is a full batch (2 + 2 per rank) and a short one of 3, split 2 + 1, so
# the sample-weighted gradient average is exercised. 3 epochs = 6 steps; the LR decays in epochs 2 and 3.
DIST = {
    "method": {"generator": {"norm": "instance", "dropout": 0}, "discriminator": {"norm": "instance"}},
    "train": {
        "batch_size": 4,
        "n_epochs": 1,
        "n_epochs_decay": 2,
        "log_every": "1 step",
        "keep_every": "3 steps",
        "tensorboard": False,
    },
}
STEPS = 6

# fp32 forward and backward passes of batches of 2 instead of 4, and gradients summed across processes in another
# order, differ in the last bits: about 1e-7 relative per step. After 6 Adam steps the live weights differ by at
# most ~3e-7; atol 1e-5 is 30x that and still 20x below one Adam step (lr 2e-4), so a sample seen twice, dropped or
# weighted wrongly shows (an unweighted mean over ranks misses by 5e-4, gradients scaled by 2 by 1.4e-5).
RTOL, ATOL = 1e-4, 1e-5


def _args(dataset: Path, out_dir: Path, name: str, **sections: dict) -> list[str]:
    raw = merge(merge(TINY, DIST), {"name": name, "out_dir": str(out_dir), "data": {"root": str(dataset)}})
    return ["train", *cli_args(merge(raw, sections))]


def _ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-5000:]


def _dead_biases(net: nn.Module) -> set[str]:
    """Biases of convolutions followed directly by a non-affine InstanceNorm, which removes them again.

    Their gradient is zero in exact arithmetic, so what they receive is rounding noise, which Adam scales up to
    steps of about lr in either direction: they drift apart between runs without any effect on the outputs.
    """
    dead = set()
    for prefix, module in net.named_modules():
        children = list(module.named_children())
        for (name, layer), (_, after) in zip(children, children[1:], strict=False):
            if (
                isinstance(layer, nn.Conv2d | nn.ConvTranspose2d)
                and layer.bias is not None
                and isinstance(after, nn.InstanceNorm2d)
                and not after.affine
            ):
                dead.add(f"{prefix}.{name}.bias" if prefix else f"{name}.bias")
    return dead


def _assert_same_training(run: Path, reference: Path) -> None:
    """Same step, schedule, live weights, Adam moments and network outputs as the reference run (within RTOL/ATOL)."""
    a, b = load_state(run / "checkpoints" / "last.pt"), load_state(reference / "checkpoints" / "last.pt")
    assert a["progress"]["step"] == b["progress"]["step"] == STEPS
    assert (a["progress"]["epoch"], a["progress"]["batch_in_epoch"]) == (b["progress"]["epoch"], 0)
    assert a["schedulers"] == b["schedulers"]
    cfg = from_dict(RunConfig, b["config"])
    built = {name: cfg.method.build(cfg.data) for name in ("run", "reference")}
    nets = {key: built[key].networks() for key in built}
    optimizer_of = {"generator": "gen", "discriminator": "disc"}
    for name, net in nets["reference"].items():
        dead = _dead_biases(net)
        assert dead, "the instance-norm networks should have bias-before-norm convolutions"
        for pid, (key, _) in enumerate(net.named_parameters()):
            if key in dead:
                continue
            torch.testing.assert_close(
                a["networks"][name][key],
                b["networks"][name][key],
                rtol=RTOL,
                atol=ATOL,
                msg=lambda m, n=name, k=key: f"{n}.{k}: {m}",
            )
            # Adam's moments are not scale-invariant as its steps are: a sum instead of a mean would show here. They
            # span many magnitudes, so atol is relative to the tensor's largest (measured differences: < 5e-6 of it).
            moments_a = a["optimizers"][optimizer_of[name]]["state"][pid]
            moments_b = b["optimizers"][optimizer_of[name]]["state"][pid]
            for slot in ("exp_avg", "exp_avg_sq"):
                ref = moments_b[slot]
                torch.testing.assert_close(
                    moments_a[slot],
                    ref,
                    rtol=1e-3,
                    atol=1e-4 * float(ref.abs().max()),
                    msg=lambda m, n=name, k=key, s=slot: f"{n}.{k} {s}: {m}",
                )
        nets["run"][name].load_state_dict(a["networks"][name])
        net.load_state_dict(b["networks"][name])
    # The dead biases excluded above change nothing: the networks compute the same function.
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        outs = {key: nets[key]["generator"](x) for key in nets}
        torch.testing.assert_close(outs["run"], outs["reference"], rtol=RTOL, atol=ATOL)
        pair = torch.cat([x, outs["reference"]], 1)
        judged = {key: nets[key]["discriminator"](pair) for key in nets}
        torch.testing.assert_close(judged["run"], judged["reference"], rtol=RTOL, atol=ATOL)


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The dataset, a single-process reference run (in this process) and the same run in 2 processes (torchrun)."""
    base = tmp_path_factory.mktemp("dist")
    data = write_aligned(base / "data", {"train": 7, "val": 2})
    assert i2i_main(_args(data, base / "runs", "single")) == 0
    _ok(torchrun(_args(data, base / "runs", "two")))
    return {"data": data, "out": base / "runs", "single": base / "runs" / "single", "two": base / "runs" / "two"}


@pytest.mark.slow
def test_two_processes_train_like_one_with_the_same_global_batch(runs: dict[str, Path]) -> None:
    """2 ranks x batch 2 end with the weights of 1 process x batch 4, through epochs with an uneven last batch."""
    _assert_same_training(runs["two"], runs["single"])


@pytest.mark.slow
def test_only_rank_0_writes(runs: dict[str, Path]) -> None:
    """One run folder with one train.log, a metrics.jsonl without duplicated steps, the checkpoints and samples."""
    run, ref = runs["two"], runs["single"]
    assert sorted(p.name for p in runs["out"].iterdir()) == ["single", "two"]
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in ref.iterdir())
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "best.pt",
        "last.pt",
        "step_0000003.pt",
        "step_0000006.pt",
    ]
    assert sorted(p.name for p in (run / "samples").iterdir()) == sorted(p.name for p in (ref / "samples").iterdir())
    log = (run / "train.log").read_text()
    assert log.count("data: 7 training pairs") == 1 and "2 processes" in log
    assert log.count("validation psnr") == 3

    losses = [r for r in _records(run) if "g_l1" in r]
    assert [r["step"] for r in losses] == list(range(1, STEPS + 1))
    assert [r["step"] for r in _records(run) if "val/psnr" in r] == [2, 4, 6]


@pytest.mark.slow
def test_logged_losses_are_the_global_batch_means(runs: dict[str, Path]) -> None:
    """The logged losses are means over both ranks' shares: those of the single-process run."""
    two = [r for r in _records(runs["two"]) if "g_l1" in r]
    one = [r for r in _records(runs["single"]) if "g_l1" in r]
    for r2, r1 in zip(two, one, strict=True):
        for key in ("g_gan", "g_l1", "d_real", "d_fake", "lr"):
            assert r2[key] == pytest.approx(r1[key], rel=1e-4), (r2["step"], key)
        assert r2["images_per_sec"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["1 to 2", "2 to 1"])
def test_resume_with_another_number_of_processes(runs: dict[str, Path], direction: str) -> None:
    """A checkpoint from step 3 (mid-epoch) resumed with the other world size ends like the uninterrupted run."""
    name = f"resumed_{direction.replace(' ', '')}"
    if direction == "1 to 2":
        checkpoint = runs["single"] / "checkpoints" / "step_0000003.pt"
        _ok(torchrun([*_args(runs["data"], runs["out"], name), f"--resume={checkpoint}"]))
    else:
        checkpoint = runs["two"] / "checkpoints" / "step_0000003.pt"
        assert i2i_main([*_args(runs["data"], runs["out"], name), f"--resume={checkpoint}"]) == 0
    progress = load_state(checkpoint)["progress"]
    assert (progress["step"], progress["epoch"], progress["batch_in_epoch"]) == (3, 1, 1)
    resumed = runs["out"] / name
    _assert_same_training(resumed, runs["single"])
    assert [r["step"] for r in _records(resumed) if "g_l1" in r] == [4, 5, 6]


@pytest.mark.slow
def test_batch_too_small_for_every_rank_is_dropped_without_a_hang(tmp_path: Path) -> None:
    """5 pairs at a global batch of 4 on 2 ranks: the last batch (1 pair) can't give each rank a sample, so each
    epoch is one step; the run finishes (no rank waits in an all-reduce the other skips)."""
    data = write_aligned(tmp_path / "data", {"train": 5, "val": 1})
    result = torchrun(_args(data, tmp_path, "five", train={"keep_every": "never", "n_epochs_decay": 1}))
    _ok(result)
    state = load_state(tmp_path / "five" / "checkpoints" / "last.pt")
    assert (state["progress"]["step"], state["progress"]["epoch"]) == (2, 2)
    assert "2 steps of 4 image(s) (1 per epoch)" in (tmp_path / "five" / "train.log").read_text()


@pytest.mark.slow
def test_batch_not_divisible_by_processes_is_a_one_line_error(tmp_path: Path) -> None:
    """A global batch of 3 on 2 processes: each rank says why in one line and exits non-zero, without a traceback
    (torchrun then reports the failed workers in its own words)."""
    data = write_aligned(tmp_path / "data", {"train": 4, "val": 1})
    result = torchrun(_args(data, tmp_path, "odd", train={"batch_size": 3}))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("i2i: error:")]
    assert errors and all("train.batch_size (3)" in e and "number of processes (2)" in e for e in errors), result.stderr
    frames = [line for line in result.stderr.splitlines() if line.strip().startswith('File "')]
    assert not [f for f in frames if "i2i" in f.split("site-packages")[-1]], result.stderr
    assert re.search(r"exitcode\s*:\s*2\b", result.stderr)  # the workers' status: i2i's error exit, not a crash
    assert not (tmp_path / "odd").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ugatit", "cyclegan"])
def test_unpaired_methods_in_two_processes_train_like_one(tmp_path: Path, kind: str) -> None:
    """U-GAT-IT and CycleGAN (pool off: each process would draw its own) across 2 processes match 1 process.

    Their per-sample losses (instance, layer-instance and spectral norms; no dropout) make a split batch give the
    same gradients; the B image of each sample is drawn from its seed, so both runs see the same pairs.
    """
    from helpers import TINY_METHODS, write_unpaired

    data = write_unpaired(tmp_path / "data", {"train": (7, 5), "test": (1, 1)})
    method = {**TINY_METHODS[kind], **({"pool_size": 0} if kind == "cyclegan" else {})}
    sections = {"method": method, "data": {"val_split": None}, "train": {"best_metric": None}}
    raw = merge(merge(merge(TINY, DIST), {"out_dir": str(tmp_path / "runs"), "data": {"root": str(data)}}), sections)
    raw["method"] = method  # the unpaired method replaces pix2pix's sections, not merges into them
    assert i2i_main(["train", *cli_args({**raw, "name": "single"})]) == 0
    _ok(torchrun(["train", *cli_args({**raw, "name": "two"})]))
    a = load_state(tmp_path / "runs" / "two" / "checkpoints" / "last.pt")
    b = load_state(tmp_path / "runs" / "single" / "checkpoints" / "last.pt")
    assert a["progress"] == b["progress"] and a["progress"]["step"] == STEPS
    cfg = from_dict(RunConfig, b["config"])
    for name, net in cfg.method.build(cfg.data).networks().items():
        dead = _dead_biases(net)
        for key, _ in net.named_parameters():
            if key not in dead:
                torch.testing.assert_close(
                    a["networks"][name][key], b["networks"][name][key], rtol=RTOL, atol=ATOL, msg=f"{name}.{key}"
                )
