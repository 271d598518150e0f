"""The pixel limit holds at the size a network runs at (issue 21, item 3): a 272-byte 65536x1 PNG padded to the
generator's size multiple (256 rows) cost 3.1 GB before; now thin images are refused in one line, and an image within
the limit whose padding takes it over is refused before anything is allocated for it, on both runtimes, in the
pipeline validation and eval share, in the CLI (one failed input, the rest translated) and in the server (413/422).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from hostile.models import tiny_model
from serve_helpers import BUNDLED, start_server

from i2i.artifact.release import write_release
from i2i.errors import ModelInputError
from i2i.imageio import write_image
from i2i.inference.pipeline import run_generator
from i2i.inference.preprocessing import Preprocessing
from i2i.inference.translator import Translator
from i2i.serve.app import encode_png

ROOT = Path(__file__).resolve().parents[2]
SKETCH2PHOTO = BUNDLED / "sketch2photo"  # unet_lite: inputs padded to multiples of 256


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny one-way release (multiple 32) with its ONNX graph."""
    folder = tmp_path_factory.mktemp("size") / "release"
    return write_release(tiny_model(folder), folder, onnx=True)


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
@pytest.mark.parametrize("shape", [(1, 65536), (65536, 1), (8, 200)])
def test_thin_images_are_refused_not_padded(runtime: str, shape: tuple[int, int], release: Path) -> None:
    translator = Translator.from_pretrained(release, "cpu", runtime=runtime)
    with pytest.raises(ModelInputError, match=r"too elongated for this model \(sides over 16:1") as caught:
        translator([np.zeros((*shape, 3), np.uint8)])
    assert caught.value.status == 422


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_the_limit_holds_after_padding(runtime: str, release: Path) -> None:
    translator = Translator.from_pretrained(release, "cpu", runtime=runtime)
    translator.max_pixels = 70_000
    assert translator([np.zeros((256, 256, 3), np.uint8)])[0].shape == (256, 256, 3)  # 65,536 at the network
    message = r"a 257x257 image is too large for this model: it runs at 288x288 = 82,944 pixels .* limit of 70,000"
    with pytest.raises(ModelInputError, match=message) as caught:  # 66,049 pixels in, 82,944 at the network
        translator([np.zeros((257, 257, 3), np.uint8)])
    assert caught.value.status == 413


def test_infer_and_fixed_sizes_count_too() -> None:
    pre = Preprocessing(3, 3, size_multiple=4, infer_size=1024)
    assert pre.network_size(100, 300) == (1024, 3072)
    with pytest.raises(ModelInputError, match="it runs at 3072x1024"):
        pre.check_size(100, 300, 2_000_000)  # 30,000 pixels in, resized up to 3.1 M
    fixed = Preprocessing(3, 3, size_multiple=4, fixed_size=256)
    fixed.check_size(1, 4000, 256 * 256)  # squashed to the fixed square: not refused as thin
    with pytest.raises(ModelInputError, match="it runs at 256x256"):
        fixed.check_size(10, 10, 256 * 255)


def test_the_pipeline_validation_and_eval_use_refuses_before_padding() -> None:
    pre = Preprocessing(3, 3, size_multiple=256)

    def network(x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("never run")

    with pytest.raises(ModelInputError, match="too elongated"):
        run_generator(network, torch.zeros(1, 3, 1, 4096), pre)
    with pytest.raises(ModelInputError, match="it runs at 512x512"):
        run_generator(network, torch.zeros(1, 3, 300, 300), pre, max_pixels=300 * 300)


def test_the_cli_reports_each_refused_image_and_translates_the_rest(tmp_path: Path) -> None:
    write_image(tmp_path / "in" / "line.png", np.zeros((1, 65536, 3), np.uint8))
    write_image(tmp_path / "in" / "padded.png", np.full((257, 300, 3), 255, np.uint8))
    write_image(tmp_path / "in" / "ok.png", np.full((64, 64, 3), 255, np.uint8))
    assert (tmp_path / "in" / "line.png").stat().st_size < 1000
    run = subprocess.run(
        [sys.executable, "-m", "i2i.cli", "--max-pixels", "100000", "translate", str(SKETCH2PHOTO), "in",
         "--out", "out", "--runtime", "torch"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert "line.png: a 65536x1 image is too elongated" in run.stderr
    assert "padded.png: a 300x257 image is too large for this model: it runs at 512x512" in run.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ok.png"]


@pytest.mark.slow
def test_the_server_refuses_thin_and_padded_images(tmp_path: Path) -> None:
    model = Path(shutil.copytree(SKETCH2PHOTO, tmp_path / "sketch2photo"))
    server = start_server([f"sketch2photo={model}", "--max-pixels", "100000", "--runtime", "torch"])
    try:
        url = server.url + "v1/models/sketch2photo/translate"
        thin = encode_png(np.zeros((1, 65536, 3), np.uint8))
        answer = httpx.post(url, content=thin, headers={"Content-Type": "image/png"}, timeout=60)
        assert answer.status_code == 422 and "too elongated" in answer.json()["detail"]
        padded = encode_png(np.full((257, 300, 3), 255, np.uint8))  # 77,100 pixels: within the decode limit
        answer = httpx.post(url, content=padded, headers={"Content-Type": "image/png"}, timeout=60)
        assert answer.status_code == 413 and "it runs at 512x512" in answer.json()["detail"]
        fine = encode_png(np.full((200, 200, 3), 255, np.uint8))
        answer = httpx.post(url, content=fine, headers={"Content-Type": "image/png"}, timeout=60)
        assert answer.status_code == 200
        assert httpx.get(server.url + "v1/health", timeout=10).status_code == 200
    finally:
        server.stop()
    assert "Traceback" not in server.text()
