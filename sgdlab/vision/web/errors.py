"""What went wrong with one web request: an HTTP status and a message a person can act on."""

from __future__ import annotations

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
