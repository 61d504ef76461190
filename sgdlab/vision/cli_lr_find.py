"""``sgdlab bears lr-find``: sweep the learning rate on a new model, or on a trained one.

    sgdlab bears lr-find --out lr_find.png                          # a new model (the recipe's)
    sgdlab bears lr-find --model models/bears-stage-1.pth --out lr_unfrozen.png

With ``--model`` the finder runs on the saved model, every layer trainable, as the lecture does
after stage 1 (``learn.unfreeze(); learn.lr_find()``): the checkpoint is loaded, its own
architecture, image size and normalization rebuild the learner on the photos of ``--data``
(split with the seed it recorded, augmented as in training), and the sweep puts every weight
back afterwards. The checkpoint file is only read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sgdlab.checks import DEFAULT_SEED
from sgdlab.progress import add_progress_option
from sgdlab.style import add_style_option, style_of
from sgdlab.vision.cli_options import (
    OVERRIDE_RULE,
    add_data_options,
    add_impl_option,
    add_model_options,
    data_dir,
    describe,
    recipe_from_args,
    training_data,
)

#: images per mini-batch of a sweep on a saved model (the lecture's, with ImageNet weights)
MODEL_BATCH_SIZE = 64


def _new_model_learner(args: argparse.Namespace):
    """A new model of the recipe (``--arch``, ``--weights``...) on ``--data``."""
    from sgdlab.vision.learner import vision_learner

    recipe = recipe_from_args(args, one_stage=True)
    dls = training_data(args, recipe, recipe.size)
    learn = vision_learner(dls, recipe.arch, recipe.weights, seed=recipe.seed, wd=recipe.wd,
                           loss_func=recipe.loss_func(), impl=args.impl)
    if args.unfreeze:
        learn.unfreeze()
    return learn


def _saved_model_learner(args: argparse.Namespace):
    """The checkpoint ``--model`` in a learner on ``--data``, split as it was trained."""
    from sgdlab.errors import SgdlabError
    from sgdlab.vision import model as vision_model
    from sgdlab.vision.checkpoint import read_checkpoint
    from sgdlab.vision.data import ImageDataLoaders, find_classes, split_items
    from sgdlab.vision.device import default_device
    from sgdlab.vision.learner import Learner

    given = [flag for flag, value in (("--arch", args.arch), ("--size", args.size),
                                      ("--weights", args.weights)) if value is not None]
    if given:
        raise SgdlabError(f"{', '.join(given)} cannot be combined with --model: the checkpoint "
                          f"{args.model} decides its architecture, image size and weights; "
                          f"leave {'them' if len(given) > 1 else 'it'} out")
    checkpoint = read_checkpoint(args.model)
    run = checkpoint.get("run", {})
    seed = args.seed if args.seed is not None else run.get("split_seed") or DEFAULT_SEED
    folder = data_dir(args)
    classes, items = find_classes(folder)
    train, valid = split_items(items, valid_pct=run.get("valid_pct") or 0.2, seed=seed)
    dls = ImageDataLoaders(folder, classes, train, valid, size=checkpoint["size"],
                           batch_size=args.batch_size or MODEL_BATCH_SIZE,
                           device=default_device(args.device), seed=seed,
                           mean=checkpoint["mean"], std=checkpoint["std"])
    print(describe(dls))
    model = vision_model.create_model(len(checkpoint["classes"]), checkpoint["arch"],
                                      head=checkpoint["head"])
    learn = Learner(dls, model, arch=checkpoint["arch"], head=checkpoint["head"], seed=seed,
                    impl=args.impl)
    learn.load(Path(args.model).absolute())
    learn.unfreeze()
    print(f"model: {args.model} ({checkpoint['arch']}), every layer trainable (as after "
          f"learn.unfreeze()); the file is only read")
    return learn


def _lr_find(args: argparse.Namespace) -> int:
    learn = _new_model_learner(args) if args.model is None else _saved_model_learner(args)
    result = learn.lr_find(start_lr=args.start_lr, end_lr=args.end_lr, num_it=args.num_it)
    path = result.plot(args.out, style=style_of(args))
    stopped = " (stopped early: the loss diverged)" if result.stopped_early else ""
    print(f"swept {len(result.lrs)} learning rates from {result.lrs[0]:.2g} to "
          f"{result.lrs[-1]:.2g}{stopped}")
    print(f"steepest descent: {result.steepest:.2e}")
    print(f"minimum / 10:     {result.minimum_div_10:.2e}")
    print(f"plot: {path}")
    return 0


def add_lr_find_command(actions) -> None:
    """Register ``lr-find`` under the ``sgdlab bears`` sub-parsers."""
    p = actions.add_parser("lr-find", help="sweep the learning rate, plot the loss",
                           description="Train briefly with a rising learning rate on a new "
                                       "model at the recipe's main size (or, with --model, "
                                       "on a saved one, every layer trainable), save the "
                                       "loss-against-lr plot and print the suggestions. "
                                       + OVERRIDE_RULE)
    add_data_options(p, batch_size=f"the recipe's; {MODEL_BATCH_SIZE} with --model")
    add_model_options(p)
    p.add_argument("--model", type=Path, default=None, metavar="PATH",
                   help="sweep on this checkpoint (e.g. models/bears-stage-1.pth, saved by "
                        "`sgdlab bears train`) with every layer trainable, as the lecture "
                        "does after stage 1; the file is not changed")
    p.add_argument("--unfreeze", action="store_true",
                   help="sweep with every layer trainable (with --weights the body is "
                        "otherwise frozen; with --model every layer always trains)")
    p.add_argument("--num-it", type=int, default=100, help="mini-batches to sweep (default 100)")
    p.add_argument("--start-lr", type=float, default=1e-7, help="first lr (default 1e-7)")
    p.add_argument("--end-lr", type=float, default=10.0, help="last lr (default 10)")
    p.add_argument("--out", type=Path, default=Path("lr_find.png"), metavar="PNG",
                   help="where to save the plot (default lr_find.png)")
    add_impl_option(p)
    add_style_option(p)
    add_progress_option(p, _lr_find)
