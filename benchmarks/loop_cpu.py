"""What does i2i's training loop cost on a CPU beyond the networks? i2i's trainer against a bare PyTorch loop of the
same networks, losses and optimizers, timed in one run, one thread each.

The recipe is pix2pix at 128 px on the bundled facades sample (40 pairs): ``unet_128``, the 70×70 PatchGAN, BCE +
100·L1, Adam 2e-4 (0.5, 0.999), batch 1, BatchNorm, dropout 0.5, 142 → 128 random crops and flips.

- **bare**: a plain loop as the reference implementations write it: a DataLoader over a Dataset that opens each A|B
  file with Pillow, resizes, crops and flips it with Pillow, then one D step and one G step per batch with
  ``torch.optim.Adam`` as constructed by default. The networks are i2i's (identical modules), initialized alike.
- **bare, fused Adam**: the same loop with ``Adam(..., fused=True)``, the kernel i2i's engine picks on CPUs that have
  it, to show how much of the difference is that kernel and how much the rest of the loop.
- **i2i**: ``Trainer.fit`` on the same data and networks, with everything it does per step (seeded per-sample
  augmentation, loss accumulation, NaN checks, progress bar, metrics.jsonl and TensorBoard every 50 steps) but its
  periodic work (validation, sample grids, checkpoints) set to "never", so that both loops do the same work.
- **i2i, recipe cadence**: the same with a checkpoint, a sample grid and validation once per epoch (40 steps), as a
  run usually has them, to show what those cost.

Per-step wall time is the interval between consecutive completed steps (data loading included), after a warm-up;
the table gives the median and the mean. Variants alternate over several rounds so that machine noise hits all.

    python benchmarks/loop_cpu.py --steps 120 --rounds 3 --out benchmarks/results/loop_cpu.json
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from i2i.atomic import atomic_write_json

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "datasets" / "facades-mini"
LOAD, CROP = 142, 128


def recipe(name: str, out_dir: str, steps: int, cadence: str) -> dict:
    return {
        "name": name,
        "out_dir": out_dir,
        "seed": 0,
        "data": {
            "root": str(DATA),
            "direction": "BtoA",
            "load_size": LOAD,
            "crop_size": CROP,
            "num_workers": 0,
            "val_split": "val" if cadence != "never" else None,
        },
        "method": {
            "name": "pix2pix",
            "generator": {"name": "unet_128", "ngf": 64, "norm": "batch", "dropout": 0.5},
            "discriminator": {"name": "patchgan", "n_layers": 3, "ndf": 64, "norm": "batch"},
        },
        "train": {
            "batch_size": 1,
            "n_epochs": 100,
            "n_epochs_decay": 100,
            "max_steps": steps,
            "log_every": "50 steps",
            "sample_every": cadence,
            "val_every": cadence,
            "checkpoint_every": cadence,
            "best_metric": None,
            "device": "cpu",
            "progress": True,
        },
    }


# --- the bare loop ---------------------------------------------------------------------------------------------------


class BareFacades(Dataset):
    """A|B files, label (right half) → photo (left half), Pillow resize + random crop + flip, as references do."""

    def __init__(self, root: Path) -> None:
        self.files = sorted((root / "train").glob("*.jpg"))

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ab = Image.open(self.files[index]).convert("RGB")
        w, h = ab.size
        photo, label = ab.crop((0, 0, w // 2, h)), ab.crop((w // 2, 0, w, h))
        x, y = np.random.randint(0, LOAD - CROP + 1, 2)
        flip = np.random.rand() < 0.5

        def prep(im: Image.Image) -> torch.Tensor:
            im = im.resize((LOAD, LOAD), Image.Resampling.BICUBIC).crop((x, y, x + CROP, y + CROP))
            if flip:
                im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float() / 127.5 - 1

        return {"a": prep(label), "b": prep(photo)}


def bare_loop(steps: int, marks: list[float], fused: bool = False) -> None:
    from i2i.config import from_dict
    from i2i.methods import MethodConfig

    torch.manual_seed(0)
    np.random.seed(0)
    cfg = from_dict(MethodConfig, recipe("bare", "", steps, "never")["method"], "method")
    gen, disc = cfg.generator.build(3, 3).train(), cfg.discriminator.build(6).train()
    adam = {"fused": True} if fused else {}
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999), **adam)
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999), **adam)
    bce = torch.nn.BCEWithLogitsLoss()
    loader = DataLoader(BareFacades(DATA), batch_size=1, shuffle=True, num_workers=0)
    done = 0
    while done < steps:
        for batch in loader:
            real_a, real_b = batch["a"], batch["b"]
            fake_b = gen(real_a)
            for p in disc.parameters():
                p.requires_grad_(True)
            opt_d.zero_grad()
            pred_fake = disc(torch.cat([real_a, fake_b.detach()], 1))
            pred_real = disc(torch.cat([real_a, real_b], 1))
            loss_d = 0.5 * (bce(pred_fake, torch.zeros_like(pred_fake)) + bce(pred_real, torch.ones_like(pred_real)))
            loss_d.backward()
            opt_d.step()
            for p in disc.parameters():
                p.requires_grad_(False)
            opt_g.zero_grad()
            pred = disc(torch.cat([real_a, fake_b], 1))
            loss_g = bce(pred, torch.ones_like(pred)) + 100.0 * F.l1_loss(fake_b, real_b)
            loss_g.backward()
            opt_g.step()
            done += 1
            marks.append(time.perf_counter())
            if done >= steps:
                break


# --- i2i ------------------------------------------------------------------------------------------------------------


def i2i_loop(steps: int, marks: list[float], cadence: str, out_dir: str, name: str) -> None:
    from i2i.run_config import load_config
    from i2i.training.trainer import Trainer

    trainer = Trainer(load_config(None, recipe(name, out_dir, steps, cadence)))
    periodic = trainer._periodic

    def timed(run, unit, count):  # after every completed step (and epoch): the loop's own bookkeeping included
        periodic(run, unit, count)
        if unit == "step":
            marks.append(time.perf_counter())

    trainer._periodic = timed
    trainer.fit()


# --- the benchmark -------------------------------------------------------------------------------------------------


def intervals(marks: list[float], warmup: int) -> list[float]:
    return [b - a for a, b in zip(marks[warmup:], marks[warmup + 1 :], strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=120, help="steps per run (default 120: three epochs)")
    parser.add_argument("--warmup", type=int, default=5, help="first steps left out of the timing")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each variant, alternating")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the comparison)")
    parser.add_argument("--out", default="benchmarks/results/loop_cpu.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    variants = ["bare", "bare, fused Adam", "i2i", "i2i, recipe cadence"]
    times: dict[str, list[float]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="i2i-loop-") as tmp:
        for r in range(args.rounds):
            for variant in variants:
                marks: list[float] = []
                if variant.startswith("bare"):
                    bare_loop(args.steps, marks, fused="fused" in variant)
                else:
                    cadence = "never" if variant == "i2i" else "1 epoch"
                    i2i_loop(args.steps, marks, cadence, tmp, f"{variant.replace(' ', '').replace(',', '_')}_{r}")
                times[variant] += intervals(marks, args.warmup)
    bare = statistics.median(times["bare"])
    rows = []
    for variant in variants:
        median, mean = statistics.median(times[variant]), statistics.fmean(times[variant])
        rows.append(
            {
                "variant": variant,
                "median_s_per_step": median,
                "mean_s_per_step": mean,
                "median_vs_bare": median / bare,
                "mean_vs_bare": mean / statistics.fmean(times["bare"]),
                "steps_timed": len(times[variant]),
            }
        )
    print(f"{'variant':<22} {'median s/step':>14} {'mean s/step':>12} {'median / bare':>14} {'mean / bare':>12}")
    for row in rows:
        print(
            f"{row['variant']:<22} {row['median_s_per_step']:>14.4f} {row['mean_s_per_step']:>12.4f} "
            f"{row['median_vs_bare']:>14.3f} {row['mean_vs_bare']:>12.3f}"
        )
    result = {
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": args.threads,
        "steps": args.steps,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "rows": rows,
    }
    atomic_write_json(args.out, result)
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
