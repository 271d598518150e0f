"""Result grids of the bundled generators on their example inputs, for the docs: input | output, one row per example.

The examples are the project's own drawings (``models/<name>/examples``), so the grids can be shipped with the docs;
grids on the held-out test images come from ``i2i eval`` (``grid.png`` in its report folder) and stay local where the
test images may not be redistributed.

    .venv/bin/python benchmarks/bundled_grids.py [--models models] [--out docs/images]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from i2i.artifact.open import open_model
from i2i.evaluation.visuals import sample_grid
from i2i.imageio import read_image, to_channels
from i2i.inference.translator import Translator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="models")
    parser.add_argument("--out", default="docs/images")
    parser.add_argument("--height", type=int, default=160, help="row height in pixels")
    parser.add_argument("--per-row", type=int, default=2, help="examples side by side in one grid row")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for folder in sorted(p for p in Path(args.models).iterdir() if (p / "config.json").is_file()):
        model = open_model(folder)
        if model.classifier is not None:
            continue
        translator = Translator(model.generator(), "cpu")
        pairs: list[np.ndarray] = []
        for path in sorted((folder / "examples").glob("*.png")):
            image = read_image(path, translator.pre.input_channels)
            output = translator([image])[0]
            pairs += [to_channels(image, 3), to_channels(output, 3)]
        step = 2 * args.per_row
        rows = [pairs[i : i + step] for i in range(0, len(pairs), step)]
        grid = sample_grid(rows, height=args.height)
        target = out / f"bundled_{folder.name}.jpg"
        Image.fromarray(grid).save(target, quality=88, optimize=True)
        print(f"{target}: {len(pairs) // 2} examples")


if __name__ == "__main__":
    main()
