"""download_images and fetch_image against a local web server on 127.0.0.1 (no internet;
the addresses of other hosts are faked, and their connections sent to the local server)."""

from __future__ import annotations

import errno
import io
import math
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
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

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.stop = threading.Event()  # ends the slow routes when the test is over
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
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.base = f"http{'s' if tls else ''}://127.0.0.1:{self.httpd.server_address[1]}"
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

        stop = self.stop

        def drip_headers(h, _):
            head = (b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                    + b"X-Slow: " + b"z" * 200 + b"\r\n\r\n")
            for i in range(len(head)):  # one byte every 0.3 s, 80 s at most
                if stop.wait(0.3):
                    return
                h.wfile.write(head[i:i + 1])
                h.wfile.flush()

        def stall(h, _):
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(len(JPEG)))
            h.end_headers()
            h.wfile.write(JPEG[:10])
            h.wfile.flush()
            stop.wait(20)  # then the rest never comes

        return {
            "/caf%C3%A9.jpg": lambda h, _: send(h, JPEG, "image/jpeg"),
            "/drip-headers.jpg": drip_headers,
            "/stall.jpg": stall,
            "/loop": redirect("/loop"),
            "/to-intranet": redirect("http://intranet.example/bear.jpg"),
            "/to-public": redirect("http://public.example/good.jpg"),
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
        self.stop.set()
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


FAST = {"timeout": 0.4, "backoff": 0.0, "workers": 8, "allow_private": True}


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
                11: "redirect to a non-web address", 12: "HTTP 503", 13: "timed out",
                14: "timed out", 15: "IncompleteRead", 16: "too large (1,000,000,000,000 bytes",
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
    for options in ({"max_pics": 0}, {"workers": 0}, {"retries": -1}, {"timeout": 0},
                    {"timeout": -2}, {"timeout": math.nan}, {"timeout": math.inf},
                    {"timeout": True}, {"timeout": "2"}, {"backoff": math.inf},
                    {"workers": 2.0}):
        with pytest.raises(SgdlabError, match=list(options)[0]):
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


# --- one URL, one verdict ---------------------------------------------------------------------

def test_malformed_urls_fail_alone_and_non_ascii_paths_are_encoded(server: Server,
                                                                  tmp_path: Path) -> None:
    urls = [f"{server.base}/café.jpg",                      # encoded: /caf%C3%A9.jpg
            "http://[::1/x.jpg",                            # a broken IPv6 literal
            f"http://{'a' * 70}.invalid/bear.jpg",          # a host label over 63 characters
            "http://bears.invalid:99999/x.jpg",             # no such port
            "http:///x.jpg",                                # no host
            f"{server.base}/good.jpg"]
    report = download_images(write_urls(tmp_path / "urls.txt", urls), tmp_path / "out",
                             retries=0, **FAST)
    assert [p.name for p in report.saved] == ["00000000.jpg", "00000005.jpg"]
    assert server.hits["/caf%C3%A9.jpg"] == 1
    reasons = {f.index: f.reason for f in report.failures}
    assert sorted(reasons) == [1, 2, 3, 4]
    assert all(reason.startswith("malformed URL") for reason in reasons.values()), reasons
    assert "70 characters, at most 63" in reasons[2]


def test_parse_url_encodes_what_can_be_encoded() -> None:
    from sgdlab.vision.addresses import parse_url

    assert parse_url("http://example.com/café.jpg").target == "/caf%C3%A9.jpg"
    assert parse_url("http://example.com/a b.jpg?q=ours bär").target == \
        "/a%20b.jpg?q=ours%20b%C3%A4r"
    assert parse_url("http://example.com/caf%C3%A9.jpg").target == "/caf%C3%A9.jpg"  # kept
    assert parse_url("https://Bär.example/x.jpg").host == "xn--br-via.example"
    address = parse_url("http://[::1]:8080/x.jpg")
    assert (address.host, address.port, address.url) == ("::1", 8080, "http://[::1]:8080/x.jpg")
    assert parse_url("https://example.com").url == "https://example.com/"


def test_an_unexpected_error_for_one_url_is_that_urls_failure(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sgdlab.vision import fetch

    real = fetch.parse_url

    def buggy(url: str):
        if url.endswith("/picture"):
            raise RuntimeError("a bug")
        return real(url)

    monkeypatch.setattr(fetch, "parse_url", buggy)
    urls = write_urls(tmp_path / "urls.txt", [f"{server.base}/picture", f"{server.base}/good.jpg"])
    report = download_images(urls, tmp_path / "out", retries=0, **FAST)
    assert [p.name for p in report.saved] == ["00000001.jpg"]
    assert report.failures[0].reason == "unexpected RuntimeError: a bug"


def test_too_many_redirects(server: Server, tmp_path: Path) -> None:
    report = download_images(write_urls(tmp_path / "urls.txt", [f"{server.base}/loop"]),
                             tmp_path / "out", retries=0, **FAST)
    assert "too many redirects" in report.failures[0].reason
    assert server.hits["/loop"] == 6


# --- a bounded attempt, a prompt Ctrl-C ------------------------------------------------------

def test_timeout_bounds_a_server_that_drips_its_headers(server: Server, tmp_path: Path) -> None:
    urls = write_urls(tmp_path / "urls.txt", [f"{server.base}/drip-headers.jpg"])
    start = time.monotonic()
    report = download_images(urls, tmp_path / "out", retries=0, timeout=2, workers=1,
                             allow_private=True)
    took = time.monotonic() - start
    print(f"drip-fed headers at timeout 2: {took:.2f} s")
    assert "timed out after 2 s" in report.failures[0].reason
    assert 1.9 <= took <= 2.8
    assert list((tmp_path / "out").iterdir()) == []


def test_ctrl_c_stops_every_download_at_once_and_leaves_no_file(server: Server,
                                                                tmp_path: Path) -> None:
    urls = write_urls(tmp_path / "urls.txt", [f"{server.base}/stall.jpg"] * 4
                      + [f"{server.base}/drip-headers.jpg"] * 4)
    main = threading.main_thread().ident
    timer = threading.Timer(0.8, signal.pthread_kill, args=(main, signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            download_images(urls, tmp_path / "out", retries=2, timeout=30, workers=4,
                            allow_private=True)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 2.0
    deadline = time.monotonic() + 2.0
    while any(t.name.startswith("sgdlab-download") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "download threads still running after Ctrl-C"
        time.sleep(0.05)
    assert list((tmp_path / "out").iterdir()) == []  # no picture, no temporary


# --- only the public web ---------------------------------------------------------------------

REAL_GETADDRINFO = socket.getaddrinfo


def fake_dns(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> Counter[str]:
    """Answer DNS questions for ``names`` (a list: one answer per question, the last repeats);
    numeric addresses are answered as usual. Returns how often each name was asked."""
    asked: Counter[str] = Counter()

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        asked[host] += 1
        answers = names[host]
        address = answers[min(asked[host], len(answers)) - 1]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.mark.parametrize("address", ["10.0.0.5", "127.0.0.1", "192.168.1.20", "172.16.0.1",
                                     "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.251",
                                     "239.255.255.250", "240.0.0.1", "255.255.255.255", "::1",
                                     "fe80::1", "fc00::1", "::", "ff02::1", "::ffff:10.0.0.5",
                                     "64:ff9b::a00:5", "2002:a00:5::1"])
def test_a_host_at_a_non_public_address_is_refused_before_connecting(
        address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_dns(monkeypatch, {"bears.example": [address]})
    no_connections(monkeypatch)
    urls = write_urls(tmp_path / "urls.txt", ["http://bears.example/grizzly.jpg"])
    report = download_images(urls, tmp_path / "out", retries=2, timeout=2, backoff=0.0)
    (failure,) = report.failures
    assert f"non-public address ({address})" in failure.reason and "--allow-private" in \
        failure.reason
    assert "tries" not in failure.reason and asked["bears.example"] == 1  # not retried


def test_a_local_server_needs_allow_private(server: Server, tmp_path: Path) -> None:
    urls = write_urls(tmp_path / "urls.txt", [f"{server.base}/good.jpg"])
    refused = download_images(urls, tmp_path / "out", retries=0, timeout=2)
    assert "non-public address (127.0.0.1)" in refused.failures[0].reason
    assert server.hits["/good.jpg"] == 0
    allowed = download_images(urls, tmp_path / "out", retries=0, timeout=2, allow_private=True)
    assert [p.name for p in allowed.saved] == ["00000000.jpg"]


PUBLIC = "93.184.215.14"  # a public address; its connections are sent to the local server


def connections_to_the_server(server: Server, monkeypatch: pytest.MonkeyPatch) -> list:
    """Connect PUBLIC to the test server (no traffic leaves the machine); any other address
    fails the test. Returns the addresses connected to."""
    real, port, seen = socket.create_connection, server.httpd.server_address[1], []

    def create_connection(address, *args, **kwargs):
        seen.append(address[0])
        assert address[0] == PUBLIC, f"connection to {address}"
        return real(("127.0.0.1", port), *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return seen


def test_every_redirect_is_checked_again(server: Server, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_dns(monkeypatch, {"public.example": [PUBLIC],
                                   "intranet.example": ["10.0.0.5"]})
    seen = connections_to_the_server(server, monkeypatch)
    urls = write_urls(tmp_path / "urls.txt", ["http://public.example/to-intranet",
                                              "http://public.example/to-public"])
    report = download_images(urls, tmp_path / "out", retries=0, timeout=5, workers=1)
    assert "intranet.example is at a non-public address (10.0.0.5)" in report.failures[0].reason
    assert [p.name for p in report.saved] == ["00000001.jpg"]
    assert server.hits["/to-intranet"] == 1 and server.hits["/good.jpg"] == 1
    assert asked == {"public.example": 3, "intranet.example": 1}  # once per hop
    assert seen == [PUBLIC] * 3


def test_the_connection_goes_to_the_address_that_was_checked(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # DNS rebinding: the first answer is public, any later one private
    asked = fake_dns(monkeypatch, {"rebind.example": [PUBLIC, "10.0.0.5"]})
    seen = connections_to_the_server(server, monkeypatch)
    urls = write_urls(tmp_path / "urls.txt", ["http://rebind.example/good.jpg"])
    report = download_images(urls, tmp_path / "out", retries=0, timeout=5)
    assert [p.name for p in report.saved] == ["00000000.jpg"]
    assert asked["rebind.example"] == 1 and seen == [PUBLIC]


def test_is_public_address() -> None:
    from sgdlab.vision.addresses import is_public_address

    assert is_public_address("93.184.215.14") and is_public_address("2606:4700::1111")
    for address in ("10.1.2.3", "::ffff:192.168.0.1", "fe80::1%eth0", "198.18.0.1"):
        assert not is_public_address(address), address


# --- files: readable, complete -----------------------------------------------------------------

def test_downloads_are_readable_by_others(server: Server, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        report = download_images(write_urls(tmp_path / "urls.txt", [f"{server.base}/good.jpg"]),
                                 tmp_path / "out", retries=0, **FAST)
    finally:
        os.umask(old)
    assert stat.S_IMODE(report.saved[0].stat().st_mode) == 0o644


def test_a_full_disk_stops_the_run_and_keeps_what_was_saved(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sgdlab.files import atomic_path
    from sgdlab.vision import download

    real, written = download.write_bytes, []

    def fill_up(path, content):
        if written:
            with atomic_path(path) as tmp:  # half a picture, then the disk is full
                tmp.write_bytes(content[:50])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(path)
        return real(path, content)

    monkeypatch.setattr(download, "write_bytes", fill_up)
    urls = write_urls(tmp_path / "urls.txt", [f"{server.base}/good.jpg",
                                              f"{server.base}/picture", f"{server.base}/octet"])
    with pytest.raises(SgdlabError, match=r"(?s)00000001\.png.*No space left.*the 1 picture\(s\) "
                                          r"already in .* are kept"):
        download_images(urls, tmp_path / "out", retries=0, **(FAST | {"workers": 1}))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00000000.jpg"]


def test_the_cli_takes_allow_private_and_refuses_a_bad_timeout(server: Server, tmp_path: Path,
                                                              capsys) -> None:
    from sgdlab import cli

    urls = write_urls(tmp_path / "urls.txt", [f"{server.base}/good.jpg"])
    assert cli.main(["bears", "download", str(urls), str(tmp_path / "a"), "--timeout", "2"]) == 1
    assert "non-public address" in capsys.readouterr().out
    assert cli.main(["bears", "download", str(urls), str(tmp_path / "b"), "--timeout", "2",
                     "--allow-private"]) == 0
    assert (tmp_path / "b" / "00000000.jpg").exists()
    for bad in ("nan", "inf", "0", "-1"):
        assert cli.main(["bears", "download", str(urls), str(tmp_path / "c"), "--timeout",
                         bad]) == 2
        assert "timeout must be a positive number" in capsys.readouterr().err


# --- https: the same promises through TLS ------------------------------------------------------

@pytest.fixture
def tls_server(tmp_path_factory) -> Iterator[tuple[Server, Path]]:
    """A local https server whose self-signed certificate names ``bears.example``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=bears.example", "-addext",
                    "subjectAltName=DNS:bears.example"], check=True, capture_output=True,
                   timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    s = Server(tls=context)
    yield s, cert
    s.close()


def test_https_checks_the_name_on_the_pinned_connection_and_keeps_the_deadline(
        tls_server: tuple[Server, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sgdlab.vision import fetch

    server, cert = tls_server
    fake_dns(monkeypatch, {"bears.example": [PUBLIC]})
    seen = connections_to_the_server(server, monkeypatch)
    urls = write_urls(tmp_path / "urls.txt", ["https://bears.example/good.jpg"])
    untrusted = download_images(urls, tmp_path / "a", retries=2, timeout=5, backoff=0.0)
    assert "certificate is not valid" in untrusted.failures[0].reason
    assert "tries" not in untrusted.failures[0].reason  # not retried

    monkeypatch.setattr(fetch, "_TLS", ssl.create_default_context(cafile=str(cert)))
    trusted = download_images(urls, tmp_path / "b", retries=0, timeout=5)
    assert [p.read_bytes() for p in trusted.saved] == [JPEG]  # SNI and the check: bears.example
    assert server.hits["/good.jpg"] == 1 and set(seen) == {PUBLIC}

    drip = write_urls(tmp_path / "drip.txt", ["https://bears.example/drip-headers.jpg"])
    start = time.monotonic()
    report = download_images(drip, tmp_path / "c", retries=0, timeout=1.5)
    assert "timed out after 1.5 s" in report.failures[0].reason
    assert time.monotonic() - start < 2.3
