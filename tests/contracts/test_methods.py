"""Contract tests generated from the method registry: every registered method, with its default networks made small
(``helpers.contract_config``), on a small dataset of its own data kind, is checked the day it is registered.

- one training step on a batch of its data kind changes every trainable parameter of every network;
- a run stopped mid-epoch and resumed ends bit-identical to a straight run (weights, optimizers, schedules, method
  state, position);
- validation reports the metrics the method declares (and finer ones only as ``<metric>/<part>``), and its rows are
  images of one height;
- every declared metric is accepted as ``train.best_metric`` and selects ``best.pt``; others are config errors;
- the model opened from the run, and its release, translate every direction the method declares identically (or,
  for a classifier, classify identically, with the run's category names).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import contract_config, write_dataset
from torch.utils.data import default_collate

from i2i.artifact.open import open_model
from i2i.artifact.release import write_release
from i2i.data import DATA_KINDS
from i2i.direction import opposite
from i2i.errors import ConfigError
from i2i.inference.classifier import Classifier
from i2i.inference.translator import Translator
from i2i.methods import METHODS
from i2i.training.checkpoint import RunFolder, load_state
from i2i.training.engine import TrainEngine
from i2i.training.trainer import Trainer, headline

NAMES = METHODS.names()
CPU = torch.device("cpu")


@pytest.fixture
def dataset(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return write_dataset(contract_config_for(request.node.callspec.params["method"]).method.data_kind, tmp_path / "d")


def contract_config_for(method: str, root: Path | None = None, out: Path | None = None, **sections):
    return contract_config(method, root or Path("unused"), out or Path("unused"), **sections)


def test_every_method_and_data_kind_is_covered() -> None:
    assert NAMES and {contract_config_for(m).method.data_kind for m in NAMES} <= set(DATA_KINDS.names())


def first_batch(cfg, size: int = 2) -> dict:
    """A batch from the method's own data kind, augmented as training draws it."""
    kind = DATA_KINDS.get(cfg.method.data_kind)(cfg.data)
    dataset = kind.train_dataset(kind.scan(cfg.data.train_split).records)
    return default_collate([dataset[(i, 1000 + i)] for i in range(size)])


@pytest.mark.parametrize("method", NAMES)
def test_one_step_changes_every_trainable_parameter(method: str, dataset: Path, tmp_path: Path) -> None:
    cfg = contract_config(method, dataset, tmp_path)
    torch.manual_seed(0)
    engine = TrainEngine(cfg, CPU)
    networks = engine.method.networks()
    before = {n: {k: p.detach().clone() for k, p in net.named_parameters()} for n, net in networks.items()}
    losses = engine.train_step(first_batch(cfg))
    assert losses and all(v.dim() == 0 and torch.isfinite(v) and not v.requires_grad for v in losses.values())
    for name, net in networks.items():
        same = [k for k, p in net.named_parameters() if p.requires_grad and torch.equal(p, before[name][k])]
        assert not same, f"{method}: {name} parameters unchanged by a step: {same}"


@pytest.mark.parametrize("method", NAMES)
def test_resume_mid_epoch_is_bit_exact(method: str, dataset: Path, tmp_path: Path) -> None:
    sections = {"train": {"max_steps": 5, "keep_every": "2 steps", "n_epochs": 1, "n_epochs_decay": 1}}
    straight = Trainer(contract_config(method, dataset, tmp_path, "straight", **sections)).fit()
    middle = RunFolder(straight.run_dir).kept(2)
    resumed = Trainer(contract_config(method, dataset, tmp_path, "resumed", **sections), resume=str(middle)).fit()
    a, b = (load_state(RunFolder(r.run_dir).last) for r in (straight, resumed))
    assert a["progress"] == b["progress"] and a["progress"]["step"] == 5
    for section in ("networks", "method_state"):
        assert a[section].keys() == b[section].keys()
    for name in a["networks"]:
        for key, tensor in a["networks"][name].items():
            assert torch.equal(tensor, b["networks"][name][key]), f"{name}.{key} differs after resume"
    for key, tensor in a["method_state"].items():
        assert torch.equal(tensor, b["method_state"][key]), key
    for name, opt in a["optimizers"].items():
        for index, state in opt["state"].items():
            for key, value in state.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["optimizers"][name]["state"][index][key]))
    assert a["schedulers"] == b["schedulers"]


