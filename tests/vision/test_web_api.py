"""The web app's JSON API through Starlette's test client, on a tiny checkpoint (no server
process, no network: URL fetches go to a server on 127.0.0.1, or are refused before any
connection).

Oracles: :meth:`Predictor.predict` on the same file (the lecture's ``learn.predict``), the
issue's list of bad inputs with their statuses, and the socket layer (no connection is made
for a refused address).
"""

from __future__ import annotations

import io
import socket
import struct
import threading
import time
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from sgdlab.errors import SgdlabError
from sgdlab.vision.checkpoint import load_learner
from sgdlab.vision.web.app import make_app

from .web_helpers import CLASSES, encode, picture, write_tiny_checkpoint

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2; httpx is what the extra has
    warnings.filterwarnings("ignore", message=".*httpx.*")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    return load_learner(write_tiny_checkpoint(tmp_path_factory.mktemp("web") / "tiny.pth"))


def client_for(predictor, **options) -> TestClient:
    return TestClient(make_app(predictor, **options))


def assert_still_serving(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    small = encode(picture(size=(16, 16)))  # under every limit the tests set
    good = client.post("/api/predict", files={"file": ("ok.png", small)})
    assert good.status_code == 200 and good.json()["class"] in CLASSES


def answer_of(predictor, path: Path) -> dict:
    name, index, probs = predictor.predict(path)
    return {"class": name, "index": index,
            "probabilities": dict(zip(CLASSES, probs.tolist(), strict=True)),
            "arch": "resnet18", "classes": CLASSES, "size": 32}


# --- predictions -------------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "image_format"), [
    ("RGB", "JPEG"), ("RGBA", "PNG"), ("CMYK", "JPEG"), ("P", "GIF"), ("PA", "PNG"),
    ("L", "PNG"), ("I;16", "PNG")])
def test_predict_is_learn_predict_of_the_same_file(predictor, tmp_path, mode, image_format):
    path = tmp_path / f"photo.{image_format.lower()}"
    picture(mode, seed=3).save(path, format=image_format)
    with client_for(predictor) as client:
        response = client.post("/api/predict", files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 200, response.text
    answer = response.json()
    milliseconds = answer.pop("milliseconds")
    assert answer == answer_of(predictor, path)  # the same floats, to the last bit
    assert 0 < milliseconds < 60_000


def test_the_model_and_health_routes(predictor):
    with client_for(predictor, max_upload_bytes=1234, max_pixels=5678) as client:
        model = client.get("/api/model").json()
        assert client.get("/healthz").json() == {"status": "ok"}
        page = client.get("/")
    assert (model["arch"], model["classes"], model["size"]) == ("resnet18", CLASSES, 32)
    assert model["limits"]["max_upload_bytes"] == 1234 and model["limits"]["max_pixels"] == 5678
    assert model["device"] == "cpu" and model["pending"] == 0
    html = page.text
    assert page.headers["content-type"].startswith("text/html")
    for needed in ('id="file"', 'type="file"', 'id="url"', "dragover", "paste", 'id="bars"',
                   'name="viewport"', "/api/predict-url"):
        assert needed in html
    # self-contained: nothing is loaded from another site (no CDN), so it works offline
    for outside in ('src="http', "src='http", 'href="http', "@import", "url(http"):
        assert outside not in html


def crafted_png(width: int, height: int) -> bytes:
    """A real 1×1 PNG whose header claims ``width × height``: a decompression bomb's header."""
    data = bytearray(encode(Image.new("L", (1, 1))))
    ihdr = 8 + 4 + 4  # signature, chunk length, chunk type
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4:ihdr + 13])))
    return bytes(data)


