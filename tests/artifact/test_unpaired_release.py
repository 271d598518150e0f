"""Two-way models: releases ship both generators, and every way of opening a model honours --direction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import tiny_unpaired_config, write_unpaired

from i2i.artifact.open import open_model
from i2i.artifact.release import write_release
from i2i.errors import CheckpointError
from i2i.imageio import read_image
from i2i.inference.translator import Translator
from i2i.training.trainer import Trainer


def _images(root: Path, folder: str) -> list[np.ndarray]:
    return [read_image(p) for p in sorted((root / folder).iterdir())]


def test_release_round_trip_in_both_directions(cyclegan_run: Path, tmp_path: Path) -> None:
    release = write_release(open_model(cyclegan_run), tmp_path / "release")
    meta = json.loads((release / "config.json").read_text())
    assert meta["preprocessing"]["direction"] == "AtoB" and meta["reverse"]["preprocessing"]["direction"] == "BtoA"
    assert (release / "model_reverse.safetensors").is_file()
    data = cyclegan_run.parent.parent / "data"
    a, b = _images(data, "testA"), _images(data, "testB")
    for direction, images in (("AtoB", a), ("BtoA", b)):
        from_run = Translator.from_pretrained(cyclegan_run, "cpu", direction)(images)
        from_release = Translator.from_pretrained(release, "cpu", direction)(images)
        for x, y in zip(from_run, from_release, strict=True):
            assert np.array_equal(x, y)
    assert np.array_equal(
        Translator.from_pretrained(release, "cpu")(a)[0], Translator.from_pretrained(release, "cpu", "AtoB")(a)[0]
    )
    ab = Translator.from_pretrained(release, "cpu", "AtoB")(b)
    ba = Translator.from_pretrained(release, "cpu", "BtoA")(b)
    assert not np.array_equal(ab[0], ba[0]), "the two directions are different generators"
    assert "--direction BtoA" in (release / "README.md").read_text()


def test_one_way_models_refuse_the_other_direction(tiny_run: Path, tmp_path: Path) -> None:
    """pix2pix learns one direction (tiny_run: BtoA); asking for the other is a one-line error everywhere."""
    with pytest.raises(CheckpointError, match="translates BtoA only"):
        Translator.from_pretrained(tiny_run, "cpu", "AtoB")
    release = write_release(open_model(tiny_run), tmp_path / "release")
    assert "reverse" not in json.loads((release / "config.json").read_text())
    with pytest.raises(CheckpointError, match="translates BtoA only"):
        Translator.from_pretrained(release, "cpu", "AtoB")
    assert Translator.from_pretrained(release, "cpu", "BtoA").pre.direction == "BtoA"


def test_full_ugatit_translates_any_size_by_resizing(tmp_path: Path) -> None:
    """The full generator takes its training size only; translation resizes to it and back."""
    data = write_unpaired(tmp_path / "data", {"train": (2, 2), "test": (1, 1)})
    cfg = tiny_unpaired_config(data, tmp_path / "runs", "ugatit_full", train={"max_steps": 1})
    run = Trainer(cfg).fit().run_dir
    release = write_release(open_model(run), tmp_path / "release")
    assert json.loads((release / "config.json").read_text())["preprocessing"]["fixed_size"] == 32
    image = np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    for direction in ("AtoB", "BtoA"):
        (out,) = Translator.from_pretrained(release, "cpu", direction)([image])
        assert out.shape == (50, 70, 3)


def test_one_direction_is_read_without_the_other_weights(cyclegan_run: Path, tmp_path: Path) -> None:
    """Translating one way reads that generator's weights only: the other file is opened when it is used."""
    release = write_release(open_model(cyclegan_run), tmp_path / "release")
    (release / "model_reverse.safetensors").unlink()
    model = open_model(release)
    image = _images(cyclegan_run.parent.parent / "data", "testA")[:1]
    assert Translator(model.generator("AtoB"), "cpu")(image)[0].shape == image[0].shape
    with pytest.raises(CheckpointError, match="model_reverse.safetensors: file not found"):
        Translator(model.generator("BtoA"), "cpu")
