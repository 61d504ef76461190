"""``sgdlab exercises init FILE`` writes the template; ``sgdlab check N|all --impl FILE`` runs
its tests."""

from __future__ import annotations

import argparse
import os


def add_commands(subparsers) -> None:
    """Register ``exercises`` (with ``init``) and ``check``."""
    exercises = subparsers.add_parser(
        "exercises", help="write the exercise template to fill in",
        description="The exercises: write the SGD core yourself, then prove it with "
                    "`sgdlab check`.")
    actions = exercises.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init", help="write the template with every exercise function to FILE",
        description="Write a Python file with every exercise function: its signature, a "
                    "docstring with the math, and a stub for you to replace.")
    init.add_argument("file", metavar="FILE", help="where to write it, e.g. my_sgd.py")
    init.add_argument("--force", action="store_true",
                      help="overwrite FILE if it exists (its contents are lost)")
    init.set_defaults(func=_init)

    check = subparsers.add_parser(
        "check", help="check your solution to exercise N (1-14) or all of them",
        description="Run an exercise's property tests on your solutions file and explain what "
                    "failed. Exit code 0 when every check passes, 1 when one fails.")
    check.add_argument("which", metavar="N|all", help="exercise number (1-14) or 'all'")
    check.add_argument("--impl", metavar="FILE", default=os.environ.get("SGDLAB_IMPL"),
                       help="your solutions file (default: $SGDLAB_IMPL)")
    check.add_argument("--verbose", "-v", action="store_true",
                       help="also print pytest's own report")
    check.set_defaults(func=_check)


def _init(args: argparse.Namespace) -> int:
    from sgdlab.exercises.solutions import write_template

    path = write_template(args.file, force=args.force)
    print(f"wrote the exercise template to {path}\n"
          f"fill in exercise 1, then run: sgdlab check 1 --impl {args.file}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from sgdlab.errors import SgdlabError
    from sgdlab.exercises.check import format_report, parse_exercises, run_checks

    numbers = parse_exercises(args.which)
    if not args.impl:
        raise SgdlabError("which file should I check? pass --impl FILE (or set SGDLAB_IMPL); "
                          "`sgdlab exercises init FILE` writes one to start from")
    outcomes, log = run_checks(numbers, args.impl)
    if args.verbose:
        print(log)
    print(format_report(outcomes, args.impl))
    return 0 if all(o.ok for o in outcomes) else 1
