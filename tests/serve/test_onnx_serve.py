"""``i2i serve --runtime``: the same page and API on releases' ONNX graphs, in an install where torch cannot be
imported, answering as the torch runtime does (same model descriptions, images within 1 uint8 level)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from serve_helpers import BUNDLED, Server, start_server

from i2i.cli import main
from i2i.imageio import read_image
from i2i.serve.catalog import load_catalog

pytestmark = pytest.mark.skipif(
    not (BUNDLED / "sketch2photo" / "config.json").is_file(), reason=f"the bundled models are missing from {BUNDLED}"
)


@pytest.fixture(scope="module")
def onnx_releases(two_way_release: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bundled sketch2photo and sketch classifier, and the tiny two-way model, exported with ONNX graphs."""
    from i2i.artifact.open import open_model
    from i2i.artifact.release import write_release

    root = tmp_path_factory.mktemp("onnx-served")
    out = {}
    for name, source in [
        ("sketch2photo", BUNDLED / "sketch2photo"),
        ("sketch-classifier", BUNDLED / "sketch-classifier"),
        ("twoway", two_way_release),
    ]:
        out[name] = write_release(open_model(source), root / name, onnx=True)
        (out[name] / "examples").mkdir(exist_ok=True)
        for example in sorted((source / "examples").glob("*.png"))[:2]:
            (out[name] / "examples" / example.name).write_bytes(example.read_bytes())
    return out


@pytest.fixture(scope="module")
def torch_free(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process where importing torch fails, as in a ``pip install 'i2i[onnx,serve]'``."""
    blocker = tmp_path_factory.mktemp("blocker") / "torch"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    return {"PYTHONPATH": os.pathsep.join([str(blocker.parent), os.environ.get("PYTHONPATH", "")])}


@pytest.fixture(scope="module")
def onnx_server(onnx_releases: dict[str, Path], torch_free: dict[str, str]) -> Iterator[Server]:
    args = [f"{name}={path}" for name, path in onnx_releases.items()]
    server = start_server([*args, "--runtime", "onnx"], env=torch_free)
    yield server
    server.stop()


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array).save(buffer, "PNG")
    return buffer.getvalue()


def post(server: Server, path: str, image: np.ndarray) -> httpx.Response:
    return httpx.post(server.url + path, content=png(image), headers={"Content-Type": "image/png"}, timeout=60)


def test_a_torch_free_server_translates_and_classifies(onnx_server: Server, onnx_releases: dict[str, Path]) -> None:
    assert "3 model(s) on cpu: sketch2photo (onnx), sketch-classifier (onnx), twoway (onnx)" in onnx_server.text()
    assert "torch threads" not in onnx_server.text()
    sketch = read_image(sorted((onnx_releases["sketch2photo"] / "examples").glob("*.png"))[0], 3)
    reference = load_catalog(list(onnx_releases.items()), "cpu", "torch").models  # the same models on torch
    response = post(onnx_server, "v1/models/sketch2photo/translate", sketch)
    assert response.status_code == 200, response.text
    photo = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    expected = reference["sketch2photo"].translate("AtoB", [sketch])[0]
    assert photo.shape == expected.shape and np.abs(photo.astype(int) - expected.astype(int)).max() <= 1

    response = post(onnx_server, "v1/models/sketch-classifier/classify?top_k=4", sketch)
    assert response.status_code == 200, response.text
    got = {p["label"]: p["probability"] for p in response.json()["predictions"]}
    expected_probs = reference["sketch-classifier"].classify([sketch])[0]
    labels = reference["sketch-classifier"].classifier.labels
    assert all(abs(got[label] - float(p)) < 1e-4 for label, p in zip(labels, expected_probs, strict=True))

    image = read_image(sorted((onnx_releases["twoway"] / "examples").glob("*.png"))[0], 3)
    for direction in ("AtoB", "BtoA"):
        response = post(onnx_server, f"v1/models/twoway/translate?direction={direction}", image)
        assert response.status_code == 200 and response.headers["x-direction"] == direction
        out = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
        assert np.abs(out.astype(int) - reference["twoway"].translate(direction, [image])[0].astype(int)).max() <= 1


def test_the_page_and_model_list_are_those_of_the_torch_runtime(
    onnx_server: Server, onnx_releases: dict[str, Path]
) -> None:
    listed = httpx.get(onnx_server.url + "v1/models", timeout=30).json()
    reference = load_catalog(list(onnx_releases.items()), "cpu", "torch")
    assert [m["name"] for m in listed["models"]] == list(reference.models)
    for served in listed["models"]:
        assert served == reference.models[served["name"]].info()  # descriptions, inputs, directions, classifiers
    page = httpx.get(onnx_server.url, timeout=30)
    assert page.status_code == 200 and "<canvas" in page.text


def with_timing(release: Path, dst: Path, torch_ms: float, onnx_ms: float) -> Path:
    shutil.copytree(release, dst)
    meta = json.loads((dst / "config.json").read_text())
    meta["onnx"]["cpu_ms"] |= {"torch": torch_ms, "onnx": onnx_ms}
    (dst / "config.json").write_text(json.dumps(meta))
    return dst


def test_auto_serves_each_release_on_its_measured_runtime(onnx_releases: dict[str, Path], tmp_path: Path) -> None:
    entries = [
        ("facades", BUNDLED / "facades"),  # no ONNX graph
        ("graph-faster", with_timing(onnx_releases["sketch2photo"], tmp_path / "a", 30.0, 20.0)),
        ("torch-faster", with_timing(onnx_releases["sketch2photo"], tmp_path / "b", 20.0, 30.0)),
    ]
    catalog = load_catalog(entries, "cpu", "auto")
    assert {name: served.runtime for name, served in catalog.models.items()} == {
        "facades": "torch",
        "graph-faster": "onnx",
        "torch-faster": "torch",
    }
    assert {name: served.runtime for name, served in load_catalog(entries[1:], "cpu", "torch").models.items()} == {
        "graph-faster": "torch",
        "torch-faster": "torch",
    }


def run_serve(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "i2i.cli", "serve", "--port", "0", *args]
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_runtime_refusals_are_one_line(torch_free: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(BUNDLED / "facades"), "--runtime", "onnx", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no ONNX graph" in err and "--onnx" in err
    # Without torch: a release without a graph, the torch runtime, a GPU.
    for args, words in [
        ([str(BUNDLED / "facades")], ["has no ONNX graph", "i2i export"]),
        ([str(BUNDLED / "facades"), "--runtime", "torch"], ["the torch runtime needs PyTorch", "i2i[torch]"]),
        ([str(BUNDLED / "facades"), "--device", "cuda"], ["device 'cuda' needs torch", "i2i[torch]"]),
    ]:
        done = run_serve(args, torch_free)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("i2i: error: ") and all(w in done.stderr for w in words), done.stderr
