"""FID and KID between real and translated images, on the standard FID Inception v3 from a user-supplied file.

Unpaired models (CycleGAN, U-GAT-IT) have no ground truth, so they are scored by how close the distribution of their
outputs is to that of real target-domain images, in the 2048-d pool features of the Inception v3 that FID is defined
on: "pt_inception-2015-12-05", file ``pt_inception-2015-12-05-6726825d.pth``. Nothing is downloaded: the caller passes
the file's path.

Design (option A of the design note: torchmetrics' metrics on torch-fidelity's network, plus a safe loader):

- The network is torch-fidelity's port of the TensorFlow graph, through torchmetrics' ``NoTrainInceptionV3`` with
  ``antialias=False``, so images are resized to 299×299 with torch-fidelity's TensorFlow-1.x-exact bilinear resize
  and the numbers match torch-fidelity's and published FIDs (features checked identical to torch-fidelity's own
  extractor). torchmetrics' default since 1.8 (``antialias=True``) resizes differently and shifts the scores.
  Writing the network ourselves (option B) would be ~200 lines that must copy the graph's quirks (average pools
  that exclude padding, a max pool in the last block, the TF resize) with no way to check them against the real
  weights in our tests.
- torch-fidelity 0.4.0 reads a weights path with ``torch.load(path, weights_only=False)``, which runs any code pickled
  in the file. So the user's file is read only here, with ``weights_only=True``, checked to be a dict of tensors, and
  written back into an in-memory buffer; torch-fidelity unpickles that buffer, which holds nothing but tensors.
- The formulas are torchmetrics' ``FrechetInceptionDistance`` and ``KernelInceptionDistance``, fed features we
  extracted once (through an identity "extractor"), so Inception runs once per image for both metrics.
  FID statistics are float64. KID is the unbiased polynomial-kernel MMD (degree 3, gamma 1/d, coef 1; Bińkowski et
  al. 2018) averaged over torchmetrics' default 100 subsets of min(1000, smallest set) images, drawn with a fixed
  seed so that the same images give the same KID.

Images are (H, W, C) uint8 arrays with C in {1, 3}, of any size; grayscale is replicated to RGB. They are read as a
stream: only their features are kept.
"""

from __future__ import annotations

import io
import logging
import pickle
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance, NoTrainInceptionV3
from torchmetrics.image.kid import KernelInceptionDistance

from i2i.errors import CheckpointError, DatasetError

log = logging.getLogger(__name__)

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
FEATURES = 2048  # Inception v3 pool features, the layer FID and KID are defined on
KID_MAX_SUBSET = 1000
KID_SUBSETS = 100  # torchmetrics' default
KID_SEED = 0


class InceptionWeightsError(CheckpointError):
    """The FID Inception weights file is missing, unreadable, or holds another network."""


@dataclass
class FidResult:
    fid: float
    kid_mean: float
    kid_std: float
    real_count: int
    fake_count: int
    kid_subset_size: int


