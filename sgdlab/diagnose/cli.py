"""``sgdlab diagnose PATH [--n-valid N] [--n-classes K]``: a verdict on a run from its file."""

from __future__ import annotations

import argparse

from sgdlab.diagnose.epochs import diagnose
from sgdlab.diagnose.history import diagnose_history
from sgdlab.diagnose.records import read_run
from sgdlab.errors import SgdlabError
from sgdlab.history import History


def _count(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def _handle(args: argparse.Namespace) -> int:
    run = read_run(args.path)
    if isinstance(run, History):
        if args.n_valid is not None or args.n_classes is not None:
            raise SgdlabError(f"{args.path} is a History of a linear run: --n-valid and "
                              f"--n-classes apply to epoch tables only; drop them")
        print(f"{args.path}: a linear run of {run.steps} steps")
        print(diagnose_history(run))
        return 0
    result = diagnose(run, n_valid=args.n_valid, n_classes=args.n_classes)
    n_valid = args.n_valid if args.n_valid is not None else run.n_valid
    n_classes = args.n_classes if args.n_classes is not None else run.n_classes
    known = [f"{n_valid} validation images" if n_valid else "validation images: unknown",
             f"{n_classes} classes" if n_classes else "classes: unknown"]
    print(f"{args.path}: {len(run)} epoch{'s' if len(run) != 1 else ''}, {', '.join(known)}")
    print(result)
    return 0


def add_commands(subparsers) -> None:
    """Register ``sgdlab diagnose PATH``."""
    parser = subparsers.add_parser(
        "diagnose", help="name what went wrong in a run (lr too high/low, too few/many epochs, "
                         "not learning)",
        description="Read a run and name which of the lecture's problems it shows, with the "
                    "evidence and the remedy. PATH may be the CSV `sgdlab bears train` writes "
                    "beside the checkpoint, a fastai CSVLogger CSV, the epoch table as sgdlab "
                    "prints it (saved to a text file), a checkpoint (.pth) or a History saved "
                    "as .pt; the kind is told by the content.")
    parser.add_argument("path", help="the CSV, printed table, checkpoint or History file")
    parser.add_argument("--n-valid", type=_count(1), default=None, metavar="N",
                        help="validation images behind each error rate (default: read from "
                             "the file when it records them); without it only large changes "
                             "of the error rate count")
    parser.add_argument("--n-classes", type=_count(2), default=None, metavar="K",
                        help="number of classes, to compare the error rate with chance "
                             "(default: read from the file when it records them)")
    parser.set_defaults(func=_handle)
