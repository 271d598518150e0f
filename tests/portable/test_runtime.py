"""The torch-free ONNX runtime: its numpy preprocessing equals the torch path's, it runs where importing torch
fails, ``auto`` picks it, and every bad model file, mismatched graph, too-small image and unexportable network gets
one line naming the thing and the problem (and an export that fails writes nothing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import shrink

from i2i.artifact.model import ClassifierNetwork, Generator, Model, Source
from i2i.artifact.release import write_release
from i2i.cli import main
from i2i.config import from_dict
from i2i.data import processing
from i2i.errors import I2IError
from i2i.imageio import read_image, write_image
from i2i.inference.preprocessing import ClassifierPreprocessing, Preprocessing
from i2i.inference.translator import Translator
from i2i.models import GeneratorConfig
from i2i.models.classifiers import ClassifierNetConfig
from i2i.portable import pixels
from i2i.portable.runtime import OnnxTranslator, resolve_runtime

SOURCE = Source("run", "last.pt", 1, "data")


@pytest.mark.parametrize("mode", ["bicubic", "bilinear", "nearest"])
@pytest.mark.parametrize("size", [(128, 128), (20, 33), (57, 200), (300, 40)])
def test_numpy_resize_equals_the_torch_path(mode: str, size: tuple[int, int]) -> None:
    x = np.random.default_rng(0).random((2, 3, 57, 91)).astype(np.float32) * 2 - 1
    expected = processing.resize(torch.from_numpy(x), size, mode).numpy()
    np.testing.assert_allclose(pixels.resize(x, size, mode), expected, rtol=0, atol=5e-5)


@pytest.mark.parametrize("shape", [(5, 7), (40, 33), (256, 256), (300, 20)])
def test_numpy_padding_and_rounding_equal_the_torch_path(shape: tuple[int, int]) -> None:
    x = np.random.default_rng(1).random((1, 3, *shape)).astype(np.float32) * 2 - 1
    for multiple in (4, 32, 256):
        padded, size = pixels.pad_to_multiple(x, multiple)
        expected, expected_size = processing.pad_to_multiple(torch.from_numpy(x), multiple)
        assert size == expected_size and np.array_equal(padded, expected.numpy())
    y = np.array([[[[-1.5, -0.5, 0.0, 0.3, 1.0, 2.0, 0.0039215]]]], dtype=np.float32)
    assert np.array_equal(pixels.to_images(y)[0][..., 0], processing.denormalize(torch.from_numpy(y))[0, 0].numpy())


def generator_release(folder: Path, name: str, onnx: bool = True) -> Path:
    cfg = shrink(from_dict(GeneratorConfig, {"name": name}, "generator"), 32)
    torch.manual_seed(0)
    pre = Preprocessing(3, 3, size_multiple=cfg.size_multiple, fixed_size=cfg.fixed_size)
    model = Model(folder, "pix2pix", [Generator(cfg, cfg.build(3, 3), pre)], SOURCE)
    return write_release(model, folder, onnx=onnx)


def classifier_release(folder: Path) -> Path:
    arch = from_dict(ClassifierNetConfig, {"name": "small_cnn"}, "classifier")
    torch.manual_seed(0)
    pre = ClassifierPreprocessing(input_channels=1, image_size=32)
    network = ClassifierNetwork(arch, arch.build(1, 3).eval(), pre, ["circle", "square", "triangle"])
    return write_release(Model(folder, "classifier", [], SOURCE, classifier=network), folder, onnx=True)


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("onnx")
    return {
        "unet": generator_release(tmp / "unet", "unet_256"),
        "plain": generator_release(tmp / "plain", "unet_256", onnx=False),
        "resnet": generator_release(tmp / "resnet", "resnet_6blocks"),
        "classifier": classifier_release(tmp / "classifier"),
        "tmp": tmp,
    }


def copy_release(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err.strip()
    return code, err


def test_export_times_both_runtimes_on_the_cpu(releases: dict[str, Path]) -> None:
    for name in ("unet", "resnet", "classifier"):
        timing = json.loads((releases[name] / "config.json").read_text())["onnx"]["cpu_ms"]
        assert timing["torch"] > 0 and timing["onnx"] > 0 and timing["threads"] == torch.get_num_threads()
        assert timing["side"] == 256  # a U-Net's or ResNet's multiple divides 256; a classifier resizes the 256² image


def with_timing(release: Path, dst: Path, torch_ms: float, onnx_ms: float) -> Path:
    release = copy_release(release, dst)
    meta = json.loads((release / "config.json").read_text())
    meta["onnx"]["cpu_ms"] |= {"torch": torch_ms, "onnx": onnx_ms}
    (release / "config.json").write_text(json.dumps(meta))
    return release


def test_auto_takes_the_runtime_export_measured_faster_on_a_cpu(releases: dict[str, Path], tmp_path: Path) -> None:
    onnx_faster = with_timing(releases["unet"], tmp_path / "onnx_faster", 20.0, 15.0)
    torch_faster = with_timing(releases["unet"], tmp_path / "torch_faster", 15.0, 20.0)
    assert resolve_runtime("auto", onnx_faster, "cpu") == "onnx"
    assert resolve_runtime("auto", torch_faster, "cpu") == "torch"
    barely = with_timing(releases["unet"], tmp_path / "barely", 20.0, 19.0)  # within timing noise: torch
    assert resolve_runtime("auto", barely, "cpu") == "torch"
    assert resolve_runtime("auto", onnx_faster, "cuda:0") == "torch"  # the timing is a CPU's
    assert resolve_runtime("auto", releases["plain"], "cpu") == "torch"  # no model.onnx
    assert resolve_runtime("torch", onnx_faster, "cpu") == "torch"
    assert resolve_runtime("onnx", torch_faster, "cpu") == "onnx"
    untimed = copy_release(releases["unet"], tmp_path / "untimed")  # a release written before export timed it
    meta = json.loads((untimed / "config.json").read_text())
    del meta["onnx"]["cpu_ms"]
    (untimed / "config.json").write_text(json.dumps(meta))
    assert resolve_runtime("auto", untimed, "cpu") == "torch"
    assert type(Translator.from_pretrained(onnx_faster, "cpu")).__name__ == "OnnxTranslator"
    assert type(Translator.from_pretrained(torch_faster, "cpu")).__name__ == "Translator"
    with pytest.raises(I2IError, match="runtime must be one of auto, torch, onnx, got 'tf'"):
        resolve_runtime("tf", releases["unet"])


def test_a_release_without_onnx_says_how_to_add_it(releases: dict[str, Path], tmp_path: Path, capsys) -> None:
    image = tmp_path / "in.png"
    write_image(image, np.zeros((8, 8, 3), dtype=np.uint8))
    code, err = run_cli(["translate", str(releases["plain"]), str(image), "--out", str(tmp_path / "out"),
                         "--runtime", "onnx"], capsys)  # fmt: skip
    assert code != 0 and len(err.splitlines()) == 1
    assert "has no ONNX graph" in err and f"i2i export {releases['plain']} --out NEW_FOLDER --onnx" in err


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_corrupted_or_truncated_onnx_file_is_refused_in_one_line(releases, tmp_path, damage, capsys) -> None:
    release = copy_release(releases["unet"], tmp_path / "release")
    data = (release / "model.onnx").read_bytes()
    broken = {"garbage": os.urandom(4096), "truncated": data[: len(data) // 2], "empty": b""}[damage]
    (release / "model.onnx").write_bytes(broken)
    with pytest.raises(I2IError, match=r"model\.onnx: not a usable ONNX model \("):
        OnnxTranslator.from_pretrained(release)
    image = tmp_path / "in.png"
    write_image(image, np.zeros((8, 8, 3), dtype=np.uint8))
    code, err = run_cli(
        ["translate", str(release), str(image), "--out", str(tmp_path / "out"), "--runtime", "onnx"], capsys
    )
    assert code != 0 and len(err.splitlines()) == 1 and "not a usable ONNX model" in err


def test_an_onnx_file_that_does_not_match_config_json_is_refused(releases: dict[str, Path], tmp_path: Path) -> None:
    release = copy_release(releases["unet"], tmp_path / "release")
    shutil.copy(releases["classifier"] / "model.onnx", release / "model.onnx")  # 1 channel, fixed 32x32
    with pytest.raises(I2IError, match=r"model\.onnx: its inputs \(image \[.*\]\) or output do not match config\.json"):
        OnnxTranslator.from_pretrained(release)


def test_a_fifo_or_a_missing_onnx_file_is_refused_without_hanging(releases: dict[str, Path], tmp_path: Path) -> None:
    release = copy_release(releases["unet"], tmp_path / "release")
    (release / "model.onnx").unlink()
    with pytest.raises(I2IError, match=r"model\.onnx: no model\.onnx: this release has no ONNX graph for it"):
        OnnxTranslator.from_pretrained(release)
    os.mkfifo(release / "model.onnx")
    with pytest.raises(I2IError, match=r"model\.onnx: not a regular file \(a FIFO\)"):
        OnnxTranslator.from_pretrained(release)


def test_a_crafted_onnx_section_is_refused(releases: dict[str, Path], tmp_path: Path) -> None:
    release = copy_release(releases["unet"], tmp_path / "release")
    meta = json.loads((release / "config.json").read_text())
    for bad, message in [
        ({**meta["onnx"], "file": "../x.onnx"}, "onnx.file must be a file name inside the release folder"),
        ({**meta["onnx"], "size": {"multiple": 0}}, "onnx.size.multiple must be a whole number from 1 to 16384"),
        ({**meta["onnx"], "size": {}}, "onnx.size must hold 'fixed' or 'multiple'"),
        ({**meta["onnx"], "input": 3}, "onnx.input must be a tensor name"),
        ({**meta["onnx"], "cpu_ms": {"torch": -1, "onnx": 2}}, "onnx.cpu_ms must hold positive milliseconds"),
        ({**meta["onnx"], "cpu_ms": "fast"}, "onnx.cpu_ms must hold positive milliseconds 'torch' and 'onnx'"),
        ("model.onnx", "onnx must be a mapping"),
    ]:
        (release / "config.json").write_text(json.dumps({**meta, "onnx": bad}))
        with pytest.raises(I2IError, match=message):
            OnnxTranslator.from_pretrained(release)


def test_an_image_below_the_models_minimum_is_refused(releases: dict[str, Path]) -> None:
    translator = OnnxTranslator.from_pretrained(releases["resnet"])
    assert translator.spec.min_side == 8  # measured at export: instance norms need 2x2 maps at 1/4 scale
    with pytest.raises(I2IError, match="a 3x4 image is too small for this model: it needs at least 8 pixels"):
        translator([np.zeros((4, 3, 3), dtype=np.uint8)])
    assert translator([np.zeros((5, 7, 3), dtype=np.uint8)])[0].shape == (5, 7, 3)  # padded to 8x8


class _Strange(torch.nn.Module):
    """A layer calling an operation no ONNX exporter knows."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.i2i_test.strange(x)


