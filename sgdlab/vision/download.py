"""Download the pictures of a URL list (one URL per line) into a folder, safely.

What a web image search gives you is messy: dead links, slow servers, HTML pages behind image
links, gigantic files. ``download_images`` tries every URL in a thread pool with a timeout,
retries the failures that may be temporary (time-outs, connection errors, HTTP 429 and 5xx) with
exponential back-off ``backoff·2^k``, and keeps only responses that are images by their
content type AND by their first bytes. Files are named by the URL's position in the list
(``00000000.jpg``, ``00000001.png``, ...), never by the URL, and written to a temporary file that
is renamed only once complete, so an interrupted download never leaves half a picture.
Afterwards, :func:`sgdlab.vision.clean.verify_images` decodes every file to catch the rest.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path

from sgdlab.errors import SgdlabError

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


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s), never to file:// or ftp://."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise _Refused(f"redirect to a non-web address {newurl[:80]}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SafeRedirects)


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


def fetch_image(url: str, timeout: float = 10, min_bytes: int = 100,
                max_bytes: int = 20_000_000) -> tuple[bytes, str]:
    """One attempt at one URL → ``(content, extension)``.

    Raises ``_Temporary`` for what a retry may fix and ``_Refused`` for what it won't. The
    ``timeout`` bounds each network wait and the whole transfer.
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise _Refused("not an http(s) URL")
    request = urllib.request.Request(url, headers={
        "User-Agent": USER_AGENT, "Accept": "image/avif,image/webp,image/*,*/*;q=0.8"})
    start = time.monotonic()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            kind = response.headers.get_content_type() if response.headers.get(
                "Content-Type") else ""
            if not (kind.startswith("image/") or kind in UNTYPED) or kind == "image/svg+xml":
                raise _Refused(f"not an image (content type {kind})")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise _Refused(f"too large ({int(length):,} bytes > {max_bytes:,})")
            chunks, total = [], 0
            while chunk := response.read1(CHUNK):
                chunks.append(chunk)
                total += len(chunk)
                if total > max_bytes:
                    raise _Refused(f"too large (more than {max_bytes:,} bytes)")
                if time.monotonic() - start > timeout:
                    raise _Temporary(f"timed out after {timeout:g} s")
            if length and length.isdigit() and total < int(length):
                raise _Temporary(f"IncompleteRead: connection closed after {total:,} of "
                                 f"{int(length):,} bytes")
    except urllib.error.HTTPError as err:
        if err.code == 429 or err.code >= 500:
            raise _Temporary(f"HTTP {err.code} {err.reason}") from None
        raise _Refused(f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError):
            raise _Temporary(f"timed out after {timeout:g} s") from None
        if isinstance(err.reason, socket.gaierror):
            raise _Refused(f"unknown host ({err.reason})") from None
        raise _Temporary(f"cannot connect: {err.reason}") from None
    except TimeoutError:
        raise _Temporary(f"timed out after {timeout:g} s") from None
    except (ConnectionError, HTTPException, OSError) as err:
        raise _Temporary(f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
                         ) from None
    content = b"".join(chunks)
    if len(content) < min_bytes:
        raise _Refused(f"too small ({len(content)} bytes)")
    ext = sniff_extension(content[:16])
    if ext is None:
        raise _Refused(f"content is not a known image format (type {kind or 'missing'}, "
                       f"starts with {content[:8]!r})")
    return content, ext


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to a hidden temporary file beside ``path``, then rename it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download_one(index: int, url: str, dest: Path, timeout: float, retries: int,
                 backoff: float, min_bytes: int, max_bytes: int) -> Path | DownloadFailure:
    """Download ``url`` into ``dest/<index:08d><ext>``, retrying temporary failures."""
    reason = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            content, ext = fetch_image(url, timeout, min_bytes, max_bytes)
        except _Refused as err:
            return DownloadFailure(index, url, str(err))
        except _Temporary as err:
            reason = str(err)
            continue
        path = dest / f"{index:08d}{ext}"
        write_atomically(path, content)
        return path
    tries = f" (after {retries + 1} tries)" if retries else ""
    return DownloadFailure(index, url, reason + tries)


def download_images(urls_file: str | os.PathLike, dest: str | os.PathLike, max_pics: int = 200,
                    workers: int = 8, timeout: float = 10, retries: int = 2, *,
                    backoff: float = 0.5, min_bytes: int = 100,
                    max_bytes: int = 20_000_000) -> DownloadReport:
    """Download the first ``max_pics`` URLs of ``urls_file`` into ``dest``.

    Files are named by the URL's 0-based position in the list, with the extension of the
    format found in the content: ``dest/00000000.jpg``. A position that already has a file (an
    earlier run) is skipped, so running again only fetches what is missing.

    Args:
        urls_file: text file with one URL per line.
        dest: folder for the pictures (created if needed), e.g. ``bears/black``.
        max_pics: how many URLs of the list to try.
        workers: parallel downloads.
        timeout: seconds allowed for each attempt.
        retries: extra attempts after a temporary failure, waiting ``backoff·2^k`` seconds.
        backoff: the first wait between attempts.
        min_bytes, max_bytes: responses outside this size range are refused.

    Returns:
        a :class:`DownloadReport`; every URL without a picture is in ``failures`` with a reason.
    """
    for name, value, low in (("max_pics", max_pics, 1), ("workers", workers, 1),
                             ("retries", retries, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise SgdlabError(f"{name} must be an integer ≥ {low}, got {value!r}")
    if not timeout > 0:
        raise SgdlabError(f"timeout must be a positive number of seconds, got {timeout!r}")
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

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(download_one, index, url, dest, timeout, retries, backoff,
                               min_bytes, max_bytes) for index, url in todo]
        for future in tqdm(futures, desc=f"downloading into {dest}", unit="url", leave=False,
                           disable=None):
            result = future.result()
            if isinstance(result, DownloadFailure):
                report.failures.append(result)
            else:
                report.saved.append(result)
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
