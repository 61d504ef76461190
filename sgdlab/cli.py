"""The ``sgdlab`` command: one sub-command per thing a teacher or student does.

Each area adds its own sub-commands through ``add_commands(subparsers)``; heavy imports
(torchvision, matplotlib animation) happen inside the handlers so that ``sgdlab --help`` is quick.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sgdlab.errors import SgdlabError

AREAS = ("sgdlab.demo", "sgdlab.lessons", "sgdlab.notebooks", "sgdlab.exercises.cli",
         "sgdlab.animate.cli", "sgdlab.vision.cli", "sgdlab.diagnose")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sgdlab",
        description="Stochastic gradient descent from the bottom up: lessons, exercises, "
                    "animations and a bear classifier.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in AREAS:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SgdlabError as err:
        print(f"sgdlab: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nsgdlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
