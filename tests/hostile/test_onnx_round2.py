"""Hostile ONNX releases, round 2 (issue 21): graphs that read files outside their release through external data,
graphs with operators i2i never exports (an endless Loop, a custom domain), files too large to be a graph, outputs
that are not what the release declares, classifiers whose labels do not match their graph, and labels that would
break the terminal. Each is refused in one line naming the file, before onnxruntime runs anything it should not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from hostile.models import tiny_model
from onnx import TensorProto, helper

from i2i.artifact.model import ClassifierNetwork, Model, Source
from i2i.artifact.release import write_release
from i2i.config import from_dict
from i2i.errors import CheckpointError, ModelRunError
from i2i.imageio import write_image
from i2i.inference.classifier import Classifier
from i2i.inference.preprocessing import ClassifierPreprocessing
from i2i.models.classifiers import ClassifierNetConfig
from i2i.portable.runtime import OnnxClassifier, OnnxTranslator
from i2i.portable.session import run_session

ROOT = Path(__file__).resolve().parents[2]
SECRET = np.array([0.25, -0.5, 0.75, 0.125], dtype=np.float32)  # what a leak would show in the output pixels


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny one-way release with its ONNX graph (input multiple 32)."""
    folder = tmp_path_factory.mktemp("onnx") / "release"
    return write_release(tiny_model(folder), folder, onnx=True)


@pytest.fixture(scope="module")
def exported_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-way small_cnn classifier release with its ONNX graph."""
    folder = tmp_path_factory.mktemp("onnx") / "classifier"
    arch = from_dict(ClassifierNetConfig, {"name": "small_cnn"}, "classifier")
    torch.manual_seed(0)
    net = arch.build(1, 4).eval()
    pre = ClassifierPreprocessing(input_channels=1, image_size=max(arch.min_size, 32))
    labels = ["car", "strawberry", "teapot", "teddy bear"]
    source = Source("run", "last.pt", 1, "data")
    model = Model(folder, "classifier", [], source, classifier=ClassifierNetwork(arch, net, pre, labels))
    return write_release(model, folder, onnx=True)


def copy_of(release: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(release, tmp_path / release.name))


def names(release: Path) -> tuple[str, str]:
    meta = json.loads((release / "config.json").read_text())["onnx"]
    return meta["input"], meta["output"]


def edit_config(release: Path, edit: Callable[[dict], None]) -> None:
    meta = json.loads((release / "config.json").read_text())
    edit(meta)
    (release / "config.json").write_text(json.dumps(meta))


def write_graph(
    release: Path,
    nodes: list,
    initializers: list | None = None,
    in_type: int = TensorProto.FLOAT,
    in_shape: list | None = None,
    out_shape: list | None = None,
    opset: int = 17,
) -> None:
    """Replaces the release's model.onnx by a graph of ``nodes`` from its declared input to its declared output."""
    x, y = names(release)
    graph = helper.make_graph(
        nodes,
        "crafted",
        [helper.make_tensor_value_info(x, in_type, in_shape or ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, out_shape)],
        initializer=initializers or [],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    (release / "model.onnx").write_bytes(model.SerializeToString())


def external(name: str, location: str) -> TensorProto:
    """A float tensor of 4 values whose bytes live in file ``location`` (ONNX external data)."""
    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[4])
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        tensor.external_data.add(key=key, value=value)
    return tensor


def leak_nodes(y: str) -> list:
    # output = input + mean(leaked values): the file's bytes would come back as a colour shift of every pixel
    return [helper.make_node("ReduceMean", ["leak"], ["m"], keepdims=0), helper.make_node("Add", ["__x__", "m"], [y])]


def leaking_graph(release: Path, tensor: TensorProto, as_constant: bool = False) -> None:
    x, y = names(release)
    nodes = leak_nodes(y)
    nodes[1].input[0] = x
    if as_constant:
        nodes.insert(0, helper.make_node("Constant", [], ["leak"], value=tensor))
        write_graph(release, nodes)
    else:
        write_graph(release, nodes, [tensor])


