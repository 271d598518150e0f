"""``i2i bench`` on the CPU: a real (tiny) recipe and dataset, a printed table and a JSON file with every measure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import TINY, cli_args, tiny_config, write_aligned

from i2i.bench import step_flops
from i2i.cli import main


def test_bench_prints_a_table_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_aligned(tmp_path / "data", {"train": 4, "val": 1})
    out = tmp_path / "bench.json"
    args = cli_args({**TINY, "data": {**TINY["data"], "root": str(data)}})
    code = main(
        ["bench", *args, "--steps", "2", "--warmup", "1", "--repeats", "1", "--inference-batches", "1,2"]
        + ["--out", str(out)]
    )
    assert code == 0
    table = capsys.readouterr().out
    for measure in ("train, batch on device", "train, end to end", "inference, batch 1", "inference, batch 2"):
        assert measure in table
    result = json.loads(out.read_text())
    assert result["device"] == "cpu" and result["matmul_tflops"] > 0
    rows = {(r["measure"], r["variant"]): r for r in result["rows"]}
    assert {v for _, v in rows} >= {"fast", "baseline", "fp32 eager", "fp32 oneDNN fast path"}
    fast = rows[("train, batch on device", "fast")]
    assert fast["images_per_sec"] > 0 and fast["gflop_per_step"] > 0
    assert fast["tflops"] == pytest.approx(fast["gflop_per_step"] / fast["step_ms"], rel=1e-6)
    assert "fp32" in fast["engine"]  # auto precision on a CPU


def test_step_flops_scale_with_the_batch_and_count_every_network(tmp_path: Path) -> None:
    one = tiny_config(tmp_path, tmp_path / "runs")
    two = tiny_config(tmp_path, tmp_path / "runs", train={"batch_size": 2})
    device = torch.device("cpu")
    f1, f2 = step_flops(one, device), step_flops(two, device)
    assert f2 == pytest.approx(2 * f1, rel=1e-6)
    # A step runs G forward once and D forward three times (fake for D, real for D, fake for G), each with a
    # backward pass of about twice its forward cost; the total must exceed 3x one forward of each network.
    from torch.utils.flop_counter import FlopCounterMode

    cfg = one.method
    gen, disc = cfg.generator.build(3, 3), cfg.discriminator.build(6)
    x = torch.zeros(1, 3, 32, 32)
    with FlopCounterMode(display=False) as counter:
        gen(x)
        disc(torch.zeros(1, 6, 32, 32))
    assert f1 > 3 * counter.get_total_flops()
