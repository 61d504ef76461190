"""Checkpoints: the weights and everything a later command must know about them.

A checkpoint is a plain dict saved with ``torch.save`` and read back with
``torch.load(..., weights_only=True)``, which refuses to run code hidden in a file::

    format      "sgdlab-learner-1"
    arch, head  how to rebuild the model ("resnet34", "fastai"; None for a custom model)
    classes     the class names in training order (output i is classes[i])
    size        the image side in pixels, mean and std the normalization
    state_dict  the weights (CPU tensors)
    run         what training saw: the last fit's epoch table ("rows", epochs from 1),
                "n_valid" and "n_classes", the split ("split_seed", "valid_pct"), the data
                folder's name ("data_folder") and the validation files ("valid_files",
                relative to that folder)

Checkpoints written before ``run`` existed still load; commands that need it say so.
:func:`read_checkpoint` checks every key and that the weights are finite, so a damaged,
crafted or diverged file gets one clear :class:`~sgdlab.errors.SgdlabError`.
"""

from __future__ import annotations

import math
import os
import pickle
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sgdlab.errors import SgdlabError
from sgdlab.files import atomic_path
from sgdlab.vision import model as vision_model
from sgdlab.vision.predictor import Predictor
from sgdlab.vision.recorder import Recorder

CHECKPOINT_FORMAT = "sgdlab-learner-1"
_WRITE_ONE = "write checkpoints with learn.save(name) or `sgdlab bears train`"


def make_checkpoint(model: nn.Module, *, arch: str | None, head: str | None,
                    classes: Sequence[str], size: int, mean: Sequence[float],
                    std: Sequence[float], run: dict | None = None) -> dict:
    """The checkpoint dict of ``model`` (see the module docstring), weights copied to the CPU."""
    return {
        "format": CHECKPOINT_FORMAT, "arch": arch, "head": head, "classes": list(classes),
        "size": int(size), "mean": [float(m) for m in mean], "std": [float(s) for s in std],
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        "run": dict(run or {}),
    }


def run_record(recorder: Recorder, dls: Any) -> dict:
    """What a checkpoint records about training (the ``run`` key): ``recorder``'s epoch table
    and validation size, and the split and folder of the data ``dls`` it trained on."""
    folder = Path(dls.path)
    return {**recorder.run_record(), "split_seed": getattr(dls, "seed", None),
            "valid_pct": getattr(dls, "valid_pct", None), "data_folder": folder.name,
            "valid_files": [relative_name(item, folder) for item in dls.valid_items]}


def relative_name(item: str | os.PathLike, folder: Path) -> str:
    """``item``'s path inside ``folder`` (``black/00000001.jpg``), as saved in a run record."""
    path = Path(item)
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.as_posix()


def write_checkpoint(checkpoint: dict, path: str | os.PathLike) -> Path:
    """Save ``checkpoint`` to ``path`` atomically (a crash never leaves half a file)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Read exactly the file ``path`` and check that it is a whole, sane sgdlab checkpoint."""
    path = Path(path)
    if not path.is_file():
        where = f" (looked in {path.absolute().parent})"
        raise SgdlabError(f"checkpoint {path} not found{where}; give the path of a file "
                          f"saved by learn.save(name) or `sgdlab bears train` (by default "
                          f"models/bears.pth)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise SgdlabError(f"{path} holds Python objects other than tensors and plain data, "
                          f"which sgdlab refuses to unpickle because they could run code; it "
                          f"is not a sgdlab checkpoint ({_WRITE_ONE})") from None
    except Exception as err:  # a damaged or foreign file fails in many ways
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SgdlabError(f"could not read checkpoint {path}: it is not a PyTorch file or it "
                          f"is damaged ({first}); {_WRITE_ONE}") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise SgdlabError(f"{path} is not a sgdlab learner checkpoint; {_WRITE_ONE}")
    _check_fields(checkpoint, path)
    _check_weights(checkpoint["state_dict"], path)
    return checkpoint


def _check_fields(checkpoint: dict, path: Path) -> None:
    def bad(key: str, expected: str) -> SgdlabError:
        got = "missing" if key not in checkpoint else f"{checkpoint[key]!r:.60}"
        return SgdlabError(f"{path} is damaged or was not written by sgdlab: '{key}' should be "
                           f"{expected}, got {got}; {_WRITE_ONE}")

    for key in ("arch", "head"):
        if key not in checkpoint or not isinstance(checkpoint[key], (str, type(None))):
            raise bad(key, "a name or None")
    classes = checkpoint.get("classes")
    if (not isinstance(classes, list) or len(classes) < 2
            or not all(isinstance(c, str) for c in classes)):
        raise bad("classes", "a list of at least 2 class names")
    size = checkpoint.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise bad("size", "the image side in pixels")
    for key in ("mean", "std"):
        values = checkpoint.get(key)
        if (not isinstance(values, list) or len(values) != 3
                or not all(isinstance(v, float) and math.isfinite(v) for v in values)
                or (key == "std" and min(values) <= 0)):
            raise bad(key, "3 finite numbers (one per colour channel)")
    weights = checkpoint.get("state_dict")
    if not isinstance(weights, dict) or not weights or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()):
        raise bad("state_dict", "a dict of named tensors")
    if not isinstance(checkpoint.get("run", {}), dict):
        raise bad("run", "a dict")


