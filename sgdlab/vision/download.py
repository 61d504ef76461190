"""Download the pictures of a URL list (one URL per line) into a folder, safely.

What a web image search gives you is messy: dead links, slow servers, HTML pages behind image
links, gigantic files, the odd malformed address. ``download_images`` tries every URL in a
thread pool and promises:

* **one URL, one verdict**: a URL that is malformed, refused or fails is reported with its
  reason and the run goes on. Non-ASCII characters in a path or query are percent-encoded
  (``café.jpg`` → ``caf%C3%A9.jpg``), international host names IDNA-encoded;
* **a bounded attempt**: ``timeout`` seconds cover a whole attempt (looking up the host,
  connecting, the headers, every redirect and the body), however slowly the server drips;
  failures that may be temporary (time-outs, connection errors, HTTP 429 and 5xx) are retried
  with exponential back-off ``backoff·2^k``;
* **only the public web**: a host that resolves to a loopback, private, link-local, reserved,
  multicast or unspecified address is refused before any connection, and so is every redirect
  to one, unless ``allow_private=True``. The connection goes to the very address that was
  checked, so a second DNS answer cannot swap it for another (no DNS rebinding);
* **only pictures, only whole ones**: a response is kept when its content type AND its first
  bytes say image; files are named by the URL's position in the list (``00000000.jpg``,
  ``00000001.png``...), never by the URL, and written atomically (:mod:`sgdlab.files`), so an
  interrupted download never leaves half a picture. Ctrl-C stops every download at once.

Afterwards, :func:`sgdlab.vision.clean.verify_images` decodes every file to catch the rest.
Proxies (``$http_proxy``) are not used: the address check needs the connection to go to the
server itself.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPException, HTTPSConnection, IncompleteRead
from pathlib import Path

from sgdlab.checks import check_number, check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.files import WriteError, remove_stale_temporaries, write_bytes

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
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class DownloadFailure:
    """A URL that gave no picture: its position in the list, the URL and why."""

    index: int
    url: str
    reason: str


@dataclass
class DownloadReport:
    """What :func:`download_images` did.

    Attributes:
        dest: the folder the pictures went into.
        n_urls: how many URLs were tried (at most ``max_pics``).
        saved: the files written by this run.
        existing: files of an earlier run, kept and not downloaded again.
        failures: every URL that gave no picture, with the reason.
    """

    dest: Path
    n_urls: int = 0
    saved: list[Path] = field(default_factory=list)
    existing: list[Path] = field(default_factory=list)
    failures: list[DownloadFailure] = field(default_factory=list)


class _Refused(Exception):
    """A response that is not worth retrying (not an image, too big, HTTP 404...)."""


class _Temporary(Exception):
    """A failure that may go away on a retry (time-out, HTTP 503...)."""


class _Stopped(Exception):
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


class _Run:
    """What the threads of one run share: the stop signal and the open connections.

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


def read_urls(urls_file: str | os.PathLike) -> list[str]:
    """The URLs of a list file: one per line; blank lines and ``#`` comments skipped."""
    path = Path(urls_file)
    if not path.is_file():
        raise SgdlabError(f"URL list {path} not found; save the image search's links there, "
                          f"one per line")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [u.strip() for u in lines if u.strip() and not u.strip().startswith("#")]


def sniff_extension(head: bytes) -> str | None:
    """The file extension of an image recognised by its first bytes, else ``None``."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    for magic, ext in MAGIC_NUMBERS:
        if head.startswith(magic):
            return ext
    return None


# ------------------------------------------------------------------------------ addresses

@dataclass(frozen=True)
class WebAddress:
    """A URL taken apart and made sendable: ``scheme://host:port/target``."""

    scheme: str
    host: str  # ASCII: IDNA-encoded, or an IP address without brackets
    port: int
    target: str  # path and query, percent-encoded

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = {"http": 80, "https": 443}[self.scheme]
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.target}"


