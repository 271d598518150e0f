"""How close are ``i2i data pairs --task edges`` edge maps to the HED edges of the edges2shoes dataset?

For every A|B file of ``../shared/datasets/edges2shoes`` (A = the pix2pix authors' HED edges, B = the photo), the
photo goes through the same task code ``i2i data pairs`` runs (``synth.create_task("edges", method=...)`` with the
default parameters), and the result is scored against the dataset's own edges (A darker than 128 in some channel):

- precision: the share of our edge pixels within 2 pixels of a dataset edge pixel;
- recall: the share of dataset edge pixels within 2 pixels of one of ours;
- F: their harmonic mean (the tolerance-based boundary F-measure of BSDS, without one-to-one matching);
- ink: the share of pixels that are edges; ms: milliseconds per 256×256 photo on one thread.

It prints a Markdown table and writes a grid (rows evenly spaced over the test split, not hand-picked):
dataset HED edges | our Canny | our HED-like | photo.

    .venv/bin/python benchmarks/pairs_grid.py [--rows 5] [--out docs/images/pairs_edges_edges2shoes.jpg]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from i2i.datatools.synth import create_task
from i2i.imageio import read_image

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO.parent / "shared" / "datasets" / "edges2shoes"
METHODS = ("canny", "hed")


def score(ours: np.ndarray, theirs: np.ndarray, tolerance: float = 2.0) -> tuple[float, float, float]:
    """(precision, recall, F) of boolean edge maps with a distance tolerance in pixels."""
    to_theirs = cv2.distanceTransform((~theirs).astype(np.uint8), cv2.DIST_L2, 3)
    to_ours = cv2.distanceTransform((~ours).astype(np.uint8), cv2.DIST_L2, 3)
    precision = float((to_theirs[ours] <= tolerance).mean()) if ours.any() else 0.0
    recall = float((to_ours[theirs] <= tolerance).mean()) if theirs.any() else 0.0
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def label(image: np.ndarray, text: str) -> np.ndarray:
    """The image with a white header strip holding ``text``."""
    strip = np.full((22, image.shape[1], 3), 255, dtype=np.uint8)
    cv2.putText(strip, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, image], axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATASET, help="edges2shoes folder (A|B files in split folders)")
    parser.add_argument("--rows", type=int, default=5, help="grid rows, evenly spaced over the test split")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "pairs_edges_edges2shoes.jpg")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    tasks = {method: create_task("edges", method=method) for method in METHODS}
    files = sorted(args.data.glob("*/*.jpg"))
    rng = np.random.default_rng(0)  # the edges tasks draw nothing; the argument is required
    results: dict[str, list[tuple[float, ...]]] = {method: [] for method in METHODS}
    seconds = dict.fromkeys(METHODS, 0.0)
    theirs_ink = []
    for path in files:
        both = read_image(path)
        half = both.shape[1] // 2
        theirs, photo = both[:, :half].min(axis=2) < 128, both[:, half:]
        theirs_ink.append(theirs.mean())
        for method, task in tasks.items():
            start = time.perf_counter()
            ours = task(photo, rng)[:, :, 0] == 0
            seconds[method] += time.perf_counter() - start
            results[method].append((*score(ours, theirs), ours.mean()))
    print(f"{len(files)} photos of {args.data}; dataset edges: ink {np.mean(theirs_ink):.3f}\n")
    print("| method | precision | recall | F | ink | ms/photo |\n|---|---|---|---|---|---|")
    for method in METHODS:
        p, r, f, ink = np.mean(results[method], axis=0)
        print(f"| {method} | {p:.3f} | {r:.3f} | {f:.3f} | {ink:.3f} | {1000 * seconds[method] / len(files):.1f} |")

    test = sorted((args.data / "test").glob("*.jpg"), key=lambda p: int(p.stem.split("_")[0]))
    chosen = test[:: max(1, len(test) // args.rows)][: args.rows]
    rows = []
    for i, path in enumerate(chosen):
        both = read_image(path)
        half = both.shape[1] // 2
        theirs, photo = both[:, :half], both[:, half:]
        cells = [theirs] + [tasks[method](photo, rng) for method in METHODS] + [photo]
        if i == 0:
            names = ["dataset (HED)", "ours: canny", "ours: hed", "photo"]
            cells = [label(cell, name) for cell, name in zip(cells, names, strict=True)]
        rows.append(np.concatenate(cells, axis=1))
    # JPEG quality 85 (write_image uses 95) keeps the docs image small; the grid is for looking, not measuring.
    Image.fromarray(np.concatenate(rows, axis=0)).save(args.out, quality=85, optimize=True)
    print(f"\ngrid of {len(rows)} rows ({', '.join(p.name for p in chosen)})")
    print(f"written to {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
