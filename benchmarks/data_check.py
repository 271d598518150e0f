"""How long does ``i2i data check`` take on a 10,000-file dataset?

Writes ``--n`` real images (default 10,000; A|B files of 2·size × size pixels, default 512×256 like facades; 80 %
JPEG at quality 90, 20 % PNG) into a temporary aligned dataset (train/val/test = 8:1:1), plants one file of each
problem kind (truncated JPEG, truncated PNG, garbage, a header claiming 100000×100000, an odd width, a duplicate
within a split and one across splits), and times ``check_dataset`` on it for each ``--workers`` setting (the
default first), header mode ``--repeats`` times and ``--full`` once. Each run must find exactly the planted
problems. The last row times the command as a user runs it (``python -m i2i.cli data check -q``, startup and
imports included). The page cache is warm (the files were just written): this is the CPU cost, not a cold disk.
Output: a table on stdout and JSON (``--out``).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/data_check.py [--n 10000] [--workers 0,1,2,4]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

from i2i.atomic import atomic_write_json
from i2i.datatools.check import check_dataset

EXPECTED = {"truncated": 2, "unreadable": 1, "too_large": 1, "leak": 1, "duplicate": 1, "odd_width": 1}


def generate(root: Path, n: int, size: int, png_fraction: float, seed: int = 0) -> int:
    """Writes ``n`` A|B images (unique content) plus the planted bad files; returns the bytes written."""
    rng = np.random.default_rng(seed)
    noise_bank = [rng.normal(0, 8, (size, 2 * size, 3)) for _ in range(8)]  # drawing fresh noise per file is slow
    for split in ("train", "val", "test"):
        (root / split).mkdir(parents=True)
    for i in range(n):
        split = "train" if i % 10 < 8 else "val" if i % 10 == 8 else "test"
        image = np.empty((size, 2 * size, 3), dtype=np.float64)
        image[:] = rng.integers(0, 256, 3)
        for _ in range(6):
            y, x = rng.integers(0, size, 2)
            h, w = rng.integers(8, size // 2, 2)
            image[y : y + h, x : x + w] = rng.integers(0, 256, 3)
        image += noise_bank[i % len(noise_bank)]
        ext = ".png" if rng.random() < png_fraction else ".jpg"
        options = {"quality": 90} if ext == ".jpg" else {}
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(root / split / f"{i:05d}{ext}", **options)
    plant_problems(root)
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def plant_problems(root: Path) -> None:
    """One bad file of each kind in EXPECTED, written beside the generated ones."""
    jpgs = sorted((root / "train").glob("*.jpg"))
    data = jpgs[0].read_bytes()
    (root / "train" / "cut.jpg").write_bytes(data[: len(data) // 2])
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(root / "full.png")
    data = (root / "full.png").read_bytes()
    (root / "full.png").unlink()
    (root / "val" / "cut.png").write_bytes(data[: len(data) // 2])
    (root / "train" / "notes.jpg").write_text("this is not an image\n")
    bomb = bytearray(data)
    bomb[16:24] = struct.pack(">II", 100_000, 100_000)  # IHDR width and height, then a valid CRC
    bomb[29:33] = struct.pack(">I", zlib.crc32(bytes(bomb[12:29])))
    (root / "train" / "bomb.png").write_bytes(bytes(bomb))
    Image.new("RGB", (63, 32), (10, 20, 30)).save(root / "train" / "odd.png")
    (root / "test" / "leaked.jpg").write_bytes(jpgs[1].read_bytes())
    (root / "train" / "copy.jpg").write_bytes(jpgs[2].read_bytes())


def timed_check(root: Path, full: bool, workers: int | None) -> tuple[float, int]:
    start = time.perf_counter()
    report = check_dataset(root, full=full, workers=workers)
    seconds = time.perf_counter() - start
    found = Counter(p.kind for p in report.problems)
    if found != EXPECTED:
        raise SystemExit(f"check_dataset found {dict(found)}, expected {EXPECTED}")
    return seconds, report.images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="generated images (default 10000)")
    parser.add_argument("--size", type=int, default=256, help="height and half width of each A|B file (default 256)")
    parser.add_argument("--png-fraction", type=float, default=0.2)
    parser.add_argument("--repeats", type=int, default=3, help="header-mode runs per setting; the median is shown")
    parser.add_argument("--workers", default="0,1,2,4", help="comma-separated thread counts; 0 = the default")
    parser.add_argument("--no-full", action="store_true", help="skip the --full (decode everything) runs")
    parser.add_argument("--out", default="benchmarks/results/data_check.json")
    args = parser.parse_args()
    settings = [int(w) for w in args.workers.split(",")]
    if args.n < 10:
        parser.error("--n must be at least 10 (the bad files are copies of generated ones)")
    load_before = list(os.getloadavg())  # a shared machine: other processes' load is part of the result

    rows = []
    with tempfile.TemporaryDirectory(prefix="i2i-data-check-") as tmp:
        root = Path(tmp) / "dataset"
        start = time.perf_counter()
        total_bytes = generate(root, args.n, args.size, args.png_fraction)
        elapsed = time.perf_counter() - start
        print(f"generated {args.n} images + 7 bad files ({total_bytes / 1e6:.0f} MB) in {elapsed:.0f} s")
        for full in (False, True):
            if full and args.no_full:
                continue
            for workers in settings:
                runs = [timed_check(root, full, workers or None) for _ in range(1 if full else args.repeats)]
                times, images = [s for s, _ in runs], runs[0][1]
                rows.append(
                    {
                        "mode": "full" if full else "header",
                        "workers": workers or "default",
                        "files": images,
                        "median_s": statistics.median(times),
                        "min_s": min(times),
                        "files_per_s": images / statistics.median(times),
                        "runs_s": times,
                    }
                )
                print(_row(rows[-1]), flush=True)
        cli = [sys.executable, "-m", "i2i.cli", "data", "check", str(root), "-q"]
        start = time.perf_counter()
        rc = subprocess.run(cli, stdout=subprocess.DEVNULL, check=False).returncode
        seconds = time.perf_counter() - start
        rows.append(
            {
                "mode": "cli (with startup)",
                "workers": "default",
                "files": rows[0]["files"],
                "median_s": seconds,
                "min_s": seconds,
                "files_per_s": rows[0]["files"] / seconds,
                "runs_s": [seconds],
                "exit_code": rc,
            }
        )
        print(_row(rows[-1]))

    result = {
        "n": args.n,
        "image_size": [2 * args.size, args.size],
        "png_fraction": args.png_fraction,
        "bytes": total_bytes,
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": list(os.getloadavg()),
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "niceness": os.nice(0),
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, result)
    print(f"results written to {args.out}")


def _row(row: dict) -> str:
    return (
        f"{row['mode']:<20} workers {row['workers']!s:<8} {row['files']:>6} files  median {row['median_s']:6.2f} s"
        f"  min {row['min_s']:6.2f} s  {row['files_per_s']:7.0f} files/s"
    )


if __name__ == "__main__":
    main()
