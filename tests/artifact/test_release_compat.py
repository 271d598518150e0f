"""Releases written by an older i2i keep loading: the version-1 fixtures (written by i2i 0.1.0 before the artifact
refactor, see tests/fixtures/releases_v1/README.md) open and translate as that version did."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import REPO

from i2i.artifact.open import open_model
from i2i.artifact.release_format import VERSION, read_config
from i2i.imageio import read_image
from i2i.inference.translator import Translator

FIXTURES = REPO / "tests" / "fixtures" / "releases_v1"
CASES = [("pix2pix", None, ["BtoA"]), ("cyclegan", "AtoB", ["AtoB", "BtoA"]), ("cyclegan", "BtoA", ["AtoB", "BtoA"])]


@pytest.mark.parametrize(("release", "direction", "directions"), CASES)
def test_version_1_releases_translate_as_when_they_were_written(
    release: str, direction: str | None, directions: list[str]
) -> None:
    model = open_model(FIXTURES / release)
    assert model.method == release and model.directions == directions
    image = read_image(FIXTURES / "input.png")
    output = Translator(model.generator(direction), "cpu")([image])[0]
    expected = read_image(FIXTURES / f"expected_{release}_{direction or 'trained'}.png")
    assert output.shape == expected.shape == (45, 70, 3)
    # the same CPU fast path; another CPU may round an odd value the other way
    assert np.abs(output.astype(int) - expected.astype(int)).max() <= 1
    assert np.mean(output != expected) < 0.001


def test_the_fixtures_are_version_1_and_today_writes_a_version_they_promise() -> None:
    for release in ("pix2pix", "cyclegan"):
        meta = json.loads((FIXTURES / release / "config.json").read_text())
        assert meta["version"] == 1 and read_config(FIXTURES / release)["format"] == "i2i-release"
    assert VERSION >= 1
