"""Per-image quality metrics on uint8 images, defined as the reference figures in our README define them.

- PSNR: on the uint8 values, data range 255 (as torchmetrics and scikit-image define it).
- SSIM: scikit-image's ``structural_similarity(a, b, channel_axis=2, data_range=255)``: a 7×7 uniform window,
  sample covariances, K1 = 0.01, K2 = 0.03, the mean over the window-valid area, averaged over channels.
  torchmetrics' SSIM uses a Gaussian window and population covariances, which gives different numbers, so SSIM is
  computed here with torch convolutions to match the published definition exactly (tests compare with skimage).
- L1: mean absolute difference of pixel values scaled to [0, 1].

Aggregates over a split, with one definition each, used by validation during training and by ``i2i eval`` alike:

- paired (``PairedScores``): ``psnr``, ``ssim``, ``l1``: means over the pairs of output against target.
- unpaired (``CycleScores``): for each image of domain A, fake B = G_AB(A) and rec A = G_BA(fake B) scored against A
  (``cycle_psnr_a``, ``cycle_ssim_a``), and G_BA(A) against A (``idt_l1_a``: how much a generator changes an image
  already in its output domain); the same for domain B with the roles swapped. Each is a mean over the distinct
  images of its domain; ``cycle_psnr``, ``cycle_ssim`` and ``idt_l1`` are the means of the two domains' values.
  Domains are named as in the dataset (A = ``trainA``/``testA``), whatever direction the model was trained in.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F


def _as_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, C) uint8 → (1, C, H, W) float64."""
    return torch.tensor(image, dtype=torch.float64).permute(2, 0, 1).unsqueeze(0)


def psnr(output: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two (H, W, C) uint8 images; inf when they are identical."""
    _check(output, target)
    if np.array_equal(output, target):
        return float("inf")
    # 10·log10(255² / MSE) over every value, in float64: torchmetrics' and scikit-image's definition. Computed
    # here because importing torchmetrics also imports whatever text and plotting stacks are installed, which can
    # take tens of seconds on a fresh machine at the first validation.
    mse = np.mean((output.astype(np.float64) - target.astype(np.float64)) ** 2)
    return float(10.0 * np.log10(255.0**2 / mse))


def ssim(output: np.ndarray, target: np.ndarray, win_size: int = 7) -> float:
    """Structural similarity of two (H, W, C) uint8 images, identical to scikit-image's definition."""
    _check(output, target)
    if min(output.shape[:2]) < win_size:
        raise ValueError(f"SSIM needs images of at least {win_size}x{win_size}, got {output.shape[:2]}")
    x, y = _as_tensor(output), _as_tensor(target)
    channels = x.shape[1]
    kernel = torch.full((channels, 1, win_size, win_size), 1.0 / win_size**2, dtype=torch.float64)

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, kernel, groups=channels)  # 'valid' windows only, as skimage's cropped mean

    n = win_size**2
    cov_norm = n / (n - 1)  # sample covariance
    ux, uy = filt(x), filt(y)
    vx = cov_norm * (filt(x * x) - ux * ux)
    vy = cov_norm * (filt(y * y) - uy * uy)
    vxy = cov_norm * (filt(x * y) - ux * uy)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return float(s.mean(dim=(2, 3)).mean())


