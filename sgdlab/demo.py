"""Placeholder: sub-commands of this area are being written (see the open issues)."""


def add_commands(subparsers) -> None:
    """Register this area's sub-commands (none yet)."""
