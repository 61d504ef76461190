"""The cleaner as a local web page: ``make_clean_app(cleaner)``; ``sgdlab bears clean`` serves it.

    GET  /                        the page (clean_page.html: the grid, filters, Apply, Undo)
    GET  /api/session             the data folder, classes, filters, the note on training photos
    GET  /api/photos              one page of photos: ?class=&split=&which=&page= (0-based)
    GET  /photo/{id}              the JPEG thumbnail of photo ``id`` (its rank - 1)
    POST /api/photos/{id}/choice  JSON ``{"choice": "keep" | "delete" | "relabel:CLASS"}``
    POST /api/apply               carry out the pending decisions
    POST /api/undo                JSON ``{"all": false}``: put back the last (or every) batch
    GET  /healthz                 ``{"status": "ok"}`` while the server runs

Everything underneath is the session the notebook widget and the terminal use: a
:class:`~sgdlab.vision.cleaner.Cleaner` (ranked once, before the server starts) seen through a
:class:`~sgdlab.vision.clean_view.CleanView`; every choice goes to the journal in the data
folder the moment it arrives, so a reload of the page or a restart of the server shows it again.
A photo is named by its place in the ranking, never by a path the browser sends, so a request
can reach no file outside the ranked photos. The routes hand every use of the session to one
worker thread (:class:`~sgdlab.vision.web.runner.BoundedRunner`), which keeps the journal's
appends in order and the event loop free; a refused request is ``{"error": "..."}`` with 400
(bad input), 404 (no such photo) or 409 (cannot be done now: nothing to undo, a photo moved).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sgdlab.errors import SgdlabError
from sgdlab.vision.clean_journal import (
    CleaningError,
    Move,
    NothingToUndoError,
    PhotoNotInDataError,
    UnknownClassError,
)
from sgdlab.vision.clean_view import ALL, CleanView
from sgdlab.vision.cleaner import SEEN_NOTE, SPLITS, WHICH, Cleaner
from sgdlab.vision.web.errors import RequestError, json_error_handlers
from sgdlab.vision.web.runner import BoundedRunner

PER_PAGE = 12
MAX_BODY_BYTES = 4096
ROUTES_HELP = ("the page is at /, the API at GET /api/session, GET /api/photos?page=0, "
               "GET /photo/ID, POST /api/photos/ID/choice, POST /api/apply, POST /api/undo")


def clean_page_html() -> str:
    """The page served at ``/``, shipped in the package beside this module."""
    return resources.files("sgdlab.vision.web").joinpath("clean_page.html").read_text("utf-8")


def _refusal(err: SgdlabError) -> RequestError:
    """The HTTP answer to a request the session refused (its message says what to do)."""
    if isinstance(err, RequestError):
        return err
    if isinstance(err, PhotoNotInDataError):
        return RequestError(404, str(err))
    if isinstance(err, UnknownClassError):
        return RequestError(400, str(err))
    if isinstance(err, (NothingToUndoError, CleaningError)):
        return RequestError(409, str(err))
    return RequestError(400, str(err))


def _move(move: Move) -> dict:
    return {"photo": move.photo, "to": move.to, "action": move.action, "label": move.label}


class CleanSession:
    """The cleaner behind the page: the ranking (photo ``id`` = place in it), pages, choices.

    Every method runs in the app's one worker thread, never on the event loop.
    """

    def __init__(self, cleaner: Cleaner, per_page: int = PER_PAGE) -> None:
        self.cleaner = cleaner
        self.view = CleanView(cleaner, per_page)  # keeps the thumbnails; its filters unused
        self.ranked = [row.path for row in cleaner.rows()]
        self.ids = {path: i for i, path in enumerate(self.ranked)}

    def path(self, photo_id: int) -> str:
        """The photo ranked ``photo_id + 1``; 404 for an id outside the ranking."""
        if not 0 <= photo_id < len(self.ranked):
            raise RequestError(404, f"there is no photo {photo_id}: the photos are numbered 0 "
                                    f"to {len(self.ranked) - 1} by their rank (largest loss "
                                    f"first); reload the page to see them")
        return self.ranked[photo_id]

    def facts(self) -> dict:
        c = self.cleaner
        return {"data_dir": str(c.data_dir), "classes": list(c.classes), "splits": list(SPLITS),
                "which": list(WHICH), "seen_note": SEEN_NOTE, "per_page": self.view.per_page,
                "photos": len(self.ranked), "unsure_below": c.unsure_below}

    def page(self, label: str | None, split: str | None, which: str, page: int) -> dict:
        """One page of photos with the filters given, and the counts."""
        view = CleanView(self.cleaner, self.view.per_page)
        view.set_filters(label, split, which or ALL)
        view.go(page)
        counts = view.counts()
        cards = [{**card.to_dict(), "id": self.ids[card.row.path],
                  "rank": self.ids[card.row.path] + 1} for card in view.cards()]
        return {"page": view.page, "pages": view.pages, "cards": cards,
                "counts": {**asdict(counts), "text": counts.text()}}

    def choose(self, photo_id: int, choice: object) -> dict:
        if not isinstance(choice, str):
            raise RequestError(400, f"send the choice as JSON {{\"choice\": \"delete\"}} (keep, "
                                    f"delete or relabel:CLASS), got {choice!r}")
        path = self.path(photo_id)
        if self.view.file(path) != self.cleaner.data_dir / path:
            raise RequestError(409, f"{path} was moved to {self.view.file(path)} by an applied "
                                    f"batch; Undo puts it back, then it can be decided again")
        self.view.choose(path, choice)
        decision = self.cleaner.decision(path)
        return {"id": photo_id, "photo": path, "action": decision.action,
                "label": decision.label}

    def apply(self) -> dict:
        moves = self.view.apply()
        return {"moves": [_move(m) for m in moves], "applied": len(moves)}

    def undo(self, everything: bool) -> dict:
        moves = self.view.undo(all=everything)
        return {"moves": [_move(m) for m in moves], "undone": len(moves)}

    def thumbnail(self, photo_id: int) -> bytes:
        path = self.path(photo_id)
        if not self.view.file(path).is_file():
            raise RequestError(404, f"{path} is no longer at {self.view.file(path)}; it was "
                                    f"moved outside the cleaner: put it back and reload")
        return self.view.thumbnail(path)


def _guarded(function: Any, *args: Any) -> Any:
    """``function(*args)`` with the session's refusals turned into HTTP answers."""
    try:
        return function(*args)
    except SgdlabError as err:
        raise _refusal(err) from None


