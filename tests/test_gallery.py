"""``i2i gallery``: real tiny releases (trained for one step) run on their examples into one self-contained page."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import contract_config, draw_shape, tiny_config, write_aligned, write_classes
from PIL import Image

from i2i.artifact.inputs import InputSpec
from i2i.artifact.open import open_model
from i2i.artifact.release import write_release
from i2i.cli import main
from i2i.gallery import percent
from i2i.training.trainer import Trainer

# example file -> (width, height): sizes differ on purpose, outputs must keep each input's size
FACADE_EXAMPLES = {"labels_1.png": (64, 64), "wide label.png": (80, 48)}
SKETCH_EXAMPLES = {"circle_(1).png": (64, 64), "cross.png": (72, 56)}
CLASSIFIER_EXAMPLES = {"square.png": (64, 64), "circle.png": (48, 48)}


def _write_examples(folder: Path, sizes: dict[str, tuple[int, int]], sketch: bool) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, (name, (w, h)) in enumerate(sizes.items()):
        if sketch:
            square = draw_shape(("circle", "cross", "square")[i % 3], rng, max(w, h))[:h, :w, 0]
            Image.fromarray(square).convert("RGB").save(folder / name)
        else:
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / name)


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder: two pix2pix translators (one with sketch input) and a classifier, each with examples/."""
    root = tmp_path_factory.mktemp("gallery")
    paired = write_aligned(root / "paired", {"train": 2, "val": 1}, size=40)
    models = root / "models"
    for name, kind in (("facades", "image"), ("sketch2photo", "sketch")):  # the input kind pairs it with classifiers
        cfg = tiny_config(paired, root / "runs", name=name, train={"max_steps": 1, "best_metric": None})
        model = dataclasses.replace(open_model(Trainer(cfg).fit().run_dir), input=InputSpec(kind))
        write_release(model, models / name)
    classes = write_classes(root / "classes", {"train": 2, "val": 1}, size=48)
    cfg = contract_config("classifier", classes, root / "runs", name="shapes", size=48, train={"max_steps": 1})
    write_release(open_model(Trainer(cfg).fit().run_dir), models / "sketch-classifier")
    _write_examples(models / "facades" / "examples", FACADE_EXAMPLES, sketch=False)
    _write_examples(models / "sketch2photo" / "examples", SKETCH_EXAMPLES, sketch=True)
    _write_examples(models / "sketch-classifier" / "examples", CLASSIFIER_EXAMPLES, sketch=True)
    (models / "sketch2photo" / "examples" / "SOURCE.md").write_text("drawn by a test\n")  # not an image: ignored
    (models / "facades" / "README.md").write_text("# Label map to facade photo\n\nmore text\n")
    return models


@pytest.fixture
def models(releases: Path, tmp_path: Path) -> Path:
    """A private copy of the releases, free to break."""
    return Path(shutil.copytree(releases, tmp_path / "models"))


def run_gallery(models: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str, str]:
    code = main(["gallery", str(models), "--out", str(out)])
    captured = capsys.readouterr()
    page = (out / "index.html").read_text(encoding="utf-8") if (out / "index.html").exists() else ""
    return code, captured.out, captured.err, page


