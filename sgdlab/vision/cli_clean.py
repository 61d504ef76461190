"""``sgdlab bears clean``: the cleaning session of :mod:`sgdlab.vision.cleaner` from a terminal.

    sgdlab bears clean --model models/bears.pth --data bears --list 20        # the worst 20
    sgdlab bears clean --model models/bears.pth --data bears --list 0 --csv   # all, as CSV
    sgdlab bears clean --data bears --delete black/00000012.jpg --relabel teddys/3.jpg=grizzly
    sgdlab bears clean --data bears --apply
    sgdlab bears clean --data bears --undo
    sgdlab bears clean --model models/bears.pth --data bears                  # in a browser

Each ``--delete``/``--relabel``/``--keep`` is written to the journal in the data folder at once;
``--apply`` carries out every pending decision, ``--undo`` puts back the last applied batch
(``--undo-all``: every batch). Paths may be given relative to the data folder. Only ``--list``
and the browser page need the model: with none of those options, ``--model`` serves
the same grid at http://127.0.0.1:8001/ (``--port``), on this machine only (the page can move
photos, so it is never offered to the network). Each photo's split is the one recorded in the
checkpoint: a photo that was not a validation photo then is listed as ``train`` (the model may
have seen it).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from sgdlab.checks import DEFAULT_SEED
from sgdlab.progress import add_progress_option
from sgdlab.vision.cleaner import SEEN_NOTE

DEFAULT_PORT = 8001  # beside `sgdlab bears serve`'s 8000


def _learner(args: argparse.Namespace, folder: Path):
    """The checkpoint's model on every photo of ``folder``, split as the checkpoint records."""
    from sgdlab.errors import SgdlabError
    from sgdlab.vision.checkpoint import read_checkpoint, relative_name
    from sgdlab.vision.reload import checkpoint_learner
    from sgdlab.vision.split import find_classes, split_items

    run = read_checkpoint(args.model).get("run", {})
    classes, items = find_classes(folder)
    seed = run.get("split_seed") or DEFAULT_SEED
    valid_files = run.get("valid_files")
    if valid_files is None:
        print(f"warning: {args.model} does not record its validation photos (an older "
              f"sgdlab saved it); the split shown is seed {seed}'s split of the photos here")
        train, valid = split_items(items, valid_pct=run.get("valid_pct") or 0.2, seed=seed)
    else:
        names = set(valid_files)
        valid = [p for p in items if relative_name(p, folder) in names]
        train = [p for p in items if relative_name(p, folder) not in names]
        if not valid or len(train) < 2:
            raise SgdlabError(f"the photos in {folder} are not the ones {args.model} was "
                              f"trained on ({run.get('data_folder')!r}); give the --data "
                              f"folder it was trained with")
    return checkpoint_learner(args.model, folder, classes, train, valid, seed=seed,
                              batch_size=args.batch_size, device=args.device)


def _relabel_pair(text: str) -> tuple[str, str]:
    path, sep, label = text.rpartition("=")
    if not sep or not path or not label:
        raise argparse.ArgumentTypeError(f"{text!r}: write PATH=CLASS, e.g. "
                                         f"black/00000001.jpg=grizzly")
    return path, label


def _print_rows(rows, n_all: int, cleaner, as_csv: bool) -> None:
    def decided(row) -> str:
        d = cleaner.state.pending.get(row.path)
        return "" if d is None else (f"relabel {d.label}" if d.action == "relabel" else d.action)

    if as_csv:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["path", "label", "split", "prediction", "probability", "loss",
                      "decision"])
        for r in rows:
            out.writerow([r.path, r.label, r.split, r.prediction, f"{r.probability:.4f}",
                          f"{r.loss:.4f}", decided(r)])
        return
    print(f"the {len(rows)} photo(s) with the largest loss, of {n_all} (loss = -log p(label)); "
          f"note: {SEEN_NOTE}")
    width = max([len(r.path) for r in rows] + [4])
    classes = max(len(c) for c in cleaner.classes)
    print(f"{'path':<{width}}  {'label':<{classes}}  {'prediction':<{max(classes, 10)}}  "
          f"{'loss':>6}  {'p(label)':>8}  split  decision")
    for r in rows:
        print(f"{r.path:<{width}}  {r.label:<{classes}}  {r.prediction:<{max(classes, 10)}}  "
              f"{r.loss:>6.2f}  {r.probability:>8.2f}  {r.split:<5}  {decided(r)}")


