"""``sgdlab bears predict``: classify photos with a saved model, and show them titled.

    sgdlab bears predict --model models/bears.pth photo.jpg
    sgdlab bears predict --model models/bears.pth --show predicted.png --projector *.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sgdlab.style import add_style_option, style_of


def _predict(args: argparse.Namespace) -> int:
    """Predict every readable image; report each one that is missing or unreadable."""
    import sys

    from sgdlab.vision.checkpoint import load_learner
    from sgdlab.vision.data import ImageReadError
    from sgdlab.vision.predictor import prediction_title, save_prediction_figure

    learn = load_learner(args.model, device=args.device or "cpu")
    width = max(len(c) for c in learn.classes)
    failed, shown = [], []
    for image in args.images:
        if not image.exists():
            failed.append(f"{image}: no such file; check the path (relative paths start in "
                          f"the current folder, {Path.cwd()})")
            continue
        if image.is_dir():
            failed.append(f"{image}: a folder, not an image; give the image files, e.g. "
                          f"{image}/*.jpg")
            continue
        try:
            name, index, probs = learn.predict(image)
        except ImageReadError as err:
            failed.append(f"{image}: cannot be read as an image ({err.reason}); open it in an "
                          f"image viewer to check, or download it again")
            continue
        print(f"{image}: {name} (index {index})")
        for i in probs.argsort(descending=True).tolist():
            print(f"  {learn.classes[i]:<{width}}  {probs[i].item():.4f}")
        shown.append((image, prediction_title(learn.classes, probs)))
    if args.show is not None and shown:
        figure = save_prediction_figure(shown, args.show, style_of(args))
        print(f"photos with their predictions: {figure}")
    for line in failed:
        print(f"sgdlab: {line}", file=sys.stderr)
    if failed:
        done = len(args.images) - len(failed)
        print(f"sgdlab: predicted {done} of {len(args.images)} images; {len(failed)} could "
              f"not be read", file=sys.stderr)
    return 1 if failed else 0


def add_predict_command(actions) -> None:
    """Register ``predict`` under the ``sgdlab bears`` sub-parsers."""
    p = actions.add_parser("predict", help="classify photos with a saved model",
                           description="Print each image's class, its index and the "
                                       "probabilities of every class, most likely first. "
                                       "Images that are missing or unreadable are reported "
                                       "(exit code 1) and the others still predicted; with "
                                       "--show the photos are saved titled with what the "
                                       "model says.")
    p.add_argument("--model", type=Path, required=True, metavar="PATH",
                   help="a checkpoint saved by `sgdlab bears train` (used as given)")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None,
                   help="where to compute (default cpu, as in production)")
    p.add_argument("--show", type=Path, default=None, metavar="PNG",
                   help="also save the photos as a PNG, each titled with its prediction and "
                        "the probability of every class")
    add_style_option(p)
    p.set_defaults(func=_predict)
