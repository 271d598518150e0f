"""Releases with float16 weights: half the size, declared in config.json (version 2), widened to float32 on load,
and outputs within one uint8 level of the float32 release's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from i2i.artifact.open import open_model
from i2i.artifact.release import write_release
from i2i.artifact.release_format import read_config
from i2i.cli import main
from i2i.errors import CheckpointError
from i2i.inference.translator import Translator


@pytest.fixture(scope="module")
def releases(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("fp16")
    assert main(["export", str(tiny_run), "--out", str(base / "fp32")]) == 0
    assert main(["export", str(tiny_run), "--out", str(base / "fp16"), "--weights-dtype", "float16"]) == 0
    return base / "fp32", base / "fp16"


def test_float16_release_is_half_the_size_and_declares_it(releases: tuple[Path, Path]) -> None:
    fp32, fp16 = releases
    meta = read_config(fp16)
    assert meta["version"] == 2 and meta["weights_dtype"] == "float16"
    assert read_config(fp32)["version"] == 1 and "weights_dtype" not in read_config(fp32)
    stored = load_file(str(fp16 / "model.safetensors"))
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    ratio = (fp16 / "model.safetensors").stat().st_size / (fp32 / "model.safetensors").stat().st_size
    assert 0.45 < ratio < 0.6


def test_float16_outputs_stay_within_one_uint8_level(releases: tuple[Path, Path]) -> None:
    fp32, fp16 = releases
    net = open_model(fp16).generator().network
    assert all(p.dtype == torch.float32 for p in net.parameters())
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (64, 48, 3), dtype=np.uint8) for _ in range(4)]
    full = Translator.from_pretrained(fp32, device="cpu")(images)
    half = Translator.from_pretrained(fp16, device="cpu")(images)
    for a, b in zip(full, half, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_undeclared_or_inconsistent_float16_weights_are_refused(releases: tuple[Path, Path], tmp_path: Path) -> None:
    """float16 tensors in a release that does not say so are refused (never cast silently), and a declaration with
    version 1 (which an older i2i would misread) too."""
    _, fp16 = releases
    undeclared = tmp_path / "undeclared"
    undeclared.mkdir()
    meta = json.loads((fp16 / "config.json").read_text())
    save_file(load_file(str(fp16 / "model.safetensors")), str(undeclared / "model.safetensors"))
    (undeclared / "config.json").write_text(json.dumps({**meta, "weights_dtype": "float32", "version": 1}))
    with pytest.raises(CheckpointError, match="is float16, the model's is float32"):
        _ = open_model(undeclared).generator().network
    (undeclared / "config.json").write_text(json.dumps({**meta, "version": 1}))
    with pytest.raises(CheckpointError, match="weights_dtype float16 needs release version 2, got 1"):
        open_model(undeclared)
    (undeclared / "config.json").write_text(json.dumps({**meta, "weights_dtype": "int8"}))
    with pytest.raises(CheckpointError, match="weights_dtype must be one of float32, float16"):
        open_model(undeclared)


def test_weights_beyond_float16_range_are_refused(tiny_run: Path, tmp_path: Path) -> None:
    model = open_model(tiny_run)
    with torch.no_grad():
        next(model.generator().network.parameters()).view(-1)[0] = 1e6
    with pytest.raises(CheckpointError, match="cannot export as float16: tensor .* beyond its range"):
        write_release(model, tmp_path / "big", weights_dtype="float16")
    assert not (tmp_path / "big").exists()