@pytest.mark.parametrize("where", ["cwd", "parent", "absolute", "constant"])
def test_a_graph_with_external_data_is_refused_before_it_reads_anything(
    where: str, exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = copy_of(exported, tmp_path)
    work = tmp_path / "work" / "sub"
    work.mkdir(parents=True)
    secret = {"cwd": work, "parent": work.parent, "absolute": tmp_path, "constant": work}[where] / "secret.bin"
    secret.write_bytes(SECRET.tobytes())
    location = {"cwd": "secret.bin", "parent": "../secret.bin", "absolute": str(secret), "constant": "secret.bin"}
    leaking_graph(release, external("leak", location[where]), as_constant=where == "constant")
    monkeypatch.chdir(work)  # the bytes of a graph resolve external data against the working directory
    with pytest.raises(CheckpointError, match="stored as external data") as caught:
        OnnxTranslator.from_pretrained(release)
    assert "model.onnx" in str(caught.value) and "\n" not in str(caught.value)


def i2i(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``i2i ARGS`` run as a user runs it, in ``cwd``."""
    command = [sys.executable, "-m", "i2i.cli", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", ["translate", "serve"])
def test_the_cli_refuses_a_leaking_graph_in_one_line_and_writes_nothing(
    command: str, exported: Path, tmp_path: Path
) -> None:
    release = copy_of(exported, tmp_path)
    (tmp_path / "secret.bin").write_bytes(SECRET.tobytes())
    leaking_graph(release, external("leak", "secret.bin"))
    write_image(tmp_path / "in" / "a.png", np.full((64, 64, 3), 128, np.uint8))
    rest = ["in", "--out", "out"] if command == "translate" else ["--port", "0"]
    run = i2i([command, str(release), *rest, "--runtime", "onnx"], tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1 and "stored as external data" in run.stderr
    assert not (tmp_path / "out" / "a.png").exists()


def test_sparse_initializers_are_refused(exported: Path, tmp_path: Path) -> None:
    release = copy_of(exported, tmp_path)
    x, y = names(release)
    values = helper.make_tensor("leak", TensorProto.FLOAT, [1], [0.5])
    indices = helper.make_tensor("leak_i", TensorProto.INT64, [1], [0])
    write_graph(release, leak_nodes(y)[:1] + [helper.make_node("Add", [x, "m"], [y])])
    model = onnx.load(str(release / "model.onnx"))
    model.graph.sparse_initializer.append(helper.make_sparse_tensor(values, indices, [4]))
    (release / "model.onnx").write_bytes(model.SerializeToString())
    with pytest.raises(CheckpointError, match="sparse initializers"):
        OnnxTranslator.from_pretrained(release)


def endless_loop(x: str, y: str) -> list:
    """Nodes whose Loop never ends (no trip count, a condition that stays true), then y = x + its count."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["v_in", "one"], ["v_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", TensorProto.FLOAT, []),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_out", TensorProto.FLOAT, []),
        ],
        initializer=[helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])],
    )
    return [
        helper.make_node("Constant", [], ["yes"], value=helper.make_tensor("t", TensorProto.BOOL, [], [True])),
        helper.make_node("Constant", [], ["zero"], value=helper.make_tensor("z", TensorProto.FLOAT, [], [0.0])),
        helper.make_node("Loop", ["", "yes", "zero"], ["count"], body=body),
        helper.make_node("Add", [x, "count"], [y]),
    ]


@pytest.mark.parametrize("case", ["loop", "custom_domain", "training_op", "functions"])
def test_operators_i2i_never_exports_are_refused(case: str, exported: Path, tmp_path: Path) -> None:
    release = copy_of(exported, tmp_path)
    x, y = names(release)
    if case == "loop":
        write_graph(release, endless_loop(x, y))
        message = "operator 'Loop'"
    elif case == "custom_domain":
        write_graph(release, [helper.make_node("Evil", [x], [y], domain="com.example")])
        message = "custom domain 'com.example'"
    elif case == "training_op":
        write_graph(release, [helper.make_node("Gradient", [x], [y], domain="ai.onnx.preview.training")])
        message = "custom domain 'ai.onnx.preview.training'"
    else:
        write_graph(release, [helper.make_node("Identity", [x], [y])])
        model = onnx.load(str(release / "model.onnx"))
        model.functions.append(helper.make_function("local", "F", ["a"], ["b"], [], []))
        (release / "model.onnx").write_bytes(model.SerializeToString())
        message = "local functions"
    start = time.monotonic()
    with pytest.raises(CheckpointError, match=message):
        OnnxTranslator.from_pretrained(release)
    assert time.monotonic() - start < 30


