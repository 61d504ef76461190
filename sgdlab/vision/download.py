"""Download the pictures of a URL list (one URL per line) into a folder, safely.

What a web image search gives you is messy: dead links, slow servers, HTML pages behind image
links, gigantic files, the odd malformed address. ``download_images`` tries every URL in a
thread pool (each attempt as :func:`sgdlab.vision.fetch.fetch_image` makes it: bounded by
``timeout``, public addresses only, images only) and promises:

* **one URL, one verdict**: a URL that is malformed, refused or fails is reported with its
  reason and the run goes on; failures that may be temporary (time-outs, connection errors,
  HTTP 429 and 5xx) are retried with exponential back-off ``backoff·2^k``;
* **only whole pictures**: files are named by the URL's position in the list
  (``00000000.jpg``, ``00000001.png``...), never by the URL, and written atomically
  (:mod:`sgdlab.files`, mode ``0644`` under the usual umask), so an interrupted download never
  leaves half a picture; a full disk stops the run with a clear error and keeps what was saved;
* **a prompt Ctrl-C**: every connection is cut at once and nothing more is written.

Afterwards, :func:`sgdlab.vision.clean.verify_images` decodes every file to catch the rest.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sgdlab.checks import check_number, check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.files import WriteError, remove_stale_temporaries, write_bytes
from sgdlab.vision.addresses import WebAddress, is_public_address, parse_url
from sgdlab.vision.fetch import (
    USER_AGENT,
    Refused,
    Session,
    Stopped,
    TryAgain,
    fetch_image,
    sniff_extension,
)

__all__ = [
    "USER_AGENT", "DownloadFailure", "DownloadReport", "WebAddress", "download_images",
    "download_one", "fetch_image", "format_report", "is_public_address", "parse_url",
    "read_urls", "sniff_extension",
]


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


def read_urls(urls_file: str | os.PathLike) -> list[str]:
    """The URLs of a list file: one per line; blank lines and ``#`` comments skipped."""
    path = Path(urls_file)
    if not path.is_file():
        raise SgdlabError(f"URL list {path} not found; save the image search's links there, "
                          f"one per line")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [u.strip() for u in lines if u.strip() and not u.strip().startswith("#")]


# ------------------------------------------------------------------------------ the run

def download_one(index: int, url: str, dest: Path, timeout: float, retries: int,
                 backoff: float, min_bytes: int, max_bytes: int, *,
                 allow_private: bool = False,
                 session: Session | None = None) -> Path | DownloadFailure:
    """Download ``url`` into ``dest/<index:08d><ext>``, retrying temporary failures.

    Any other exception for this URL becomes its failure too: one bad URL never ends the run.
    Only a write failure (disk full...) and Ctrl-C stop the run.
    """
    session = session if session is not None else Session()
    reason = ""
    for attempt in range(retries + 1):
        if attempt and session.stopped.wait(backoff * 2 ** (attempt - 1)):
            raise Stopped
        if session.stopped.is_set():
            raise Stopped
        try:
            content, ext = fetch_image(url, timeout, min_bytes, max_bytes,
                                       allow_private=allow_private, session=session)
        except Refused as err:
            return DownloadFailure(index, url, str(err))
        except TryAgain as err:
            reason = str(err)
            continue
        except (Stopped, SgdlabError):
            raise
        except Exception as err:  # noqa: BLE001 (a bug for one URL must not end the run)
            return DownloadFailure(index, url, f"unexpected {type(err).__name__}: {err}")
        if session.stopped.is_set():
            raise Stopped
        path = dest / f"{index:08d}{ext}"
        remove_stale_temporaries(dest / f"{index:08d}")  # older sgdlab named them .STEM.*.tmp
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

    from sgdlab.progress import progress_bar

    session = Session()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sgdlab-download")
    try:
        futures = [pool.submit(download_one, index, url, dest, timeout, retries, backoff,
                               min_bytes, max_bytes, allow_private=allow_private, session=session)
                   for index, url in todo]
        # leave=True: in a log, a line per tenth of the URLs (a terminal's bar stays too)
        for future in progress_bar(futures, desc=f"downloading into {dest}", unit="url"):
            result = future.result()
            if isinstance(result, DownloadFailure):
                report.failures.append(result)
            else:
                report.saved.append(result)
    except WriteError as err:
        session.stop()
        pool.shutdown(wait=True, cancel_futures=True)
        raise SgdlabError(f"{err}; the {len(report.saved) + len(report.existing)} picture(s) "
                          f"already in {dest} are kept, and the same command fetches the rest"
                          ) from err
    except BaseException:
        session.stop()  # Ctrl-C: wake every thread now; none writes a file after this
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