def l1(output: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute difference, with pixel values scaled to [0, 1]."""
    _check(output, target)
    return float(np.abs(output.astype(np.float64) - target.astype(np.float64)).mean() / 255.0)


PSNR_CAP = 100.0  # dB; identical images would give inf, which no mean (or JSON file) survives


def image_metrics(output: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """PSNR (capped at PSNR_CAP), SSIM and L1 of one image pair; raises ValueError if SSIM is undefined."""
    return {
        "psnr": min(psnr(output, target), PSNR_CAP),
        "ssim": ssim(output, target),
        "l1": l1(output, target),
    }


def _check(output: np.ndarray, target: np.ndarray) -> None:
    if output.shape != target.shape or output.dtype != np.uint8 or target.dtype != np.uint8:
        raise ValueError(f"expected two uint8 images of one shape, got {output.shape} and {target.shape}")


Goal = Literal["max", "min"]  # which way a metric is better

PAIRED_METRICS: dict[str, Goal] = {"psnr": "max", "ssim": "max", "l1": "min"}


class PairedScores:
    """Means of PSNR, SSIM and L1 over the (output, target) pairs of a split."""

    def __init__(self) -> None:
        self._sums = dict.fromkeys(PAIRED_METRICS, 0.0)
        self.count = 0

    def add(self, output: np.ndarray, target: np.ndarray) -> dict[str, float]:
        """Scores one pair and counts it; raises ValueError (counting nothing) if a metric is undefined for it."""
        scores = image_metrics(output, target)
        for key, value in scores.items():
            self._sums[key] += value
        self.count += 1
        return scores

    def means(self) -> dict[str, float]:
        """``psnr``, ``ssim`` and ``l1`` means; empty before the first pair."""
        return {k: v / self.count for k, v in self._sums.items()} if self.count else {}


def cycle_metrics(identity: bool) -> dict[str, Goal]:
    """The names ``CycleScores.means`` reports (identity scores only when the domains have equal channels)."""
    names: dict[str, Goal] = {}
    for base, goal in (("cycle_psnr", "max"), ("cycle_ssim", "max")) + ((("idt_l1", "min"),) if identity else ()):
        names.update({base: goal, f"{base}_a": goal, f"{base}_b": goal})  # type: ignore[dict-item]
    return names


class CycleScores:
    """Cycle and identity scores of a two-way model over the images of both domains (see the module docstring)."""

    def __init__(self) -> None:
        self._sums: dict[str, dict[str, float]] = {"a": {}, "b": {}}
        self._counts = {"a": 0, "b": 0}
        self._seen: set[tuple[str, str]] = set()

    def add(
        self, domain: str, key: str, real: np.ndarray, rec: np.ndarray, same: np.ndarray | None = None
    ) -> dict[str, float] | None:
        """Scores one image of ``domain`` ("a" or "b"): its reconstruction ``rec`` after a round trip and, when
        given, ``same`` (the image through the generator into its own domain). An image already scored under
        ``key`` is not counted again (None). Raises ValueError, counting nothing, if a metric is undefined."""
        return self.add_many([(domain, key, real, rec, same)])[0]

    def add_many(
        self, items: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray | None]]
    ) -> list[dict[str, float] | None]:
        """``add`` for several images at once: all are scored before any is counted, so a ValueError from one
        leaves the totals as they were."""
        results: list[dict[str, float] | None] = []
        for domain, key, real, rec, same in items:
            if (domain, key) in self._seen:
                results.append(None)
                continue
            cycle = image_metrics(rec, real)
            scores = {"cycle_psnr": cycle["psnr"], "cycle_ssim": cycle["ssim"]}
            if same is not None:
                scores["idt_l1"] = l1(same, real)
            results.append(scores)
        for (domain, key, *_), scores in zip(items, results, strict=True):
            if scores is None or (domain, key) in self._seen:
                continue
            self._seen.add((domain, key))
            sums = self._sums[domain]
            for name, value in scores.items():
                sums[name] = sums.get(name, 0.0) + value
            self._counts[domain] += 1
        return results

    def count(self, domain: str) -> int:
        return self._counts[domain]

    def domain_means(self, domain: str) -> dict[str, float]:
        """``cycle_psnr``, ``cycle_ssim`` (and ``idt_l1``) means over the images of one domain."""
        n = self._counts[domain]
        return {k: v / n for k, v in self._sums[domain].items()} if n else {}

    def means(self) -> dict[str, float]:
        """Every name of ``cycle_metrics``: per domain (``_a``, ``_b``) and their means; empty until both domains
        have an image."""
        a, b = self.domain_means("a"), self.domain_means("b")
        if not a or not b:
            return {}
        out: dict[str, float] = {}
        for name in a:
            if name in b:
                out.update({name: (a[name] + b[name]) / 2, f"{name}_a": a[name], f"{name}_b": b[name]})
        return out


CLASS_METRICS: dict[str, Goal] = {"accuracy": "max", "class_accuracy": "max"}


class ClassScores:
    """A classifier's confusion matrix over a split and what it implies: ``accuracy`` (top-1, over images),
    ``class_accuracy`` (the mean of the per-category accuracies, over the categories the split has) and
    ``accuracy/<category>`` for each of them. Rows of ``matrix`` are true categories, columns predicted ones."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = list(labels)
        self.matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)

    @property
    def count(self) -> int:
        return int(self.matrix.sum())

    def add(self, truth: int, predicted: int) -> None:
        self.matrix[truth, predicted] += 1

    def per_class(self) -> dict[str, float]:
        """Accuracy of each category with at least one image, by name."""
        totals = self.matrix.sum(axis=1)
        return {label: float(self.matrix[i, i] / totals[i]) for i, label in enumerate(self.labels) if totals[i] > 0}

    def means(self) -> dict[str, float]:
        """``accuracy``, ``class_accuracy`` and ``accuracy/<category>``; empty before the first image."""
        if not self.count:
            return {}
        per_class = self.per_class()
        out = {
            "accuracy": float(np.trace(self.matrix) / self.count),
            "class_accuracy": float(np.mean(list(per_class.values()))),
        }
        out.update({f"accuracy/{label}": value for label, value in per_class.items()})
        return out
