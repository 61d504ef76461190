"""``sgdlab bears clean --model M --data D`` as a real process (uvicorn on 127.0.0.1 at a free
port), driven through its page in headless Chromium.

The data are a copy of the fake bears in ``tmp_path``, the model the cleaning tests' tiny
checkpoint. Oracles: a ``Cleaner`` in this process for the ranking, the journal on disk, and the
sha256 of every file of the data folder before the test and after Undo.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from browser import chromium_page
from servers import PYTHON, server_process

from sgdlab.vision.clean_journal import JOURNAL_NAME
from sgdlab.vision.cleaner import Cleaner

from .cleaning import fake_bears, learner, photos_hash

REPO = Path(__file__).resolve().parents[2]

pytest.importorskip("starlette")


def wait_until(driver, condition: str, timeout: float = 30.0) -> None:
    """Wait until the JavaScript expression ``condition`` is true on the page."""
    deadline = time.monotonic() + timeout
    while not driver.execute_script(f"return Boolean({condition})"):
        if time.monotonic() > deadline:
            shown = driver.execute_script("return document.body.innerText")
            raise AssertionError(f"the page never got to {condition}; it shows:\n{shown}")
        time.sleep(0.05)


def refreshes(driver) -> int:
    return int(driver.execute_script("return document.body.dataset.refreshes || 0"))


def settled_after(driver, count: int) -> None:
    """Wait for the grid to be drawn again after ``count`` drawings, with nothing in flight."""
    wait_until(driver, f"Number(document.body.dataset.refreshes || 0) > {count} && "
                       f"document.body.dataset.state === 'ready'")


def choose(driver, photo_id: int, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    count = refreshes(driver)
    menu = driver.find_element(By.CSS_SELECTOR, f".card[data-id='{photo_id}'] select.choice")
    Select(menu).select_by_value(value)
    settled_after(driver, count)


def click(driver, button: str) -> None:
    from selenium.webdriver.common.by import By

    count = refreshes(driver)
    driver.find_element(By.ID, button).click()
    settled_after(driver, count)


def test_flag_apply_and_undo_in_the_page(tmp_path, tiny_bears_model):
    bears = fake_bears(tmp_path / "bears")
    before = photos_hash(bears)
    ranked = Cleaner(learner(bears, tiny_bears_model), bears).rows()
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    command = [PYTHON, "-m", "sgdlab.cli", "bears", "clean", "--model", str(tiny_bears_model),
               "--data", str(bears), "--port", "{port}", "--device", "cpu"]
    with server_process(command, env={"PYTHONPATH": path}) as base, \
            chromium_page() as driver:
        from selenium.webdriver.common.by import By

        driver.get(base + "/")
        settled_after(driver, 0)
        cards = driver.find_elements(By.CSS_SELECTOR, ".card")
        assert [c.get_attribute("data-path") for c in cards] == [r.path for r in ranked[:12]]
        first = cards[0].text
        for shown in ("#1", ranked[0].path, f"label {ranked[0].label}", ranked[0].prediction,
                      f"p({ranked[0].label}) = {ranked[0].probability:.2f}",
                      f"loss {ranked[0].loss:.2f}"):
            assert shown in first
        assert "seen in training" in driver.find_element(By.ID, "note").text
        assert driver.find_element(By.ID, "page-label").text == "page 1 of 2"
        loaded = driver.execute_script(
            "return [...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert loaded, "a thumbnail did not load"

        deleted = [ranked[0].path, ranked[1].path]
        relabelled = ranked[2]
        new_class = next(c for c in ("black", "grizzly", "teddys") if c != relabelled.label)
        choose(driver, 0, "delete")
        choose(driver, 1, "delete")
        choose(driver, 2, f"relabel:{new_class}")
        lines = [json.loads(line) for line in (bears / JOURNAL_NAME).read_text().splitlines()]
        assert [(e["photo"], e["action"], e["label"]) for e in lines] == [
            (deleted[0], "delete", None), (deleted[1], "delete", None),
            (relabelled.path, "relabel", new_class)]
        assert "2 to delete, 1 to relabel" in driver.find_element(By.ID, "counts").text

        driver.refresh()                        # a reload shows the decisions from the journal
        settled_after(driver, 0)
        menus = driver.find_elements(By.CSS_SELECTOR, ".card select.choice")
        assert [m.get_attribute("value") for m in menus[:4]] == [
            "delete", "delete", f"relabel:{new_class}", "keep"]

        click(driver, "apply")
        after = photos_hash(bears)
        for photo in deleted:                   # in the quarantine, the same bytes
            assert photo not in after and after[f".quarantine/{photo}"] == before[photo]
        manifest = (bears / ".quarantine" / "manifest.csv").read_text()
        assert all(os.path.abspath(bears / photo) in manifest for photo in deleted)
        moves = [json.loads(line) for line in (bears / JOURNAL_NAME).read_text().splitlines()
                 if '"move"' in line]
        moved = next(m["to"] for m in moves if m["photo"] == relabelled.path)
        assert moved.startswith(f"{new_class}/{Path(relabelled.path).stem}")  # -1 on a clash
        assert relabelled.path not in after and after[moved] == before[relabelled.path]
        assert len(after) == len(before)
        assert "moved to .quarantine/" in driver.find_element(By.CSS_SELECTOR,
                                                              ".card[data-id='0']").text

        click(driver, "undo")
        assert photos_hash(bears) == before     # every file back, byte for byte
        assert "undone: 3 photo(s) put back" in driver.find_element(By.ID, "message").text
        assert driver.find_element(By.ID, "error").is_displayed() is False
