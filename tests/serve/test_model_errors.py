"""The app's answers when running a model raises (issue 21, item 4), its last-resort 500, its Host names and the
queue's count of dropped jobs: tested in process on an app whose model is a fake translator (no real model, no
socket), so each error is exactly the one raised."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from i2i.errors import I2IError, ModelInputError, ModelRunError
from i2i.serve.app import create_app
from i2i.serve.catalog import Catalog, ModelFacts, ServedModel
from i2i.serve.config import ServeConfig, host_name
from i2i.serve.scheduler import Scheduler


class FakeTranslator:
    """Stands in for Translator/OnnxTranslator: raises ``error`` when run, else returns its inputs."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.pre = SimpleNamespace(input_channels=3, output_channels=3, size_multiple=1, fixed_size=None)

    def translate_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        if self.error is not None:
            raise self.error
        return list(images)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    scheduler = Scheduler(workers=1, queue_size=4, timeout_s=5)
    yield scheduler
    scheduler.close()


def _request(app: Any, method: str, path: str, host: str = "127.0.0.1", **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def _app(scheduler: Scheduler, error: BaseException | None = None, **config: Any) -> Any:
    facts = ModelFacts("translator", "pix2pix", ("AtoB",))
    served = ServedModel("fake", Path("fake"), facts, "fake", translators={"AtoB": FakeTranslator(error)})
    return create_app(Catalog({"fake": served}), ServeConfig(**config), scheduler)


def _translate(scheduler: Scheduler, error: BaseException | None) -> httpx.Response:
    app = _app(scheduler, error)
    return _request(app, "POST", "/v1/models/fake/translate", content=_png(), headers={"Content-Type": "image/png"})


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (ModelInputError("upload: 9000x9000 runs at 9216x9216, over this model's limit", 413), 413, "9216x9216"),
        (ModelInputError("upload: 2x2 is too small for this model (at least 16x16)", 422), 422, "too small"),
        (I2IError("direction BtoA has no weights"), 422, "no weights"),
        (ModelRunError("onnxruntime failed: [ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION"), 500, "model fake failed"),
        (RuntimeError("CUDA error: an illegal memory access\nwas encountered"), 500, "RuntimeError"),
    ],
)
def test_model_errors_are_one_line_answers_without_tracebacks(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture, error: Exception, status: int, words: str
) -> None:
    with caplog.at_level(logging.INFO):
        response = _translate(scheduler, error)
    assert response.status_code == status and response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert words in detail and "\n" not in detail
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    if status == 500:  # the model failed: one line says which model and what happened
        assert len(logged) == 1 and "model fake failed" in logged[0] and "\n" not in logged[0]
        if isinstance(error, RuntimeError):
            assert "RuntimeError: CUDA error" in logged[0]
    else:  # the client's image: nothing for the server log
        assert logged == []


def test_an_unexpected_error_outside_the_model_is_a_json_500_with_one_traceback(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app(scheduler)

    @app.get("/v1/broken")
    async def broken() -> None:
        raise ValueError("a bug")

    with caplog.at_level(logging.INFO):
        response = _request(app, "GET", "/v1/broken")
    assert response.status_code == 500 and response.json() == {
        "detail": "internal error (ValueError); the server log has the details"
    }
    assert len([r for r in caplog.records if r.exc_info]) == 1


@pytest.mark.parametrize(
    ("config", "host", "accepted"),
    [
        ({}, "127.0.0.1:8000", True),
        ({}, "localhost", True),
        ({}, "[::1]:80", True),
        ({}, "example.org", False),
        ({"allowed_hosts": ["example.org"]}, "Example.org:8080", True),
        ({"allowed_hosts": ["example.org"]}, "other.example", False),
        ({"allowed_hosts": ["*"]}, "other.example", True),
        ({"host": "0.0.0.0"}, "other.example", True),  # public and no names given: any (the CLI warns)
        ({"host": "0.0.0.0", "allowed_hosts": ["example.org"]}, "other.example", False),
        ({"host": "0.0.0.0", "allowed_hosts": ["example.org"]}, "127.0.0.1", True),
        ({"host": "192.168.1.20"}, "192.168.1.20:8000", True),
    ],
)
def test_host_names_a_server_answers_to(scheduler: Scheduler, config: dict, host: str, accepted: bool) -> None:
    response = _request(_app(scheduler, **config), "GET", "/v1/health", headers={"Host": host})
    if accepted:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert f"host {host_name(host)!r}" in response.json()["detail"]


def test_bad_allowed_host_names_are_refused() -> None:
    with pytest.raises(ValueError, match="allowed_hosts must be host names"):
        ServeConfig(allowed_hosts=["http://example.org/"]).check()
    assert host_name("[::1]:8000") == "::1" and host_name("Example.ORG.:80") == "example.org"


def test_a_queued_job_whose_request_is_cancelled_is_dropped_unrun(scheduler: Scheduler) -> None:
    gate = threading.Event()
    ran: list[str] = []

    def work(items: list[str]) -> list[str]:
        ran.extend(items)
        gate.wait(5)
        return items

    async def main() -> None:
        first = asyncio.ensure_future(scheduler.submit("k", "first", work))
        await asyncio.sleep(0.05)
        late = asyncio.ensure_future(scheduler.submit("other", "late", work))
        await asyncio.sleep(0.05)
        late.cancel()
        await asyncio.sleep(0.05)
        gate.set()
        await first

    asyncio.run(main())
    assert ran == ["first"] and scheduler.stats.dropped == 1 and scheduler.stats.done == 1


def test_a_model_that_works_answers_its_png(scheduler: Scheduler) -> None:
    response = _translate(scheduler, None)
    assert response.status_code == 200 and response.content[:4] == b"\x89PNG"
    assert scheduler.stats.done == 1 and scheduler.stats.dropped == 0
