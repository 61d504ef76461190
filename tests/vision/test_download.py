"""download_images against a local web server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sgdlab.errors import SgdlabError
from sgdlab.vision.download import download_images, format_report, sniff_extension


def picture_bytes(image_format: str, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format)
    return buffer.getvalue()


JPEG, PNG = picture_bytes("JPEG"), picture_bytes("PNG", seed=1)
HTML = b"<!doctype html><html><body>" + b"Sorry, this picture is gone. " * 20 + b"</body></html>"


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64  # room for every parallel download to connect at once


class Server:
    """A tiny web server with one route per kind of trouble; counts requests per path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.user_agents: list[str] = []
        routes = self.routes()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits[self.path] += 1
                server.user_agents.append(self.headers.get("User-Agent", ""))
                route = routes.get(self.path)
                try:
                    if route is None:
                        self.send_error(404, "Not Found")
                    else:
                        route(self, server.hits[self.path])
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, body: bytes, kind: str | None,
             length: int | None = None, status: int = 200) -> None:
        handler.send_response(status)
        if kind is not None:
            handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body) if length is None else length))
        handler.end_headers()
        handler.wfile.write(body)

    def routes(self) -> dict:
        send = self.send

        def redirect(to: str):
            def route(h, _):
                h.send_response(302)
                h.send_header("Location", to)
                h.send_header("Content-Length", "0")
                h.end_headers()
            return route

        def flaky(h, hit):
            if hit == 1:
                send(h, b"busy", "text/plain", status=503)
            else:
                send(h, PNG, "image/png")

        def slow(h, _):
            time.sleep(1.0)
            send(h, JPEG, "image/jpeg")

        def trickle(h, _):
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(len(JPEG)))
            h.end_headers()
            for i in range(len(JPEG)):
                h.wfile.write(JPEG[i:i + 1])
                h.wfile.flush()
                time.sleep(0.02)

        def cut(h, _):
            send(h, JPEG[:200], "image/jpeg", length=len(JPEG))
            h.close_connection = True

        return {
            "/good.jpg": lambda h, _: send(h, JPEG, "image/jpeg"),
            "/picture": lambda h, _: send(h, PNG, "image/png; charset=binary"),
            "/octet": lambda h, _: send(h, JPEG, "application/octet-stream"),
            "/page.html": lambda h, _: send(h, HTML, "text/html; charset=utf-8"),
            "/fake.jpg": lambda h, _: send(h, HTML, "image/jpeg"),
            "/vector.svg": lambda h, _: send(h, b"<svg>" + b" " * 200 + b"</svg>", "image/svg+xml"),
            "/empty.jpg": lambda h, _: send(h, b"", "image/jpeg"),
            "/huge.jpg": lambda h, _: send(h, JPEG * 40, "image/jpeg"),
            "/claims-huge.jpg": lambda h, _: send(h, JPEG, "image/jpeg", length=10**12),
            "/redirect": redirect("/good.jpg"),
            "/to-file": redirect("file:///etc/passwd"),
            "/to-ftp": redirect("ftp://127.0.0.1/bear.jpg"),
            "/flaky.png": flaky,
            "/always-busy": lambda h, _: send(h, b"busy", "text/plain", status=503),
            "/slow.jpg": slow,
            "/trickle.jpg": trickle,
            "/cut.jpg": cut,
        }

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def write_urls(path: Path, urls: list[str]) -> Path:
    path.write_text("# bears\n\n" + "\n".join(urls) + "\n")
    return path


FAST = {"timeout": 0.4, "backoff": 0.0, "workers": 8}


