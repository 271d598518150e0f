"""Release folders: self-describing config.json + safetensors, identical outputs, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from i2i.artifact.open import open_model
from i2i.artifact.release import write_release
from i2i.errors import CheckpointError
from i2i.inference.translator import Translator


def test_release_round_trip_gives_identical_outputs(tiny_run: Path, tmp_path: Path) -> None:
    """from_pretrained(release) translates exactly like the run it came from, with no other flags."""
    release = write_release(open_model(tiny_run), tmp_path / "release")
    assert sorted(p.name for p in release.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    images = [np.random.default_rng(i).integers(0, 256, (45, 61, 3), dtype=np.uint8) for i in range(3)]
    from_run = Translator.from_pretrained(tiny_run)(images)
    from_release = Translator.from_pretrained(release)(images)
    for a, b in zip(from_run, from_release, strict=True):
        assert np.array_equal(a, b)


def test_config_describes_architecture_and_preprocessing(tiny_run: Path, tmp_path: Path) -> None:
    meta = json.loads((write_release(open_model(tiny_run), tmp_path / "r") / "config.json").read_text())
    assert meta["format"] == "i2i-release" and meta["method"] == "pix2pix"
    assert meta["generator"] == {
        "name": "unet_128",
        "num_downs": 5,
        "ngf": 4,
        "norm": "batch",
        "dropout": 0.5,
        "dropout_blocks": 3,
        "bn_inference": "auto",
    }
    pre = meta["preprocessing"]
    assert pre["input_channels"] == pre["output_channels"] == 3
    assert pre["direction"] == "BtoA" and pre["normalize"] == [-1.0, 1.0] and pre["size_multiple"] == 32
    assert pre["bn_inference"] == "per_image"
    assert meta["source"]["checkpoint"] == "best.pt"


def test_weights_are_generator_only_safetensors(tiny_run: Path, tmp_path: Path) -> None:
    """The weights file is plain safetensors (no pickle) with the generator's tensors only."""
    release = write_release(open_model(tiny_run), tmp_path / "r")
    tensors = load_file(str(release / "model.safetensors"))
    assert tensors and all(k.startswith(("downs.", "ups.")) for k in tensors)


def test_export_refuses_to_overwrite(tiny_run: Path, tmp_path: Path) -> None:
    write_release(open_model(tiny_run), tmp_path / "r")
    with pytest.raises(Exception, match="--overwrite"):
        write_release(open_model(tiny_run), tmp_path / "r")
    write_release(open_model(tiny_run), tmp_path / "r", overwrite=True)


def test_export_with_the_authors_card_keeps_the_examples_of_the_release_it_replaces(
    tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """How the bundled models are re-exported: one command replaces the weights and keeps README.md (given back as
    --card) and examples/ (carried over)."""
    from i2i.cli import main

    release = write_release(open_model(tiny_run), tmp_path / "r")
    (release / "examples").mkdir()
    (release / "examples" / "drawing.png").write_bytes(b"an example input")
    (release / "README.md").write_text("# My facades model\n\nTrained with care.\n")
    args = ["export", str(tiny_run), "--out", str(release), "--overwrite", "--card", str(release / "README.md")]
    assert main(args) == 0
    assert (release / "README.md").read_text() == "# My facades model\n\nTrained with care.\n"
    assert (release / "examples" / "drawing.png").read_bytes() == b"an example input"
    assert sorted(p.name for p in release.iterdir()) == ["README.md", "config.json", "examples", "model.safetensors"]
    assert main(["export", str(tiny_run), "--out", str(tmp_path / "r2"), "--card", str(tmp_path / "none.md")]) == 2
    assert "none.md: cannot be read (No such file or directory)" in capsys.readouterr().err
    assert not (tmp_path / "r2").exists()


def test_export_into_a_folder_of_examples_keeps_them(tiny_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "models" / "facades"
    (folder / "examples").mkdir(parents=True)
    (folder / "examples" / "a.png").write_bytes(b"example")
    write_release(open_model(tiny_run), folder)
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "examples", "model.safetensors"]
    assert (folder / "examples" / "a.png").read_bytes() == b"example"
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="holds 'notes.txt', which is not part of a release"):
        write_release(open_model(tiny_run), folder, overwrite=True)


def test_weights_for_another_architecture_are_a_clear_error(tiny_run: Path, tmp_path: Path) -> None:
    """A release whose config no longer matches its weights fails with one line naming the mismatch."""
    release = write_release(open_model(tiny_run), tmp_path / "r")
    meta = json.loads((release / "config.json").read_text())
    meta["generator"]["ngf"] = 8
    (release / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError) as err:
        Translator.from_pretrained(release)
    assert "weights do not fit the architecture" in str(err.value) and "\n" not in str(err.value)


def test_corrupt_or_foreign_release_files(tiny_run: Path, tmp_path: Path) -> None:
    """Broken weights, a non-release folder and a newer format version each give a CheckpointError."""
    release = write_release(open_model(tiny_run), tmp_path / "r")
    weights = release / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        Translator.from_pretrained(release)
    save_file({"x": __import__("torch").zeros(1)}, str(weights))
    with pytest.raises(CheckpointError, match="missing"):
        Translator.from_pretrained(release)
    with pytest.raises(CheckpointError, match="not a release folder"):
        Translator.from_pretrained(tmp_path)
    meta = json.loads((release / "config.json").read_text())
    meta["version"] = 99
    (release / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="newer than this i2i supports"):
        Translator.from_pretrained(release)
