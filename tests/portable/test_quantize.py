"""``i2i export --onnx --quantize int8``: the bundled facades generator quantized on real label maps stays within the
bound of its fp32 graph and runs without torch's help; what cannot be quantized is refused before any work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from i2i.artifact import quantize
from i2i.artifact.open import open_model
from i2i.artifact.release import write_release
from i2i.cli import main
from i2i.errors import I2IError
from i2i.imageio import read_image
from i2i.inference.translator import Translator
from i2i.portable.runtime import OnnxTranslator

REPO = Path(__file__).resolve().parents[2]
FACADES = REPO / "models" / "facades"

pytestmark = pytest.mark.skipif(not (FACADES / "config.json").is_file(), reason=f"no bundled model at {FACADES}")


def label_maps() -> list[np.ndarray]:
    """The bundled model's example label maps, and the same maps flipped and cropped: 10 inputs of its own kind."""
    examples = [read_image(p, 3) for p in sorted((FACADES / "examples").glob("*.png"))]
    return examples + [np.ascontiguousarray(im[::-1, ::-1]) for im in examples]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(float) - b.astype(float)) ** 2))
    return 10 * np.log10(255**2 / mse)


def test_an_int8_graph_stays_close_to_the_fp32_model(tmp_path: Path) -> None:
    images = label_maps()
    release = write_release(open_model(FACADES), tmp_path / "int8", onnx=True, quantize="int8", calibration=images)
    entry = json.loads((release / "config.json").read_text())["onnx"]
    assert entry["quantized"]["type"] == "int8" and entry["quantized"]["check_images"] == 3  # every 4th of 10
    assert entry["quantized"]["psnr_vs_fp32_db"] >= quantize.MIN_PSNR_DB
    size = (release / "model.onnx").stat().st_size
    assert size < 0.3 * (release / "model.safetensors").stat().st_size  # fp32 weights: int8 is a quarter
    int8 = OnnxTranslator.from_pretrained(release)
    torch_runtime = Translator.from_pretrained(release, "cpu", runtime="torch")
    odd = np.ascontiguousarray(images[0][:200, :170])  # any size still runs, padded as in PyTorch
    for image in [images[1], odd]:
        out, expected = int8([image])[0], torch_runtime([image])[0]
        assert out.shape == expected.shape and psnr(out, expected) > 30


def test_images_that_drift_past_the_bound_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quantize, "MIN_PSNR_DB", 99.0)  # no int8 graph is that close
    with pytest.raises(I2IError, match=r"int8 graph's images differ too much .* at least 99 dB needed\); nothing"):
        write_release(open_model(FACADES), tmp_path / "release", onnx=True, quantize="int8", calibration=label_maps())
    assert not (tmp_path / "release").exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quantize", "int8", "--calibration", "EXAMPLES"], "--quantize int8 quantizes the ONNX graph: add --onnx"),
        (["--onnx", "--quantize", "int8"], "needs at least 4 calibration images"),
        (["--onnx", "--quantize", "int8", "--calibration", "EXAMPLES/drawn_1.png"], "got 1"),
        (["--onnx", "--calibration", "EXAMPLES"], "--calibration is for --quantize int8"),
        (["--onnx", "--quantize", "int8", "--calibration", "EXAMPLES/SOURCE.md"], "SOURCE.md"),
    ],
)
def test_what_cannot_be_quantized_is_refused_in_one_line(args, message, tmp_path, capsys) -> None:
    args = [a.replace("EXAMPLES", str(FACADES / "examples")) for a in args]
    assert main(["export", str(FACADES), "--out", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_classifier_is_refused(tmp_path: Path) -> None:
    classifier = open_model(REPO / "models" / "sketch-classifier")
    with pytest.raises(I2IError, match="is for one-way translation models .* this is a classifier of 4 categories"):
        write_release(classifier, tmp_path / "c", onnx=True, quantize="int8", calibration=label_maps())
