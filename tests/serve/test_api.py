"""The REST API against a real ``i2i serve`` on 127.0.0.1: every endpoint, every error status, a two-way model in both
directions, hostile images refused with a clean 4xx while the server stays healthy."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from serve_helpers import BUNDLED, Server

from i2i.artifact.release import read_release
from i2i.imageio import read_image
from i2i.inference.classifier import Classifier
from i2i.inference.translator import Translator


def png(array: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array).save(buffer, "PNG", **options)
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def post(server: Server, path: str, body: bytes, media: str = "image/png", **kwargs) -> httpx.Response:
    return httpx.post(
        server.url + path.lstrip("/"), content=body, headers={"Content-Type": media}, timeout=60, **kwargs
    )


def assert_error(response: httpx.Response, status: int, *words: str) -> str:
    """A JSON error of ``status`` whose one-line detail contains ``words``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail
    for word in words:
        assert word in detail, detail
    return detail


@pytest.fixture(autouse=True)
def still_healthy(server: Server):
    """After every test the server still answers and is ready."""
    yield
    assert httpx.get(server.url + "v1/health", timeout=10).json() == {"status": "ok"}
    assert httpx.get(server.url + "v1/ready", timeout=10).status_code == 200


# --- listing ---------------------------------------------------------------------------------------------------------


def test_models_say_what_each_expects(server: Server) -> None:
    body = httpx.get(server.url + "v1/models").json()
    models = {m["name"]: m for m in body["models"]}
    assert set(models) == {"facades", "shoes", "sketch-classifier", "sketch2photo", "twoway"}
    assert body["limits"] == {"max_upload_bytes": 2**20, "max_pixels": 1024 * 1024}
    facades = models["facades"]
    palette = read_release(BUNDLED / "facades").input.palette
    assert facades["input"]["kind"] == "labels"
    assert [(c["name"], c["color"]) for c in facades["input"]["palette"]] == [(c.name, c.hex) for c in palette]
    assert facades["canvas_size"] == 256 and facades["directions"][0]["size_multiple"] == 256
    assert [d["direction"] for d in facades["directions"]] == ["BtoA"]
    assert models["sketch2photo"]["classifiers"] == ["sketch-classifier"] and models["facades"]["classifiers"] == []
    assert models["sketch-classifier"]["labels"] == read_release(BUNDLED / "sketch-classifier").classifier.labels
    assert [d["direction"] for d in models["twoway"]["directions"]] == ["AtoB", "BtoA"]
    assert facades["title"].startswith("facades")
    example = facades["examples"][0]
    got = httpx.get(server.url + example["url"].lstrip("/"))
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.content == (BUNDLED / "facades" / "examples" / example["name"]).read_bytes()
    one = httpx.get(server.url + "v1/models/shoes").json()
    assert one == models["shoes"]
    names = sorted(p.name for p in (BUNDLED / "sketch2photo" / "examples").glob("*.png"))
    assert [e["name"] for e in models["sketch2photo"]["examples"]] == names  # car_(sedan)_1.png included
    car = httpx.get(server.url + "v1/models/sketch2photo/examples/car_(sedan)_1.png")
    assert car.status_code == 200 and car.content == (BUNDLED / "sketch2photo/examples/car_(sedan)_1.png").read_bytes()


def test_the_page_and_its_files_are_served_with_safe_headers(server: Server) -> None:
    page = httpx.get(server.url)
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    script = httpx.get(server.url + "static/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        ("text/javascript", "application/javascript")
    )
    assert script.headers["x-content-type-options"] == "nosniff" and script.headers["cache-control"] == "no-cache"
    assert_error(httpx.get(server.url + "static/../config.py"), 404)


def test_unknown_models_and_examples_are_404(server: Server) -> None:
    assert_error(httpx.get(server.url + "v1/models/facade"), 404, "no model named 'facade'", "did you mean 'facades'")
    assert_error(post(server, "v1/models/nope/translate", b"x"), 404, "no model named 'nope'")
    assert_error(httpx.get(server.url + "v1/models/facades/examples/config.json"), 404, "no example named")
    for sneaky in ("..%2Fconfig.json", "%2E%2E%2Fmodel.safetensors", "..%5Cconfig.json"):
        response = httpx.get(server.url + f"v1/models/facades/examples/{sneaky}")
        assert response.status_code == 404 and b"i2i-release" not in response.content
    assert_error(httpx.get(server.url + "v2/models"), 404, "no such endpoint")


def test_health_and_readiness(server: Server) -> None:
    ready = httpx.get(server.url + "v1/ready").json()
    assert ready["status"] == "ready" and "facades" in ready["models"]
    assert ready["queue"]["workers"] == 1 and ready["queue"]["max_batch"] == 1  # CPU: no batching by default