def test_good_bad_slow_and_broken_responses(server: Server, tmp_path: Path) -> None:
    paths = ["/good.jpg", "/picture", "/octet", "/redirect", "/flaky.png", "/page.html",
             "/fake.jpg", "/vector.svg", "/empty.jpg", "/huge.jpg", "/missing.jpg",
             "/to-file", "/always-busy", "/slow.jpg", "/trickle.jpg", "/cut.jpg",
             "/claims-huge.jpg", "/to-ftp"]
    urls = [server.base + p for p in paths] + ["ftp://127.0.0.1/bear.jpg"]
    dest = tmp_path / "bears" / "black"
    report = download_images(write_urls(tmp_path / "urls.txt", urls), dest, retries=1,
                             max_bytes=len(JPEG) * 10, **FAST)

    saved = {p.name: p.read_bytes() for p in report.saved}
    assert saved == {"00000000.jpg": JPEG, "00000001.png": PNG, "00000002.jpg": JPEG,
                     "00000003.jpg": JPEG, "00000004.png": PNG}
    assert sorted(p.name for p in dest.iterdir()) == sorted(saved)  # nothing half-written
    reasons = {f.index: f.reason for f in report.failures}
    assert len(report.failures) == len(urls) - 5 and report.n_urls == len(urls)
    assert {f.url for f in report.failures} == set(urls[5:])
    expected = {5: "not an image (content type text/html)", 6: "not a known image format",
                7: "image/svg+xml", 8: "too small", 9: "too large", 10: "HTTP 404",
                11: "HTTP 302", 12: "HTTP 503", 13: "timed out", 14: "timed out",
                15: "IncompleteRead", 16: "too large (1,000,000,000,000 bytes",
                17: "redirect to a non-web address", 18: "not an http(s) URL"}
    for index, words in expected.items():
        assert words in reasons[index], (index, reasons[index])
    assert "after 2 tries" in reasons[12] and "after 2 tries" in reasons[13]
    # temporary failures are retried once, permanent ones never
    assert server.hits["/flaky.png"] == 2 and server.hits["/always-busy"] == 2
    assert server.hits["/missing.jpg"] == 1 and server.hits["/page.html"] == 1
    assert all(agent.startswith("Mozilla/5.0") for agent in server.user_agents)


def test_max_pics_rerun_and_report(server: Server, tmp_path: Path) -> None:
    urls = write_urls(tmp_path / "urls.txt",
                      [f"{server.base}/good.jpg", f"{server.base}/missing.jpg",
                       f"{server.base}/picture", f"{server.base}/octet"])
    first = download_images(urls, tmp_path / "out", max_pics=3, retries=0, **FAST)
    assert [p.name for p in first.saved] == ["00000000.jpg", "00000002.png"]
    assert server.hits["/octet"] == 0
    second = download_images(urls, tmp_path / "out", max_pics=4, retries=0, **FAST)
    assert [p.name for p in second.existing] == ["00000000.jpg", "00000002.png"]
    assert [p.name for p in second.saved] == ["00000003.jpg"]
    assert server.hits["/good.jpg"] == 1 and server.hits["/missing.jpg"] == 2
    text = format_report(second)
    assert "1 picture(s) downloaded" in text and "2 already there" in text
    assert f"{server.base}/missing.jpg" in text and "HTTP 404" in text
    assert "verify_images" in text


def test_unknown_host_is_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)  # no DNS query leaves the test
    urls = write_urls(tmp_path / "urls.txt", ["http://no-such-host.invalid/bear.jpg"])
    report = download_images(urls, tmp_path / "out", retries=2, **FAST)
    assert "unknown host" in report.failures[0].reason
    assert "tries" not in report.failures[0].reason


def test_local_files_are_never_copied(tmp_path: Path) -> None:
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(JPEG)
    report = download_images(write_urls(tmp_path / "urls.txt", [secret.as_uri()]),
                             tmp_path / "out", **FAST)
    assert report.saved == [] and "not an http(s) URL" in report.failures[0].reason
    assert list((tmp_path / "out").iterdir()) == []


def test_bad_arguments_are_explained(tmp_path: Path) -> None:
    with pytest.raises(SgdlabError, match="not found"):
        download_images(tmp_path / "nope.txt", tmp_path / "out")
    empty = write_urls(tmp_path / "empty.txt", [])
    with pytest.raises(SgdlabError, match="no URLs"):
        download_images(empty, tmp_path / "out")
    urls = write_urls(tmp_path / "urls.txt", ["http://127.0.0.1:9/x.jpg"])
    for options in ({"max_pics": 0}, {"workers": 0}, {"retries": -1}, {"timeout": 0}):
        with pytest.raises(SgdlabError):
            download_images(urls, tmp_path / "out", **options)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(SgdlabError, match="is a file"):
        download_images(urls, tmp_path / "a-file")


@pytest.mark.parametrize("image_format, ext", [("JPEG", ".jpg"), ("PNG", ".png"), ("GIF", ".gif"),
                                               ("BMP", ".bmp"), ("WEBP", ".webp"),
                                               ("TIFF", ".tif")])
def test_sniff_extension_knows_the_formats(image_format: str, ext: str) -> None:
    assert sniff_extension(picture_bytes(image_format)[:16]) == ext


def test_sniff_extension_refuses_text() -> None:
    assert sniff_extension(HTML[:16]) is None
    assert sniff_extension(b"") is None