def test_a_run_that_never_ends_is_stopped_at_its_deadline(exported: Path, tmp_path: Path) -> None:
    release = copy_of(exported, tmp_path)
    x, y = names(release)
    write_graph(release, endless_loop(x, y))
    # onnxruntime itself runs it (the release check refuses it first): the deadline is the second line of defence
    session = onnxruntime.InferenceSession(str(release / "model.onnx"), providers=["CPUExecutionProvider"])
    start = time.monotonic()
    with pytest.raises(ModelRunError, match=r"model.onnx: stopped after 0.5 s without finishing"):
        run_session(session, y, {x: np.zeros((1, 3, 32, 32), np.float32)}, "model.onnx", timeout_s=0.5)
    assert time.monotonic() - start < 10


def test_a_graph_larger_than_protobuf_allows_is_refused_from_its_size(exported: Path, tmp_path: Path) -> None:
    release = copy_of(exported, tmp_path)
    with open(release / "model.onnx", "wb") as f:
        f.truncate(3 * 2**30)  # sparse: no disk, and no memory unless someone reads it
    start = time.monotonic()
    with pytest.raises(CheckpointError, match=r"3,221,225,472 bytes is larger than any ONNX graph can be"):
        OnnxTranslator.from_pretrained(release)
    assert time.monotonic() - start < 5


def test_a_float64_input_is_refused_when_the_release_is_opened(exported: Path, tmp_path: Path) -> None:
    release = copy_of(exported, tmp_path)
    x, y = names(release)
    write_graph(release, [helper.make_node("Cast", [x], [y], to=TensorProto.FLOAT)], in_type=TensorProto.DOUBLE)
    with pytest.raises(CheckpointError, match=r"model.onnx: its tensor '\w+' is tensor\(double\), not float32"):
        OnnxTranslator.from_pretrained(release)


def wrong_output(case: str, x: str, y: str) -> tuple[list, list | None]:
    """Graphs that give something else than the release declares."""
    if case == "channels":
        return [helper.make_node("ReduceMean", [x], [y], axes=[1], keepdims=1)], None
    if case == "rank":
        return [helper.make_node("ReduceMean", [x], [y], axes=[1], keepdims=0)], None
    if case == "batch":
        return [helper.make_node("ReduceMean", [x], [y], axes=[0], keepdims=1)], None
    if case == "size":
        pads = helper.make_tensor("pads", TensorProto.INT64, [8], [0, 0, 0, 0, 0, 0, 4, 4])
        return [helper.make_node("Pad", [x, "pads"], [y])], [pads]
    if case == "nan":  # (x - x) / (x - x)
        return [helper.make_node("Sub", [x, x], ["d"]), helper.make_node("Div", ["d", "d"], [y])], None
    # an allocation no machine has: every image broadcast to 3 x 10^6 x 10^6
    shape = helper.make_tensor("shape", TensorProto.INT64, [4], [1, 3, 1_000_000, 1_000_000])
    return [helper.make_node("Expand", [x, "shape"], [y])], [shape]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("channels", r"its output has shape \['batch', 1, 'height', 'width'\], expected 4 dimensions with 3 values"),
        ("rank", r"its output has shape \['batch', 'height', 'width'\], expected 4 dimensions"),
    ],
)
def test_an_output_shape_other_than_declared_is_refused_on_opening(
    case: str, message: str, exported: Path, tmp_path: Path
) -> None:
    release = copy_of(exported, tmp_path)
    x, y = names(release)
    write_graph(release, *wrong_output(case, x, y))
    with pytest.raises(CheckpointError, match=message):
        OnnxTranslator.from_pretrained(release)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("batch", r"its output has shape \[1, 3, 32, 32\], expected \[2, 3, 32, 32\]"),
        ("size", r"its output has shape \[2, 3, 36, 36\], expected \[2, 3, 32, 32\]"),
        ("nan", "its output holds NaN or infinite values"),
        ("allocation", "failed while running"),
    ],
)
def test_an_output_other_than_declared_fails_in_one_line(
    case: str, message: str, exported: Path, tmp_path: Path
) -> None:
    release = copy_of(exported, tmp_path)
    x, y = names(release)
    write_graph(release, *wrong_output(case, x, y))
    translator = OnnxTranslator.from_pretrained(release)
    images = [np.full((32, 32, 3), 100, np.uint8)] * 2
    with pytest.raises(ModelRunError, match=message) as caught:
        translator(images)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("model.onnx: ")


@pytest.mark.parametrize("count", [3, 5])
def test_an_onnx_classifier_whose_labels_do_not_match_its_graph_is_refused(
    count: int, exported_classifier: Path, tmp_path: Path
) -> None:
    release = copy_of(exported_classifier, tmp_path)
    edit_config(release, lambda meta: meta.update(labels=[f"thing {i}" for i in range(count)]))
    with pytest.raises(
        CheckpointError, match=r"its output has shape \[.*, 4\], expected 2 dimensions with " + str(count)
    ):
        OnnxClassifier.from_pretrained(release)
    with pytest.raises(CheckpointError):  # the torch runtime refuses it too (the weights' head has 4 outputs)
        Classifier.from_pretrained(release, "cpu", runtime="torch")


