"""The cleaning session: ranking, the journal across restarts, apply / undo, and the terminal.

The data are fake bears (noisy single-colour JPEGs, 3 classes x 6) in ``tmp_path``; the model is
an untrained seeded resnet18 saved as a checkpoint with the seed-42 split in its run record (no
training: the ranking is checked against ``get_preds`` itself, not against a good model). The
oracle of apply / undo is a hash of every file's path and bytes in the data folder.
"""

from __future__ import annotations

import csv
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import torch

from sgdlab import cli
from sgdlab.errors import SgdlabError
from sgdlab.vision.checkpoint import relative_name
from sgdlab.vision.clean_journal import (
    JOURNAL_NAME,
    NothingToUndoError,
    PhotoNotInDataError,
    UnknownClassError,
)
from sgdlab.vision.cleaner import Cleaner
from sgdlab.vision.interpret import ClassificationInterpretation

from .cleaning import fake_bears, learner, photos_hash


@pytest.fixture
def model(tiny_bears_model) -> Path:
    return tiny_bears_model


@pytest.fixture
def bears(tmp_path) -> Path:
    return fake_bears(tmp_path / "bears")


def run_cli(*argv: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["bears", "clean", *argv])
    assert code == 0, out.getvalue()
    return out.getvalue()


def test_every_photo_is_ranked_by_its_loss_and_filters_select(bears, model):
    learn = learner(bears, model)
    cleaner = Cleaner(learn, bears)
    rows = cleaner.rows()
    assert len(rows) == 18 and {r.split for r in rows} == {"train", "valid"}
    assert [r.loss for r in rows] == sorted((r.loss for r in rows), reverse=True)
    probs, targets, losses = learn.get_preds()          # the validation photos, in item order
    for i, item in enumerate(learn.dls.valid_items):
        row = next(r for r in rows if r.path == relative_name(item, bears))
        assert row.split == "valid" and row.label == learn.classes[int(targets[i])]
        assert row.loss == pytest.approx(float(losses[i]), abs=1e-5)
        assert row.probability == pytest.approx(float(probs[i, targets[i]]), abs=1e-5)
    for r in rows:
        assert r.loss == pytest.approx(-torch.tensor(r.probability).log().item(), abs=1e-4)
    assert all(r.label == "grizzly" for r in cleaner.rows(label="grizzly"))
    assert len(cleaner.rows(label="grizzly")) == 6 and len(cleaner.rows(split="valid")) == 4
    assert all(r.prediction != r.label for r in cleaner.rows(which="wrong"))
    assert all(r.confidence < 0.6 for r in cleaner.rows(which="unsure"))
    assert len(cleaner.rows(which="wrong")) + sum(not r.wrong for r in rows) == 18
    made = [ClassificationInterpretation.from_learner(learn, split) for split in ("valid",
                                                                                  "train")]
    assert Cleaner(None, bears, interpretations=made).rows() == rows  # predictions reused
    with pytest.raises(SgdlabError, match="at most one interpretation per split"):
        Cleaner(None, bears, interpretations=made[:1] * 2)


def test_decisions_are_journalled_at_once_and_survive_a_restart(bears):
    cleaner = Cleaner(None, bears)
    cleaner.delete("black/00000001.jpg")
    cleaner.relabel(bears / "teddys" / "00000002.jpg", "grizzly")
    cleaner.delete("grizzly/00000003.jpg")
    cleaner.keep("grizzly/00000003.jpg")                      # the last decision wins
    lines = (bears / JOURNAL_NAME).read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[1])["label"] == "grizzly"
    again = Cleaner(None, bears)                              # a new session: a restart
    assert again.decision("black/00000001.jpg").action == "delete"
    assert again.decision("teddys/00000002.jpg").label == "grizzly"
    assert again.decision("grizzly/00000003.jpg").action == "keep"
    assert again.decision("black/00000004.jpg") is None
    assert set(again.pending) == {"black/00000001.jpg", "teddys/00000002.jpg"}


