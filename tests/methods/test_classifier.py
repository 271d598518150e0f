"""The classifier method and its class-folder data: categories, augmentation, backbones from local ImageNet
weights, validation figures, resume, and the bad inputs of each."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import SHAPES, contract_config, write_classes
from PIL import Image
from safetensors.torch import save_file

from i2i.config import from_dict
from i2i.data.classes import ClassData, augment_image
from i2i.data.config import DataConfig
from i2i.data.processing import to_tensor
from i2i.errors import CheckpointError, ConfigError, DatasetError
from i2i.methods import MethodConfig
from i2i.methods.classifier import load_backbone_weights
from i2i.models.classifiers import ClassifierNetConfig, ResNet18Config, VGG16Config
from i2i.training.checkpoint import RunFolder, load_state
from i2i.training.trainer import Trainer


def classifier_config(root: Path, out: Path, name: str = "run", backbone: dict | None = None, **sections):
    """The contract's small classifier with its categories left to the data (``classes`` null), as a recipe has it;
    ``backbone`` replaces its network."""
    cfg = contract_config("classifier", root, out, name, **sections)
    cfg.method.classes = None
    if backbone is not None:
        cfg.method.backbone = from_dict(ClassifierNetConfig, backbone, "method.backbone")
    return cfg


# --- the class-folder data kind ------------------------------------------------------------------------------------


def test_categories_come_from_the_training_folders_and_are_recorded(tmp_path: Path) -> None:
    root = write_classes(tmp_path / "d", {"train": 3, "val": 2})
    result = Trainer(classifier_config(root, tmp_path / "runs", train={"max_steps": 2})).fit()
    saved = load_state(RunFolder(result.run_dir).last)["config"]["method"]["classes"]
    assert saved == sorted(SHAPES)
    assert "classes:" in (result.run_dir / "config.yaml").read_text()
    for shape in SHAPES:
        assert f"accuracy/{shape}" in result.val_metrics
    assert (result.run_dir / "confusion_matrix.png").is_file()
    events = list((result.run_dir / "tensorboard").glob("events.*"))
    assert events and b"val/confusion_matrix" in events[0].read_bytes()


def test_an_empty_category_folder_refuses_the_training_split(tmp_path: Path) -> None:
    root = write_classes(tmp_path / "d", {"train": 2, "val": 1})
    (root / "train" / "triangle").mkdir()
    with pytest.raises(DatasetError, match=r"triangle: no images in this category folder"):
        Trainer(classifier_config(root, tmp_path / "runs", train={"max_steps": 1})).fit()


def test_a_validation_split_without_a_category_warns_and_still_scores(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_classes(tmp_path / "d", {"train": 2, "val": 2})
    for f in (root / "val" / "square").iterdir():
        f.unlink()
    (root / "val" / "square").rmdir()
    with caplog.at_level(logging.WARNING):
        result = Trainer(classifier_config(root, tmp_path / "runs", train={"max_steps": 1})).fit()
    assert "has no images of 1 category: square" in caplog.text
    assert "accuracy/square" not in result.val_metrics and "accuracy/circle" in result.val_metrics


def test_a_validation_category_the_model_cannot_know_is_a_bad_file(tmp_path: Path) -> None:
    root = write_classes(tmp_path / "d", {"train": 2, "val": 1})
    write_classes(tmp_path / "d", {"val": 1}, shapes=("hexagon",))
    with pytest.raises(DatasetError, match=r"hexagon: a category the training split does not have"):
        Trainer(classifier_config(root, tmp_path / "runs", train={"max_steps": 1})).fit()


def test_a_non_image_among_the_sketches_is_named(tmp_path: Path) -> None:
    root = write_classes(tmp_path / "d", {"train": 2, "val": 1})
    (root / "train" / "circle" / "notes.png").write_text("not an image")
    with pytest.raises(DatasetError, match=r"(?s)notes.png: not a readable image.*fix or remove them"):
        Trainer(classifier_config(root, tmp_path / "runs", train={"max_steps": 1})).fit()
    skipping = classifier_config(root, tmp_path / "runs", "skip", data={"skip_bad": True}, train={"max_steps": 1})
    assert Trainer(skipping).fit().step == 1


def test_one_category_is_not_a_classification(tmp_path: Path) -> None:
    root = write_classes(tmp_path / "d", {"train": 2, "val": 1}, shapes=("circle",))
    with pytest.raises(DatasetError, match=r"at least 2 categories with images, found 1 \(circle\)"):
        Trainer(classifier_config(root, tmp_path / "runs", train={"max_steps": 1})).fit()


def test_named_classes_must_match_the_data(tmp_path: Path) -> None:
    root = write_classes(tmp_path / "d", {"train": 2, "val": 1})
    cfg = classifier_config(root, tmp_path / "runs", train={"max_steps": 1})
    cfg.method.classes = ["circle", "cross", "star"]
    with pytest.raises(DatasetError, match=r"are not the run's method.classes"):
        Trainer(cfg).fit()
    with pytest.raises(ConfigError, match="unique"):
        from_dict(MethodConfig, {"name": "classifier", "classes": ["a", "a"]}, "method")


def test_resume_keeps_the_categories_the_run_started_with(tmp_path: Path) -> None:
    root = write_classes(tmp_path / "d", {"train": 3, "val": 1})
    sections = {"train": {"max_steps": 2, "n_epochs": 1, "n_epochs_decay": 1}}
    Trainer(classifier_config(root, tmp_path / "runs", **sections)).fit()
    resumed = classifier_config(root, tmp_path / "runs", train={**sections["train"], "max_steps": 4})
    assert resumed.method.classes is None
    result = Trainer(resumed, resume="auto").fit()
    assert result.step == 4 and resumed.method.classes == sorted(SHAPES)


# --- augmentation -------------------------------------------------------------------------------------------------


def _drawing() -> torch.Tensor:
    image = np.full((64, 64, 1), 255, dtype=np.uint8)
    image[20:44, 30:32] = 0  # a vertical stroke, left of centre
    image[20:22, 20:32] = 0  # a bar to its left: the drawing is not mirror-symmetric
    return to_tensor(image)


def test_augmentation_is_a_pure_function_of_the_seed_and_keeps_the_page_white() -> None:
    cfg = DataConfig(crop_size=48, input_channels=1, preprocess="resize")
    x = _drawing()
    a, b = augment_image(x, cfg, "circle", 7), augment_image(x, cfg, "circle", 7)
    assert torch.equal(a, b) and a.shape == (1, 48, 48)
    outs = [augment_image(x, cfg, "circle", seed) for seed in range(20)]
    assert len({o.numpy().tobytes() for o in outs}) == 20  # every seed draws its own jitter
    for o in outs:
        assert float(o[:, :2, :2].mean()) > 0.95  # corners uncovered by the affine are white, not grey
        assert float(o.min()) < -0.5  # the strokes survive
    ink = [int((o < 0).sum()) for o in outs]
    assert max(ink) > 1.5 * min(ink)  # stroke-width jitter


def test_categories_listed_in_no_flip_are_never_mirrored() -> None:
    x = _drawing()
    flips = DataConfig(crop_size=48, input_channels=1, preprocess="resize", flip=True, no_flip=["digit_7"])
    plain = DataConfig(crop_size=48, input_channels=1, preprocess="resize", flip=False)

    def unflipped(category: str) -> list[bool]:
        return [
            torch.equal(augment_image(x, flips, category, s), augment_image(x, plain, category, s)) for s in range(30)
        ]

    assert all(unflipped("digit_7"))
    assert 5 < unflipped("cup").count(False) < 25  # about half of the other category's samples are flipped


def test_the_data_kind_keeps_the_training_categories_for_other_splits(tmp_path: Path) -> None:
    root = write_classes(tmp_path / "d", {"train": 2, "val": 1})
    kind = ClassData(DataConfig(root=str(root), input_channels=1))
    train = kind.scan("train")
    assert kind.classes == sorted(SHAPES) and len(train.records) == 6
    val = kind.scan("val")
    assert {r.label for r in val.records} == {0, 1, 2}
    with pytest.raises(DatasetError, match=r"split 'test' not found .*splits found: train, val"):
        kind.scan("test")


# --- backbones from local ImageNet weights --------------------------------------------------------------------------


def _resnet18_file(folder: Path, fmt: str = "pth") -> Path:
    """torchvision's ResNet-18 state dict (random values: the real ImageNet file cannot be fetched here), saved the
    way torchvision ships it (.pth, fc included) or as safetensors."""
    from torchvision.models import resnet18

    torch.manual_seed(3)
    state = resnet18(weights=None).state_dict()
    path = folder / f"resnet18.{fmt}"
    if fmt == "pth":
        torch.save(state, path)
    else:
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_resnet18_starts_from_the_named_weights_file(tmp_path: Path, fmt: str) -> None:
    path = _resnet18_file(tmp_path, fmt)
    net = ResNet18Config(weights=str(path)).build(1, 4)
    load_backbone_weights(net, path, "resnet18")
    source = (
        torch.load(path, weights_only=True)
        if fmt == "pth"
        else __import__("safetensors.torch").torch.load_file(str(path))
    )
    for key, tensor in net.body.state_dict().items():
        assert torch.equal(tensor, source[key]), key
    assert not any(p.requires_grad for p in net.body.parameters())  # frozen: the head alone trains
    assert all(p.requires_grad for p in net.head.parameters())
    net.train()
    assert not net.body.training and net.head.training  # frozen BatchNorm keeps its ImageNet statistics


def test_transfer_recipe_trains_the_head_of_a_frozen_vgg16(tmp_path: Path) -> None:
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(0)
    features = make_layers(cfgs["D"], batch_norm=False)
    path = tmp_path / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    root = write_classes(tmp_path / "d", {"train": 2, "val": 1}, size=32)
    cfg = classifier_config(
        root,
        tmp_path / "runs",
        data={"crop_size": 32, "load_size": 32},
        backbone={"name": "vgg16", "weights": str(path), "freeze": True, "head": "dense256"},
        train={"max_steps": 2, "batch_size": 2},
    )
    result = Trainer(cfg).fit()
    saved = load_state(RunFolder(result.run_dir).last)["networks"]["classifier"]
    for key, tensor in features.state_dict().items():
        assert torch.equal(saved[f"body.{key}"], tensor), key  # the frozen backbone is exactly the file's
    head = [k for k in saved if k.startswith("head.")]
    assert [tuple(saved[k].shape) for k in head if k.endswith("weight")] == [(256, 25088), (256,), (3, 256)]


def test_a_resumed_run_does_not_need_the_backbone_file(tmp_path: Path) -> None:
    path = _resnet18_file(tmp_path)
    root = write_classes(tmp_path / "d", {"train": 2, "val": 1}, size=32)
    backbone = {"name": "resnet18", "weights": str(path), "head": "linear"}
    sections = {"data": {"crop_size": 32, "load_size": 32}, "train": {"max_steps": 1, "batch_size": 2}}
    Trainer(classifier_config(root, tmp_path / "runs", backbone=backbone, **sections)).fit()
    path.unlink()
    resumed = classifier_config(
        root, tmp_path / "runs", backbone=backbone, **{**sections, "train": {"max_steps": 2, "batch_size": 2}}
    )
    assert Trainer(resumed, resume="auto").fit().step == 2
    fresh = classifier_config(root, tmp_path / "runs", "fresh", backbone=backbone, **sections)
    with pytest.raises(CheckpointError, match="weights file not found"):
        Trainer(fresh).fit()


def test_a_missing_backbone_file_is_one_line(tmp_path: Path) -> None:
    net = ResNet18Config().build(3, 2)
    with pytest.raises(CheckpointError, match=r"nothing.pth: weights file not found"):
        load_backbone_weights(net, tmp_path / "nothing.pth", "resnet18")


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    path = _resnet18_file(tmp_path)
    net = VGG16Config().build(3, 2)
    with pytest.raises(CheckpointError, match=r"resnet18.pth: not vgg16 ImageNet weights: 26 tensors missing"):
        load_backbone_weights(net, path, "vgg16")


def test_a_truncated_weights_file_is_refused(tmp_path: Path) -> None:
    path = _resnet18_file(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"resnet18.pth: not a readable weights file \(truncated or corrupt"):
        load_backbone_weights(ResNet18Config().build(3, 2), path, "resnet18")
    bad = tmp_path / "resnet18.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(CheckpointError, match=r"resnet18.safetensors: not a readable safetensors file"):
        load_backbone_weights(ResNet18Config().build(3, 2), bad, "resnet18")


class Payload:
    """Pickled, it would run ``os.system``: a file that holds code, not tensors."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickled_code_in_a_weights_file_is_refused_and_never_run(tmp_path: Path) -> None:
    path = tmp_path / "resnet18-evil.pth"
    torch.save({"conv1.weight": torch.zeros(1), "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match=r"refused to load: it holds the Python object 'posix.system'"):
        load_backbone_weights(ResNet18Config().build(3, 2), path, "resnet18")


def test_weights_holding_nan_are_refused(tmp_path: Path) -> None:
    from torchvision.models import resnet18

    state = resnet18(weights=None).state_dict()
    state["conv1.weight"][0, 0, 0, 0] = float("nan")
    path = tmp_path / "nan.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"tensor 'conv1.weight' holds NaN or inf"):
        load_backbone_weights(ResNet18Config().build(3, 2), path, "resnet18")


def test_the_trainer_reports_a_bad_backbone_file_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from i2i.cli import main

    root = write_classes(tmp_path / "d", {"train": 2, "val": 1}, size=32)
    text = tmp_path / "weights.pth"
    text.write_text("hello")
    args = [
        "train",
        "--method.name=classifier",
        "--method.backbone.name=resnet18",
        f"--method.backbone.weights={text}",
        f"--data.root={root}",
        "--data.crop_size=32",
        "--data.preprocess=resize",
        f"--out_dir={tmp_path / 'runs'}",
        "--train.device=cpu",
        "--train.max_steps=1",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"i2i: error: {text}: not a PyTorch weights file (neither a zip archive nor a pickle)"


def test_backbone_weights_never_travel_into_a_release(tmp_path: Path) -> None:
    from i2i.artifact.open import open_model
    from i2i.artifact.release import write_release

    path = _resnet18_file(tmp_path)
    root = write_classes(tmp_path / "d", {"train": 2, "val": 1}, size=32)
    cfg = classifier_config(
        root,
        tmp_path / "runs",
        data={"crop_size": 32, "load_size": 32},
        backbone={"name": "resnet18", "weights": str(path), "head": "linear"},
        train={"max_steps": 1, "batch_size": 2},
    )
    run = Trainer(cfg).fit().run_dir
    release = write_release(open_model(run), tmp_path / "release")
    meta = json.loads((release / "config.json").read_text())
    assert meta["classifier"]["weights"] is None and meta["kind"] == "classifier" and meta["version"] == 3
    path.unlink()  # the release needs nothing but itself
    assert open_model(release).classifier.network is not None


def test_confusion_matrix_image_has_a_cell_for_every_category() -> None:
    from i2i.evaluation.visuals import confusion_image

    matrix = np.array([[3, 1], [0, 4]])
    image = confusion_image(matrix, ["cat", "dog"])
    assert image.dtype == np.uint8 and image.ndim == 3
    big = confusion_image(np.eye(125, dtype=np.int64), [f"c{i}" for i in range(125)])
    assert big.shape[0] >= 250  # every category gets its own cells
    Image.fromarray(image)  # a valid RGB image