def test_openapi_and_its_page_need_no_network(server: Server) -> None:
    spec = httpx.get(server.url + "openapi.json").json()
    assert {"/v1/models", "/v1/models/{name}/translate", "/v1/models/{name}/classify", "/v1/health"} <= set(
        spec["paths"]
    )
    translate = spec["paths"]["/v1/models/{name}/translate"]["post"]
    assert {"413", "415", "422", "503"} <= set(translate["responses"])
    assert "multipart/form-data" in translate["requestBody"]["content"]
    page = httpx.get(server.url + "docs").text
    assert "swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert "http://" not in page.replace("http://127.0.0.1", "") and "https://" not in page


def test_cors_is_off_by_default(server: Server) -> None:
    response = httpx.get(server.url + "v1/models", headers={"Origin": "http://example.test"})
    assert "access-control-allow-origin" not in response.headers
    preflight = httpx.options(
        server.url + "v1/models/facades/translate",
        headers={"Origin": "http://example.test", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


# --- translate and classify ------------------------------------------------------------------------------------------


def test_translate_gives_what_the_python_api_gives_at_any_size(server: Server) -> None:
    translator = Translator.from_pretrained(BUNDLED / "facades", "cpu")
    label = read_image(BUNDLED / "facades" / "examples" / "drawn_1.png")
    odd = np.ascontiguousarray(label[:200, :300])  # not a multiple of the model's 256
    for image in (label, odd):
        response = post(server, "v1/models/facades/translate", png(image))
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        assert float(response.headers["x-inference-ms"]) > 0 and response.headers["x-direction"] == "BtoA"
        timing = dict(part.strip().split(";dur=") for part in response.headers["server-timing"].split(","))
        assert set(timing) == {"decode", "queue", "model", "encode"} and float(timing["model"]) > 0
        out = decode(response.content)
        assert out.shape == image.shape
        assert np.abs(out.astype(int) - translator([image])[0].astype(int)).max() <= 1


def test_translate_takes_multipart_uploads_and_jpeg(server: Server) -> None:
    sketch = read_image(
        BUNDLED
        / "sketch2photo"
        / "examples"
        / sorted(p.name for p in (BUNDLED / "sketch2photo" / "examples").glob("*.png"))[0]
    )
    files = {"image": ("my drawing.png", png(sketch), "image/png")}
    response = httpx.post(server.url + "v1/models/sketch2photo/translate", files=files, timeout=60)
    assert response.status_code == 200 and decode(response.content).shape == sketch.shape
    buffer = io.BytesIO()
    Image.fromarray(sketch).save(buffer, "JPEG", quality=90)
    assert post(server, "v1/models/sketch2photo/translate", buffer.getvalue(), "image/jpeg").status_code == 200
    raw = post(server, "v1/models/sketch2photo/translate", png(sketch), "application/octet-stream")
    assert raw.status_code == 200


def test_a_two_way_model_translates_both_ways(server: Server, two_way_release: Path) -> None:
    image = read_image(two_way_release / "examples" / "a.png")
    outputs = {}
    for direction in ("AtoB", "BtoA"):
        response = post(server, f"v1/models/twoway/translate?direction={direction}", png(image))
        assert response.status_code == 200 and response.headers["x-direction"] == direction
        outputs[direction] = decode(response.content)
        expected = Translator.from_pretrained(two_way_release, "cpu", direction)([image])[0]
        assert np.abs(outputs[direction].astype(int) - expected.astype(int)).max() <= 1
    assert not np.array_equal(outputs["AtoB"], outputs["BtoA"])
    default = post(server, "v1/models/twoway/translate", png(image))
    assert default.headers["x-direction"] == "AtoB"


def test_classify_returns_the_top_categories(server: Server) -> None:
    classifier = Classifier.from_pretrained(BUNDLED / "sketch-classifier", "cpu")
    folder = BUNDLED / "sketch-classifier" / "examples"
    for path in sorted(folder.glob("*.png"))[:3]:
        image = read_image(path)
        response = post(server, "v1/models/sketch-classifier/classify?top_k=2", path.read_bytes())
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["model"] == "sketch-classifier" and len(body["predictions"]) == 2
        expected = classifier([image], top_k=2)[0]
        assert [p["label"] for p in body["predictions"]] == [label for label, _ in expected]
        assert abs(body["predictions"][0]["probability"] - expected[0][1]) < 1e-4
    every = post(server, "v1/models/sketch-classifier/classify?top_k=100", path.read_bytes()).json()
    assert len(every["predictions"]) == 4 and abs(sum(p["probability"] for p in every["predictions"]) - 1) < 1e-3


# --- errors ----------------------------------------------------------------------------------------------------------


def test_bad_parameters_and_wrong_kinds_are_422(server: Server) -> None:
    image = png(np.full((64, 64, 3), 255, np.uint8))
    assert_error(post(server, "v1/models/facades/translate?direction=AtoB", image), 422, "translates BtoA only")
    assert_error(post(server, "v1/models/twoway/translate?direction=up", image), 422, "AtoB or BtoA")
    assert_error(post(server, "v1/models/sketch-classifier/translate", image), 422, "classifier", "/classify")
    assert_error(post(server, "v1/models/facades/classify", image), 422, "translation model", "/translate")
    assert_error(post(server, "v1/models/sketch-classifier/classify?top_k=0", image), 422, "top_k")
    assert_error(post(server, "v1/models/sketch-classifier/classify?top_k=many", image), 422, "top_k")
    assert_error(post(server, "v1/models/facades/translate", b""), 422, "empty")
    form = httpx.post(server.url + "v1/models/facades/translate", files={"picture": ("a.png", image, "image/png")})
    assert_error(form, 422, "no file field named 'image'")


def test_other_media_types_are_415(server: Server) -> None:
    assert_error(post(server, "v1/models/facades/translate", b"hello", "text/plain"), 415, "not an image type")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"/>'
    assert_error(post(server, "v1/models/facades/translate", svg, "image/svg+xml"), 415, "image/svg+xml")
    bare = httpx.post(server.url + "v1/models/facades/translate", content=b"\x89PNG", headers={"Content-Type": ""})
    assert_error(bare, 415, "no Content-Type")
    text = httpx.post(server.url + "v1/models/facades/translate", files={"image": ("notes.txt", b"hi", "text/plain")})
    assert_error(text, 415, "notes.txt", "text/plain")


def test_too_large_bodies_are_413_before_parsing(server: Server) -> None:
    big = b"\0" * (2**20 + 1)
    assert_error(post(server, "v1/models/facades/translate", big), 413, "upload too large", "1 MB")

    def chunks():  # no Content-Length: the limit is enforced while the body streams in
        for _ in range(40):
            yield b"\0" * 65536

    streamed = httpx.post(
        server.url + "v1/models/facades/translate", content=chunks(), headers={"Content-Type": "image/png"}, timeout=60
    )
    assert_error(streamed, 413, "upload too large")
    noise = np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)
    multipart = httpx.post(server.url + "v1/models/facades/translate", files={"image": ("n.png", png(noise))})
    assert_error(multipart, 413, "upload too large")


def _bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width × height white pixels: a few kB that decode to a huge image."""
    row = b"\0" + b"\xff" * ((width + 7) // 8)
    data = zlib.compress(row * height, 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_too_many_pixels_is_413_from_the_header(server: Server) -> None:
    wide = png(np.full((8, 1025 * 1024 // 8 + 8, 3), 200, np.uint8))
    assert_error(post(server, "v1/models/facades/translate", wide), 413, "image too large", "1,048,576 pixels")
    bomb = _bomb(30000, 30000)
    assert len(bomb) < 2**20
    assert_error(post(server, "v1/models/facades/translate", bomb), 413, "30000x30000")


def test_hostile_and_broken_images_are_422(server: Server) -> None:
    good = png(np.full((64, 64, 3), 128, np.uint8))
    cases = {
        "text named png": (b"this is not an image at all", "not a readable image"),
        "truncated png": (good[: len(good) // 2], "upload"),
        "png header only": (good[:33], "upload"),
        "random bytes": (bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8)), "not a readable"),
    }
    for name, (body, word) in cases.items():
        assert_error(post(server, "v1/models/facades/translate", body), 422, word), name
    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 16), 2.0, np.float32), mode="F").save(buffer, "TIFF")
    assert_error(post(server, "v1/models/facades/translate", buffer.getvalue(), "image/tiff"), 422, "outside [0, 1]")
    named = httpx.post(
        server.url + "v1/models/facades/translate", files={"image": ("evil\nname.png", good[:40], "image/png")}
    )
    detail = assert_error(named, 422)
    assert "evil" in detail and "\n" not in detail


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "I;16", "1", "CMYK"])
def test_odd_modes_are_translated(server: Server, mode: str) -> None:
    rgb = Image.fromarray(np.random.default_rng(2).integers(0, 256, (48, 80, 3), dtype=np.uint8))
    image = rgb.convert(mode) if mode != "I;16" else rgb.convert("L").convert("I;16")
    if mode == "P":
        image.info["transparency"] = 0
    buffer = io.BytesIO()
    image.save(buffer, "JPEG" if mode == "CMYK" else "PNG")
    response = post(server, "v1/models/shoes/translate", buffer.getvalue())
    assert response.status_code == 200, response.text
    assert decode(response.content).shape == (48, 80, 3)


def test_a_request_log_line_never_carries_a_traceback(server: Server) -> None:
    post(server, "v1/models/facades/translate", b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    assert "Traceback" not in server.text()


def test_the_server_said_where_it_is_and_what_it_serves(server: Server) -> None:
    text = server.text()
    assert "i2i serve: open http://127.0.0.1:" in text and "Ctrl-C stops it" in text
    assert "5 model(s) on cpu" in text and "warning" not in text


def test_responses_are_json_for_unknown_methods(server: Server) -> None:
    response = httpx.delete(server.url + "v1/models")
    assert_error(response, 405)
    assert json.loads(response.text)["detail"]


def test_the_documented_python_client_works(server: Server, tmp_path: Path) -> None:
    readme = (BUNDLED.parent / "docs" / "serving.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "httpx" in b)
    code = block.replace("http://127.0.0.1:8000/", server.url).replace(
        '"models/sketch2photo/', f'"{BUNDLED}/sketch2photo/'
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "teapot.png").size == (256, 256)