@pytest.mark.parametrize("method", NAMES)
def test_validation_reports_the_declared_metrics_and_rows(method: str, dataset: Path, tmp_path: Path) -> None:
    cfg = contract_config(method, dataset, tmp_path, train={"max_steps": 1})
    declared = cfg.method.validation_metrics(cfg.data)
    assert declared and set(declared.values()) <= {"max", "min"}
    result = Trainer(cfg).fit()
    assert set(headline(result.val_metrics)) == set(declared)
    assert all(k.split("/")[0] in declared for k in result.val_metrics)
    assert all(np.isfinite(v) for v in result.val_metrics.values())
    assert list((result.run_dir / "samples").glob("*.png"))
    # Rows straight from a validation round: uint8 images of one height (the example's).
    method_obj = cfg.method.build(cfg.data)
    kind = DATA_KINDS.get(cfg.method.data_kind)(cfg.data)
    validation = method_obj.validator(cfg.preprocessing(), CPU)
    for record in kind.scan(cfg.data.val_split).records:
        example = kind.load_example(record)
        row = validation.score(example)
        assert len(row) >= 2 and all(im.dtype == np.uint8 and im.ndim == 3 for im in row)
        assert {im.shape[0] for im in row} == {example["a"].shape[0]}
    assert set(headline(validation.metrics())) == set(declared)


@pytest.mark.parametrize("method", NAMES)
def test_best_metric_must_be_one_the_method_reports(method: str, dataset: Path, tmp_path: Path) -> None:
    cfg = contract_config_for(method)
    for name in cfg.method.validation_metrics(cfg.data):
        assert contract_config_for(method, train={"best_metric": name}).train.best_metric == name
    with pytest.raises(ConfigError, match=r"train.best_metric: .*valid: "):
        contract_config_for(method, train={"best_metric": "no_such_metric"})
    goal, name = sorted((g, n) for n, g in cfg.method.validation_metrics(cfg.data).items())[0]
    run = Trainer(contract_config(method, dataset, tmp_path, train={"max_steps": 2, "best_metric": name})).fit()
    assert run.best_checkpoint is not None and load_state(run.best_checkpoint)["progress"]["best_value"] is not None


@pytest.mark.parametrize("method", NAMES)
def test_model_and_release_translate_every_declared_direction(method: str, dataset: Path, tmp_path: Path) -> None:
    cfg = contract_config(method, dataset, tmp_path, train={"max_steps": 1})
    run = Trainer(cfg).fit().run_dir
    if cfg.method.classifier_slot(cfg.data) is not None:
        return check_classifier_model(cfg, run, tmp_path)
    slots = cfg.generator_slots()
    model = open_model(run)
    directions = [cfg.data.direction] + [opposite(cfg.data.direction)] * (len(slots) - 1)
    assert model.directions == directions and model.method == method
    release = open_model(write_release(model, tmp_path / "release"))
    state = load_state(RunFolder(run).last)["networks"]
    for slot, direction in zip(slots, directions, strict=True):
        net = slot.build()
        net.load_state_dict(state[slot.network])
        pre = cfg.preprocessing(slot)
        assert model.generator(direction).preprocessing == pre == release.generator(direction).preprocessing
        image = [np.random.default_rng(0).integers(0, 256, (50, 70, pre.input_channels), dtype=np.uint8)]
        out = Translator(model.generator(direction), "cpu")(image)[0]
        assert out.shape == (50, 70, pre.output_channels)
        assert np.array_equal(out, Translator(release.generator(direction), "cpu")(image)[0])
        for key, tensor in net.state_dict().items():
            assert torch.equal(tensor, model.generator(direction).network.state_dict()[key]), key


def check_classifier_model(cfg, run: Path, tmp_path: Path) -> None:
    """A classifier's run and its release: the same network, categories and preprocessing, the same probabilities."""
    slot = cfg.method.classifier_slot(cfg.data)
    model = open_model(run)
    assert model.kind == "classifier" and model.method == cfg.method.name and not model.generators
    release = open_model(write_release(model, tmp_path / "release"))
    assert model.classifier.labels == release.classifier.labels == slot.labels
    assert model.classifier.preprocessing == release.classifier.preprocessing == cfg.preprocessing()
    net = slot.build()
    net.load_state_dict(load_state(RunFolder(run).last)["networks"][slot.network])
    for key, tensor in net.state_dict().items():
        assert torch.equal(tensor, model.classifier.network.state_dict()[key]), key
    images = [np.random.default_rng(i).integers(0, 256, (50 + i, 70, 3), dtype=np.uint8) for i in range(3)]
    probs = Classifier(model.classifier, "cpu").probabilities(images)
    assert probs.shape == (3, len(slot.labels)) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert np.array_equal(probs, Classifier(release.classifier, "cpu").probabilities(images))