JPEG = encode(Image.linear_gradient("L").convert("RGB").resize((120, 96)), "JPEG")
BAD_UPLOADS = {
    "no file at all": ({"json": {"photo": "bear.jpg"}}, 400, ["no file", "multipart",
                                                              "'file'"]),
    "another field": ({"files": {"photo": ("a.png", encode(picture()))}}, 400,
                      ["no file", "'file'"]),
    "an empty file": ({"files": {"file": ("bear.jpg", b"")}}, 400, ["bear.jpg is empty",
                                                                     "choose the photo again"]),
    "not an image": ({"files": {"file": ("notes.txt", b"grizzly, not a photo" * 10)}}, 415,
                     ["notes.txt is not a picture", "send a photo"]),
    "an svg": ({"files": {"file": ("bear.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")}},
               415, ["not a picture"]),
    "a truncated jpeg": ({"files": {"file": ("cut.jpg", JPEG[:len(JPEG) // 2])}}, 400,
                         ["cut.jpg is damaged or truncated", "again"]),
    "a decompression bomb": ({"files": {"file": ("bomb.png", crafted_png(20_000, 20_000))}},
                             413, ["(400 MP)", "limit is 40 MP",
                                   "scale the picture down"]),
    "over the size limit": ({"files": {"file": ("big.jpg", b"\xff\xd8\xff" + bytes(5000))}},
                            413, ["larger than the limit of 0.004 MB", "smaller photo"]),
    # beyond the room left for the multipart envelope: refused while the body is read
    "far over the size limit": ({"files": {"file": ("huge.jpg", bytes(100_000))}}, 413,
                                ["larger than the limit of 0.004 MB"]),
}


def test_every_bad_upload_is_a_json_error_and_the_server_goes_on(predictor):
    with client_for(predictor, max_upload_bytes=4000) as client:
        for what, (request, status, phrases) in BAD_UPLOADS.items():
            response = client.post("/api/predict", **request)
            assert response.status_code == status, (what, response.text)
            message = response.json()["error"]
            for phrase in phrases:
                assert phrase in message, (what, message)
            assert_still_serving(client)
        for method, path, status in (("GET", "/api/predict", 405), ("GET", "/nowhere", 404)):
            response = client.request(method, path)
            assert response.status_code == status
            assert "POST /api/predict" in response.json()["error"]
        assert_still_serving(client)


def test_a_picture_over_the_pixel_limit_is_refused_before_decoding(predictor, monkeypatch):
    def no_decoding(self, *args, **kwargs):
        raise AssertionError("the pixels were decoded")

    data = encode(picture())
    with client_for(predictor, max_pixels=1000) as client:
        monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
        response = client.post("/api/predict", files={"file": ("p.png", data)})
        monkeypatch.undo()
        assert response.status_code == 413, response.text
        assert "48 × 40 = 0.00192 MP" in response.json()["error"] and "limit is 0.001 MP" in \
            response.json()["error"]
        assert_still_serving(client)


class BlockingPredictor:
    """Answers like a Predictor, but each prediction waits until ``release`` is set."""

    classes, size, arch = CLASSES, 32, "fake"

    def __init__(self, real) -> None:
        self.real, self.release, self.started = real, threading.Event(), threading.Event()

    def predict(self, image):
        self.started.set()
        assert self.release.wait(30), "the test never released the prediction"
        return self.real.predict(image)


def test_a_full_queue_answers_503_and_the_event_loop_keeps_serving(predictor):
    slow = BlockingPredictor(predictor)
    with client_for(slow, max_queue=1) as client:
        first: dict = {}
        thread = threading.Thread(target=lambda: first.setdefault("r", client.post(
            "/api/predict", files={"file": ("a.png", encode(picture()))})))
        thread.start()
        try:
            assert slow.started.wait(30)
            # the prediction blocks its worker, not the server: it still answers
            assert client.get("/healthz").status_code == 200
            assert client.get("/api/model").json()["pending"] == 1
            busy = client.post("/api/predict", files={"file": ("b.png", encode(picture()))})
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
            assert "busy" in busy.json()["error"] and "try again in 1 s" in busy.json()["error"]
        finally:
            slow.release.set()
            thread.join(30)
        assert first["r"].status_code == 200
        assert client.get("/api/model").json()["pending"] == 0
        assert_still_serving(client)


def test_micro_batching_shares_a_forward_pass_and_a_bad_picture_fails_alone(predictor,
                                                                             tmp_path):
    paths = []
    for seed in range(3):
        paths.append(tmp_path / f"{seed}.png")
        picture(seed=seed).save(paths[-1])
    uploads = [(p.name, p.read_bytes()) for p in paths] + [("notes.txt", b"not a bear" * 20)]
    with client_for(predictor, batch_window_ms=300, max_batch=4) as client:
        answers: dict = {}
        threads = [threading.Thread(target=lambda u=u: answers.setdefault(u[0], client.post(
            "/api/predict", files={"file": u}))) for u in uploads]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert client.get("/api/model").json()["limits"]["max_batch"] == 4
        batches = client.app.state.inference.batches
    assert answers["notes.txt"].status_code == 415
    for path in paths:
        got = answers[path.name].json()
        expected = answer_of(predictor, path)
        assert (got["class"], got["index"]) == (expected["class"], expected["index"])
        assert got["probabilities"] == pytest.approx(expected["probabilities"], abs=1e-5)
    assert sum(batches) == 3 and max(batches) >= 2, batches  # shared, not one by one


def test_make_app_checks_what_it_is_given(predictor):
    with pytest.raises(SgdlabError, match="needs a Predictor.*load_learner"):
        make_app("models/bears.pth")
    with pytest.raises(SgdlabError, match="max_bytes.*whole number >= 1"):
        make_app(predictor, max_upload_bytes=0)
    with pytest.raises(SgdlabError, match="max-queue"):
        make_app(predictor, max_queue=0)


# --- /api/predict-url --------------------------------------------------------------------------

PUBLIC = "93.184.215.14"  # a public address; connections to it are sent to the local server


class PictureServer:
    """A web server on 127.0.0.1 with one route per kind of answer; counts requests."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.png = encode(picture(size=(16, 16), seed=5))
        routes = {"/bear.png": (200, "image/png", self.png),
                  "/page.html": (200, "text/html", b"<html><body>a bear</body></html>" * 9),
                  "/big.png": (200, "image/png", self.png + bytes(6000)),
                  "/to-bear": (302, "/bear.png", b""),
                  "/to-intranet": (302, "http://intranet.example/bear.png", b"")}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits[self.path] += 1
                if self.path == "/slow":
                    time.sleep(3)
                status, kind, body = routes.get(self.path, (404, "text/plain", b"gone"))
                self.send_response(status)
                self.send_header("Location" if status == 302 else "Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # /slow's client hangs up
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def site() -> Iterator[PictureServer]:
    server = PictureServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def fake_dns(monkeypatch, names: dict[str, str]) -> Counter:
    """Host names resolve to the given addresses; literal IPs resolve as usual (no lookup)."""
    real, asked = socket.getaddrinfo, Counter()

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            asked[host] += 1
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def watch_connections(monkeypatch, site: PictureServer | None = None) -> list:
    """Record every outgoing connection; only PUBLIC may connect (to ``site``, on 127.0.0.1)."""
    real, seen = socket.create_connection, []

    def create_connection(address, *args, **kwargs):
        seen.append(address[0])
        if site is None or address[0] != PUBLIC:
            raise AssertionError(f"a connection to {address} was attempted")
        return real(("127.0.0.1", site.port), *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return seen


REFUSED_BEFORE_CONNECTING = [
    ("ftp://bears.example/grizzly.jpg", "not an http(s) URL", "http:// or https://"),
    ("grizzly.jpg", "not an http(s) URL", "http:// or https://"),
    ("http://10.0.0.1/grizzly.jpg", "non-public address (10.0.0.1)", "--allow-private-urls"),
    ("http://127.0.0.1:9/grizzly.jpg", "non-public address (127.0.0.1)", "upload the file"),
    ("http://[::1]/grizzly.jpg", "non-public address (::1)", "--allow-private-urls"),
    ("http://169.254.169.254/latest/meta-data", "non-public address (169.254.169.254)",
     "--allow-private-urls"),
    ("http://intranet.example/grizzly.jpg", "intranet.example is at a non-public address "
     "(10.0.0.5)", "--allow-private-urls"),
]


def test_urls_refused_before_any_connection(predictor, monkeypatch):
    asked = fake_dns(monkeypatch, {"intranet.example": "10.0.0.5"})
    seen = watch_connections(monkeypatch)
    with client_for(predictor) as client:
        for url, reason, advice in REFUSED_BEFORE_CONNECTING:
            response = client.post("/api/predict-url", json={"url": url})
            assert response.status_code == 400, (url, response.text)
            assert reason in response.json()["error"] and advice in response.json()["error"]
        for body, phrase in ((b"not json", "not JSON"), (b'{"link": "x"}', "no URL given"),
                             (b'["http://x"]', "no URL given")):
            response = client.post("/api/predict-url", content=body)
            assert response.status_code == 400 and phrase in response.json()["error"]
            assert '{"url": "https://' in response.json()["error"]
        assert_still_serving(client)
    assert seen == [] and asked["intranet.example"] == 1


def test_a_redirect_to_a_private_host_is_checked_again(predictor, site, monkeypatch):
    asked = fake_dns(monkeypatch, {"public.example": PUBLIC, "intranet.example": "10.0.0.5"})
    seen = watch_connections(monkeypatch, site)
    with client_for(predictor) as client:
        response = client.post("/api/predict-url",
                               json={"url": "http://public.example/to-intranet"})
        assert response.status_code == 400
        assert "intranet.example is at a non-public address (10.0.0.5)" in \
            response.json()["error"]
        good = client.post("/api/predict-url", json={"url": "http://public.example/to-bear"})
        assert good.status_code == 200, good.text
    assert seen == [PUBLIC] * 3 and asked == {"public.example": 3, "intranet.example": 1}
    assert site.hits["/to-intranet"] == 1 and site.hits["/bear.png"] == 1


def test_predict_url_from_a_local_site(predictor, site, tmp_path):
    with client_for(predictor) as client:  # without --allow-private-urls: refused, not asked
        refused = client.post("/api/predict-url", json={"url": f"{site.base}/bear.png"})
        assert refused.status_code == 400 and "--allow-private-urls" in refused.json()["error"]
    assert site.hits["/bear.png"] == 0
    path = tmp_path / "bear.png"
    path.write_bytes(site.png)
    cases = [("/page.html", 415, "Copy image address"), ("/big.png", 413, "limit is 0.004 MB"),
             ("/missing.jpg", 400, "HTTP 404"), ("/slow", 504, "try again")]
    with client_for(predictor, allow_private_urls=True, max_upload_bytes=4000,
                    url_timeout=1.0) as client:
        for route in ("/bear.png", "/to-bear"):
            response = client.post("/api/predict-url", json={"url": site.base + route})
            assert response.status_code == 200, response.text
            answer = response.json()
            answer.pop("milliseconds")
            assert answer == answer_of(predictor, path)
        for route, status, advice in cases:
            response = client.post("/api/predict-url", json={"url": site.base + route})
            assert response.status_code == status, (route, response.text)
            assert advice in response.json()["error"], response.json()
        assert_still_serving(client)


def test_the_page_is_package_data_so_a_wheel_ships_it():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["sgdlab.vision.web"]
    folder = Path(__file__).parents[2] / "sgdlab" / "vision" / "web"
    assert any(folder.glob(pattern) for pattern in patterns)
    assert (folder / "page.html").is_file()
    assert io.StringIO((folder / "page.html").read_text()).readline().startswith("<!doctype")
