"""Sample grids: rows of images (e.g. input | output | target) scaled to one height, on a white background; text
cards and confusion matrices for classifiers."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

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


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def label_card(lines: list[str], height: int = 256, width: int | None = None) -> np.ndarray:
    """Lines of text, black on white, as a (height, width, 3) uint8 image (a sample-grid cell for a prediction)."""
    width = width or height
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    size = max(10, height // 10)
    font = _font(size)
    for i, line in enumerate(lines):
        draw.text((size // 2, size // 2 + i * int(size * 1.4)), line, fill="black", font=font)
    return np.asarray(image)


def confusion_image(matrix: np.ndarray, labels: list[str]) -> np.ndarray:
    """A confusion matrix (rows: true category, columns: predicted) as a (H, W, 3) uint8 image: each cell shaded by
    the share of its row (white 0 → dark blue 1), with counts and category names when there are few categories."""
    k = len(labels)
    if matrix.shape != (k, k):
        raise ValueError(f"expected a {k}x{k} matrix, got {matrix.shape}")
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape, dtype=np.float64), where=totals > 0)
    named = k <= 40
    cell = 36 if k <= 12 else 20 if named else max(2, 600 // k)
    font = _font(max(9, cell // 3) if named else 10)
    margin = max((int(font.getlength(label)) for label in labels), default=0) + 12 if named else 10
    image = Image.new("RGB", (margin + k * cell + 10, margin + k * cell + 10), "white")
    draw = ImageDraw.Draw(image)
    for i in range(k):
        for j in range(k):
            v = share[i, j]
            colour = tuple(int(round(255 - v * (255 - c))) for c in (8, 48, 107))
            x, y = margin + j * cell, margin + i * cell
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=colour, outline=(220, 220, 220) if named else None)
            if named and cell >= 20 and matrix[i, j]:
                draw.text((x + 3, y + 3), str(int(matrix[i, j])), fill="white" if v > 0.5 else "black", font=font)
    if named:
        for i, label in enumerate(labels):
            draw.text((4, margin + i * cell + cell // 4), label, fill="black", font=font)  # true categories
            column = Image.new("RGB", (margin, cell), "white")
            ImageDraw.Draw(column).text((4, cell // 4), label, fill="black", font=font)
            rotated = column.rotate(90, expand=True)
            image.paste(rotated, (margin + i * cell, 0))  # predicted categories, read bottom to top
    return np.asarray(image)