def load_inception(weights: str | Path, device: torch.device | str = "cpu") -> nn.Module:
    """Loads the FID Inception v3 from a state-dict file, never unpickling anything but tensors.

    Args:
        weights: path to ``pt_inception-2015-12-05-6726825d.pth`` (torch-fidelity's copy of the same weights works).
        device: where the network runs.

    Returns:
        A module in eval mode mapping (N, 3, H, W) uint8 images to (N, 2048) float32 features.

    Raises:
        InceptionWeightsError: the file is missing, corrupt, holds pickled objects, or is not this network's weights.
    """
    path = Path(weights)
    if not path.exists():
        raise InceptionWeightsError(f"{path}: FID Inception weights file not found (expected {WEIGHTS_FILE})")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch.load raises RuntimeError, EOFError, KeyError, OSError... on broken files
        # weights_only=True refuses every global but tensors and plain containers, so nothing in the file ever runs
        found = re.search(r"GLOBAL (\S+)", str(e)) if isinstance(e, pickle.UnpicklingError) else None
        reason = f"holds a pickled Python object ({found[1]}), refused" if found else f"is corrupt ({type(e).__name__})"
        raise InceptionWeightsError(f"{path}: cannot load FID Inception weights: the file {reason}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InceptionWeightsError(f"{path}: not the FID Inception weights (expected a state dict of tensors)")
    buffer = io.BytesIO()
    torch.save(state, buffer)  # tensors only: safe for the weights_only=False load inside torch-fidelity
    buffer.seek(0)
    try:
        model = NoTrainInceptionV3("inception-v3-compat", [str(FEATURES)], buffer, antialias=False)
    except RuntimeError as e:  # load_state_dict: missing or unexpected keys, shape mismatches
        detail = str(e).splitlines()[1].strip() if "\n" in str(e) else str(e)
        detail = detail if len(detail) <= 120 else detail[:117] + "..."
        raise InceptionWeightsError(f"{path}: not the FID Inception v3 weights ({detail})") from None
    return model.to(device)


def fid_kid(
    real: Iterable[np.ndarray],
    fake: Iterable[np.ndarray],
    extractor: nn.Module,
    device: torch.device | str = "cpu",
    batch_size: int = 32,
) -> FidResult:
    """FID and KID between two streams of (H, W, 1|3) uint8 images.

    Args:
        real: real target-domain images.
        fake: translated images.
        extractor: maps (N, 3, H, W) uint8 to (N, d) features, e.g. from :func:`load_inception`; already on ``device``.
        device: where the extractor runs.
        batch_size: images per forward pass.

    Raises:
        DatasetError: fewer than 2 images on either side.
    """
    real_features = _features(real, extractor, device, batch_size)
    fake_features = _features(fake, extractor, device, batch_size)
    n_real, n_fake = len(real_features), len(fake_features)
    if min(n_real, n_fake) < 2:
        raise DatasetError(f"FID/KID need at least 2 images on each side, got {n_real} real and {n_fake} translated")
    subset_size = min(KID_MAX_SUBSET, n_real, n_fake)
    log.info("FID/KID on %d real and %d translated images (KID subsets of %d)", n_real, n_fake, subset_size)

    given = nn.Identity()  # the features are already extracted: torchmetrics only does the statistics
    given.num_features = real_features.shape[1]
    fid = FrechetInceptionDistance(feature=given)
    with warnings.catch_warnings():  # it warns that KID keeps every feature in memory, which _features did already
        warnings.filterwarnings("ignore", message=".*will save all extracted features")
        kid = KernelInceptionDistance(feature=given, subsets=KID_SUBSETS, subset_size=subset_size)
    for metric in (fid, kid):
        metric.update(real_features, real=True)
        metric.update(fake_features, real=False)
    with torch.random.fork_rng(devices=[]):  # KID draws its subsets from the global RNG; leave the caller's alone
        torch.manual_seed(KID_SEED)
        kid_mean, kid_std = kid.compute()
    return FidResult(
        fid=float(fid.compute()),
        kid_mean=float(kid_mean),
        kid_std=float(kid_std),
        real_count=n_real,
        fake_count=n_fake,
        kid_subset_size=subset_size,
    )


def _features(
    images: Iterable[np.ndarray], extractor: nn.Module, device: torch.device | str, batch_size: int
) -> torch.Tensor:
    """(N, d) float64 features on the CPU. A batch holds images of one size, as the network resizes a whole batch."""
    chunks: list[torch.Tensor] = []
    batch: list[torch.Tensor] = []

    def flush() -> None:
        with torch.inference_mode():
            chunks.append(extractor(torch.stack(batch).to(device)).double().cpu())
        batch.clear()

    for image in images:
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (1, 3):
            raise ValueError(f"expected an (H, W, 1|3) uint8 image, got {image.dtype} {image.shape}")
        x = torch.tensor(image).permute(2, 0, 1).expand(3, -1, -1)  # (3, H, W) uint8; grayscale → RGB
        if batch and (len(batch) == batch_size or x.shape != batch[0].shape):
            flush()
        batch.append(x)
    if batch:
        flush()
    return torch.cat(chunks) if chunks else torch.zeros(0, FEATURES, dtype=torch.float64)
