"""FID/KID on a randomly initialised FID Inception: the real weights can't be fetched here, so the tests check the
wiring (loading, preprocessing, formulas) rather than reference numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from helpers import write_fid_weights
from torchvision.models import resnet18

from i2i.errors import DatasetError
from i2i.evaluation.fid import InceptionWeightsError, fid_kid, load_inception


class _OpensFile:
    """Unpickling this calls open(marker, "w"): proof that code in a weights file ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    return str(write_fid_weights(tmp_path_factory.mktemp("fid")))


@pytest.fixture(scope="module")
def extractor(weights):
    return load_inception(weights)


@pytest.fixture(scope="module")
def sets() -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    return {
        "noise_a": [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(6)],
        "noise_b": [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(6)],
        "flat": [np.full((32, 32, 3), rng.integers(0, 256, 3), dtype=np.uint8) for _ in range(6)],
    }


@pytest.fixture(scope="module")
def scores(extractor, sets):
    return {
        "same": fid_kid(sets["noise_a"], sets["noise_a"], extractor),
        "near": fid_kid(sets["noise_a"], sets["noise_b"], extractor),
        "far": fid_kid(sets["noise_a"], sets["flat"], extractor),
    }


def test_identical_sets_score_zero(scores):
    same, far = scores["same"], scores["far"]
    assert abs(same.fid) < 1e-3 * far.fid
    # The unbiased KID of a set with itself is -2/m·(mean diagonal - mean off-diagonal kernel): near 0, not exactly 0
    assert abs(same.kid_mean) < 0.01 * far.kid_mean
    assert (same.real_count, same.fake_count, same.kid_subset_size) == (6, 6, 6)


def test_different_sets_score_higher_than_same_distribution(scores):
    assert scores["far"].fid > 10 * scores["near"].fid > 0
    assert scores["far"].kid_mean > 10 * abs(scores["near"].kid_mean)


def test_scores_match_direct_computation(extractor, sets, scores):
    def features(images):
        with torch.inference_mode():
            return extractor(torch.tensor(np.stack(images)).permute(0, 3, 1, 2)).double().numpy()

    real, fake = features(sets["noise_a"]), features(sets["flat"])
    a, b = real - real.mean(0), fake - fake.mean(0)  # (n, d) centred
    n, m = len(real), len(fake)
    # tr sqrt(Σ_r Σ_f): the non-zero eigenvalues of Σ_r Σ_f are the squared singular values of a·bᵀ / sqrt((n-1)(m-1))
    cross = scipy.linalg.svdvals(a @ b.T).sum() / math.sqrt((n - 1) * (m - 1))
    fid = np.sum((real.mean(0) - fake.mean(0)) ** 2) + np.sum(a**2) / (n - 1) + np.sum(b**2) / (m - 1) - 2 * cross
    assert scores["far"].fid == pytest.approx(fid, rel=1e-3)

    # With subsets as large as the sets, every KID subset is the whole set: one unbiased MMD² with k = (x·y/d + 1)³
    def kernel(x, y):
        return (x @ y.T / x.shape[1] + 1) ** 3

    k_rr, k_ff, k_rf = kernel(real, real), kernel(fake, fake), kernel(real, fake)
    mmd = (k_rr.sum() - np.trace(k_rr)) / (n * (n - 1)) + (k_ff.sum() - np.trace(k_ff)) / (m * (m - 1))
    assert scores["far"].kid_mean == pytest.approx(mmd - 2 * k_rf.mean(), rel=1e-3)


def test_grayscale_is_replicated_to_rgb(extractor):
    gray = [np.random.default_rng(i).integers(0, 256, (32, 32, 1), dtype=np.uint8) for i in range(4)]
    result = fid_kid(gray, [np.repeat(g, 3, axis=2) for g in gray], extractor)
    assert abs(result.fid) < 1e-3 and result.real_count == 4


def test_mixed_sizes_stream_in_batches(extractor, scores):
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (32, 48, 3) if i % 2 else (40, 40, 3), dtype=np.uint8) for i in range(5)]
    # A generator on one side and another batch size on the other: same features, whatever the grouping
    result = fid_kid((im for im in images), images, extractor, batch_size=2)
    assert abs(result.fid) < 1e-3 * scores["far"].fid
    assert (result.real_count, result.fake_count, result.kid_subset_size) == (5, 5, 5)


def test_fewer_than_two_images_is_an_error(extractor, sets):
    with pytest.raises(DatasetError, match="at least 2 images on each side, got 1 real and 2 translated"):
        fid_kid(sets["noise_a"][:1], sets["noise_a"][:2], extractor)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "file not found"),
        ("truncated", "is corrupt"),
        ("random_bytes", "is corrupt"),
        ("not_a_state_dict", "expected a state dict of tensors"),
        ("other_network", "not the FID Inception v3 weights"),
    ],
)
def test_bad_weights_files_give_one_line_errors(weights, tmp_path, case, message):
    path = tmp_path / f"{case}.pth"
    if case == "truncated":
        data = open(weights, "rb").read()
        path.write_bytes(data[: len(data) // 2])
    elif case == "random_bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif case == "not_a_state_dict":
        torch.save([torch.zeros(3)], path)
    elif case == "other_network":
        torch.save(resnet18().state_dict(), path)
    with pytest.raises(InceptionWeightsError, match=message) as info:
        load_inception(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_pickled_objects_are_refused_not_run(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "pickled.pth"
    torch.save({"Conv2d_1a_3x3.conv.weight": _OpensFile(str(marker))}, path)
    with pytest.raises(InceptionWeightsError, match=r"pickled Python object .*refused"):
        load_inception(path)
    assert not marker.exists()
    # The payload is live: a plain unpickling would have run it
    torch.load(path, weights_only=False)["Conv2d_1a_3x3.conv.weight"].close()
    assert marker.exists()
