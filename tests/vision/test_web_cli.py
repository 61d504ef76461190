"""``sgdlab bears serve`` and :mod:`sgdlab.vision.serving` without starting a server: the
command's checks and messages, and what it hands to uvicorn (``uvicorn.run`` is replaced)."""

from __future__ import annotations

import warnings

import pytest

from sgdlab import cli
from sgdlab.errors import SgdlabError
from sgdlab.vision import serving

from .web_helpers import write_tiny_checkpoint

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2; httpx is what the extra has
    warnings.filterwarnings("ignore", message=".*httpx.*")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return write_tiny_checkpoint(tmp_path_factory.mktemp("serve") / "tiny.pth")


@pytest.fixture
def uvicorn_runs(monkeypatch) -> list:
    """Replace ``uvicorn.run``: record ``(app, options)`` instead of serving."""
    import uvicorn

    calls: list = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    return calls


def test_serve_loads_the_model_once_and_hands_the_limits_to_the_app(tiny_model, uvicorn_runs,
                                                                    capsys):
    model = tiny_model
    assert cli.main(["bears", "serve", "--model", str(model), "--port", "8123",
                     "--max-upload-mb", "0.5", "--max-megapixels", "2", "--max-queue", "3",
                     "--url-timeout", "2.5"]) == 0
    (app, options), = uvicorn_runs
    assert (options["host"], options["port"]) == ("127.0.0.1", 8123)
    out = capsys.readouterr().out
    assert "open http://127.0.0.1:8123/ in a browser" in out
    assert f"loaded {model} (resnet18, 32 px, classes black, grizzly, teddys)" in out
    with TestClient(app) as client:
        limits = client.get("/api/model").json()["limits"]
    assert limits == {"max_upload_bytes": 500_000, "max_pixels": 2_000_000, "max_queue": 3,
                      "workers": 1, "max_downloads": 4, "url_timeout_s": 2.5,
                      "allow_private_urls": False, "batch_window_ms": 0.0, "max_batch": 1}


def test_serve_on_every_network_says_so(tiny_model, uvicorn_runs, capsys):
    model = tiny_model
    assert cli.main(["bears", "serve", "--model", str(model), "--host", "0.0.0.0",
                     "--allow-private-urls"]) == 0
    (app, options), = uvicorn_runs
    assert options["host"] == "0.0.0.0" and options["port"] == 8000
    out = capsys.readouterr().out
    assert "open http://127.0.0.1:8000/" in out and "other machines on the network" in out
    assert "--allow-private-urls" in out


@pytest.mark.parametrize(("write", "phrase"), [
    (None, "not found"),
    (b"these are not weights", "not a PyTorch file or it is damaged"),
])
def test_a_missing_or_foreign_model_stops_with_the_checkpoint_message(tmp_path, uvicorn_runs,
                                                                      capsys, write, phrase):
    model = tmp_path / "bears.pth"
    if write is not None:
        model.write_bytes(write)
    assert cli.main(["bears", "serve", "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert phrase in err and "sgdlab bears train" in err
    assert uvicorn_runs == []


@pytest.mark.parametrize(("option", "value", "phrase"), [
    ("--max-upload-mb", "0", "--max-upload-mb must be a positive number"),
    ("--max-megapixels", "-1", "--max-megapixels must be a positive number"),
    ("--max-queue", "0", "--max-queue must be a whole number >= 1"),
    ("--url-timeout", "0", "--url-timeout must be a positive number"),
    ("--host", "my-laptop", "--host 'my-laptop' is not an IP address"),
    ("--port", "0", "--port must be a whole number >= 1"),
])
def test_bad_options_are_refused_before_the_model_is_loaded(tmp_path, uvicorn_runs, capsys,
                                                            option, value, phrase):
    missing = tmp_path / "never-read.pth"  # an option error comes first
    assert cli.main(["bears", "serve", "--model", str(missing), option, value]) == 2
    assert phrase in capsys.readouterr().err and uvicorn_runs == []


def test_check_host_and_page_url():
    assert serving.check_host("127.0.0.1") == "127.0.0.1"
    assert serving.check_host("localhost") == "localhost"
    assert serving.check_host("::1") == "::1"
    for bad in ("", None, "bears.example", "300.1.1.1"):
        with pytest.raises(SgdlabError, match="--host"):
            serving.check_host(bad)
    assert serving.page_url("0.0.0.0", 80) == "http://127.0.0.1:80/"
    assert serving.page_url("::1", 8000) == "http://[::1]:8000/"
    assert serving.page_url("::", 8000) == "http://127.0.0.1:8000/"


def test_serve_refuses_a_port_out_of_range(uvicorn_runs):
    with pytest.raises(SgdlabError, match="at most 65535"):
        serving.serve(object(), port=70000)
    assert uvicorn_runs == []


def test_a_missing_web_extra_says_what_to_install(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name in (
        "uvicorn", "python_multipart", "multipart") else real_find_spec(name, *args))
    with pytest.raises(serving.WebExtraMissingError,
                       match=r"needs uvicorn, python-multipart, .*pip install -e '\.\[web\]'"):
        serving.require_web_extra()
    monkeypatch.undo()
    serving.require_web_extra()  # everything is installed here