def test_a_classifier_graph_that_gives_more_values_than_labels_fails_in_one_line(
    exported_classifier: Path, tmp_path: Path
) -> None:
    release = copy_of(exported_classifier, tmp_path)
    x, y = names(release)
    size = json.loads((release / "config.json").read_text())["preprocessing"]["image_size"]
    constants = [
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("seven", TensorProto.FLOAT, [], [7.0]),
        helper.make_tensor("one", TensorProto.INT64, [1], [1]),
        helper.make_tensor("axis", TensorProto.INT64, [1], [0]),
        helper.make_tensor("value", TensorProto.FLOAT, [1, 1], [0.25]),
    ]
    nodes = [  # y = 0.25 broadcast to [1, k], k = 7 computed from the pixels: no shape inference can know it
        helper.make_node("ReduceMax", [x], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["m0"]),
        helper.make_node("Add", ["m0", "seven"], ["k"]),
        helper.make_node("Cast", ["k"], ["ki"], to=TensorProto.INT64),
        helper.make_node("Unsqueeze", ["ki", "axis"], ["k1"]),
        helper.make_node("Concat", ["one", "k1"], ["shape"], axis=0),
        helper.make_node("Expand", ["value", "shape"], [y]),
    ]
    write_graph(release, nodes, constants, in_shape=["batch", 1, size, size])
    classifier = OnnxClassifier.from_pretrained(release)
    with pytest.raises(ModelRunError, match=r"model.onnx: its output has shape \[1, 7\], expected \[1, 4\]"):
        classifier([np.zeros((40, 40, 1), np.uint8)])


@pytest.mark.parametrize("label", ["tea\npot", "\x1b[31mred", "car\r", " padded", "nul\x00"])
def test_labels_that_would_break_a_terminal_line_are_refused(label: str, exported_classifier: Path, tmp_path: Path):
    release = copy_of(exported_classifier, tmp_path)
    edit_config(release, lambda meta: meta.update(labels=["car", "strawberry", "teapot", label]))
    for runtime in ("onnx", "torch"):
        with pytest.raises(CheckpointError, match="labels must be printable text") as caught:
            Classifier.from_pretrained(release, "cpu", runtime=runtime)
        assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)


def test_classify_prints_one_line_per_image_whatever_its_name(exported_classifier: Path, tmp_path: Path) -> None:
    name = "a\nb\x1b[2J.png"
    write_image(tmp_path / "in" / name, np.zeros((40, 40), np.uint8)[..., None])
    run = i2i(["classify", str(exported_classifier), str(tmp_path / "in")], ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("\n") == 1 and "\x1b" not in run.stdout and "a\\nb\\x1b[2J.png: " in run.stdout


def test_a_release_may_not_declare_absurd_sizes(exported: Path, tmp_path: Path) -> None:
    for key, value, message in [
        (
            "size_multiple",
            16384,
            r"preprocessing.size_multiple must be a multiple of \d+ \(the generator's\) up to 1024, got 16384",
        ),
        ("infer_size", 16384, "preprocessing.infer_size must be null or between 1 and 4096, got 16384"),
    ]:
        release = copy_of(exported, tmp_path / key)

        def edit(meta: dict, key: str = key, value: int = value) -> None:
            meta["preprocessing"][key] = value
            meta["onnx"]["size"] = {"multiple": value, "min": value} if key == "size_multiple" else meta["onnx"]["size"]

        edit_config(release, edit)
        for runtime in ("onnx", "torch"):
            with pytest.raises(CheckpointError, match=message):
                from i2i.inference.translator import Translator

                Translator.from_pretrained(release, "cpu", runtime=runtime)


def test_class_folders_with_unprintable_names_are_listed_as_problems(tmp_path: Path) -> None:
    from i2i.data.classes import list_classes

    for category in ("teapot", "tea\npot", "car\x1b"):
        write_image(tmp_path / "train" / category / "1.png", np.zeros((8, 8, 3), np.uint8))
    report = list_classes(tmp_path, "train", None)
    assert report.classes == ["teapot"]
    assert sorted(os.path.basename(p.path) for p in report.problems) == ["car\x1b", "tea\npot"]
    assert all("category name must be printable" in p.reason for p in report.problems)
