"""``/api/predict-url``'s download: the downloader's own guarded fetch, worded for the web.

The issue asks for httpx here. The server uses :func:`sgdlab.vision.fetch.fetch_image`
instead, the function ``sgdlab bears download`` runs for every URL, because it already does
what the guard needs and httpx alone does not: it resolves the host once, refuses a loopback,
private, link-local or reserved address *before any connection* (and again for every
redirect, each hop resolved and checked anew), then connects the socket to the very address
it checked, so a second DNS answer cannot swap in an internal one (DNS rebinding). With httpx
the same guarantees need a custom transport that re-implements that pinning: a second guard
to keep in step with the first. One guard, tested once (``tests/vision/test_download.py``),
used twice. It also bounds the whole attempt (``timeout`` covers every redirect and a
server that drips its bytes) and the size, and keeps only responses that say image in their
content type and their first bytes.

:func:`fetch_url` runs in a worker thread and turns each verdict of the fetch into a
:class:`~sgdlab.vision.web.errors.RequestError` that says what to do.
"""

from __future__ import annotations

from sgdlab.vision.fetch import NotPublic, Refused, Session, TryAgain, fetch_image
from sgdlab.vision.web.errors import RequestError
from sgdlab.vision.web.uploads import megabytes

DEFAULT_TIMEOUT = 10.0
_PAGE_NOT_PICTURE = ("give the address of the picture itself (in a browser: right-click the "
                     "picture, 'Copy image address'), not of the page around it")


def fetch_url(url: str, *, timeout: float, max_bytes: int, allow_private: bool,
              session: Session | None = None) -> bytes:
    """The bytes of the picture at ``url``; raises :class:`RequestError` saying what to do.

    Statuses: 400 (not an http(s) URL, malformed, a non-public host, HTTP 404 and the like),
    413 (over ``max_bytes``), 415 (not a picture), 504 (no answer within ``timeout``
    seconds), 502 (the site failed: it refused the connection or answered 5xx).
    """
    shown = url if len(url) <= 120 else url[:117] + "..."
    try:
        content, _ = fetch_image(url, timeout=timeout, min_bytes=1, max_bytes=max_bytes,
                                 allow_private=allow_private, session=session)
    except NotPublic as err:
        raise RequestError(400, f"refused {shown}: the host {err.host} is at a non-public "
                                f"address ({err.address}); this server fetches pictures only "
                                f"from the public web. To classify a picture from this "
                                f"machine or your network, upload the file, or start the "
                                f"server with --allow-private-urls") from None
    except Refused as err:
        raise _refused(shown, str(err), max_bytes) from None
    except TryAgain as err:
        reason = str(err)
        if "timed out" in reason:
            raise RequestError(504, f"could not fetch {shown}: {reason} (the limit is "
                                    f"{timeout:g} s); try again, or download the picture and "
                                    f"upload the file") from None
        raise RequestError(502, f"could not fetch {shown}: {reason}; check the address in a "
                                f"browser, or download the picture and upload the file"
                           ) from None
    return content


def _refused(shown: str, reason: str, max_bytes: int) -> RequestError:
    if reason.startswith(("not an http(s) URL", "malformed URL", "redirect to a non-web")):
        return RequestError(400, f"cannot fetch {shown!r}: {reason}; give an address that "
                                 f"starts with http:// or https://")
    if reason.startswith("too large"):
        return RequestError(413, f"the picture at {shown} is {reason}: the limit is "
                                 f"{megabytes(max_bytes)}; choose a smaller picture")
    if reason.startswith(("not an image", "content is not a known image format",
                          "too small")):
        return RequestError(415, f"{shown} is not a picture ({reason}); {_PAGE_NOT_PICTURE}")
    return RequestError(400, f"could not fetch {shown}: {reason}; check the address in a "
                             f"browser, or download the picture and upload the file")
