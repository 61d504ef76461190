"""``sgdlab bears serve`` as a real process (uvicorn on 127.0.0.1 at a free port), asked over
HTTP and through its page in headless Chromium.

One server serves both tests: a tiny checkpoint, and an upload limit of 0.02 MB, so that a
30 KB picture is "oversized" while the bear photos (5–7 KB) are not. Oracles: the checkpoint's
:class:`Predictor` in this process, and ``/api/predict``'s own JSON for what the page shows.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from browser import chromium_page
from servers import PYTHON, server_process

from sgdlab.vision.checkpoint import load_learner

from .web_helpers import CLASSES, encode, picture, write_tiny_checkpoint

REPO = Path(__file__).resolve().parents[2]
LIMIT_MB = 0.02


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``(base URL, the same model loaded here)`` of a running ``sgdlab bears serve``."""
    model = write_tiny_checkpoint(tmp_path_factory.mktemp("served") / "tiny.pth")
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    command = [PYTHON, "-m", "sgdlab.cli", "bears", "serve", "--model", str(model),
               "--port", "{port}", "--max-upload-mb", str(LIMIT_MB)]
    with server_process(command, env={"PYTHONPATH": path}) as base:
        yield base, load_learner(model)


def bear_photo(bears_dir: Path) -> Path:
    """The first grizzly photo under the server's upload limit."""
    return next(p for p in sorted((bears_dir / "grizzly").iterdir())
                if p.suffix == ".jpg" and p.stat().st_size < LIMIT_MB * 1e6 / 2)


def test_the_real_server_answers_like_the_model(served, bears_dir):
    base, predictor = served
    photo = bear_photo(bears_dir)
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        model = client.get("/api/model").json()
        assert (model["arch"], model["classes"], model["size"]) == ("resnet18", CLASSES, 32)
        assert model["limits"]["max_upload_bytes"] == LIMIT_MB * 1e6
        answer = client.post("/api/predict", files={"file": (photo.name, photo.read_bytes())})
        name, index, probs = predictor.predict(photo)
        assert answer.status_code == 200
        assert (answer.json()["class"], answer.json()["index"]) == (name, index)
        assert answer.json()["probabilities"] == dict(zip(CLASSES, probs.tolist(), strict=True))
        broken = client.post("/api/predict", files={"file": ("bear.jpg", b"not a bear")})
        assert broken.status_code == 415 and "not a picture" in broken.json()["error"]
        assert client.get("/healthz").status_code == 200  # still serving


def wait_for_state(driver, state: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while driver.execute_script("return document.body.dataset.state") != state:
        if time.monotonic() > deadline:
            shown = driver.execute_script("return document.body.innerText")
            raise AssertionError(f"the page never reached {state!r}; it shows:\n{shown}")
        time.sleep(0.05)


def test_the_page_shows_the_apis_answer_and_the_size_error(served, bears_dir, tmp_path):
    base, _ = served
    photo = bear_photo(bears_dir)
    big = tmp_path / "big.png"
    big.write_bytes(encode(picture(size=(110, 100), seed=7)))  # random pixels: about 33 KB
    assert big.stat().st_size > LIMIT_MB * 1e6
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
        expected = client.post("/api/predict", files={"file": (photo.name, photo.read_bytes())}
                               ).json()
    with chromium_page(width=375, height=800) as driver:  # a phone's width
        from selenium.webdriver.common.by import By

        driver.get(base + "/")
        chooser = driver.find_element(By.ID, "file")
        chooser.send_keys(str(photo))
        wait_for_state(driver, "done")
        assert driver.find_element(By.ID, "prediction").text == expected["class"]
        bars = driver.find_elements(By.CSS_SELECTOR, "#bars .bar")
        shown = {bar.get_attribute("data-class"): float(bar.get_attribute("data-probability"))
                 for bar in bars}
        assert shown == expected["probabilities"]
        for bar in bars:  # each bar says its probability in words, to one decimal
            p = expected["probabilities"][bar.get_attribute("data-class")]
            assert bar.text.split()[-1] == f"{100 * p:.1f}%"
        assert "the prediction took" in driver.find_element(By.ID, "timing").text
        assert driver.find_element(By.ID, "photo").get_attribute("src").startswith("blob:")
        assert "resnet18 at 32 px" in driver.find_element(By.ID, "model").text
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, "the page is wider than a phone's screen"

        chooser.send_keys(str(big))
        wait_for_state(driver, "error")
        error = driver.find_element(By.ID, "error")
        assert error.is_displayed()
        assert "larger than the limit of 0.02 MB" in error.text and "smaller photo" in error.text
        assert not driver.find_element(By.ID, "result").is_displayed()
