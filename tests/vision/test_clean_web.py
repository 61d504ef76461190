"""The cleaning page's JSON API, through Starlette's test client (no server, no browser).

Oracles: the cleaner's own ranking (a second ``Cleaner`` on the same folder and model), the
journal's lines on disk, every file's path and bytes (``photos_hash``), PIL for the thumbnails.
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from sgdlab.vision.clean_journal import JOURNAL_NAME
from sgdlab.vision.cleaner import SEEN_NOTE, Cleaner

from .cleaning import fake_bears, learner, photos_hash

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from sgdlab.vision.web.clean_app import make_clean_app  # noqa: E402


@pytest.fixture
def client(tmp_path, tiny_bears_model):
    """``(test client, data folder, learner)`` on a fresh folder of fake bears."""
    bears = fake_bears(tmp_path / "bears")
    learn = learner(bears, tiny_bears_model)
    with TestClient(make_clean_app(Cleaner(learn, bears), per_page=4)) as test_client:
        yield test_client, bears, learn


def journal(bears) -> list[dict]:
    path = bears / JOURNAL_NAME
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_pages_follow_the_ranking_and_the_filters(client):
    c, bears, learn = client
    ranked = Cleaner(learn, bears).rows()
    facts = c.get("/api/session").json()
    assert facts["classes"] == ["black", "grizzly", "teddys"] and facts["photos"] == 18
    assert facts["seen_note"] == SEEN_NOTE
    first = c.get("/api/photos").json()
    assert first["pages"] == 5 and first["page"] == 0
    assert [card["path"] for card in first["cards"]] == [r.path for r in ranked[:4]]
    assert [card["rank"] for card in first["cards"]] == [1, 2, 3, 4]
    for card, row in zip(first["cards"], ranked, strict=False):
        assert (card["label"], card["prediction"], card["split"]) == (row.label, row.prediction,
                                                                     row.split)
        assert card["loss"] == pytest.approx(row.loss) and card["choice"] == "keep"
    assert first["counts"]["text"].startswith("18 of 18 photos shown")
    last = c.get("/api/photos", params={"page": 99}).json()       # past the end: the last page
    assert last["page"] == 4 and [k["path"] for k in last["cards"]] == [r.path for r in
                                                                          ranked[16:]]
    valid = c.get("/api/photos", params={"split": "valid", "class": "all"}).json()
    assert valid["counts"]["shown"] == 4 and {k["split"] for k in valid["cards"]} == {"valid"}
    wrong = c.get("/api/photos", params={"which": "wrong", "class": "grizzly"}).json()
    expected = [r.path for r in ranked if r.wrong and r.label == "grizzly"]
    assert wrong["counts"]["shown"] == len(expected)
    assert [k["path"] for k in wrong["cards"]] == expected[:4]
    photo = c.get(f"/photo/{first['cards'][0]['id']}")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(photo.content)) as thumb:
        assert thumb.format == "JPEG"
    assert journal(bears) == []                                    # looking writes nothing


def test_choices_are_journalled_at_once_and_apply_undo_give_back_the_tree(client):
    c, bears, learn = client
    before = photos_hash(bears)
    cards = c.get("/api/photos").json()["cards"]
    a, b = cards[0], cards[1]
    other = next(k for k in ("black", "grizzly", "teddys") if k != b["label"])
    assert c.post(f"/api/photos/{a['id']}/choice", json={"choice": "delete"}).json() == {
        "id": a["id"], "photo": a["path"], "action": "delete", "label": None}
    assert journal(bears)[-1] == {"kind": "decision", "photo": a["path"], "action": "delete",
                                  "label": None}
    c.post(f"/api/photos/{b['id']}/choice", json={"choice": f"relabel:{other}"})
    assert journal(bears)[-1]["label"] == other
    shown = c.get("/api/photos").json()
    assert [k["choice"] for k in shown["cards"][:2]] == ["delete", f"relabel:{other}"]
    assert (shown["counts"]["delete"], shown["counts"]["relabel"]) == (1, 1)
    assert Cleaner(None, bears).pending.keys() == {a["path"], b["path"]}  # a restart sees them

    applied = c.post("/api/apply").json()
    assert applied["applied"] == 2 and not (bears / a["path"]).exists()
    moved = {m["photo"]: m["to"] for m in applied["moves"]}
    assert moved[a["path"]].startswith(".quarantine/") and (bears / moved[a["path"]]).exists()
    assert moved[b["path"]].startswith(f"{other}/") and (bears / moved[b["path"]]).exists()
    assert c.get(f"/photo/{a['id']}").status_code == 200           # still shown, from quarantine
    assert c.get("/api/photos").json()["cards"][0]["moved_to"] == moved[a["path"]]

    undone = c.post("/api/undo", json={"all": False}).json()
    assert undone["undone"] == 2 and photos_hash(bears) == before


def test_refused_requests_say_what_went_wrong(client):
    c, bears, _ = client
    cards = c.get("/api/photos").json()["cards"]
    photo = cards[0]

    def refused(response, status: int, *words: str) -> None:
        assert response.status_code == status, response.text
        message = response.json()["error"]
        for word in words:
            assert word in message, message

    refused(c.post("/api/photos/18/choice", json={"choice": "delete"}), 404, "no photo 18",
            "0 to 17")
    refused(c.get("/photo/99"), 404, "no photo 99")
    refused(c.get("/photo/-1"), 404)                                # not an id: no route
    refused(c.get("/photo/..%2F..%2Fetc%2Fpasswd"), 404)            # paths are never read
    refused(c.post(f"/api/photos/{photo['id']}/choice", json={"choice": "relabel:panda"}), 400,
            "'panda' is not a class", "black, grizzly, teddys")
    refused(c.post(f"/api/photos/{photo['id']}/choice",
                   json={"choice": f"relabel:{photo['label']}"}), 400, "already in class")
    refused(c.post(f"/api/photos/{photo['id']}/choice", json={"choice": "burn"}), 400,
            "action must be one of")
    refused(c.post(f"/api/photos/{photo['id']}/choice", json={"choice": 3}), 400,
            "relabel:CLASS")
    refused(c.post(f"/api/photos/{photo['id']}/choice", content=b"delete"), 400, "not JSON")
    refused(c.post(f"/api/photos/{photo['id']}/choice", json=["delete"]), 400, "JSON object")
    refused(c.post(f"/api/photos/{photo['id']}/choice", content=b"{" + b" " * 5000 + b"}"),
            413, "at most 4096 bytes")
    refused(c.get("/api/photos", params={"class": "panda"}), 400, "not a class")
    refused(c.get("/api/photos", params={"split": "test"}), 400, "split must be one of")
    refused(c.get("/api/photos", params={"page": "two"}), 400, "whole number")
    refused(c.get("/api/photos", params={"page": "-1"}), 400, "page")
    refused(c.post("/api/undo"), 409, "nothing to undo")
    refused(c.post("/api/undo", json={"all": "yes"}), 400, "true or false")
    refused(c.get("/api/apply"), 405, "GET is not allowed")
    refused(c.get("/nowhere"), 404, "nothing at /nowhere")
    assert journal(bears) == []                                     # nothing was recorded
    c.post(f"/api/photos/{photo['id']}/choice", json={"choice": "delete"})
    c.post("/api/apply")
    refused(c.post(f"/api/photos/{photo['id']}/choice", json={"choice": "keep"}), 409,
            "moved to", "Undo")
    (bears / ".quarantine" / photo["path"]).rename(bears / "elsewhere.jpg")  # behind its back
    refused(c.get(f"/photo/{photo['id']}"), 404, "no longer at")
    refused(c.post("/api/undo"), 409, "cannot undo")
    assert c.get("/healthz").json() == {"status": "ok"}             # still serving
