"""The web app: the drawing page at ``/`` and the REST API under ``/v1`` (OpenAPI at ``/openapi.json``, its page at
``/docs``, both served without any CDN).

Every error is JSON ``{"detail": "<one line>"}`` with its status: 400 a ``Host`` this server does not answer to
(DNS rebinding; ``--allowed-host`` adds names), 404 unknown model, 408 body too slow, 413 body or image too large
(the image also at the size the network runs at), 415 not an image type, 422 unreadable image, an image the model
cannot take or a bad parameter, 500 the model failed (one line in the log, no traceback), 503 (with ``Retry-After``)
queue full, waited too long or too many requests at once. ``GET`` pages and ``/v1/health``, ``/v1/ready`` answer
``HEAD`` too; health and readiness are never refused for load.

Request bodies are bounded before anything parses them (``BodyLimit``); a refusal sent before the body was read
reads (and drops) a bounded rest of it first, so clients that write the whole body before reading see the answer.
Images are decoded off the event loop with the server's pixel cap checked from the header; inference runs on the
``Scheduler``'s worker threads, and a request whose client has gone before a worker took it is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import cv2
import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from i2i import __version__
from i2i.errors import I2IError, ModelInputError, ModelRunError
from i2i.imageio import ImageReadError, ImageTooLargeError, decode_image
from i2i.serve.catalog import Catalog, ServedModel
from i2i.serve.config import ServeConfig
from i2i.serve.middleware import (
    BodyLimit,
    HostCheck,
    InFlightLimit,
    Receive,
    Unexpected,
    json_error,
    one_line,
)
from i2i.serve.scheduler import Busy, Scheduler

log = logging.getLogger("i2i.serve")

STATIC = resources.files("i2i.serve") / "static"
PAGE_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
UPLOAD_HELP = "send the image as the body (Content-Type image/png, image/jpeg, ...) or as multipart field 'image'"


class ApiError(Exception):
    """An error answered as ``{"detail": message}`` with ``status`` (and extra headers)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


# --- reading an upload ---------------------------------------------------------------------------------------------


async def read_upload(request: Request) -> tuple[bytes, str]:
    """The uploaded image's bytes and a name for messages: the raw body (an image media type) or the multipart
    field ``image``. ApiError 415 for other media types, 422 for a malformed or empty upload."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=4)
        except Exception as exc:  # noqa: BLE001 - python-multipart's errors differ across versions
            raise ApiError(422, f"malformed multipart body ({exc})") from None
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, f"the multipart body has no file field named 'image'; {UPLOAD_HELP}")
        part_media = (upload.content_type or "").split(";")[0].strip().lower()
        name = one_line(upload.filename or "upload", 80)
        _check_media(part_media or "application/octet-stream", name)
        return await upload.read(), name
    _check_media(media, "upload")
    return await request.body(), "upload"


def _check_media(media: str, name: str) -> None:
    if media == "application/octet-stream" or (media.startswith("image/") and media != "image/svg+xml"):
        return
    shown = media or "no Content-Type"
    raise ApiError(415, f"{name}: not an image type ({shown}); {UPLOAD_HELP}")


def decode_upload(data: bytes, name: str, channels: int, limit: int) -> np.ndarray:
    """Decodes upload bytes with the server's pixel cap; ApiError 413 over the cap, 422 unreadable."""
    try:
        return decode_image(data, name, channels, limit)
    except ImageTooLargeError as exc:
        raise ApiError(
            413,
            f"{name}: image too large: {exc.width}x{exc.height} = {exc.width * exc.height:,} pixels is over this "
            f"server's limit of {limit:,} pixels",
        ) from None
    except ImageReadError as exc:
        raise ApiError(422, str(exc)) from None


