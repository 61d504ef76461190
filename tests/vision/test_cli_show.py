"""``sgdlab bears predict --show`` and ``sgdlab bears lr-find --model`` on the tiny checkpoint
of ``conftest.py``. Oracles: the probabilities ``load_learner(...).predict`` gives for the same
photo, the PNG files' headers and sizes, and the checkpoint's bytes before and after."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from sgdlab import cli
from sgdlab.errors import SgdlabError
from sgdlab.vision.checkpoint import load_learner
from sgdlab.vision.predictor import prediction_title

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_the_title_names_the_most_probable_class_and_lists_every_class():
    title = prediction_title(["black", "grizzly", "teddys"], torch.tensor([0.05, 0.9, 0.05]))
    assert title == "prediction: grizzly (0.90)\ngrizzly 0.90 · black 0.05 · teddys 0.05"
    title = prediction_title(["black", "grizzly", "teddys"], torch.tensor([0.2, 0.1, 0.7]))
    assert title.splitlines() == ["prediction: teddys (0.70)",
                                  "teddys 0.70 · black 0.20 · grizzly 0.10"]
    with pytest.raises(SgdlabError, match="one probability per class"):
        prediction_title(["black", "grizzly"], torch.tensor([0.2, 0.1, 0.7]))


def test_predict_show_saves_the_photos_titled_with_what_predict_says(tiny_bears_model, tmp_path,
                                                                     capsys, monkeypatch):
    from sgdlab.vision import predictor

    photos = sorted((tiny_bears_model.parent / "bears").glob("*/*.jpg"))[:2]
    titles = []
    save = predictor.save_prediction_figure
    monkeypatch.setattr(predictor, "save_prediction_figure",
                        lambda shown, path, style: titles.extend(shown) or save(shown, path,
                                                                                style))
    out = tmp_path / "shown.png"
    assert cli.main(["bears", "predict", "--model", str(tiny_bears_model), "--show", str(out),
                     "--projector", *map(str, photos)]) == 0
    assert f"photos with their predictions: {out}" in capsys.readouterr().out
    assert out.read_bytes()[:8] == PNG_MAGIC
    with Image.open(out) as png:
        assert png.size == (1280, 720)
    learn = load_learner(tiny_bears_model)
    for photo, (shown, title) in zip(photos, titles, strict=True):
        name, _, probs = learn.predict(photo)
        assert shown == photo
        assert title == prediction_title(learn.classes, probs)
        assert title.startswith(f"prediction: {name} (")


def test_lr_find_on_a_saved_model_leaves_the_file_alone_and_writes_no_carriage_return(
        tiny_bears_model, tmp_path):
    before = hashlib.sha256(tiny_bears_model.read_bytes()).hexdigest()
    plot = tmp_path / "lr_unfrozen.png"
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-m", "sgdlab.cli", "bears", "lr-find", "--model",
         str(tiny_bears_model), "--data", str(tiny_bears_model.parent / "bears"),
         "--batch-size", "4", "--device", "cpu", "--num-it", "6", "--start-lr", "1e-5",
         "--end-lr", "1", "--out", str(plot), "--projector"],
        cwd=tmp_path, env=env, capture_output=True, timeout=300)
    done.stdout, done.stderr = done.stdout.decode(), done.stderr.decode()  # "\r" kept as is
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stdout + done.stderr
    assert "every layer trainable" in done.stdout
    assert re.search(r"^swept 6 learning rates from 1e-05 to 1$", done.stdout, re.M)
    assert re.search(r"^steepest descent: \S+$", done.stdout, re.M)
    assert hashlib.sha256(tiny_bears_model.read_bytes()).hexdigest() == before
    with Image.open(plot) as png:
        assert png.size == (1280, 720)


def test_lr_find_on_a_saved_model_refuses_what_the_checkpoint_decides(tiny_bears_model,
                                                                      capsys):
    assert cli.main(["bears", "lr-find", "--model", str(tiny_bears_model), "--arch",
                     "resnet34", "--size", "64"]) == 2
    assert ("--arch, --size cannot be combined with --model: the checkpoint "
            in capsys.readouterr().err)


def test_lr_find_on_a_saved_model_sweeps_its_weights_unfrozen(tiny_bears_model, tmp_path,
                                                              monkeypatch, capsys):
    from sgdlab.vision.checkpoint import read_checkpoint
    from sgdlab.vision.learner import Learner
    from sgdlab.vision.lr_find import LRFinderResult

    swept = {}

    def fake_lr_find(self, start_lr, end_lr, num_it):
        swept["weights"] = {k: v.clone() for k, v in self.model.state_dict().items()}
        swept["trainable"] = all(p.requires_grad for p in self.model.parameters())
        swept["size"] = self.dls.size
        return LRFinderResult([1e-3, 1e-2, 1e-1], [1.0, 0.8, 2.0], [1.0, 0.8, 2.0], 1e-2, 1e-3,
                              stopped_early=True)

    monkeypatch.setattr(Learner, "lr_find", fake_lr_find)
    assert cli.main(["bears", "lr-find", "--model", str(tiny_bears_model), "--data",
                     str(tiny_bears_model.parent / "bears"), "--batch-size", "4", "--device",
                     "cpu", "--out", str(tmp_path / "lr.png"), "--no-progress"]) == 0
    saved = read_checkpoint(tiny_bears_model)
    assert swept["trainable"] and swept["size"] == saved["size"]
    assert swept["weights"].keys() == saved["state_dict"].keys()
    assert all(torch.equal(swept["weights"][k], v) for k, v in saved["state_dict"].items())
    assert "steepest descent: 1.00e-02" in capsys.readouterr().out
