"""The `i2i` command with unpaired data: train from the recipes, evaluate, export, translate both ways."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import REPO, SHARED_DATASETS, TINY_METHODS, cli_args, write_fid_weights, write_unpaired

from i2i.cli import main

TRAIN = {
    "data": {"load_size": 36, "crop_size": 32, "num_workers": 0},
    "train": {"n_epochs": 1, "n_epochs_decay": 1, "progress": False, "device": "cpu", "val_max_images": 2},
}


@pytest.mark.parametrize(
    ("recipe", "method"),
    [("cyclegan/selfie2anime.yaml", "cyclegan"), ("ugatit/selfie2anime_light.yaml", "ugatit")],
)
def test_recipe_train_eval_export_translate(tmp_path: Path, capsys, recipe: str, method: str) -> None:
    data = write_unpaired(tmp_path / "data", {"train": (3, 2), "test": (2, 2)})
    overrides = cli_args({**TRAIN, "method": TINY_METHODS[method]})
    common = [f"--data.root={data}", f"--out_dir={tmp_path / 'runs'}", "--name=cli"]
    assert main(["train", "--config", str(REPO / "configs" / recipe), *common, *overrides]) == 0
    run = tmp_path / "runs" / "cli"

    assert main(["eval", str(run), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "A → B → A on 2 images: cycle PSNR" in out and "FID/KID skipped" in out
    summary = json.loads((run / "eval" / "test" / "summary.json").read_text())
    assert summary["a"]["count"] == 2 and summary["b"]["fid"] is None
    assert (run / "eval" / "test" / "grid.png").is_file()
    assert len(list((run / "eval" / "test" / "images").glob("*_fake.png"))) == 4

    assert main(["export", str(run), "--out", str(tmp_path / "release")]) == 0
    for direction, folder in (("AtoB", "testA"), ("BtoA", "testB")):
        target = tmp_path / direction
        args = ["translate", str(tmp_path / "release"), str(data / folder), "--out", str(target)]
        assert main([*args, "--direction", direction]) == 0
        assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in (data / folder).iterdir())
    capsys.readouterr()


def test_eval_with_missing_fid_weights_is_one_line(cyclegan_run: Path, tmp_path: Path, capsys) -> None:
    data = cyclegan_run.parent.parent / "data"
    code = main(["eval", str(cyclegan_run), "--data", str(data), "--fid-weights", str(tmp_path / "nope.pth")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("i2i: error:") and "nope.pth" in err and len(err.strip().splitlines()) == 1


def test_translate_direction_of_a_one_way_model(tiny_run: Path, tmp_path: Path, capsys) -> None:
    write_unpaired(tmp_path / "data", {"in": (1, 1)})
    inputs = str(tmp_path / "data" / "inA")
    args = ["translate", str(tiny_run), inputs, "--out", str(tmp_path / "o"), "--direction", "AtoB"]
    code = main(args)
    assert code == 2 and "translates BtoA only" in capsys.readouterr().err


def test_eval_of_a_one_way_model_on_an_unpaired_split(tiny_run: Path, tmp_path: Path, capsys) -> None:
    data = write_unpaired(tmp_path / "data", {"test": (1, 1)})
    code = main(["eval", str(tiny_run), "--data", str(data), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "translates BtoA only" in err and "unpaired split" in err and len(err.splitlines()) == 1


def test_eval_with_fid_weights(cyclegan_run: Path, tmp_path: Path, capsys) -> None:
    """With a weights file, FID and KID are computed for both directions and reported (stand-in weights here)."""
    weights = write_fid_weights(tmp_path)
    data = cyclegan_run.parent.parent / "data"
    out = tmp_path / "eval"
    assert main(["eval", str(cyclegan_run), "--data", str(data), "--fid-weights", str(weights), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "FID/KID skipped" not in text and text.count("; FID ") == 2
    summary = json.loads((out / "summary.json").read_text())
    for side in ("a", "b"):
        assert summary[side]["fid"] > 0 and summary[side]["kid"] is not None


@pytest.mark.parametrize("recipe", ["cyclegan/selfie2anime.yaml", "ugatit/selfie2anime_light.yaml"])
def test_recipes_read_the_shared_selfie2anime(recipe: str, tmp_path: Path, capsys, monkeypatch) -> None:
    """The recipes' default root (../shared/datasets/selfie2anime, relative to the checkout) scans and trains."""
    root = SHARED_DATASETS / "selfie2anime"
    if not root.is_dir():
        pytest.skip(f"shared datasets not found at {root} (they sit beside the checkout in the project's workspace)")
    method = TINY_METHODS["cyclegan" if recipe.startswith("cyclegan") else "ugatit"]
    overrides = cli_args({**TRAIN, "method": method, "train": {**TRAIN["train"], "max_steps": 2}})
    args = ["train", "--config", str(REPO / "configs" / recipe), f"--out_dir={tmp_path}", "--name=real", *overrides]
    monkeypatch.chdir(REPO)  # the recipe's root is relative to the repository
    assert main(args) == 0
    log = (tmp_path / "real" / "train.log").read_text()
    assert "200 A and 200 B images" in log and "validation cycle_psnr" in log
    capsys.readouterr()
