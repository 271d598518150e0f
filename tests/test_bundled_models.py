"""The pretrained models bundled in ``models/``: each is a release that a fresh clone opens and runs on a CPU, small
enough for the repository, with example inputs and a model card that says how it was made and under what terms; the
classifier keeps the test accuracy its card reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, SHARED_DATASETS

from i2i.artifact.open import open_model
from i2i.imageio import read_image
from i2i.inference.classifier import Classifier
from i2i.inference.translator import Translator

MODELS = REPO / "models"
EXPECTED = {
    "facades": "translator",
    "shoes": "translator",
    "sketch2photo": "translator",
    "sketch-classifier": "classifier",
}
MAX_FILE_BYTES = 10 * 2**20
SKETCH_CATEGORIES = ["car_(sedan)", "strawberry", "teapot", "teddy_bear"]


def releases() -> list[Path]:
    return sorted(p for p in MODELS.iterdir() if (p / "config.json").is_file())


def test_the_four_models_are_bundled() -> None:
    found = {p.name: open_model(p).kind for p in releases()}
    assert found == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_file_is_small_and_the_card_says_how_to_retrain(name: str) -> None:
    folder = MODELS / name
    for file in folder.rglob("*"):
        assert file.stat().st_size <= MAX_FILE_BYTES, f"{file} is over 10 MB"
    meta = json.loads((folder / "config.json").read_text())
    assert meta.get("weights_dtype") == "float16"
    card = (folder / "README.md").read_text(encoding="utf-8")
    for needed in ("i2i train --config configs/", "i2i export", "## Data", "## Test", "Licen"):
        assert needed in card, f"{name}/README.md lacks {needed!r}"
    examples = sorted((folder / "examples").glob("*.png"))
    assert len(examples) >= 3


@pytest.mark.parametrize("name", [n for n, kind in EXPECTED.items() if kind == "translator"])
def test_each_generator_translates_its_examples(name: str) -> None:
    model = open_model(MODELS / name)
    translator = Translator(model.generator(), "cpu")
    channels = translator.pre.input_channels
    for path in sorted((MODELS / name / "examples").glob("*.png")):
        image = read_image(path, channels)
        out = translator([image])[0]
        assert out.shape == image.shape[:2] + (translator.pre.output_channels,)
        assert out.std() > 5, f"{path.name}: the output is flat"
        assert not np.array_equal(out, image)


def test_the_classifier_names_the_four_categories_of_its_examples() -> None:
    classifier = Classifier.from_pretrained(MODELS / "sketch-classifier", "cpu")
    assert classifier.labels == SKETCH_CATEGORIES
    examples = sorted((MODELS / "sketch-classifier" / "examples").glob("*.png"))
    predictions = classifier([read_image(p) for p in examples], top_k=4)
    right = 0
    for path, top in zip(examples, predictions, strict=True):
        assert sorted(label for label, _ in top) == SKETCH_CATEGORIES and abs(sum(p for _, p in top) - 1) < 1e-4
        right += path.stem.rsplit("_", 1)[0] == top[0][0]
    assert right >= 6, f"{right} of {len(examples)} drawings named right (the card reports 7 of 8)"


def _reported_accuracy(card: str) -> float:
    found = re.search(r"test accuracy[^0-9]*([0-9.]+) %", card)
    assert found, "the classifier's card reports its test accuracy as 'test accuracy ... NN.N %'"
    return float(found.group(1)) / 100


def test_the_classifier_keeps_its_reported_accuracy_on_held_out_sketches(tmp_path: Path) -> None:
    """The held-out sketches are prepared from ../shared/datasets/sketchy exactly as the card says."""
    sketchy = SHARED_DATASETS / "sketchy"
    if not sketchy.is_dir():
        pytest.skip(f"{sketchy} is absent: the held-out Sketchy sketches cannot be prepared")
    from i2i.datatools.sketchy import command as sketchy_command
    from i2i.evaluation.classification import evaluate_classifier

    out = tmp_path / "sketchy4"
    args = [str(sketchy), "--out", str(out), "--ratios", "0.6,0.2,0.2", "--categories", ",".join(SKETCH_CATEGORIES)]
    assert sketchy_command(args) == 0
    classifier = Classifier.from_pretrained(MODELS / "sketch-classifier", "cpu")
    summary = evaluate_classifier(classifier, out / "classes", tmp_path / "eval", "test")
    card = (MODELS / "sketch-classifier" / "README.md").read_text(encoding="utf-8")
    assert summary.accuracy == pytest.approx(_reported_accuracy(card), abs=0.001)