def parse_url(url: str) -> WebAddress:
    """Check ``url`` and percent-encode what needs it; raise ``_Refused`` saying what is wrong.

    Only ``http`` and ``https`` are accepted. Spaces and non-ASCII characters of the path and
    query are percent-encoded as UTF-8 (what browsers do); ``%XX`` already there is kept. A
    non-ASCII host name is IDNA-encoded; a host label longer than 63 characters, a name
    longer than 253, or a broken ``[IPv6]`` literal is malformed.
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as err:
        raise _Refused(f"malformed URL ({err})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _Refused("not an http(s) URL")
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if not host:
        raise _Refused("malformed URL (no host name)")
    if ":" in host:  # an IPv6 literal; urlsplit checked the brackets
        try:
            host = str(ipaddress.IPv6Address(host.split("%")[0]))
        except ValueError:
            raise _Refused(f"malformed URL (bad IPv6 address {host!r})") from None
    else:
        host = _ascii_host(host.rstrip("."))
    target = urllib.parse.quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        target += "?" + urllib.parse.quote(parts.query, safe="/?%:@!$&'()*+,;=-._~")
    default = 443 if scheme == "https" else 80
    return WebAddress(scheme, host, port if port is not None else default, target)


def _ascii_host(host: str) -> str:
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as err:
        labels = host.split(".")
        longest = max(labels, key=len)
        why = (f"the host name part {longest[:20]}… has {len(longest)} characters, at most 63 "
               f"are allowed" if len(longest) > 63 else f"bad host name ({err})")
        raise _Refused(f"malformed URL ({why})") from None
    if len(ascii_host) > 253 or not all(c.isalnum() or c in "-._" for c in ascii_host):
        raise _Refused(f"malformed URL (bad host name {host[:40]!r})")
    return ascii_host.lower()


def is_public_address(address: str) -> bool:
    """True for an address on the public internet.

    Refused: loopback, private, link-local, reserved, multicast, unspecified (``ipaddress``'s
    ``is_global`` and ``is_multicast``), also when wrapped in an IPv6 form that carries an IPv4
    address (IPv4-mapped ``::ffff:10.0.0.5``, NAT64, 6to4, Teredo).
    """
    ip = ipaddress.ip_address(address.split("%")[0])
    inner: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            inner.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            inner.append(ip.sixtofour)
        if ip.teredo is not None:
            inner += list(ip.teredo)
        if ip in _NAT64:
            inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return all(a.is_global and not a.is_multicast for a in inner)


def _resolve(host: str, port: int, deadline: float, run: _Run) -> list[str]:
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
        if run.stopped.is_set():
            raise _Stopped
        if time.monotonic() >= deadline:
            raise _Temporary("timed out looking up the host name")
    error = answer.get("error")
    if isinstance(error, socket.gaierror):
        raise _Refused(f"unknown host ({error})")
    if isinstance(error, UnicodeError):
        raise _Refused(f"malformed URL (bad host name: {error})")
    if isinstance(error, BaseException):
        raise error
    addresses = [info[4][0] for info in answer["infos"]]  # type: ignore[union-attr]
    if not addresses:
        raise _Refused("unknown host (no address)")
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
                run: _Run | None = None) -> tuple[bytes, str]:
    """One attempt at one URL → ``(content, extension)``.

    ``timeout`` bounds the whole attempt, redirects included. Raises ``_Temporary`` for what a
    retry may fix and ``_Refused`` for what it won't.
    """
    run = run if run is not None else _Run()
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        address = parse_url(url)
        addresses = _resolve(address.host, address.port, deadline, run)
        if not allow_private:
            private = [a for a in addresses if not is_public_address(a)]
            if private:
                raise _Refused(f"the host {address.host} is at a non-public address "
                               f"({private[0]}); sgdlab downloads only from the public web "
                               f"(allow_private=True / --allow-private to allow it)")
        result = _one_request(address, addresses, deadline, timeout, min_bytes, max_bytes, run)
        if isinstance(result, str):
            url = result  # a redirect: check the new address all over again
            continue
        return result
    raise _Refused(f"too many redirects (more than {MAX_REDIRECTS})")


def _one_request(address: WebAddress, addresses: list[str], deadline: float, timeout: float,
                 min_bytes: int, max_bytes: int, run: _Run) -> tuple[bytes, str] | str:
    """GET ``address`` from one of ``addresses``: the picture, or the URL of a redirect."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Temporary(f"timed out after {timeout:g} s")
    kind_of = HTTPSConnection if address.scheme == "https" else HTTPConnection
    options = {"context": _TLS} if address.scheme == "https" else {}
    conn = kind_of(address.host, address.port, timeout=remaining, **options)
    line = _Line()
    conn._create_connection = _pinned(addresses, address.port, deadline, line)
    watchdog = threading.Timer(remaining, line.cut)  # the attempt's deadline, whatever it waits on
    watchdog.daemon = True
    run.opened(line)
    watchdog.start()
    response = None
    try:
        conn.request("GET", address.target, headers={
            "User-Agent": USER_AGENT, "Accept": "image/avif,image/webp,image/*,*/*;q=0.8"})
        response = conn.getresponse()
        if response.status in REDIRECTS:
            location = response.getheader("Location")
            if not location:
                raise _Refused(f"HTTP {response.status} without a Location")
            new_url = urllib.parse.urljoin(address.url, location.strip())
            if urllib.parse.urlsplit(new_url).scheme.lower() not in ("http", "https"):
                raise _Refused(f"redirect to a non-web address {new_url[:80]}")
            return new_url
        if response.status == 429 or response.status >= 500:
            raise _Temporary(f"HTTP {response.status} {response.reason}")
        if not 200 <= response.status < 300:
            raise _Refused(f"HTTP {response.status} {response.reason}")
        kind = response.msg.get_content_type() if response.getheader("Content-Type") else ""
        if not (kind.startswith("image/") or kind in UNTYPED) or kind == "image/svg+xml":
            raise _Refused(f"not an image (content type {kind})")
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise _Refused(f"too large ({int(length):,} bytes > {max_bytes:,})")
        chunks, total = [], 0
        while chunk := response.read1(CHUNK):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise _Refused(f"too large (more than {max_bytes:,} bytes)")
            if time.monotonic() > deadline:
                raise _Temporary(f"timed out after {timeout:g} s")
        if time.monotonic() > deadline:
            raise _Temporary(f"timed out after {timeout:g} s")
        if length and length.isdigit() and total < int(length):
            raise _Temporary(f"IncompleteRead: connection closed after {total:,} of "
                             f"{int(length):,} bytes")
    except (OSError, HTTPException, ValueError) as err:
        if run.stopped.is_set():
            raise _Stopped from None
        if time.monotonic() >= deadline - 0.01 or isinstance(err, TimeoutError):
            raise _Temporary(f"timed out after {timeout:g} s") from None
        if isinstance(err, IncompleteRead):
            raise _Temporary(f"IncompleteRead: connection closed after "
                             f"{len(err.partial):,} bytes") from None
        if isinstance(err, ConnectionRefusedError):
            raise _Temporary(f"cannot connect: {err.strerror or err}") from None
        if isinstance(err, ssl.SSLCertVerificationError):
            raise _Refused(f"the site's certificate is not valid ({err.verify_message})"
                           ) from None
        text = str(err)
        raise _Temporary(f"{type(err).__name__}: {text}" if text else type(err).__name__
                         ) from None
    finally:
        watchdog.cancel()
        run.closed(line)
        if response is not None:
            response.close()
        conn.close()
        line.release()
    content = b"".join(chunks)
    if len(content) < min_bytes:
        raise _Refused(f"too small ({len(content)} bytes)")
    ext = sniff_extension(content[:16])
    if ext is None:
        raise _Refused(f"content is not a known image format (type {kind or 'missing'}, "
                       f"starts with {content[:8]!r})")
    return content, ext