def _clean(args: argparse.Namespace) -> int:
    from sgdlab.checks import check_whole_number
    from sgdlab.errors import SgdlabError
    from sgdlab.vision.cleaner import Cleaner
    from sgdlab.vision.split import default_bears_dir

    folder = args.data if args.data is not None else default_bears_dir()
    if args.apply and (args.undo or args.undo_all):
        raise SgdlabError("give --apply or --undo, not both: apply, look, then undo if needed")
    cleaner = Cleaner(None, folder)
    for path in args.keep or []:
        print(f"keep: {cleaner.keep(path)}")
    for path in args.delete or []:
        print(f"delete (at --apply, into {folder / '.quarantine'}): {cleaner.delete(path)}")
    for path, label in args.relabel or []:
        print(f"relabel {label} (at --apply): {cleaner.relabel(path, label)}")
    if args.apply:
        moves = cleaner.apply()
        for m in moves:
            print(f"moved {m.photo} -> {m.to}")
        print(f"applied {len(moves)} decision(s)" + ("; `--undo` puts them back" if moves
                                                      else ": none was pending"))
    if args.undo or args.undo_all:
        moves = cleaner.undo(all=args.undo_all)
        for m in moves:
            print(f"put back {m.to} -> {m.photo}")
        print(f"undone: {len(moves)} move(s); the decisions are pending again")
    if args.list is not None:
        check_whole_number(args.list, "--list", hint="0 lists every photo")
        if args.model is None:
            raise SgdlabError("--list ranks the photos with a model: give --model PATH")
        cleaner = Cleaner(_learner(args, folder), folder)
        rows = cleaner.rows(label=args.label, split=args.split, which=args.which)
        _print_rows(rows[:args.list] if args.list else rows, len(rows), cleaner, args.csv)
    elif not (args.keep or args.delete or args.relabel or args.apply or args.undo
              or args.undo_all):
        if args.model is not None:
            return _serve_page(args, folder)
        print(f"{cleaner!r}\ngive --model PATH to clean in a browser, --list N to see the "
              f"worst photos, --delete / --relabel to decide, --apply, --undo (see --help)")
    return 0


def _serve_page(args: argparse.Namespace, folder: Path) -> int:
    """Rank every photo once, then serve the cleaning page on 127.0.0.1 until Ctrl-C."""
    import time

    from sgdlab.checks import check_whole_number
    from sgdlab.errors import SgdlabError
    from sgdlab.vision import serving

    serving.require_web_extra()
    check_whole_number(args.port, "--port", minimum=1, hint=f"the default is {DEFAULT_PORT}")
    if args.port > 65535:
        raise SgdlabError(f"--port must be at most 65535, got {args.port}")
    from sgdlab.vision.cleaner import Cleaner
    from sgdlab.vision.web.clean_app import make_clean_app

    start = time.perf_counter()
    cleaner = Cleaner(_learner(args, folder), folder)
    app = make_clean_app(cleaner)  # ranks every photo now, before the first request
    ranked = len(app.state.session.ranked)
    print(f"sgdlab bears clean: ranked {ranked} photos of {folder} with {args.model} in "
          f"{time.perf_counter() - start:.1f} s; decisions go to {folder / '.cleaning.jsonl'} "
          f"at once", flush=True)
    serving.serve(app, serving.LOCAL_HOST, args.port, what="sgdlab bears clean")
    return 0


def add_clean_command(actions) -> None:
    """Register ``sgdlab bears clean``."""
    p = actions.add_parser(
        "clean", help="rank every photo by loss, then delete or relabel, apply, undo",
        description="Rank every photo (training and validation) by the model's loss, record "
                    "decisions in the journal of the data folder, move deleted photos into its "
                    ".quarantine and relabelled ones into their new class folder, and undo. "
                    "Nothing is ever deleted for real. With --model and none of --list, --delete, "
                    "--relabel, --keep, --apply, --undo: the same grid as a page at "
                    f"http://127.0.0.1:{DEFAULT_PORT}/ (this machine only). "
                    + SEEN_NOTE[0].upper() + SEEN_NOTE[1:]
                    + ".")
    p.add_argument("--model", type=Path, default=None, metavar="PATH",
                   help="a checkpoint saved by `sgdlab bears train` (needed by --list and "
                        "by the browser page, which it opens when no other option is given)")
    p.add_argument("--data", type=Path, default=None, metavar="DIR",
                   help="the dataset folder (default: $SGDLAB_BEARS or ../shared/bears)")
    p.add_argument("--list", type=int, default=None, metavar="N",
                   help="print the N photos with the largest loss (0: all)")
    p.add_argument("--csv", action="store_true", help="print the list as CSV")
    p.add_argument("--class", dest="label", default=None, metavar="CLASS",
                   help="list only the photos labelled CLASS")
    p.add_argument("--split", choices=("train", "valid"), default=None,
                   help="list only training or validation photos")
    p.add_argument("--which", choices=("all", "wrong", "unsure"), default="all",
                   help="list only the wrongly predicted or the unsure ones (default all)")
    p.add_argument("--delete", nargs="+", metavar="PATH", help="mark photos for the quarantine")
    p.add_argument("--relabel", nargs="+", type=_relabel_pair, metavar="PATH=CLASS",
                   help="mark photos to move into another class folder")
    p.add_argument("--keep", nargs="+", metavar="PATH", help="take back an earlier decision")
    p.add_argument("--apply", action="store_true", help="carry out the pending decisions")
    p.add_argument("--undo", action="store_true", help="put back the last applied batch")
    p.add_argument("--undo-all", action="store_true", help="put back every applied batch")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"the browser page's port on 127.0.0.1 (default {DEFAULT_PORT}); the "
                        f"page serves this machine only")
    p.add_argument("--batch-size", type=int, default=None, help="images per batch (default 64)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None,
                   help="where to compute (default: cuda when present, else cpu)")
    add_progress_option(p, _clean)
