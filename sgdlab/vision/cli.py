"""``sgdlab bears ...``: train, lr-find, interpret and predict from a terminal (``download`` and
``verify`` live in :mod:`sgdlab.vision.cli_files`).

    sgdlab bears download urls_black.txt bears/black --max-pics 200
    sgdlab bears verify bears --dry-run
    sgdlab bears train                                    # from scratch, the measured recipe
    sgdlab bears train --weights resnet34.pth             # the lecture's: 4 epochs, 2 unfrozen
    sgdlab bears lr-find --out lr_find.png
    sgdlab bears train --impl my_sgd.py                   # trained by your exercise solutions
    sgdlab bears interpret --model models/bears.pth --top 9
    sgdlab bears predict --model models/bears.pth photo.jpg

Training and interpretation read the photos from ``--data`` (default: ``$SGDLAB_BEARS`` or
``../shared/bears``) and set aside the same seeded 20% for validation (``--seed``, default 42).
``train`` and ``lr-find`` start from the recipe of :mod:`sgdlab.vision.recipe` for the device
and the starting weights, with the override rule stated there: every option you give replaces
the recipe's value of the same name, nothing else changes. Paths are used as given. Torch
and torchvision are imported inside the handlers, so ``sgdlab --help`` stays quick.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from sgdlab.progress import add_progress_option
from sgdlab.style import add_style_option, style_of
from sgdlab.vision import cli_parallel
from sgdlab.vision.cli_clean import add_clean_command
from sgdlab.vision.cli_files import add_file_commands
from sgdlab.vision.cli_lr_find import add_lr_find_command
from sgdlab.vision.cli_options import (
    OVERRIDE_RULE,
    add_data_options,
    add_impl_option,
    add_model_options,
    describe,
    describe_weights,
    model_on_its_split,
    recipe_from_args,
    training_data,
)
from sgdlab.vision.cli_predict import add_predict_command
from sgdlab.vision.cli_serve import add_serve_command

_recipe = recipe_from_args  # the name the tests know

# ------------------------------------------------------------------------------ handlers

def _train(args: argparse.Namespace, make_learner: Callable | None = None) -> int:
    """``bears train``; with ``--nproc`` or under torchrun see :mod:`~sgdlab.vision.cli_parallel`
    (which calls this again in every rank with its ``make_learner``)."""
    from sgdlab.diagnose import diagnose
    from sgdlab.vision.recipe import run_recipe

    if make_learner is None and cli_parallel.wants_parallel(args):
        return cli_parallel.train_in_parallel(args, _train)
    recipe = recipe_from_args(args)
    frozen = " (body frozen: only the head and BatchNorm layers train)" if recipe.weights else ""
    print(f"model: {recipe.arch}, {describe_weights(recipe.weights)}{frozen}")
    print(f"recipe: {recipe.describe()}")
    path = args.model_dir / f"{args.name}.pth"
    stages = run_recipe(recipe, lambda size: training_data(args, recipe, size),
                        model_dir=args.model_dir, impl=args.impl,
                        **({} if make_learner is None else {"make_learner": make_learner}))
    for run in stages:
        if run.diverged:
            print(f"\nthe loss became {run.recorder.losses[-1]} at step "
                  f"{run.recorder.stopped_at}: the weights are ruined; nothing saved")
            if run.stage.judged:
                print(f"diagnosis: {diagnose(run.recorder)}")
            return 1
        if not run.stage.judged:
            print("(no diagnosis for this stage: it is the first half of a run, not a whole "
                  "one)\n")
            continue
        verdict = diagnose(run.recorder)
        print(f"\ndiagnosis: {verdict}\n")
        if verdict.problem == "lr_too_high":
            print("the weights are ruined; nothing saved")
            return 1
        if run.stage.name == "main" and recipe.unfreeze_epochs:
            stage_1 = run.learn.save(path.with_name(f"{args.name}-stage-1.pth"))
            print(f"saved stage 1: {stage_1}")
            rates = ", ".join(f"{x:.2g}" for x in run.learn.lrs(recipe.unfreeze_lr))
            print(f"unfrozen next: every layer trains, learning rates {rates} (first group ... "
                  f"head)")
    saved = run.learn.save(path)
    if not cli_parallel.is_main_process():
        return 0  # the other ranks of a data-parallel run write nothing
    table = run.recorder.to_csv(path.with_suffix(".csv"))
    print(f"saved: {saved}  (final error rate {run.recorder.rows[-1].error_rate:.4f}); "
          f"epoch table: {table} (`sgdlab diagnose {table}` reads it)")
    return 0


def _interpret(args: argparse.Namespace) -> int:
    from sgdlab.checks import check_whole_number
    from sgdlab.vision.interpret import ClassificationInterpretation

    check_whole_number(args.top, "--top", minimum=1)
    learn = model_on_its_split(args)
    print(describe(learn.dls))
    interp = ClassificationInterpretation.from_learner(learn)
    wrong = int((interp.preds != interp.targets).sum())
    n = len(interp.items)
    print(f"error rate: {wrong}/{n} = {wrong / n:.4f}\n")
    print(interp.confusion_table())
    confused = interp.most_confused()
    print("\nmost confused (actual -> predicted: images):")
    for actual, predicted, count in confused or []:
        print(f"  {actual} -> {predicted}: {count}")
    if not confused:
        print("  none: every validation image is right")
    losses, indices = interp.top_losses(args.top)
    print(f"\ntop {len(indices)} losses (prediction / actual / loss / probability of actual):")
    for loss, i in zip(losses.tolist(), indices.tolist(), strict=True):
        actual, predicted = int(interp.targets[i]), int(interp.preds[i])
        print(f"  {interp.items[i]}: {interp.classes[predicted]} / {interp.classes[actual]} / "
              f"{loss:.2f} / {interp.probs[i, actual]:.2f}")
    out, style = args.out, style_of(args)
    print(f"\nconfusion matrix: "
          f"{interp.plot_confusion_matrix(out / 'confusion_matrix.png', style=style)}")
    print(f"top losses: {interp.plot_top_losses(args.top, out / 'top_losses.png', style=style)}")
    return 0


# ------------------------------------------------------------------------------ registration

def add_commands(subparsers) -> None:
    """Register ``sgdlab bears`` and its sub-commands."""
    bears = subparsers.add_parser(
        "bears", help="the bear classifier: download, verify, train, lr-find, interpret, predict",
        description="The lecture's bear classifier, trained by sgdlab's own SGD.")
    actions = bears.add_subparsers(dest="action", required=True, metavar="ACTION")

    add_file_commands(actions)
    add_clean_command(actions)
    add_serve_command(actions)

    p = actions.add_parser(
        "train", help="train the classifier and save it",
        description="Train the recipe of sgdlab.vision.recipe for this device and the starting "
                    "weights, stage by stage (fit_one_cycle each), print each epoch table and "
                    "diagnose's verdict, and save the model with its epoch table as CSV. From "
                    "scratch on a CPU: 40 epochs at 1e-2 on 64-px images, then 10 at 3e-3 at "
                    "128 px (progressive resizing), label smoothing 0.1; on a GPU one cycle of "
                    "40 epochs at 1e-2 at 224 px; with --weights the lecture's 4 epochs at "
                    "3e-3, then 2 unfrozen with slice(3e-5, 3e-4). " + OVERRIDE_RULE)
    add_data_options(p, batch_size="the recipe's")
    add_model_options(p)
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs of the main stage (default: the recipe's)")
    p.add_argument("--lr", type=float, default=None,
                   help="maximum learning rate of the main stage (default: the recipe's)")
    p.add_argument("--wd", type=float, default=None,
                   help="weight decay (default: the recipe's)")
    p.add_argument("--label-smoothing", type=float, default=None, metavar="EPS",
                   help="train with label smoothing EPS, 0 for plain cross-entropy (default: "
                        "the recipe's, 0.1 from scratch on a CPU)")
    p.add_argument("--small-epochs", type=int, default=None, metavar="N",
                   help="progressive resizing: first N epochs on --small-size images (the CPU "
                        "recipe: 40 at 64 px); 0 turns it off")
    p.add_argument("--small-size", type=int, default=None, metavar="PX",
                   help="image side of the warm-up stage (the CPU recipe: 64)")
    p.add_argument("--small-lr", type=float, default=None, metavar="LR",
                   help="maximum learning rate of the warm-up stage (the CPU recipe: 1e-2)")
    p.add_argument("--unfreeze-epochs", type=int, default=None, metavar="N",
                   help="then unfreeze and train N more epochs (default: 2 with --weights, "
                        "as in the lecture; 0 from scratch)")
    p.add_argument("--unfreeze-lr", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="learning rates after unfreezing, first layers to head, as "
                        "slice(LO, HI) (default: LR/100 LR/10)")
    p.add_argument("--name", default="bears", help="checkpoint name (default bears)")
    p.add_argument("--model-dir", type=Path, default=Path("models"), metavar="DIR",
                   help="where the checkpoint (NAME.pth) and its epoch table (NAME.csv) go "
                        "(default ./models)")
    cli_parallel.add_parallel_options(p)
    add_impl_option(p)
    add_progress_option(p, _train)

    add_lr_find_command(actions)

    p = actions.add_parser("interpret", help="confusion matrix and top losses of a model",
                           description="Predict the validation photos with a saved model; print "
                                       "the confusion matrix, the most confused classes and "
                                       "the top losses, and save both as PNG. The validation "
                                       "split is the one recorded in the checkpoint; photos "
                                       "the model may have trained on are refused.")
    p.add_argument("--model", type=Path, required=True, metavar="PATH",
                   help="a checkpoint saved by `sgdlab bears train` (used as given)")
    add_data_options(p, batch_size="64", seed="the one the model was trained with")
    p.add_argument("--top", type=int, default=9, metavar="K",
                   help="how many top losses to list and plot (default 9)")
    p.add_argument("--out", type=Path, default=Path("interpretation"), metavar="DIR",
                   help="folder for the PNGs (default ./interpretation)")
    p.add_argument("--allow-training-photos", action="store_true",
                   help="look even when some validation photos here were not validation "
                        "photos when the model was trained (a warning is printed)")
    add_style_option(p)
    add_progress_option(p, _interpret)

    add_predict_command(actions)