def test_terminal_delete_relabel_apply_undo_leaves_the_folder_byte_identical(bears, model,
                                                                            monkeypatch):
    before = photos_hash(bears)
    monkeypatch.chdir(bears.parent)
    out = run_cli("--model", str(model), "--data", str(bears), "--list", "5")
    assert "seen in training" in out and len(out.splitlines()) == 2 + 5
    table = run_cli("--model", str(model), "--data", str(bears), "--list", "0", "--csv")
    listed = list(csv.DictReader(io.StringIO(table)))
    assert len(listed) == 18 and {r["split"] for r in listed} == {"train", "valid"}
    run_cli("--data", str(bears), "--delete", "black/00000001.jpg", "bears/grizzly/00000002.jpg",
            "--relabel", "teddys/00000000.jpg=black")           # relative to the folder, or cwd
    assert photos_hash(bears) == before                         # nothing moves before --apply
    out = run_cli("--data", str(bears), "--apply")
    assert "applied 3 decision(s)" in out
    after = photos_hash(bears)
    assert "black/00000001.jpg" not in after and ".quarantine/black/00000001.jpg" in after
    assert after[".quarantine/grizzly/00000002.jpg"] == before["grizzly/00000002.jpg"]
    assert after["black/00000000-1.jpg"] == before["teddys/00000000.jpg"]   # a clash: free name
    manifest = (bears / ".quarantine" / "manifest.csv").read_text()
    assert "black/00000001.jpg" in manifest and "grizzly/00000002.jpg" in manifest
    out = run_cli("--data", str(bears), "--undo")
    assert "undone: 3 move(s)" in out
    assert photos_hash(bears) == {k: v for k, v in before.items()}
    assert not [p for p in (bears / ".quarantine").rglob("*.jpg")]
    with pytest.raises(NothingToUndoError, match="nothing to undo"):
        Cleaner(None, bears).undo()


def test_undo_all_puts_back_every_batch_and_apply_again_redoes_them(bears):
    before = photos_hash(bears)
    cleaner = Cleaner(None, bears)
    cleaner.delete("black/00000001.jpg")
    cleaner.apply()
    cleaner.relabel("grizzly/00000001.jpg", "black")        # clashes with the quarantined one?
    moves = cleaner.apply()
    assert [m.to for m in moves] == ["black/00000001.jpg"]  # its old name is free again
    assert Cleaner(None, bears).undo(all=True)[-1].photo == "black/00000001.jpg"
    assert photos_hash(bears) == before
    again = Cleaner(None, bears)                             # the decisions are pending again
    assert set(again.pending) == {"black/00000001.jpg", "grizzly/00000001.jpg"}


def test_bad_requests_are_refused_with_what_to_do(bears, tmp_path, capsys):
    cleaner = Cleaner(None, bears)
    with pytest.raises(UnknownClassError, match="choose one of black, grizzly, teddys"):
        cleaner.relabel("black/00000001.jpg", "panda")
    with pytest.raises(UnknownClassError, match="already in class black"):
        cleaner.relabel("black/00000001.jpg", "black")
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes(b"x")
    for path in ("black/nope.jpg", outside, "../elsewhere.jpg"):
        with pytest.raises(PhotoNotInDataError, match="give its path inside the data folder"):
            cleaner.delete(path)
    with pytest.raises(NothingToUndoError, match="apply decisions first"):
        cleaner.undo()
    assert cli.main(["bears", "clean", "--data", str(bears), "--list", "3"]) != 0
    assert "give --model PATH" in capsys.readouterr().err
    assert not (bears / JOURNAL_NAME).exists()              # no refused decision was recorded
    cleaner.delete("black/00000002.jpg")
    (bears / "black" / "00000002.jpg").rename(tmp_path / "gone.jpg")
    with pytest.raises(PhotoNotInDataError, match="no longer in"):
        cleaner.apply()

