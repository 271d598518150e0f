"""Using a classifier: ``Classifier.from_pretrained``, ``i2i classify`` (text and JSON), ``i2i eval`` on class
folders, float16 releases, and the one-line refusals of the wrong kind of model and of crafted classifier releases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import SHAPES, contract_config, tiny_config, write_aligned, write_classes
from PIL import Image

from i2i.artifact.open import open_model
from i2i.artifact.release import read_release, write_release
from i2i.cli import main
from i2i.errors import CheckpointError
from i2i.imageio import read_image
from i2i.inference.classifier import Classifier
from i2i.training.trainer import Trainer


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A classifier run (20 steps on shape drawings), its float32 and float16 releases, and a pix2pix run."""
    tmp = tmp_path_factory.mktemp("cls")
    data = write_classes(tmp / "data", {"train": 8, "val": 3, "test": 4})
    cfg = contract_config("classifier", data, tmp / "runs", train={"max_steps": 20, "batch_size": 6})
    run = Trainer(cfg).fit().run_dir
    release = write_release(open_model(run), tmp / "release")
    half = write_release(open_model(run), tmp / "release16", weights_dtype="float16")
    gen_data = write_aligned(tmp / "pairs", {"train": 2, "val": 1}, size=32)
    gen_run = Trainer(tiny_config(gen_data, tmp / "runs", name="gen", train={"max_steps": 1})).fit().run_dir
    return {"data": data, "run": run, "release": release, "half": half, "generator": gen_run, "tmp": tmp}


def test_from_pretrained_gives_top_k_with_probabilities(trained: dict[str, Path]) -> None:
    classifier = Classifier.from_pretrained(trained["release"], device="cpu")
    assert classifier.labels == sorted(SHAPES)
    images = [read_image(p, channels=3) for p in sorted((trained["data"] / "test" / "circle").iterdir())]
    predictions = classifier(images, top_k=2)
    assert len(predictions) == len(images)
    for top in predictions:
        assert len(top) == 2 and top[0][1] >= top[1][1] and {t[0] for t in top} <= set(SHAPES)
    probs = classifier.probabilities(images)
    assert probs.shape == (len(images), 3) and np.allclose(probs.sum(1), 1, atol=1e-5)
    # Alone or in a batch, an image gets the same answer (running BatchNorm statistics, dropout off).
    assert np.allclose(classifier.probabilities(images[:1]), probs[:1], atol=1e-6)


def test_the_run_folder_and_its_release_classify_alike(trained: dict[str, Path]) -> None:
    images = [np.random.default_rng(1).integers(0, 256, (40, 90, 1), dtype=np.uint8)]
    a = Classifier.from_pretrained(trained["run"], "cpu").probabilities(images)
    b = Classifier.from_pretrained(trained["release"], "cpu").probabilities(images)
    assert np.array_equal(a, b)


def test_a_float16_release_is_half_the_size_and_agrees(trained: dict[str, Path]) -> None:
    full = (trained["release"] / "model.safetensors").stat().st_size
    half = (trained["half"] / "model.safetensors").stat().st_size
    assert half < 0.55 * full
    images = [read_image(p, 1) for p in sorted((trained["data"] / "test").rglob("*.png"))]
    a = Classifier.from_pretrained(trained["release"], "cpu").probabilities(images)
    b = Classifier.from_pretrained(trained["half"], "cpu").probabilities(images)
    assert np.abs(a - b).max() < 2e-3 and (a.argmax(1) == b.argmax(1)).all()