# ------------------------------------------------------------------------------ the run

def download_one(index: int, url: str, dest: Path, timeout: float, retries: int,
                 backoff: float, min_bytes: int, max_bytes: int, *,
                 allow_private: bool = False, run: _Run | None = None) -> Path | DownloadFailure:
    """Download ``url`` into ``dest/<index:08d><ext>``, retrying temporary failures.

    Any other exception for this URL becomes its failure too: one bad URL never ends the run.
    Only a write failure (disk full...) and Ctrl-C stop the run.
    """
    run = run if run is not None else _Run()
    reason = ""
    for attempt in range(retries + 1):
        if attempt and run.stopped.wait(backoff * 2 ** (attempt - 1)):
            raise _Stopped
        if run.stopped.is_set():
            raise _Stopped
        try:
            content, ext = fetch_image(url, timeout, min_bytes, max_bytes,
                                       allow_private=allow_private, run=run)
        except _Refused as err:
            return DownloadFailure(index, url, str(err))
        except _Temporary as err:
            reason = str(err)
            continue
        except (_Stopped, SgdlabError):
            raise
        except Exception as err:  # noqa: BLE001 (a bug for one URL must not end the run)
            return DownloadFailure(index, url, f"unexpected {type(err).__name__}: {err}")
        if run.stopped.is_set():
            raise _Stopped
        path = dest / f"{index:08d}{ext}"
        remove_stale_temporaries(dest / f"{index:08d}")  # left by sgdlab before 0.2
        return write_bytes(path, content)
    tries = f" (after {retries + 1} tries)" if retries else ""
    return DownloadFailure(index, url, reason + tries)


