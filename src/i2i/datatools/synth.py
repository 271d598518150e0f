"""Image operations that turn a photo into a synthetic network input, for ``i2i data pairs``.

A task is a frozen dataclass of its parameters, registered under its name in ``TASKS``; calling it on a photo,
a (H, W, 3) uint8 RGB array, returns the input image A, also (H, W, 3) uint8 and the same size. Randomness comes
only from the ``rng`` argument, so a photo and a seed always give the same A.

OpenCV (``opencv-python-headless``) does the filtering: Canny's non-maximum suppression and hysteresis accept our
own gradients, connected components and resizing are in C++, and it releases the GIL, so threads scale across cores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from i2i.errors import ConfigError
from i2i.registry import Registry

TASKS: Registry[type[PairTask]] = Registry("pairs task")


class PairTask:
    """Base of the registered tasks: subclasses are frozen dataclasses whose fields are the task's parameters."""

    def __call__(self, photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def create_task(name: str, **params: Any) -> PairTask:
    """Builds task ``name``; parameters given as None take the task's defaults."""
    return TASKS.get(name)(**{k: v for k, v in params.items() if v is not None})


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _gray(photo: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)


def _rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[:, :, None], 3, axis=2)


def _lines(edges: np.ndarray) -> np.ndarray:
    """A boolean edge map as black lines on white, the look of the pix2pix edges datasets."""
    return _rgb(np.where(edges, 0, 255).astype(np.uint8))


# --- edges ---------------------------------------------------------------------------------------------------------


