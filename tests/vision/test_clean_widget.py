"""The notebook cleaner: widget events → journal → apply → undo, without a browser, then in a
real kernel through nbclient.

The widgets are driven as a notebook front end drives them: a menu's ``value`` is set, a button
is clicked. Oracles: the journal's lines on disk, every file's path and bytes in the data folder
(``photos_hash``), the cleaner's own ranking for the order of the grid, PIL for the thumbnails.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
from pathlib import Path

import pytest
from PIL import Image

from sgdlab.vision.clean_journal import JOURNAL_NAME
from sgdlab.vision.cleaner import Cleaner

from .cleaning import PER_CLASS, fake_bears, learner, photos_hash
from .fakes import write_fake_bears

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def session(tmp_path_factory, tiny_bears_model):
    """A folder of fake bears and the tiny model's learner on it (one per module: the tests
    below leave the folder as they found it, which is what they check)."""
    bears = write_fake_bears(tmp_path_factory.mktemp("widget") / "bears", per_class=PER_CLASS,
                             shape=(180, 240))           # larger than a thumbnail
    return bears, learner(bears, tiny_bears_model)


def journal(bears: Path) -> list[dict]:
    path = bears / JOURNAL_NAME
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_widget_events_are_journalled_and_apply_undo_gives_back_the_same_tree(session):
    from sgdlab.vision.clean_widget import ImageCleaner

    bears, learn = session
    before = photos_hash(bears)
    cleaner = Cleaner(learn, bears)
    widget = ImageCleaner(cleaner, per_page=4)
    ranked = [r.path for r in cleaner.rows()]
    assert list(widget.choices) == ranked[:4] and len(widget.grid.children) == 4
    assert widget.page_label.value == "page 1 of 5"
    assert widget.counts_label.value.startswith("18 of 18 photos shown")
    for card, row in zip(widget.grid.children, cleaner.rows()[:4], strict=True):
        picture, text, menu = card.children
        with Image.open(io.BytesIO(picture.value)) as thumb:
            assert thumb.format == "JPEG" and thumb.size == (160, 120)
        for shown in (row.path, row.label, row.prediction, f"{row.loss:.2f}",
                      f"p({row.label}) = {row.probability:.2f}"):
            assert shown in text.value
        assert ("seen in training" in text.value) == (row.split == "train")
        assert menu.value == "keep" and f"relabel:{row.label}" not in dict(menu.options).values()

    widget.class_filter.value = "grizzly"                     # filters write nothing
    assert journal(bears) == [] and widget.page_label.value == "page 1 of 2"
    assert all(p.startswith("grizzly/") for p in widget.choices)
    a = next(iter(widget.choices))
    widget.choices[a].value = "delete"                        # at once in the journal
    assert journal(bears)[-1] == {"kind": "decision", "photo": a, "action": "delete",
                                  "label": None}
    widget.next_button.click()
    assert widget.page_label.value == "page 2 of 2" and len(widget.choices) == 2
    widget.class_filter.value, widget.split_filter.value = "all", "valid"
    b = next(p for p in widget.choices if p != a)
    other = next(c for c in cleaner.classes if not b.startswith(c + "/"))
    widget.choices[b].value = f"relabel:{other}"
    assert journal(bears)[-1]["label"] == other and len(journal(bears)) == 2
    widget.split_filter.value, widget.which_filter.value = "all", "all"
    widget.next_button.click()
    c = next(p for p in widget.choices if p not in (a, b))
    widget.choices[c].value = "delete"
    widget.class_filter.value = "grizzly" if a.startswith("grizzly/") else "all"
    assert widget.choices[a].value == "delete"                # switching back keeps it
    assert "2 to delete, 1 to relabel" in widget.counts_label.value

    restarted = ImageCleaner(Cleaner(learn, bears), per_page=18)  # a restart: new session
    assert restarted.choices[a].value == restarted.choices[c].value == "delete"
    assert restarted.choices[b].value == f"relabel:{other}"
    assert photos_hash(bears) == before                        # nothing moved yet

    restarted.apply_button.click()
    after = photos_hash(bears)
    assert "applied 3 decision(s)" in restarted.message.value
    assert after[f".quarantine/{a}"] == before[a] and after[f".quarantine/{c}"] == before[c]
    assert a not in after and c not in after and b not in after
    moved_b = next(m.to for m in restarted.view.cleaner.state.batches[1] if m.photo == b)
    assert moved_b.startswith(other + "/") and after[moved_b] == before[b]
    assert restarted.choices[a].disabled and "moved to .quarantine/" in \
        restarted.grid.children[list(restarted.choices).index(a)].children[1].value
    assert "3 photo(s) moved in 1 batch(es)" in restarted.counts_label.value
    lines = len(journal(bears))
    restarted.choices[a].value = "keep"                        # a moved photo takes no choice
    assert "undo that batch" in restarted.message.value and len(journal(bears)) == lines
    assert restarted.choices[a].value == "delete"

    restarted.undo_button.click()
    assert photos_hash(bears) == before                        # byte for byte
    assert "put back 3 photo(s)" in restarted.message.value
    assert not restarted.choices[a].disabled
    for path in (a, b, c):                                     # leave the folder undecided
        restarted.choices[path].value = "keep"
    assert Cleaner(None, bears).pending == {}


def test_a_failed_apply_says_why_and_moves_nothing(session):
    from sgdlab.vision.clean_widget import ImageCleaner

    bears, learn = session
    widget = ImageCleaner(Cleaner(learn, bears), per_page=2)
    first, second = list(widget.choices)
    widget.choices[first].value = "delete"
    widget.choices[second].value = "delete"
    aside = bears.parent / "aside.jpg"
    (bears / second).rename(aside)                             # gone behind the widget's back
    before = photos_hash(bears)
    try:
        widget.apply_button.click()
        assert "no longer in" in widget.message.value and "Mark it keep" in widget.message.value
        assert photos_hash(bears) == before and not widget.choices[first].disabled
    finally:
        aside.rename(bears / second)
    for path in (first, second):
        widget.choices[path].value = "keep"
    assert Cleaner(None, bears).pending == {}


def test_without_ipywidgets_the_error_names_the_extra(monkeypatch):
    from sgdlab.errors import SgdlabError

    monkeypatch.setitem(sys.modules, "ipywidgets", None)      # import ipywidgets fails
    monkeypatch.delitem(sys.modules, "sgdlab.vision.clean_widget", raising=False)
    with pytest.raises(SgdlabError, match=r"pip install -e '\.\[notebook\]'"):
        importlib.import_module("sgdlab.vision.clean_widget")
    monkeypatch.delitem(sys.modules, "sgdlab.vision.clean_widget", raising=False)


NOTEBOOK = '''
from pathlib import Path
from sgdlab.vision.cleaner import Cleaner
from sgdlab.vision.clean_widget import ImageCleaner
from sgdlab.vision.reload import checkpoint_learner
from sgdlab.vision.split import find_classes, split_items

bears = Path({bears!r})
classes, items = find_classes(bears)
train, valid = split_items(items, valid_pct=0.2, seed=42)
learn = checkpoint_learner({model!r}, bears, classes, train, valid, seed=42, batch_size=8,
                           device="cpu", progress=False)
cleaner = Cleaner(learn, bears)
widget = ImageCleaner(cleaner, per_page=6)
widget
'''


def test_the_widget_displays_and_journals_in_a_real_notebook(tmp_path, tiny_bears_model):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    bears = fake_bears(tmp_path / "bears")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(NOTEBOOK.format(bears=str(bears),
                                                  model=str(tiny_bears_model))),
        nbformat.v4.new_code_cell("first = next(iter(widget.choices))\n"
                                  "widget.choices[first].value = 'delete'\n"
                                  "print('pending:', sorted(cleaner.pending))"),
    ]
    client = nbclient.NotebookClient(notebook, timeout=120, startup_timeout=60,
                                     kernel_name="python3", shutdown_kernel="immediate",
                                     resources={"metadata": {"path": str(tmp_path)}})
    path = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    client.execute(env={**os.environ, "PYTHONPATH": path})  # the kernel imports this sgdlab
    shown, printed = notebook.cells[0].outputs, notebook.cells[1].outputs
    views = [o for o in shown if o.output_type == "execute_result"
             and "application/vnd.jupyter.widget-view+json" in o.data]
    assert len(views) == 1, shown
    model_id = views[0].data["application/vnd.jupyter.widget-view+json"]["model_id"]
    state = notebook.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    assert state[model_id]["model_name"] == "VBoxModel"
    assert sum(s["model_name"] == "ImageModel" for s in state.values()) >= 6
    first = Cleaner(None, bears).pending
    assert len(first) == 1 and f"pending: {sorted(first)}" in printed[0].text
    assert journal(bears)[0]["action"] == "delete"             # written by the kernel


def test_the_view_refuses_bad_pages_filters_and_sessions(session):
    from sgdlab.errors import SgdlabError
    from sgdlab.vision.clean_journal import UnknownClassError
    from sgdlab.vision.clean_view import CleanView

    bears, learn = session
    view = CleanView(Cleaner(learn, bears), per_page=4)
    assert view.go(99) == 4 and len(view.cards()) == 2       # 18 photos: the last page has 2
    with pytest.raises(SgdlabError, match="page must be a whole number >= 0"):
        view.go(-1)
    with pytest.raises(UnknownClassError, match="choose one of black, grizzly, teddys"):
        view.set_filters(label="panda")
    with pytest.raises(SgdlabError, match="which"):
        view.set_filters(which="blurry")
    assert view.page == 4 and view.label is None              # a refused filter changes nothing
    view.set_filters(split="valid", which="all")
    assert view.page == 0 and view.counts().shown == 4 and view.counts().total == 18
    with pytest.raises(SgdlabError, match="needs a Cleaner"):
        CleanView(bears)
    with pytest.raises(SgdlabError, match="per_page"):
        CleanView(view.cleaner, per_page=0)