def test_classify_prints_one_line_per_image(trained: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    folder = trained["data"] / "test" / "square"
    assert main(["classify", str(trained["release"]), str(folder), "--top-k", "2", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(list(folder.iterdir()))
    assert all(line.startswith(str(folder)) and line.count("%") == 2 for line in lines)


def test_classify_json_and_a_bad_file_among_good_ones(trained: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    folder = trained["tmp"] / "mixed"
    folder.mkdir()
    Image.fromarray(np.full((30, 30), 255, dtype=np.uint8)).save(folder / "blank.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 10)
    code = main(["classify", str(trained["release"]), str(folder), "--json", "--top-k", "3", "--device", "cpu"])
    out = capsys.readouterr()
    assert code == 1
    document = json.loads(out.out)
    assert [Path(r["path"]).name for r in document["results"]] == ["blank.png"]
    top = document["results"][0]["top"]
    assert [t["label"] for t in top] and abs(sum(t["probability"] for t in top) - 1) < 1e-5
    assert len(document["failed"]) == 1 and "broken.png" in document["failed"][0]
    assert "broken.png" in out.err and "Traceback" not in out.err


def test_translate_refuses_a_classifier_and_classify_a_generator(
    trained: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    image = next((trained["data"] / "test" / "circle").iterdir())
    assert main(["translate", str(trained["release"]), str(image), "--out", str(trained["tmp"] / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"i2i: error: {trained['release']}: is a classifier of 3 categories (circle, cross, square), not a "
        "translation model; use `i2i classify` (or Classifier) with it"
    )
    assert main(["classify", str(trained["generator"]), str(image)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("i2i: error: ") and "is a pix2pix translation model (AtoB), not a classifier" in err
    assert len(err.splitlines()) == 1
    with pytest.raises(CheckpointError, match="not a classifier"):
        Classifier.from_pretrained(trained["generator"])


def test_eval_writes_accuracy_confusion_matrix_and_the_misclassified(
    trained: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    out = trained["tmp"] / "eval"
    args = ["eval", str(trained["release"]), "--data", str(trained["data"]), "--split", "test", "--out", str(out)]
    assert main([*args, "--device", "cpu"]) == 0
    assert "12 images of 3 categories: accuracy" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    matrix = np.array(summary["confusion"])
    assert matrix.sum() == summary["count"] == 12 and summary["labels"] == sorted(SHAPES)
    assert summary["accuracy"] == pytest.approx(np.trace(matrix) / 12)
    assert summary["misclassified"] == 12 - np.trace(matrix)
    for i, label in enumerate(summary["labels"]):
        assert summary["per_class"][label] == pytest.approx(matrix[i, i] / matrix[i].sum())
    rows = (out / "metrics.csv").read_text().strip().splitlines()
    assert rows[0].startswith("name,true,predicted") and len(rows) == 13
    page = (out / "index.html").read_text()
    assert "confusion_matrix.png" in page and (out / "confusion_matrix.png").is_file()
    assert f"misclassified ({summary['misclassified']})" in page
    assert page.count('alt="image"') == summary["misclassified"]
    for wrong in (out / "images").iterdir():
        assert wrong.name in page


def test_eval_skips_a_category_the_model_does_not_know(trained: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    data = trained["tmp"] / "extra"
    write_classes(data, {"test": 2}, shapes=("circle", "star"))
    out = trained["tmp"] / "eval_extra"
    assert main(["eval", str(trained["release"]), "--data", str(data), "--out", str(out), "--device", "cpu"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["count"] == 2 and summary["missing"] == ["cross", "square"]
    assert any("star: a category the training split does not have" in s for s in summary["skipped"])


def _edited(release: Path, to: Path, edit) -> Path:
    import shutil

    shutil.copytree(release, to)
    meta = json.loads((to / "config.json").read_text())
    edit(meta)
    (to / "config.json").write_text(json.dumps(meta))
    return to


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("labels_missing", lambda m: m.pop("labels"), "labels must be a list of 2 to"),
        ("labels_dup", lambda m: m.update(labels=["a", "a", "b"]), "labels must be distinct"),
        ("labels_count", lambda m: m.update(labels=["a", "b"]), "weights do not fit the architecture"),
        ("kind", lambda m: m.update(kind="segmenter"), "kind must be one of translator, classifier"),
        ("old_version", lambda m: m.update(version=2), "kind classifier needs release version 3, got 2"),
        ("size", lambda m: m["preprocessing"].update(image_size=10**6), "preprocessing.image_size must be between"),
        ("channels", lambda m: m["preprocessing"].update(input_channels=4), "preprocessing.input_channels must be 1"),
        ("arch", lambda m: m["classifier"].update(name="alexnet"), "unknown classifier backbone 'alexnet'"),
        ("no_section", lambda m: m.pop("classifier"), "the 'classifier' section is missing"),
    ],
)
def test_crafted_classifier_releases_are_refused_in_one_line(
    trained: dict[str, Path], name: str, edit, message: str
) -> None:
    folder = _edited(trained["release"], trained["tmp"] / f"bad_{name}", edit)
    with pytest.raises(CheckpointError, match=message) as info:
        read_release(folder).classifier.network  # noqa: B018 - the weights are read on first use
    assert "\n" not in str(info.value) and str(folder) in str(info.value)


def test_classify_into_a_closed_pipe_is_quiet(trained: dict[str, Path]) -> None:
    """`i2i classify ... | head`: the reader is gone before i2i writes (`true` reads nothing and exits at once, long
    before i2i has started); i2i stops without an error message."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "i2i.cli", "classify", str(trained["release"]), str(trained["data"] / "test")]
    script = " ".join(f"'{c}'" for c in command) + " --device cpu | true"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.stderr == ""