def encode_png(image: np.ndarray, compression: int = 1) -> bytes:
    """A PNG of a (H, W, 1|3) uint8 image, written by OpenCV: ``compression`` 0 stores the rows as they are (fastest,
    largest), 1 uses the Sub filter and Huffman-only coding (about a third of the time of Pillow's level 1 for a
    256² photo, 20 % larger), 2–9 the Sub filter and that zlib level."""
    pixels = image[:, :, 0] if image.shape[2] == 1 else image[:, :, ::-1]  # OpenCV takes BGR
    if compression == 0:
        params = [cv2.IMWRITE_PNG_COMPRESSION, 0, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]
    else:
        params = [cv2.IMWRITE_PNG_COMPRESSION, compression, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]
        if compression == 1:
            params += [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(pixels), params)
    if not ok:
        raise RuntimeError("OpenCV could not write the PNG")
    return buffer.tobytes()


# --- running a model for a request -----------------------------------------------------------------------------------


async def _client_left(receive: Receive) -> None:
    """Returns once the client has disconnected. Called after the body was read: the next message is the
    disconnect (the server sends it when the socket closes, or when the answer is complete)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def until_client_leaves(request: Request, job: Awaitable[Any]) -> Any:
    """What ``job`` returns, unless the client disconnects first: then the job is cancelled (a job no worker took
    yet is dropped from the queue, so a stroke the page has already replaced does not hold up the worker) and
    ApiError 499 ends the request (no one reads it). Starlette does not cancel a handler whose client left."""
    task = asyncio.ensure_future(job)
    gone = asyncio.ensure_future(_client_left(request.receive))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        raise ApiError(499, "the client closed the connection before its request ran")
    return task.result()


def model_error(name: str, exc: Exception) -> ApiError:
    """The answer to an exception raised by running model ``name``: a ModelInputError its own status (413: too
    large at the size the network runs at, 422: too small or thin), another user error 422, a model that failed
    500. Failures are logged as one line without a traceback (they are the model's, not the server's)."""
    if isinstance(exc, ModelInputError):
        return ApiError(exc.status if 400 <= exc.status < 500 else 422, str(exc))
    if isinstance(exc, ModelRunError):
        log.error("model %s failed: %s", name, one_line(str(exc)))
        return ApiError(500, f"model {name} failed: {exc}")
    if isinstance(exc, I2IError):
        return ApiError(422, str(exc))
    log.error("model %s failed: %s: %s", name, type(exc).__name__, one_line(str(exc)))
    return ApiError(500, f"model {name} failed ({type(exc).__name__}); the server log has the details")


# --- the app ---------------------------------------------------------------------------------------------------------


def create_app(catalog: Catalog, config: ServeConfig, scheduler: Scheduler) -> FastAPI:
    """The app serving ``catalog``; warms the models up on start (``/v1/ready`` says when) and stops the workers
    on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        # the first run of each model happens on the inference worker, like every later one (Scheduler.call)
        threading.Thread(target=scheduler.call, args=(catalog.warm_up,), name="i2i-warm-up", daemon=True).start()
        yield
        await asyncio.get_running_loop().run_in_executor(None, scheduler.close)

    app = FastAPIOffline(
        title="i2i",
        version=__version__,
        description="Image-to-image translation and sketch classification with the models this server was started "
        'with. Errors are JSON `{"detail": "<one line>"}`.',
        lifespan=lifespan,
        redoc_url=None,
    )
    # the last added runs first: Host check, CORS, the in-flight limit, the body limit, the last-resort 500
    app.add_middleware(Unexpected)
    app.add_middleware(BodyLimit, limit=config.max_upload_bytes, timeout_s=config.body_timeout_s)
    app.add_middleware(InFlightLimit, limit=config.max_requests)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=config.cors_origins, allow_methods=["GET", "POST"], allow_headers=["*"]
        )
    app.add_middleware(HostCheck, accepted=config.accepted_hosts())
    _add_error_handlers(app)
    _add_api(app, catalog, config, scheduler)
    _add_page(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return json_error(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path} (the API is under /v1; see /docs)"
        return json_error(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return json_error(422, f"bad parameter {where}: {first.get('msg', 'invalid')}")


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The image: the raw body with an image media type, or multipart/form-data with field 'image'.",
        "content": {
            "image/*": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"image": {"type": "string", "format": "binary"}},
                    "required": ["image"],
                }
            },
        },
    }
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    words = {
        404: "no model of that name",
        413: "body or image too large",
        415: "not an image type",
        422: "unreadable image, an image the model cannot take, or bad parameter",
        500: "the model failed on this image",
        503: "server busy (queue full, waited too long or too many requests): retry after Retry-After seconds",
    }
    schema = {"type": "object", "properties": {"detail": {"type": "string"}}}
    return {s: {"description": words[s], "content": {"application/json": {"schema": schema}}} for s in statuses}


