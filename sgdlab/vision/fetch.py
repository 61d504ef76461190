"""One careful GET of one picture: a bounded attempt, only the public web, only images.

:func:`fetch_image` is what :func:`sgdlab.vision.download.download_images` does for each URL:

* the URL is checked and made sendable (:func:`~sgdlab.vision.addresses.parse_url`):
  non-ASCII characters of the path and query are percent-encoded (``café.jpg`` →
  ``caf%C3%A9.jpg``), international host names IDNA-encoded; a malformed URL is refused with
  the reason;
* ``timeout`` seconds cover the whole attempt: looking up the host, connecting, the headers,
  every redirect and the body, however slowly a server drips (a watchdog cuts the connection
  at the deadline);
* a host that resolves to a loopback, private, link-local, reserved, multicast or unspecified
  address is refused before any connection, and so is every redirect to one, unless
  ``allow_private=True``; the socket goes to the very address that was checked, so a second DNS
  answer cannot swap it for another (no DNS rebinding). Proxies (``$http_proxy``) are not used:
  the check needs the connection to go to the server itself;
* a response is kept when its content type AND its first bytes say image.

An attempt ends in a picture or one of three verdicts: :class:`Refused` (a retry will not
help), :class:`TryAgain` (it may: a time-out, HTTP 503) or :class:`Stopped` (Ctrl-C).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
import urllib.parse
from contextlib import suppress
from http.client import HTTPConnection, HTTPException, HTTPSConnection, IncompleteRead

from sgdlab.vision.addresses import BadURL, WebAddress, is_public_address, parse_url

USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0 Safari/537.36")

# First bytes of the raster formats we keep, and the extension each one gets.
MAGIC_NUMBERS = (
    (b"\xff\xd8\xff", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"GIF87a", ".gif"),
    (b"GIF89a", ".gif"),
    (b"BM", ".bmp"),
    (b"II*\x00", ".tif"),
    (b"MM\x00*", ".tif"),
)

# Content types that may hide an image; anything else (text/html, image/svg+xml) is refused.
UNTYPED = ("application/octet-stream", "binary/octet-stream", "")

CHUNK = 64 * 1024
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)


class Refused(Exception):
    """An attempt that a retry will not mend (not an image, too big, HTTP 404, malformed...)."""


class NotPublic(Refused):
    """The host (or a redirect's host) is at a non-public address; ``host`` and ``address``
    say which. A caller with its own switch for private hosts words its own hint from them."""

    def __init__(self, message: str, host: str, address: str) -> None:
        super().__init__(message)
        self.host, self.address = host, address


class TryAgain(Exception):
    """A failure that may go away on a retry (time-out, HTTP 503...)."""


class Stopped(Exception):
    """The run was interrupted (Ctrl-C): stop without writing anything."""


class _Line:
    """The socket of one request, as another thread can cut it.

    It holds a duplicate of the socket's descriptor (taken as soon as it connects): shutting
    that down wakes a read blocked on the connection, whether plain or TLS, and whoever holds
    the connection (http.client passes it from the connection to the response).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._cut = False

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock.dup()
            if self._cut:
                self._shutdown()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            self._shutdown()

    def release(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    def _shutdown(self) -> None:
        if self._sock is not None:
            with suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


class Session:
    """What the threads of one download run share: the stop signal and the open connections.

    Stopping cuts every open connection, so a thread blocked reading from a slow server wakes
    up at once instead of at its time-out.
    """

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._open: set[_Line] = set()

    def opened(self, line: _Line) -> None:
        with self._lock:
            self._open.add(line)
        if self.stopped.is_set():
            line.cut()

    def closed(self, line: _Line) -> None:
        with self._lock:
            self._open.discard(line)

    def stop(self) -> None:
        self.stopped.set()
        with self._lock:
            for line in list(self._open):
                line.cut()


def sniff_extension(head: bytes) -> str | None:
    """The file extension of an image recognised by its first bytes, else ``None``."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    for magic, ext in MAGIC_NUMBERS:
        if head.startswith(magic):
            return ext
    return None


def _resolve(host: str, port: int, deadline: float, session: Session) -> list[str]:
    """The addresses of ``host``, waiting no longer than the attempt's deadline.

    The system's resolver cannot be interrupted, so it runs in a helper thread that is left
    to finish on its own if the deadline passes first.
    """
    answer: dict[str, object] = {}
    done = threading.Event()

    def look_up() -> None:
        try:
            answer["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as err:  # noqa: BLE001 (handed over to the waiting thread)
            answer["error"] = err
        finally:
            done.set()

    threading.Thread(target=look_up, daemon=True, name="sgdlab-resolve").start()
    while not done.wait(min(0.05, max(deadline - time.monotonic(), 0.001))):
        if session.stopped.is_set():
            raise Stopped
        if time.monotonic() >= deadline:
            raise TryAgain("timed out looking up the host name")
    error = answer.get("error")
    if isinstance(error, socket.gaierror):
        raise Refused(f"unknown host ({error})")
    if isinstance(error, UnicodeError):
        raise Refused(f"malformed URL (bad host name: {error})")
    if isinstance(error, BaseException):
        raise error
    addresses = [info[4][0] for info in answer["infos"]]  # type: ignore[union-attr]
    if not addresses:
        raise Refused("unknown host (no address)")
    return list(dict.fromkeys(addresses))


def _pinned(addresses: list[str], port: int, deadline: float, line: _Line):
    """A ``create_connection`` for http.client that connects only to ``addresses``.

    http.client still sends the host name (``Host:``, TLS SNI, certificate check), but the
    socket goes to an address that was resolved, and checked, once.
    """
    def connect(_address, _timeout=None, source_address=None):
        last: OSError | None = None
        for address in addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                sock = socket.create_connection((address, port), timeout=remaining,
                                                source_address=source_address)
            except OSError as err:
                last = err
                continue
            line.attach(sock)
            return sock
        if last is None:
            raise TimeoutError("timed out connecting")
        raise last

    return connect


# ------------------------------------------------------------------------------ one attempt

_TLS = ssl.create_default_context()


def fetch_image(url: str, timeout: float = 10, min_bytes: int = 100,
                max_bytes: int = 20_000_000, *, allow_private: bool = False,
                session: Session | None = None) -> tuple[bytes, str]:
    """One attempt at one URL → ``(content, extension)``.

    ``timeout`` bounds the whole attempt, redirects included. Raises ``TryAgain`` for what a
    retry may fix and ``Refused`` for what it won't.
    """
    session = session if session is not None else Session()
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        try:
            address = parse_url(url)
        except BadURL as err:
            raise Refused(str(err)) from None
        addresses = _resolve(address.host, address.port, deadline, session)
        if not allow_private:
            private = [a for a in addresses if not is_public_address(a)]
            if private:
                raise NotPublic(f"the host {address.host} is at a non-public address "
                                f"({private[0]}); sgdlab downloads only from the public web "
                                f"(allow_private=True / --allow-private to allow it)",
                                address.host, private[0])
        result = _one_request(address, addresses, deadline, timeout, min_bytes, max_bytes, session)
        if isinstance(result, str):
            url = result  # a redirect: check the new address all over again
            continue
        return result
    raise Refused(f"too many redirects (more than {MAX_REDIRECTS})")


def _one_request(address: WebAddress, addresses: list[str], deadline: float, timeout: float,
                 min_bytes: int, max_bytes: int, session: Session) -> tuple[bytes, str] | str:
    """GET ``address`` from one of ``addresses``: the picture, or the URL of a redirect."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TryAgain(f"timed out after {timeout:g} s")
    kind_of = HTTPSConnection if address.scheme == "https" else HTTPConnection
    options = {"context": _TLS} if address.scheme == "https" else {}
    conn = kind_of(address.host, address.port, timeout=remaining, **options)
    line = _Line()
    conn._create_connection = _pinned(addresses, address.port, deadline, line)
    watchdog = threading.Timer(remaining, line.cut)  # the attempt's deadline, whatever it waits on
    watchdog.daemon = True
    session.opened(line)
    watchdog.start()
    response = None
    try:
        conn.request("GET", address.target, headers={
            "User-Agent": USER_AGENT, "Accept": "image/avif,image/webp,image/*,*/*;q=0.8"})
        response = conn.getresponse()
        if response.status in REDIRECTS:
            location = response.getheader("Location")
            if not location:
                raise Refused(f"HTTP {response.status} without a Location")
            new_url = urllib.parse.urljoin(address.url, location.strip())
            if urllib.parse.urlsplit(new_url).scheme.lower() not in ("http", "https"):
                raise Refused(f"redirect to a non-web address {new_url[:80]}")
            return new_url
        if response.status == 429 or response.status >= 500:
            raise TryAgain(f"HTTP {response.status} {response.reason}")
        if not 200 <= response.status < 300:
            raise Refused(f"HTTP {response.status} {response.reason}")
        kind = response.msg.get_content_type() if response.getheader("Content-Type") else ""
        if not (kind.startswith("image/") or kind in UNTYPED) or kind == "image/svg+xml":
            raise Refused(f"not an image (content type {kind})")
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise Refused(f"too large ({int(length):,} bytes > {max_bytes:,})")
        chunks, total = [], 0
        while chunk := response.read1(CHUNK):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise Refused(f"too large (more than {max_bytes:,} bytes)")
            if time.monotonic() > deadline:
                raise TryAgain(f"timed out after {timeout:g} s")
        if session.stopped.is_set():
            raise Stopped  # the connection was cut: what arrived may be half a picture
        if time.monotonic() > deadline:
            raise TryAgain(f"timed out after {timeout:g} s")
        if length and length.isdigit() and total < int(length):
            raise TryAgain(f"IncompleteRead: connection closed after {total:,} of "
                             f"{int(length):,} bytes")
    except (OSError, HTTPException, ValueError) as err:
        if session.stopped.is_set():
            raise Stopped from None
        if time.monotonic() >= deadline - 0.01 or isinstance(err, TimeoutError):
            raise TryAgain(f"timed out after {timeout:g} s") from None
        if isinstance(err, IncompleteRead):
            raise TryAgain(f"IncompleteRead: connection closed after "
                             f"{len(err.partial):,} bytes") from None
        if isinstance(err, ConnectionRefusedError):
            raise TryAgain(f"cannot connect: {err.strerror or err}") from None
        if isinstance(err, ssl.SSLCertVerificationError):
            raise Refused(f"the site's certificate is not valid ({err.verify_message})"
                           ) from None
        text = str(err)
        raise TryAgain(f"{type(err).__name__}: {text}" if text else type(err).__name__
                         ) from None
    finally:
        watchdog.cancel()
        session.closed(line)
        if response is not None:
            response.close()
        conn.close()
        line.release()
    content = b"".join(chunks)
    if len(content) < min_bytes:
        raise Refused(f"too small ({len(content)} bytes)")
    ext = sniff_extension(content[:16])
    if ext is None:
        raise Refused(f"content is not a known image format (type {kind or 'missing'}, "
                       f"starts with {content[:8]!r})")
    return content, ext