def references(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', page)


def bar_groups(page: str) -> list[list[float]]:
    """The percentages of each cell of bars (one cell per classified image and section)."""
    cells = re.findall(r'<td class="preds">(.*?)</td>', page)
    return [[float(p) for p in re.findall(r'class="pct">([0-9.]+)%<', cell)] for cell in cells]


def section(page: str, name: str) -> str:
    match = re.search(rf"<section[^>]*><h2>{re.escape(name)}</h2>.*?</section>", page, re.S)
    assert match, f"no section for {name}"
    return match.group(0)


def test_gallery_translates_and_classifies_every_example(
    models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gallery"
    code, stdout, stderr, page = run_gallery(models, out, capsys)
    assert code == 0, stderr
    assert stdout.splitlines()[-1] == f"gallery: {out / 'index.html'}"
    for name in ("facades", "sketch2photo", "sketch-classifier"):
        assert re.search(rf"gallery: {re.escape(name)}: \d+ example\(s\) in [0-9.]+ s", stdout), stdout
    assert stderr == ""
    # what each model does: the README's first line, else what kind of model it is
    assert "Label map to facade photo" in section(page, "facades")
    assert "pix2pix translation model" in section(page, "sketch2photo")
    assert "a classifier of 3 categories" in section(page, "sketch-classifier")
    # every example has its input, and a translator's its output, at the example's size, as PNG files under out/
    expected = {**FACADE_EXAMPLES, **SKETCH_EXAMPLES, **CLASSIFIER_EXAMPLES}
    shown = references(page)
    images = [ref for ref in shown if not ref.startswith("#")]
    assert len([r for r in images if r.endswith("-in.png")]) == len(expected)
    assert len([r for r in images if r.endswith("-out.png")]) == len(FACADE_EXAMPLES) + len(SKETCH_EXAMPLES)
    for ref in images:
        path = (out / ref).resolve()
        assert path.is_relative_to(out.resolve()) and path.is_file(), ref
        with Image.open(path) as im:
            assert im.format == "PNG"
            im.load()
            sizes = {im.size}
        assert sizes <= set(expected.values()), (ref, sizes)
    for name in ("facades", "sketch2photo"):
        part = section(page, name)
        for example, size in (FACADE_EXAMPLES if name == "facades" else SKETCH_EXAMPLES).items():
            assert example in part
            row = re.search(rf'<tr><td><img src="([^"]*)"[^>]*><div class="name">{re.escape(example)}</div>', part)
            assert row, example
            for suffix in ("-in.png", "-out.png"):
                with Image.open(out / row.group(1).replace("-in.png", suffix)) as im:
                    assert im.size == size
    # top-3 bars for the classifier's own examples and beside the sketch model's rows, not the facades ones
    assert 'class="preds"' not in section(page, "facades")
    for name, count in (("sketch2photo", len(SKETCH_EXAMPLES)), ("sketch-classifier", len(CLASSIFIER_EXAMPLES))):
        groups = bar_groups(section(page, name))
        assert len(groups) == count
        for group in groups:
            assert len(group) == 3 and sum(group) <= 100.0 + 1e-9 and group == sorted(group, reverse=True)
    assert "sketch-classifier" in section(page, "sketch2photo")  # which classifier says so
    assert any(label in section(page, "sketch-classifier") for label in ("circle", "cross", "square"))
    # self-contained: no network, no scripts, nothing outside out/
    assert not re.search(r"https?:", page) and "<script" not in page and "@import" not in page
    for ref in shown:
        assert not ref.startswith(("/", "file:", "..")) and ":" not in ref, ref


def test_an_unreadable_example_is_listed_and_the_rest_still_shown(
    models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (models / "facades" / "examples" / "broken.png").write_bytes(b"not a png at all")
    (models / "sketch-classifier" / "examples" / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 20)
    out = tmp_path / "gallery"
    code, stdout, stderr, page = run_gallery(models, out, capsys)
    assert code == 1
    assert stdout.splitlines()[-1] == f"gallery: {out / 'index.html'}"
    lines = stderr.splitlines()
    assert len(lines) == 2 and "Traceback" not in stderr
    assert "facades" in lines[0] and "broken.png" in lines[0]
    assert "sketch-classifier" in lines[1] and "truncated.jpg" in lines[1]
    assert "broken.png" in section(page, "facades") and 'class="problems"' in section(page, "facades")
    assert "truncated.jpg" in section(page, "sketch-classifier")
    # the others are still processed
    assert len(re.findall(r"-out\.png", section(page, "facades"))) == len(FACADE_EXAMPLES)
    assert len(bar_groups(section(page, "sketch-classifier"))) == len(CLASSIFIER_EXAMPLES)
    assert len(bar_groups(section(page, "sketch2photo"))) == len(SKETCH_EXAMPLES)


def test_a_model_that_cannot_be_opened_is_listed_and_the_others_shown(
    models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = models / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    (models / "no-examples").mkdir()  # not a release folder: not shown
    shutil.rmtree(models / "sketch2photo" / "examples")
    code, stdout, stderr, page = run_gallery(models, tmp_path / "gallery", capsys)
    assert code == 1 and "Traceback" not in stderr
    assert len(stderr.splitlines()) == 1 and "broken-model" in stderr
    assert "cannot be used" in section(page, "broken-model")
    assert "no-examples" not in page
    assert "no examples/ folder" in section(page, "sketch2photo")
    assert len(re.findall(r"-out\.png", section(page, "facades"))) == len(FACADE_EXAMPLES)


def test_a_folder_without_release_folders_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    (empty / "not-a-release").mkdir(parents=True)
    for folder in (empty, tmp_path / "missing"):
        assert main(["gallery", str(folder), "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("i2i: error: ") and len(err.strip().splitlines()) == 1 and str(folder) in err
    assert not (tmp_path / "out" / "index.html").exists()


def test_a_release_folder_given_itself_names_its_parent(
    releases: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gallery", str(releases / "facades"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "release folder itself" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("out", ["/", "~"])
def test_out_at_the_root_or_home_is_refused(
    out: str, releases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["gallery", str(releases), "--out", out]) == 2
    assert "name a new folder inside it" in capsys.readouterr().err
    assert not (tmp_path / "index.html").exists()


def test_help_lists_the_gallery(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "gallery" in capsys.readouterr().out


def test_percentages_never_add_up_to_more_than_100() -> None:
    assert percent(1.0) == 100.0 and percent(0.0) == 0.0 and percent(0.98765) == 98.7
    assert sum(percent(p) for p in (1 / 3, 1 / 3, 1 / 3)) <= 100.0
    assert sum(percent(p) for p in (0.33349, 0.33349, 0.33302)) <= 100.0