def _gradient(image: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Derivative-of-Gaussian gradient (dx, dy) of a float32 image; for colour, each pixel's strongest channel."""
    smooth = cv2.GaussianBlur(image, (0, 0), sigma)
    dx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    dy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    if dx.ndim == 3:
        # A red shoe on a grey sole has a weak luminance edge but a strong one in one channel.
        strongest = (dx * dx + dy * dy).argmax(axis=2)[:, :, None]
        dx = np.take_along_axis(dx, strongest, 2)[:, :, 0]
        dy = np.take_along_axis(dy, strongest, 2)[:, :, 0]
    return dx, dy


def _thin_lines(dx: np.ndarray, dy: np.ndarray, strength: np.ndarray, quantile: float) -> np.ndarray:
    """Non-maximum suppression and hysteresis (cv2.Canny) on ``strength`` along the direction of (dx, dy).

    Thresholds are automatic: the high one is the ``quantile`` of the candidate edge pixels' strength (those above
    0.1% of the maximum) and the low one half of it, so contrast and exposure don't change how much is drawn.
    """
    peak = float(strength.max())
    candidates = strength[strength > 1e-3 * peak]
    if candidates.size == 0:
        return np.zeros(strength.shape, dtype=bool)
    # Canny takes int16 gradients: rescale so the strongest edge is 1000, pointing the way (dx, dy) points.
    ratio = strength * (1000 / peak) / np.maximum(np.hypot(dx, dy), 1e-12)
    gx, gy = np.rint(dx * ratio).astype(np.int16), np.rint(dy * ratio).astype(np.int16)
    high = float(np.quantile(candidates, quantile)) * 1000 / peak
    return cv2.Canny(gx, gy, 0.5 * high, high, L2gradient=True) > 0


def _drop_short(edges: np.ndarray, min_length: int) -> np.ndarray:
    """Removes 8-connected edge fragments of fewer than ``min_length`` pixels (texture specks, JPEG noise)."""
    if min_length <= 1:
        return edges
    _, labels, stats, _ = cv2.connectedComponentsWithStats(edges.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_length
    keep[0] = False
    return keep[labels]


def canny_edges(photo: np.ndarray, sigma: float = 2.0, min_length: int = 10) -> np.ndarray:
    """Canny on the smoothed luminance with automatic thresholds; a (H, W) bool edge map."""
    dx, dy = _gradient(_gray(photo).astype(np.float32), sigma)
    return _drop_short(_thin_lines(dx, dy, np.hypot(dx, dy), 0.8), min_length)


def hed_like_edges(photo: np.ndarray, sigma: float = 1.0, min_length: int = 10) -> np.ndarray:
    """Object contours with little texture, like HED (Xie & Tu 2015) plus pix2pix's thinning, from classical filters.

    1. Colour gradients at scales σ and 2σ; an edge's strength is the geometric mean of its scale-normalized
       magnitudes, so only edges that persist across scales (contours, not fine texture) stay strong.
    2. Surround inhibition (Grigorescu et al., 2003): subtract the mean strength in an annulus around each pixel
       (the positive part of a difference of Gaussians, 4σ minus σ). An isolated contour keeps its strength; an
       edge inside a textured patch (mesh, stitching, print) is surrounded by others and fades.
    3. Thin 1-pixel lines by non-maximum suppression and hysteresis at automatic thresholds, then drop fragments
       shorter than ``min_length`` pixels.

    Returns:
        A (H, W) bool edge map.
    """
    image = photo.astype(np.float32)
    strengths = []
    for scale in (sigma, 2 * sigma):
        dx_s, dy_s = _gradient(image, scale)
        magnitude = np.hypot(dx_s, dy_s) * scale
        strengths.append(magnitude / (magnitude.max() + 1e-6))
        if scale == sigma:
            dx, dy = dx_s, dy_s
    strength = np.sqrt((strengths[0] + 1e-3) * (strengths[1] + 1e-3))
    radius = int(np.ceil(12 * sigma))  # 3 standard deviations of the 4σ Gaussian
    outer = cv2.getGaussianKernel(2 * radius + 1, 4 * sigma)
    inner = cv2.getGaussianKernel(2 * radius + 1, sigma)
    annulus = np.maximum(outer @ outer.T - inner @ inner.T, 0)
    surround = cv2.filter2D(strength, -1, (annulus / annulus.sum()).astype(np.float32), borderType=cv2.BORDER_REFLECT)
    strength = np.maximum(strength - surround, 0)
    return _drop_short(_thin_lines(dx, dy, strength, 0.7), min_length)


@TASKS.register("edges")
@dataclass(frozen=True)
class Edges(PairTask):
    """Black 1-pixel lines on white (edges2shoes, edges2handbags). ``method``: "hed" (HED-like, default) or "canny".

    ``sigma`` is the smoothing scale in pixels (default 1.0 for hed, 2.0 for canny); fragments shorter than
    ``min_length`` pixels are dropped.
    """

    method: str = "hed"
    sigma: float | None = None
    min_length: int = 10

    def __post_init__(self) -> None:
        _check(self.method in ("hed", "canny"), f"edges: method must be hed or canny, got {self.method!r}")
        if self.sigma is None:
            object.__setattr__(self, "sigma", 1.0 if self.method == "hed" else 2.0)
        _check(self.sigma > 0, f"edges: sigma must be > 0, got {self.sigma}")
        _check(self.min_length >= 0, f"edges: min_length must be >= 0, got {self.min_length}")

    def __call__(self, photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        detect = hed_like_edges if self.method == "hed" else canny_edges
        return _lines(detect(photo, self.sigma, self.min_length))


# --- sketch and grayscale --------------------------------------------------------------------------------------------


@TASKS.register("sketch")
@dataclass(frozen=True)
class Sketch(PairTask):
    """Pencil-like line drawing by XDoG (Winnemöller et al., 2012): soft dark strokes along edges, white elsewhere.

    The difference of Gaussians G(σ) − 0.98·G(1.6σ) is near zero on flat areas of any brightness and negative on
    the dark side of an edge; a soft threshold (tanh) turns it into strokes whose darkness follows edge contrast.
    ``sigma`` sets the stroke width in pixels.
    """

    sigma: float = 1.0

    def __post_init__(self) -> None:
        _check(self.sigma > 0, f"sketch: sigma must be > 0, got {self.sigma}")

    def __call__(self, photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        gray = _gray(photo).astype(np.float32) / 255
        dog = cv2.GaussianBlur(gray, (0, 0), self.sigma) - 0.98 * cv2.GaussianBlur(gray, (0, 0), 1.6 * self.sigma)
        eps, phi = -0.005, 100.0
        tone = np.where(dog >= eps, 1.0, 1.0 + np.tanh(phi * (dog - eps)))
        return _rgb(np.rint(tone * 255).astype(np.uint8))


@TASKS.register("grayscale")
@dataclass(frozen=True)
class Grayscale(PairTask):
    """ITU-R 601 luma in all three channels (colorization)."""

    def __call__(self, photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _rgb(_gray(photo))


# --- degradations --------------------------------------------------------------------------------------------------

NOISE_LEVELS = {"gaussian": 25.0, "poisson": 4.0, "saltpepper": 0.05}


@TASKS.register("noise")
@dataclass(frozen=True)
class Noise(PairTask):
    """Additive noise (denoising). ``level`` depends on ``kind``; larger is noisier:

    - gaussian: standard deviation in 8-bit levels, independent per channel (default 25);
    - poisson: levels per photon, as a sensor's gain: the noise at value v has standard deviation √(level·v)
      (default 4, about 23 at mid-grey);
    - saltpepper: fraction of pixels set to black or white, half each (default 0.05).
    """

    kind: str = "gaussian"
    level: float | None = None

    def __post_init__(self) -> None:
        kinds = ", ".join(NOISE_LEVELS)
        _check(self.kind in NOISE_LEVELS, f"noise: kind must be one of {kinds}, got {self.kind!r}")
        if self.level is None:
            object.__setattr__(self, "level", NOISE_LEVELS[self.kind])
        _check(self.level > 0, f"noise: level must be > 0, got {self.level}")
        _check(
            self.kind != "saltpepper" or self.level <= 1, f"noise: saltpepper level is a fraction ≤ 1, got {self.level}"
        )

    def __call__(self, photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "gaussian":
            noisy = photo + rng.normal(0.0, self.level, photo.shape)
        elif self.kind == "poisson":
            noisy = rng.poisson(photo / self.level) * self.level
        else:
            draw = rng.random(photo.shape[:2])
            noisy = photo.copy()
            noisy[draw < self.level / 2] = 0
            noisy[(draw >= self.level / 2) & (draw < self.level)] = 255
            return noisy
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


@TASKS.register("blur")
@dataclass(frozen=True)
class Blur(PairTask):
    """Gaussian blur of standard deviation ``sigma`` pixels (deblurring)."""

    sigma: float = 2.0

    def __post_init__(self) -> None:
        _check(self.sigma > 0, f"blur: sigma must be > 0, got {self.sigma}")

    def __call__(self, photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return cv2.GaussianBlur(photo, (0, 0), self.sigma)


@TASKS.register("lowres")
@dataclass(frozen=True)
class LowRes(PairTask):
    """Super-resolution input: shrunk by ``scale`` (area averaging), then bicubic back to the photo's size."""

    scale: int = 4

    def __post_init__(self) -> None:
        _check(self.scale in (2, 4, 8), f"lowres: scale must be 2, 4 or 8, got {self.scale}")

    def __call__(self, photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        height, width = photo.shape[:2]
        small_size = (max(1, round(width / self.scale)), max(1, round(height / self.scale)))
        small = cv2.resize(photo, small_size, interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


@TASKS.register("mask")
@dataclass(frozen=True)
class Mask(PairTask):
    """Inpainting input: ``holes`` random rectangles filled with grey ``fill`` (128 ≈ 0 after normalization).

    Each side of a hole is drawn uniformly between a quarter of ``max_size`` and ``max_size`` (a fraction of the
    image side); holes may overlap.
    """

    holes: int = 4
    max_size: float = 0.25
    fill: int = 128

    def __post_init__(self) -> None:
        _check(self.holes >= 1, f"mask: holes must be >= 1, got {self.holes}")
        _check(0 < self.max_size <= 1, f"mask: max_size must be in (0, 1], got {self.max_size}")
        _check(0 <= self.fill <= 255, f"mask: fill must be in 0..255, got {self.fill}")

    def __call__(self, photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        masked = photo.copy()
        height, width = photo.shape[:2]
        for _ in range(self.holes):
            h, w = (max(1, round(side * self.max_size * rng.uniform(0.25, 1.0))) for side in (height, width))
            y, x = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
            masked[y : y + h, x : x + w] = self.fill
        return masked


# --- framing ---------------------------------------------------------------------------------------------------------


def object_box(photo: np.ndarray, threshold: int = 24) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """Bounding box (top, bottom, left, right) of the object on a plain background, and the background colour.

    The background colour is the median of the image border; pixels differing from it by more than
    ``threshold`` levels in some channel, after a 3×3 opening that removes JPEG specks, are the object. Returns
    None when under 60% of the border is within ``threshold`` of that colour (a scene, not a product shot; an
    object may touch the frame) or no object stands out.
    """
    border = np.concatenate([photo[0], photo[-1], photo[:, 0], photo[:, -1]]).astype(np.int16)
    background = np.median(border, axis=0)
    if np.quantile(np.abs(border - background).max(axis=1), 0.6) > threshold:
        return None
    foreground = (np.abs(photo.astype(np.int16) - background).max(axis=2) > threshold).astype(np.uint8)
    foreground = cv2.morphologyEx(foreground, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    if foreground.sum() < max(4, 1e-3 * foreground.size):
        return None
    rows, cols = np.flatnonzero(foreground.any(axis=1)), np.flatnonzero(foreground.any(axis=0))
    return (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1), background.astype(np.uint8)


def object_crop(photo: np.ndarray, margin: float) -> np.ndarray | None:
    """The object's bounding box plus ``margin`` (a fraction of its longer side) on each side, squared by padding
    with the background colour; None when ``object_box`` finds no object on a plain background."""
    found = object_box(photo)
    if found is None:
        return None
    (top, bottom, left, right), background = found
    side = round(max(bottom - top, right - left) * (1 + 2 * margin))
    top -= (side - (bottom - top)) // 2
    left -= (side - (right - left)) // 2
    height, width = photo.shape[:2]
    pad = max(0, -top, -left, top + side - height, left + side - width)
    padded = cv2.copyMakeBorder(photo, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=background.tolist())
    return padded[top + pad : top + pad + side, left + pad : left + pad + side]


def fit_square(photo: np.ndarray, size: int) -> np.ndarray:
    """Scales the shorter side to ``size`` (area averaging to shrink, bicubic to enlarge) and centre-crops."""
    height, width = photo.shape[:2]
    scale = size / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    if (new_h, new_w) != (height, width):
        photo = cv2.resize(photo, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return photo[top : top + size, left : left + size]
