"""The Starlette app: ``make_app(predictor, ...)``; ``sgdlab bears serve`` runs it on uvicorn.

    GET  /                 the page (page.html: choose, drop or paste a photo, or a URL)
    POST /api/predict      multipart field ``file`` → the prediction as JSON
    POST /api/predict-url  JSON ``{"url": "https://..."}`` → the prediction as JSON
    GET  /api/model        the model (architecture, classes, image size, ...) and the limits
    GET  /healthz          ``{"status": "ok"}`` while the server runs

Every route is ``async`` and small: the upload is read on the event loop (bounded by the size
limit), then decoding and the forward pass go to a :class:`BoundedRunner` with one worker
thread, and URL downloads to another runner of their own, so a slow site never holds up a
prediction. A refused request is ``{"error": "..."}`` with its status (see
:mod:`sgdlab.vision.web.errors`); so are unknown paths (404), wrong methods (405) and any
unexpected failure (500), and the server goes on serving after each one. Tests use
``starlette.testclient.TestClient(make_app(predictor))``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sgdlab.checks import check_number, check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.vision.web.batching import BatchingRunner
from sgdlab.vision.web.errors import json_error_handlers
from sgdlab.vision.web.fetching import DEFAULT_TIMEOUT, fetch_url
from sgdlab.vision.web.predicting import classify_bytes, model_facts
from sgdlab.vision.web.runner import BoundedRunner
from sgdlab.vision.web.uploads import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    check_limits,
    read_upload,
    read_url_request,
)

DEFAULT_MAX_QUEUE = 16
DEFAULT_MAX_DOWNLOADS = 4
ROUTES_HELP = ("the page is at /, the API at POST /api/predict (multipart field 'file'), "
               "POST /api/predict-url (JSON {\"url\": ...}), GET /api/model and GET /healthz")


def page_html() -> str:
    """The page served at ``/``, shipped in the package beside this module."""
    return resources.files("sgdlab.vision.web").joinpath("page.html").read_text("utf-8")


def make_app(predictor: Any, *, max_upload_bytes: int = DEFAULT_MAX_BYTES,
             max_pixels: int = DEFAULT_MAX_PIXELS, max_queue: int = DEFAULT_MAX_QUEUE,
             workers: int = 1, allow_private_urls: bool = False,
             url_timeout: float = DEFAULT_TIMEOUT,
             max_downloads: int = DEFAULT_MAX_DOWNLOADS, batch_window_ms: float = 0.0,
             max_batch: int = 8) -> Starlette:
    """The web app around ``predictor`` (a :class:`~sgdlab.vision.predictor.Predictor`, as
    :func:`~sgdlab.vision.checkpoint.load_learner` returns; loaded once, before serving).

    Args:
        max_upload_bytes: the largest upload (413 above it).
        max_pixels: the most pixels a picture may decode into (413 above it).
        max_queue: predictions waiting or running at once; one more gets 503.
        workers: inference threads (1 on a CPU: one forward pass already uses every core).
        allow_private_urls: let ``/api/predict-url`` fetch from loopback and private
            addresses (local tests); off by default.
        url_timeout: seconds for a whole download, redirects included (504 after).
        max_downloads: URL downloads at once; one more gets 503.
        batch_window_ms: above 0, micro-batching (:mod:`sgdlab.vision.web.batching`):
            predictions arriving within this many milliseconds share one forward pass.
        max_batch: the largest such batch.
    """
    if not callable(getattr(predictor, "predict", None)) or not getattr(predictor, "classes",
                                                                        None):
        raise SgdlabError(f"make_app needs a Predictor, got {type(predictor).__name__}; load "
                          f"one with sgdlab.vision.load_learner('models/bears.pth')")
    max_upload_bytes, max_pixels = check_limits(max_upload_bytes, max_pixels)
    url_timeout = check_number(url_timeout, "url_timeout (--url-timeout)", positive=True)
    max_downloads = check_whole_number(max_downloads, "max_downloads", minimum=1)
    if batch_window_ms:
        inference: Any = BatchingRunner(predictor, max_pixels, batch_window_ms, max_batch,
                                        max_queue)

        async def classify(data: bytes, name: str) -> dict:
            return await inference.classify(data, name)
    else:
        inference = BoundedRunner(workers, max_queue, what="predictions")

        async def classify(data: bytes, name: str) -> dict:
            return await inference.run(classify_bytes, predictor, data, max_pixels, name)
    downloads = BoundedRunner(max_downloads, max_downloads, what="downloads")
    page = page_html()
    facts = {**model_facts(predictor), "head": getattr(predictor, "head", None),
             "mean": list(getattr(predictor, "mean", ())),
             "std": list(getattr(predictor, "std", ())),
             "device": str(getattr(predictor, "device", "cpu")),
             "limits": {"max_upload_bytes": max_upload_bytes, "max_pixels": max_pixels,
                        "max_queue": inference.max_pending, "workers": inference.workers,
                        "max_downloads": max_downloads, "url_timeout_s": url_timeout,
                        "allow_private_urls": bool(allow_private_urls),
                        "batch_window_ms": float(batch_window_ms or 0),
                        "max_batch": max_batch if batch_window_ms else 1}}

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def model(request: Request) -> Response:
        return JSONResponse({**facts, "pending": inference.pending})

    async def predict(request: Request) -> Response:
        data, name = await read_upload(request, max_upload_bytes)
        return JSONResponse(await classify(data, name))

    async def predict_url(request: Request) -> Response:
        url = await read_url_request(request)
        data = await downloads.run(lambda: fetch_url(
            url, timeout=url_timeout, max_bytes=max_upload_bytes,
            allow_private=allow_private_urls))
        return JSONResponse(await classify(data, "the picture at that URL"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        inference.close()
        downloads.close()

    app = Starlette(routes=[
        Route("/", index, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/model", model, methods=["GET"]),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/predict-url", predict_url, methods=["POST"]),
    ], exception_handlers=json_error_handlers(ROUTES_HELP, _failed), lifespan=lifespan)
    app.state.inference, app.state.downloads = inference, downloads
    return app


def _failed(err: Exception) -> str:
    return (f"the server failed on this request ({type(err).__name__}); "
            f"it goes on serving: try again, and if it keeps failing "
            f"report it with the server's log")
