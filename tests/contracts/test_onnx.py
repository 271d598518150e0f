"""ONNX contract tests generated from the registries: every registered generator (and every mode that changes how
it takes inputs) and every registered classifier is exported with ``write_release(..., onnx=True)`` the day it is
registered, and its ONNX graph, run by the torch-free runtime, gives what the torch runtime gives on images of odd
sizes (uint8 outputs within 1 level; probabilities within the export tolerance).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import shrink

from i2i.artifact.model import ClassifierNetwork, Generator, Model, Source
from i2i.artifact.onnx_export import TOLERANCE
from i2i.artifact.release import write_release
from i2i.config import from_dict
from i2i.inference.classifier import Classifier
from i2i.inference.preprocessing import ClassifierPreprocessing, Preprocessing
from i2i.inference.translator import Translator
from i2i.models import GeneratorConfig, list_generators
from i2i.models.classifiers import CLASSIFIERS, ClassifierNetConfig
from i2i.portable.runtime import OnnxClassifier, OnnxTranslator

MODES = {"ugatit": [{"light": True}]}
VARIANTS = [(name, {}) for name in list_generators()] + [(n, m) for n, modes in MODES.items() for m in modes]
IDS = [name + "".join(f"-{k}={v}" for k, v in mode.items()) for name, mode in VARIANTS]
SOURCE = Source("run", "last.pt", 1, "data")


def small(name: str, mode: dict) -> GeneratorConfig:
    return shrink(from_dict(GeneratorConfig, {"name": name, **mode}, "generator"), 32)


def perturbed(cfg: GeneratorConfig, cin: int, cout: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = cfg.build(cin, cout)
    with torch.no_grad():  # away from the initial values, and running statistics a fresh layer lacks
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return net


def odd_images(channels: int, sizes: list[tuple[int, int]]) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (h, w, channels), dtype=np.uint8) for h, w in sizes]


def test_every_registered_network_is_covered() -> None:
    assert {name for name, _ in VARIANTS} == set(list_generators())
    assert set(CLASSIFIER_NAMES) == set(CLASSIFIERS.names()) and CLASSIFIER_NAMES


@pytest.mark.parametrize(("name", "mode"), VARIANTS, ids=IDS)
def test_every_generator_exports_and_the_onnx_runtime_matches_torch(name: str, mode: dict, tmp_path: Path) -> None:
    cfg = small(name, mode)
    has_bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in cfg.build(3, 3).modules())
    # A two-way model (3 -> 1 channel one way, 1 -> 3 back), so that the reverse graph and channel counts are covered.
    pre = Preprocessing(3, 1, size_multiple=cfg.size_multiple, fixed_size=cfg.fixed_size,
                        bn_inference="per_image" if has_bn else "running")  # fmt: skip
    generators = [Generator(cfg, perturbed(cfg, 3, 1, 0), pre), Generator(cfg, perturbed(cfg, 1, 3, 1), pre.reversed())]
    release = write_release(Model(tmp_path, "test", generators, SOURCE), tmp_path / "release", onnx=True)

    meta = json.loads((release / "config.json").read_text())
    for entry, file in ((meta["onnx"], "model.onnx"), (meta["reverse"]["onnx"], "model_reverse.onnx")):
        assert entry["file"] == file and (release / file).is_file()
        assert entry["exporter"] == "dynamo", "the current exporter handles every registered generator"
        assert entry["parity"]["max_abs_diff"] <= entry["parity"]["tolerance"] == TOLERANCE["generator"]
        if cfg.fixed_size:
            assert entry["size"] == {"fixed": cfg.fixed_size}
        else:
            assert entry["size"]["multiple"] == cfg.size_multiple and entry["size"]["min"] % cfg.size_multiple == 0

    side = cfg.size_multiple * math.ceil(40 / cfg.size_multiple)
    sizes = [(37, 45), (side + 3, 2 * side - 1), (side, side)]
    for direction, channels in (("AtoB", 3), ("BtoA", 1)):
        torch_runtime = Translator.from_pretrained(release, "cpu", direction, runtime="torch")
        onnx_runtime = Translator.from_pretrained(release, "cpu", direction, runtime="onnx")
        assert isinstance(onnx_runtime, OnnxTranslator) and isinstance(torch_runtime, Translator)
        inputs = odd_images(channels, sizes)
        # Alone and batched with an image of the same size: the batch dimension is dynamic.
        inputs.append(inputs[-1][::-1].copy())
        for a, b in zip(torch_runtime(inputs), onnx_runtime(inputs), strict=True):
            assert a.shape == b.shape and a.shape[2] == 4 - channels
            assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


CLASSIFIER_NAMES = ["small_cnn", "resnet18", "vgg16"]


@pytest.mark.parametrize("name", CLASSIFIER_NAMES)
def test_every_classifier_exports_and_the_onnx_runtime_matches_torch(name: str, tmp_path: Path) -> None:
    arch = from_dict(ClassifierNetConfig, {"name": name}, "classifier")
    labels = ["circle", "square", "triangle"]
    size = max(arch.min_size, 32)
    torch.manual_seed(0)
    net = arch.build(1, len(labels)).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    pre = ClassifierPreprocessing(input_channels=1, image_size=size)
    model = Model(tmp_path, "classifier", [], SOURCE, classifier=ClassifierNetwork(arch, net, pre, labels))
    release = write_release(model, tmp_path / "release", onnx=True)
    entry = json.loads((release / "config.json").read_text())["onnx"]
    assert entry["size"] == {"fixed": size} and entry["exporter"] == "dynamo"

    images = odd_images(1, [(40, 90), (size, size), (13, 17)]) + odd_images(3, [(50, 20)])
    torch_probs = Classifier.from_pretrained(release, "cpu", runtime="torch").probabilities(images)
    onnx_classifier = Classifier.from_pretrained(release, "cpu", runtime="onnx")
    assert isinstance(onnx_classifier, OnnxClassifier) and onnx_classifier.labels == labels
    onnx_probs = onnx_classifier.probabilities(images)
    assert np.abs(torch_probs - onnx_probs).max() <= TOLERANCE["classifier"]
    assert [t[0][0] for t in onnx_classifier(images)] == [labels[i] for i in torch_probs.argmax(1)]