def _check_weights(weights: dict[str, torch.Tensor], path: Path) -> None:
    bad = {name: int((~torch.isfinite(t)).sum()) for name, t in weights.items()
           if t.is_floating_point() and not torch.isfinite(t).all()}
    if bad:
        first = next(iter(bad))
        raise SgdlabError(f"{path} holds weights that are NaN or infinite ({sum(bad.values())} "
                          f"values in {len(bad)} tensors, first {first}): the model diverged "
                          f"before it was saved. Retrain it with a lower learning rate (the "
                          f"learning-rate finder shows where the loss takes off)")


def check_fits(checkpoint: dict, path: str | os.PathLike, *, arch: str | None,
               head: str | None, classes: Sequence[str], mean: Sequence[float],
               std: Sequence[float]) -> None:
    """Raise unless the checkpoint was made for this architecture and these classes; warn when
    it was trained with another normalization."""
    if arch is not None and checkpoint["arch"] is not None and (
            checkpoint["arch"], checkpoint["head"]) != (arch, head):
        raise SgdlabError(f"{path} holds a {checkpoint['arch']} with a {checkpoint['head']} "
                          f"head, but this learner is a {arch} with a {head} head; build the "
                          f"learner with arch={checkpoint['arch']!r}, head={checkpoint['head']!r}")
    if checkpoint["classes"] != list(classes):
        raise SgdlabError(f"{path} was trained on the classes {checkpoint['classes']} but this "
                          f"learner's data has {list(classes)}; load it into a learner built on "
                          f"the same classes (or use load_learner({str(path)!r}))")
    if (tuple(checkpoint["mean"]), tuple(checkpoint["std"])) != (tuple(mean), tuple(std)):
        warnings.warn(f"{path} was trained with normalization mean={checkpoint['mean']} "
                      f"std={checkpoint['std']}, but this learner uses mean={tuple(mean)} "
                      f"std={tuple(std)}", stacklevel=4)


def load_weights(model: nn.Module, checkpoint: dict, path: str | os.PathLike) -> None:
    """Copy the checkpoint's weights into ``model``; a mismatch is a clear error."""
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:
        raise SgdlabError(f"{path} does not fit this model ({str(err).splitlines()[0]}); was "
                          f"it saved from another architecture?") from None


def checkpoint_path(name: str | os.PathLike, model_dir: str | os.PathLike) -> Path:
    """Where ``learn.save(name)`` writes: a name without a folder or suffix (``"stage-1"``) is
    ``model_dir/stage-1.pth``, as in fastai; anything else (``"bears.pth"``, ``"out/bears"``)
    is a path used as given, relative to the current folder."""
    path = Path(name)
    if path.parent == Path(".") and not path.suffix and not str(name).startswith("."):
        return Path(model_dir) / f"{path.name}.pth"
    return path


def load_into(model: nn.Module, path: str | os.PathLike, *, arch: str | None,
              head: str | None, classes: Sequence[str], mean: Sequence[float],
              std: Sequence[float]) -> dict:
    """Read ``path``, check that it fits (:func:`check_fits`), copy its weights into ``model``;
    returns the checkpoint."""
    checkpoint = read_checkpoint(path)
    check_fits(checkpoint, path, arch=arch, head=head, classes=classes, mean=mean, std=std)
    load_weights(model, checkpoint, path)
    return checkpoint


def load_learner(path: str | os.PathLike, device: str | torch.device = "cpu") -> Predictor:
    """A :class:`~sgdlab.vision.predictor.Predictor` rebuilt from exactly the file ``path``
    (relative paths start in the current folder), on the CPU unless told otherwise."""
    checkpoint = read_checkpoint(path)
    if checkpoint["arch"] is None:
        raise SgdlabError(f"{path} holds a custom model that load_learner cannot rebuild; "
                          f"build the model yourself and call Learner(dls, model).load(path)")
    model = vision_model.create_model(len(checkpoint["classes"]), checkpoint["arch"],
                                      head=checkpoint["head"])
    load_weights(model, checkpoint, path)
    return Predictor(model, classes=checkpoint["classes"], size=checkpoint["size"],
                     mean=checkpoint["mean"], std=checkpoint["std"], arch=checkpoint["arch"],
                     head=checkpoint["head"], device=device, run=checkpoint.get("run", {}))
