"""Interpretation on a case with known answers: a 'model' that reads the colour of an image.

Valid images are solid colours; the model's logit for class c is ``scale · mean of channel c``,
so red → black (0), green → grizzly (1), blue → teddys (2). Two images carry a label that does
not match their colour, so we know which are confused and which has the largest loss.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from sgdlab.errors import SgdlabError
from sgdlab.vision.data import ImageDataLoaders
from sgdlab.vision.interpret import ClassificationInterpretation
from sgdlab.vision.learner import Learner
from sgdlab.vision.reload import checkpoint_learner

from .cleaning import fake_bears, learner
from .fakes import make_fake_dls, normalize

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 0, 0), (0, 150, 110), (0, 0, 255)]
LABELS = [0, 1, 0, 0, 2, 2]       # item 2: blue labelled black; item 4: greenish labelled teddys
SIZE = 16


class ColourModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x.mean(dim=(2, 3))


def solid_images() -> torch.Tensor:
    colours = torch.tensor(COLOURS, dtype=torch.uint8).view(-1, 3, 1, 1)
    return colours.expand(-1, 3, SIZE, SIZE).contiguous()


@pytest.fixture(scope="module")
def interp_and_dls(tmp_path_factory):
    dls = make_fake_dls(tmp_path_factory.mktemp("colours"), n_train=6, size=SIZE, batch_size=4,
                        valid_labels=LABELS, valid_images=solid_images())
    learn = Learner(dls, ColourModel(), progress=False, log=lambda line: None)
    return ClassificationInterpretation.from_learner(learn), dls


def test_predictions_and_losses_follow_valid_items(interp_and_dls) -> None:
    interp, dls = interp_and_dls
    assert interp.items == dls.valid_items and interp.targets.tolist() == LABELS
    assert interp.preds.tolist() == [0, 1, 2, 0, 1, 2]
    # independent oracle: the logits straight from the pixel values
    logits = 2.0 * normalize(solid_images()).mean(dim=(2, 3))
    expected = F.cross_entropy(logits, torch.tensor(LABELS), reduction="none")
    assert interp.losses == pytest.approx(expected, abs=1e-5)
    assert interp.probs == pytest.approx(logits.softmax(dim=1), abs=1e-6)


def test_top_losses_point_at_the_mislabelled_images(interp_and_dls, tmp_path) -> None:
    interp, dls = interp_and_dls
    losses, indices = interp.top_losses(2)
    assert indices.tolist() == [2, 4]
    assert losses[0] > losses[1] > 1.0
    with Image.open(dls.valid_items[2]) as img:           # the item really is the blue one
        assert tuple(np.asarray(img)[0, 0]) == (0, 0, 255)
    all_losses, order = interp.top_losses()
    assert sorted(order.tolist()) == list(range(6))
    assert all_losses.tolist() == sorted(interp.losses.tolist(), reverse=True)
    assert interp.top_losses(100)[1].tolist() == order.tolist()
    with pytest.raises(SgdlabError):
        interp.top_losses(0)


def test_confusion_matrix_and_most_confused(interp_and_dls) -> None:
    interp, _ = interp_and_dls
    assert interp.confusion_matrix().tolist() == [[2, 0, 1], [0, 1, 0], [0, 1, 1]]
    assert interp.most_confused() == [("black", "teddys", 1), ("teddys", "grizzly", 1)]
    assert interp.most_confused(min_val=2) == []
    assert interp.confusion_table().splitlines() == [
        "actual \\ predicted  black  grizzly  teddys",
        "black                   2        0       1",
        "grizzly                 0        1       0",
        "teddys                  0        1       1",
    ]


def _share_of(colour: tuple[int, int, int], png) -> float:
    with Image.open(png) as img:
        pixels = np.asarray(img.convert("RGB")).reshape(-1, 3).astype(int)
    return float((np.abs(pixels - np.array(colour)).sum(axis=1) < 30).mean())


def test_plots_are_pngs_showing_the_images(interp_and_dls, tmp_path) -> None:
    interp, _ = interp_and_dls
    assert interp.plot_confusion_matrix(tmp_path / "cm.png").read_bytes()[:8] == PNG_MAGIC
    top = interp.plot_top_losses(2, tmp_path / "top.png", ncols=2)
    assert top.read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.png", "top.png"]
    # the two worst: item 2 (pure blue) and item 4 (greenish); no red image among them
    assert _share_of((0, 0, 255), top) > 0.05
    assert _share_of((0, 150, 110), top) > 0.05
    assert _share_of((255, 0, 0), top) == 0.0


def test_inconsistent_lengths_are_a_clear_error(interp_and_dls) -> None:
    interp, _ = interp_and_dls
    with pytest.raises(SgdlabError, match="one row per item"):
        ClassificationInterpretation(interp.probs, interp.targets, interp.losses,
                                     interp.items[:3], interp.classes)
    with pytest.raises(SgdlabError, match="columns"):
        ClassificationInterpretation(interp.probs, interp.targets, interp.losses,
                                     interp.items, interp.classes[:2])


def test_top_losses_grid_titles_each_photo_with_its_file_name(interp_and_dls, tmp_path,
                                                               monkeypatch) -> None:
    interp, dls = interp_and_dls
    figures = []
    monkeypatch.setattr("sgdlab.style.save_figure",  # the plots save through sgdlab.style
                        lambda fig, path, dpi=100: figures.append(fig) or Path(path))
    interp.plot_top_losses(2, tmp_path / "top.png", ncols=2)
    titles = [ax.get_title() for ax in figures[0].axes]
    for title, i in zip(titles, [2, 4], strict=True):          # the two worst, in order
        item = dls.valid_items[i]
        assert title.splitlines()[0] == f"{item.parent.name}/{item.name}"
    assert "validation photos" in figures[0].get_suptitle()


def test_the_training_photos_are_interpreted_as_validation_photos_are(tmp_path,
                                                                      tiny_bears_model) -> None:
    bears = fake_bears(tmp_path / "bears")
    plain = learner(bears, tiny_bears_model)
    dls = plain.dls
    augmented = ImageDataLoaders(bears, dls.classes, dls.train_items, dls.valid_items,
                                 size=dls.size, batch_size=8, device="cpu", augment=True,
                                 mean=dls.mean, std=dls.std)  # as training sees them
    learn = Learner(augmented, plain.model, progress=False, log=lambda line: None)
    train = ClassificationInterpretation.from_learner(learn, split="train")
    assert train.split == "train" and train.items == dls.train_items
    # oracle: the same photos as the validation set of another learner, which decodes them
    # with the validation transform itself
    as_valid = checkpoint_learner(tiny_bears_model, bears, dls.classes, dls.valid_items,
                                  dls.train_items, seed=42, batch_size=8, device="cpu",
                                  progress=False)
    probs, targets, losses = as_valid.get_preds()
    assert train.targets.tolist() == targets.tolist()
    assert train.losses == pytest.approx(losses, abs=1e-5)
    assert train.probs == pytest.approx(probs, abs=1e-5)
    with pytest.raises(SgdlabError, match="split"):
        ClassificationInterpretation.from_learner(learn, split="test")