def download_images(urls_file: str | os.PathLike, dest: str | os.PathLike, max_pics: int = 200,
                    workers: int = 8, timeout: float = 10, retries: int = 2, *,
                    backoff: float = 0.5, min_bytes: int = 100, max_bytes: int = 20_000_000,
                    allow_private: bool = False) -> DownloadReport:
    """Download the first ``max_pics`` URLs of ``urls_file`` into ``dest``.

    Files are named by the URL's 0-based position in the list, with the extension of the
    format found in the content: ``dest/00000000.jpg``. A position that already has a file (an
    earlier run) is skipped, so running again only fetches what is missing.

    Args:
        urls_file: text file with one URL per line.
        dest: folder for the pictures (created if needed), e.g. ``bears/black``.
        max_pics: how many URLs of the list to try.
        workers: parallel downloads.
        timeout: seconds allowed for each whole attempt at a URL (a positive finite number).
        retries: extra attempts after a temporary failure, waiting ``backoff·2^k`` seconds.
        backoff: the first wait between attempts.
        min_bytes, max_bytes: responses outside this size range are refused.
        allow_private: also download from loopback, private and other non-public addresses
            (a server on your own machine or network); refused by default.

    Returns:
        a :class:`DownloadReport`; every URL without a picture is in ``failures`` with a reason.

    Raises:
        SgdlabError: bad arguments, or a picture that cannot be written (the disk is full...):
            the pictures saved so far are kept, and the same command fetches the rest.
        KeyboardInterrupt: Ctrl-C; every download stops at once and no partial file is left.
    """
    check_whole_number(max_pics, "max_pics", minimum=1, hint="the lecture takes 200 per class")
    check_whole_number(workers, "workers", minimum=1, hint="8 parallel downloads is plenty")
    check_whole_number(retries, "retries", hint="2 retries a failure that may be temporary")
    check_whole_number(min_bytes, "min_bytes")
    check_whole_number(max_bytes, "max_bytes", minimum=1)
    timeout = check_number(timeout, "timeout", positive=True, hint="10 s suits most servers")
    backoff = check_number(backoff, "backoff", minimum=0,
                           hint="0.5 waits 0.5 s, then 1 s, ... between tries")
    urls = read_urls(urls_file)
    if not urls:
        raise SgdlabError(f"{urls_file} holds no URLs; put one image link per line")
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise SgdlabError(f"{dest} is a file; give a folder to download into")
    dest.mkdir(parents=True, exist_ok=True)
    report = DownloadReport(dest=dest, n_urls=min(max_pics, len(urls)))
    present = {p.stem: p for p in dest.iterdir() if p.is_file() and not p.name.startswith(".")}
    todo = []
    for index, url in enumerate(urls[:max_pics]):
        if f"{index:08d}" in present:
            report.existing.append(present[f"{index:08d}"])
        else:
            todo.append((index, url))

    from tqdm.auto import tqdm

    run = _Run()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sgdlab-download")
    try:
        futures = [pool.submit(download_one, index, url, dest, timeout, retries, backoff,
                               min_bytes, max_bytes, allow_private=allow_private, run=run)
                   for index, url in todo]
        for future in tqdm(futures, desc=f"downloading into {dest}", unit="url", leave=False,
                           disable=None):
            result = future.result()
            if isinstance(result, DownloadFailure):
                report.failures.append(result)
            else:
                report.saved.append(result)
    except WriteError as err:
        run.stop()
        pool.shutdown(wait=True, cancel_futures=True)
        raise SgdlabError(f"{err}; the {len(report.saved) + len(report.existing)} picture(s) "
                          f"already in {dest} are kept, and the same command fetches the rest"
                          ) from err
    except BaseException:
        run.stop()  # Ctrl-C: wake every thread now; none writes a file after this
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    report.saved.sort()
    report.failures.sort(key=lambda f: f.index)
    return report


def format_report(report: DownloadReport, width: int = 100) -> str:
    """A readable summary: counts, failures grouped by reason, then every failed URL."""
    lines = [f"{len(report.saved)} picture(s) downloaded into {report.dest}"
             + (f", {len(report.existing)} already there" if report.existing else "")
             + f"; {len(report.failures)} of {report.n_urls} URL(s) failed"]
    if report.failures:
        reasons = Counter(f.reason.split(" (")[0] for f in report.failures)
        lines.append("failures by reason:")
        lines += [f"  {count:4d}  {reason}" for reason, count in reasons.most_common()]
        lines.append("failed URLs:")
        for f in report.failures:
            url = f.url if len(f.url) <= width else f.url[:width - 1] + "…"
            lines.append(f"  #{f.index:<5d} {url}\n         {f.reason}")
    lines.append("next: check the pictures with sgdlab.vision.clean.verify_images"
                 f"('{report.dest}')")
    return "\n".join(lines)