def _add_api(app: FastAPI, catalog: Catalog, config: ServeConfig, scheduler: Scheduler) -> None:
    limits = {"max_upload_bytes": config.max_upload_bytes, "max_pixels": config.max_pixels}

    def model_of(name: str, kind: str) -> ServedModel:
        try:
            served = catalog.get(name)
        except LookupError as exc:
            raise ApiError(404, str(exc)) from None
        if served.kind != kind:
            other = "translate" if kind == "classifier" else "classify"
            raise ApiError(422, f"model {name} is {served.model.describe()}; use /v1/models/{name}/{other}")
        return served

    async def run(request: Request, name: str, key: tuple, image: np.ndarray, fn: Callable[[list], list]) -> Any:
        """``fn`` on a worker for this request's image, dropped if its client leaves first; the model's errors
        become ApiErrors (``model_error``)."""
        try:
            return await until_client_leaves(request, scheduler.submit(key, image, lambda items: fn(list(items))))
        except Busy as exc:
            raise ApiError(503, str(exc), {"Retry-After": str(exc.retry_after)}) from None
        except ApiError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the model raised is answered in one line
            raise model_error(name, exc) from None

    @app.get("/v1/health", tags=["server"], summary="Liveness: answers while the models work")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/ready", tags=["server"], summary="Readiness: 200 once every model has run once", responses={503: {}})
    async def ready() -> JSONResponse:
        queue = {
            "waiting": scheduler.waiting,
            "running": scheduler.running,
            "workers": scheduler.workers,
            "queue_size": scheduler.queue_size,
            "max_batch": scheduler.max_batch,
            "done": scheduler.stats.done,
            "refused": scheduler.stats.refused_full + scheduler.stats.refused_timeout,
            "dropped": scheduler.stats.dropped,
        }
        if not catalog.ready.is_set():
            return json_error(503, "warming up: the models are running once", {"Retry-After": "1"})
        if catalog.warm_error is not None:
            return json_error(503, f"a model failed its first run: {catalog.warm_error}")
        return JSONResponse({"status": "ready", "models": list(catalog.models), "queue": queue})

    # load balancers and uptime checks ask with HEAD (the server sends the headers of the GET answer, no body)
    app.add_api_route("/v1/health", health, methods=["HEAD"], include_in_schema=False)
    app.add_api_route("/v1/ready", ready, methods=["HEAD"], include_in_schema=False)

    @app.get("/v1/models", tags=["models"], summary="The served models and what each expects")
    async def list_models() -> dict[str, Any]:
        return {"models": [m.info() for m in catalog.models.values()], "limits": limits}

    @app.get("/v1/models/{name}", tags=["models"], summary="One model", responses=_errors(404))
    async def get_model(name: str) -> dict[str, Any]:
        try:
            return catalog.get(name).info()
        except LookupError as exc:
            raise ApiError(404, str(exc)) from None

    @app.get(
        "/v1/models/{name}/examples/{example}",
        tags=["models"],
        summary="An example input of a model (names listed in the model's examples)",
        response_class=Response,
        responses=_errors(404),
    )
    async def get_example(name: str, example: str) -> Response:
        try:
            served = catalog.get(name)
        except LookupError as exc:
            raise ApiError(404, str(exc)) from None
        found = served.examples.get(example)
        if found is None:
            raise ApiError(404, f"model {name} has no example named {one_line(example, 80)!r}")
        return Response(found.data, media_type=found.media_type, headers={"Cache-Control": "max-age=3600"})

    @app.post(
        "/v1/models/{name}/translate",
        tags=["inference"],
        summary="Translate an image (PNG back, the input's size)",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, **_errors(404, 413, 415, 422, 500, 503)},
        openapi_extra=UPLOAD_BODY,
    )
    async def translate(
        name: str,
        request: Request,
        direction: str | None = Query(None, description="AtoB or BtoA (two-way models); default: the trained one"),
    ) -> Response:
        served = model_of(name, "translator")
        try:
            way = served.direction(direction)
        except I2IError as exc:
            raise ApiError(422, str(exc)) from None
        started = time.perf_counter()
        data, filename = await read_upload(request)
        channels = served.input_channels(way)
        image = await run_in_threadpool(decode_upload, data, filename, channels, config.max_pixels)
        decoded = time.perf_counter()
        result = await run(
            request, name, ("translate", name, way, image.shape), image, lambda ims: served.translate(way, ims)
        )
        translated = time.perf_counter()
        body = await run_in_threadpool(
            encode_png, result.value, config.png_compression
        )  # off the inference worker: it takes the next job
        timing = {
            "decode": decoded - started,
            "queue": result.wait_s,
            "model": result.run_s,
            "encode": time.perf_counter() - translated,
        }
        headers = {
            "Cache-Control": "no-store",
            "X-Inference-Ms": f"{result.run_s * 1000:.1f}",
            "X-Queue-Ms": f"{result.wait_s * 1000:.1f}",
            "X-Batch-Size": str(result.batch_size),
            "X-Direction": way,
            "Server-Timing": ", ".join(f"{k};dur={v * 1000:.1f}" for k, v in timing.items()),
        }
        return Response(body, media_type="image/png", headers=headers)

    @app.post(
        "/v1/models/{name}/classify",
        tags=["inference"],
        summary="Classify an image: the top categories with their probabilities",
        responses=_errors(404, 413, 415, 422, 500, 503),
        openapi_extra=UPLOAD_BODY,
    )
    async def classify(
        name: str,
        request: Request,
        top_k: int = Query(config.top_k, ge=1, le=1000, description="how many categories to return"),
    ) -> dict[str, Any]:
        served = model_of(name, "classifier")
        assert served.classifier is not None
        data, filename = await read_upload(request)
        image = await run_in_threadpool(decode_upload, data, filename, served.input_channels(), config.max_pixels)
        result = await run(request, name, ("classify", name), image, lambda ims: list(served.classify(ims)))
        probs = result.value
        labels = served.classifier.labels
        order = np.argsort(-probs, kind="stable")[: min(top_k, len(labels))]
        return {
            "model": name,
            "predictions": [{"label": labels[i], "probability": round(float(probs[i]), 6)} for i in order],
            "inference_ms": round(result.run_s * 1000, 1),
            "queue_ms": round(result.wait_s * 1000, 1),
        }


class PageFiles(StaticFiles):
    """The page's files with the page's headers (``PAGE_HEADERS``), so ``/static/index.html`` is the same page as
    ``/``: the same Content-Security-Policy and frame-ancestors, revalidated on every load (an upgraded server never
    runs a stale app.js), never sniffed as another type."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(PAGE_HEADERS)
        return response


def _add_page(app: FastAPI) -> None:
    async def page(request: Request) -> Response:
        html = (STATIC / "index.html").read_bytes()
        return Response(html, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    app.add_route("/", page, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount("/static", PageFiles(directory=str(STATIC)), name="static")