@torch.library.custom_op("i2i_test::strange", mutates_args=())
def _strange(x: torch.Tensor) -> torch.Tensor:
    return x.clone()


@_strange.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


def test_an_architecture_the_exporter_cannot_handle_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    cfg = shrink(from_dict(GeneratorConfig, {"name": "resnet_6blocks"}, "generator"), 32)
    net = cfg.build(3, 3)
    net[5] = torch.nn.Sequential(net[5], _Strange())
    pre = Preprocessing(3, 3, size_multiple=cfg.size_multiple)
    model = Model(tmp_path, "pix2pix", [Generator(cfg, net, pre)], SOURCE)
    with pytest.raises(I2IError) as info:
        write_release(model, tmp_path / "release", onnx=True)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert "cannot be exported to ONNX: layer 5.1 (i2i_test.strange" in message, message
    assert not (tmp_path / "release").exists() and not list(tmp_path.glob(".release*"))


def test_translate_and_classify_run_where_torch_cannot_be_imported(releases: dict[str, Path], tmp_path: Path) -> None:
    blocker = tmp_path / "blocker" / "torch"
    blocker.mkdir(parents=True)
    # What importing torch does where it is not installed (pip install 'i2i[onnx]').
    (blocker / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    image = np.random.default_rng(3).integers(0, 256, (45, 70, 3), dtype=np.uint8)
    write_image(tmp_path / "in" / "a.png", image)
    write_image(tmp_path / "in" / "b.png", image[::-1].copy())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker.parent), os.environ.get("PYTHONPATH", "")])}
    script = f"""
import sys
from i2i import Classifier, Translator
translator = Translator.from_pretrained({str(releases["unet"])!r})
print(type(translator).__name__, sys.modules.get("torch"))
"""
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["OnnxTranslator", "None"]  # auto took ONNX; torch never imported

    cli = [sys.executable, "-m", "i2i.cli"]
    done = subprocess.run([*cli, "translate", str(releases["unet"]), str(tmp_path / "in"), "--out",
                           str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = Translator.from_pretrained(releases["unet"], "cpu", runtime="torch")([image])[0]
    got = read_image(tmp_path / "out" / "a.png", 3)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1

    done = subprocess.run([*cli, "classify", str(releases["classifier"]), str(tmp_path / "in"), "--json",
                           "--runtime", "onnx"], env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert len(results) == 2 and all(len(r["top"]) == 3 for r in results)

    done = subprocess.run([*cli, "translate", str(releases["unet"]), str(tmp_path / "in"), "--out",
                           str(tmp_path / "out2"), "--runtime", "torch"], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 2 and "torch" in done.stderr and "Traceback" not in done.stderr

    # The commands that need torch say which extra to install, in one line.
    done = subprocess.run([*cli, "train", "--config", "configs/pix2pix/facades-mini.yaml"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip() == "i2i: error: 'i2i train' needs torch, which is not installed: pip install 'i2i[torch]'"
    )
