"""Sample grids: rows of images (e.g. input | output | target) scaled to one height, on a white background."""

from __future__ import annotations

import numpy as np
from PIL import Image

_GAP = 4


def _fit_height(image: np.ndarray, height: int) -> np.ndarray:
    """(H, W, 1|3) uint8 → (height, W', 3) uint8, keeping the aspect ratio."""
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
    if rgb.shape[0] == height:
        return rgb
    width = max(1, round(rgb.shape[1] * height / rgb.shape[0]))
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BICUBIC))


def sample_grid(rows: list[list[np.ndarray]], height: int = 256) -> np.ndarray:
    """Lays out ``rows`` of (H, W, C) uint8 images as one (H', W', 3) uint8 image with small white gaps."""
    if not rows:
        raise ValueError("sample_grid needs at least one row")
    scaled = [[_fit_height(im, height) for im in row] for row in rows]
    widths = [sum(im.shape[1] for im in row) + _GAP * (len(row) - 1) for row in scaled]
    grid = np.full((len(rows) * height + _GAP * (len(rows) - 1), max(widths), 3), 255, dtype=np.uint8)
    for r, row in enumerate(scaled):
        x, y = 0, r * (height + _GAP)
        for im in row:
            grid[y : y + height, x : x + im.shape[1]] = im
            x += im.shape[1] + _GAP
    return grid


def heatmap_image(heat: np.ndarray) -> np.ndarray:
    """A 2-D float map as a (H, W, 3) uint8 JET-coloured image (blue: lowest, red: highest value of the map).

    Each map is scaled by its own minimum and maximum, as attention maps are shown in the U-GAT-IT paper.
    """
    import cv2

    if heat.ndim != 2:
        raise ValueError(f"expected a 2-D map, got shape {heat.shape}")
    heat = heat.astype(np.float64)
    low, high = float(heat.min()), float(heat.max())
    scaled = (heat - low) / (high - low) if high > low else np.zeros_like(heat)
    bgr = cv2.applyColorMap(np.round(scaled * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return np.ascontiguousarray(bgr[:, :, ::-1])