async def _json_body(request: Request) -> dict:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(413, f"the request body is {len(body)} bytes; the cleaner's requests "
                                f"are small JSON objects (at most {MAX_BODY_BYTES} bytes)")
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, "the request body is not JSON; send e.g. "
                                "{\"choice\": \"delete\"}") from None
    if not isinstance(data, dict):
        raise RequestError(400, f"send a JSON object such as {{\"choice\": \"delete\"}}, got "
                                f"{type(data).__name__}")
    return data


def _photo_id(request: Request) -> int:
    return int(request.path_params["photo_id"])


def make_clean_app(cleaner: Cleaner, per_page: int = PER_PAGE,
                   max_pending: int = 64) -> Starlette:
    """The cleaning page and its JSON API on ``cleaner`` (ranked here, before serving: the
    model's work is done once, off the request path)."""
    if not isinstance(cleaner, Cleaner):
        raise SgdlabError(f"make_clean_app needs a Cleaner, got {type(cleaner).__name__}; make "
                          f"one with Cleaner(learn, data_dir)")
    session = CleanSession(cleaner, per_page)
    worker = BoundedRunner(1, max_pending, what="cleaning requests")
    page_text = clean_page_html()

    async def run(function: Any, *args: Any) -> Any:
        return await worker.run(_guarded, function, *args)

    async def index(request: Request) -> Response:
        return HTMLResponse(page_text)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def facts(request: Request) -> Response:
        return JSONResponse(await run(session.facts))

    async def photos(request: Request) -> Response:
        query = request.query_params
        try:
            page = int(query.get("page", "0"))
        except ValueError:
            raise RequestError(400, f"page must be a whole number (0 is the first page), got "
                                    f"{query.get('page')!r}") from None
        return JSONResponse(await run(session.page, query.get("class") or None,
                                      query.get("split") or None, query.get("which") or ALL,
                                      page))

    async def thumbnail(request: Request) -> Response:
        data = await run(session.thumbnail, _photo_id(request))
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})

    async def choose(request: Request) -> Response:
        body = await _json_body(request)
        return JSONResponse(await run(session.choose, _photo_id(request), body.get("choice")))

    async def apply(request: Request) -> Response:
        return JSONResponse(await run(session.apply))

    async def undo(request: Request) -> Response:
        everything = (await _json_body(request)).get("all", False)
        if not isinstance(everything, bool):
            raise RequestError(400, f"\"all\" must be true or false, got {everything!r}")
        return JSONResponse(await run(session.undo, everything))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        worker.close()

    app = Starlette(routes=[
        Route("/", index, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/session", facts, methods=["GET"]),
        Route("/api/photos", photos, methods=["GET"]),
        Route("/photo/{photo_id:int}", thumbnail, methods=["GET"]),
        Route("/api/photos/{photo_id:int}/choice", choose, methods=["POST"]),
        Route("/api/apply", apply, methods=["POST"]),
        Route("/api/undo", undo, methods=["POST"]),
    ], exception_handlers=json_error_handlers(ROUTES_HELP, _failed), lifespan=lifespan)
    app.state.session = session
    return app


def _failed(err: Exception) -> str:
    return (f"the cleaner failed on this request ({type(err).__name__}: "
            f"{err}); nothing is lost (the journal holds every decision): "
            f"reload the page, and report it with the server's log if it "
            f"keeps failing")
