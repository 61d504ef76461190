"""One picture → the JSON answer of ``/api/predict``, computed in an inference worker.

The answer holds exactly what :meth:`~sgdlab.vision.predictor.Predictor.predict` returns for
the same file (``learn.predict`` in the lecture), plus what the model is and how long it took::

    {"class": "grizzly", "index": 1,
     "probabilities": {"black": 0.02, "grizzly": 0.97, "teddys": 0.01},
     "arch": "resnet34", "classes": ["black", "grizzly", "teddys"], "size": 128,
     "milliseconds": 41.7}

``milliseconds`` is the time from the bytes to the probabilities (decoding, resizing and the
forward pass) inside the worker: the cost of a prediction, without the network or the wait
for a free worker.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from sgdlab.vision.predictor import Predictor
from sgdlab.vision.web.uploads import read_image


def model_facts(predictor: Predictor) -> dict[str, Any]:
    """What ``/api/model`` and every prediction say about the model."""
    return {"arch": predictor.arch, "classes": list(predictor.classes),
            "size": predictor.size}


def classify_bytes(predictor: Predictor, data: bytes, max_pixels: int,
                   name: str = "the file") -> dict[str, Any]:
    """Decode ``data`` (see :func:`~sgdlab.vision.web.uploads.read_image`) and classify it.

    Meant to run in a worker thread; raises :class:`~sgdlab.vision.web.errors.RequestError`
    for a picture it cannot read.
    """
    start = time.perf_counter()
    image = read_image(data, max_pixels, name)
    with torch.inference_mode():
        _, _, probs = predictor.predict(image)
    return answer(predictor, probs, (time.perf_counter() - start) * 1000)


def answer(predictor: Predictor, probs: torch.Tensor, milliseconds: float) -> dict[str, Any]:
    """The JSON answer for one picture's probabilities (in the order of the classes)."""
    index = int(probs.argmax())
    return {"class": predictor.classes[index], "index": index,
            "probabilities": dict(zip(predictor.classes, probs.tolist(), strict=True)),
            **model_facts(predictor), "milliseconds": round(milliseconds, 3)}
