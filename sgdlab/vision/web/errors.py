"""What went wrong with one web request: an HTTP status and a message a person can act on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sgdlab.errors import SgdlabError


class RequestError(SgdlabError):
    """A request the server refuses; the app answers ``{"error": message}`` with ``status``.

    Attributes:
        status: the HTTP status (400 bad input, 413 too large, 415 not an image, 502/504 a URL
            that could not be fetched, 503 busy).
        headers: extra response headers (``Retry-After`` for 503).
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})


class ServerBusy(RequestError):
    """Every slot for predictions (or downloads) is taken: 503 with ``Retry-After``."""

    def __init__(self, what: str, limit: int, retry_after: int = 1) -> None:
        super().__init__(503, f"the server is busy: {limit} {what} are already waiting or "
                              f"running; try again in {retry_after} s",
                         {"Retry-After": str(retry_after)})


def json_error_handlers(routes_help: str, failed: Callable[[Exception], str]
                        ) -> dict[type, Callable[[Request, Exception], Awaitable[Response]]]:
    """Starlette ``exception_handlers`` answering every error as ``{"error": message}``: a
    :class:`RequestError` with its status, a 404/405 naming the routes (``routes_help``), and
    any other exception as a 500 whose message is ``failed(err)``."""

    async def request_error(request: Request, err: RequestError) -> Response:
        return JSONResponse({"error": str(err)}, status_code=err.status, headers=err.headers)

    async def http_error(request: Request, err: HTTPException) -> Response:
        if err.status_code == 404:
            message = f"there is nothing at {request.url.path}; {routes_help}"
        elif err.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; {routes_help}"
        else:
            message = f"{err.detail}; {routes_help}"
        return JSONResponse({"error": message}, status_code=err.status_code,
                            headers=getattr(err, "headers", None))

    async def server_error(request: Request, err: Exception) -> Response:
        return JSONResponse({"error": failed(err)}, status_code=500)

    return {RequestError: request_error, HTTPException: http_error, Exception: server_error}
