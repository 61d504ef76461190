"""``sgdlab bears download`` and ``sgdlab bears verify``: getting the photos onto the disk.

    sgdlab bears download urls_black.txt bears/black --max-pics 200
    sgdlab bears verify bears --dry-run

Both are registered by :func:`add_file_commands` under ``sgdlab bears``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sgdlab.progress import add_progress_option

# ------------------------------------------------------------------------------ handlers

def _download(args: argparse.Namespace) -> int:
    from sgdlab.vision.download import download_images, format_report

    report = download_images(args.urls_file, args.dest, max_pics=args.max_pics,
                             workers=args.workers, timeout=args.timeout,
                             allow_private=args.allow_private)
    print(format_report(report))
    return 0 if report.saved or report.existing else 1


def _verify(args: argparse.Namespace) -> int:
    from sgdlab.vision.clean import format_verify_report, verify_images

    # --delete is refused inside verify_images: sgdlab never deletes a picture
    report = verify_images(args.folder, quarantine=args.quarantine, dry_run=args.dry_run,
                           delete=args.delete)
    print(format_verify_report(report))
    return 0


# ------------------------------------------------------------------------------ registration

def add_file_commands(actions) -> None:
    """Register ``download`` and ``verify`` under the ``sgdlab bears`` sub-parsers."""
    p = actions.add_parser("download", help="download the pictures of a URL list",
                           description="Download the first --max-pics URLs of URLS_FILE (one per "
                                       "line) into DEST as 00000000.jpg, 00000001.png, ...")
    p.add_argument("urls_file", type=Path, metavar="URLS_FILE")
    p.add_argument("dest", type=Path, metavar="DEST", help="folder for the pictures, e.g. "
                                                           "bears/black")
    p.add_argument("--max-pics", type=int, default=200, help="URLs to try (default 200)")
    p.add_argument("--workers", type=int, default=8, help="parallel downloads (default 8)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds allowed for a whole attempt at one URL, redirects included "
                        "(default 10)")
    p.add_argument("--allow-private", action="store_true",
                   help="also download from loopback and private network addresses (a server "
                        "on this machine or your network); refused by default")
    add_progress_option(p, _download)

    p = actions.add_parser("verify", help="quarantine unreadable pictures, convert to RGB",
                           description="Decode every picture under FOLDER; move the unreadable "
                                       "ones to a quarantine folder (listed in manifest.csv) "
                                       "and rewrite the others as RGB. Nothing is ever "
                                       "deleted: look at the quarantine, then delete it "
                                       "yourself.")
    p.add_argument("folder", type=Path, metavar="FOLDER")
    p.add_argument("--delete", action="store_true", help=argparse.SUPPRESS)  # refused
    p.add_argument("--quarantine", type=Path, default=None, metavar="DIR",
                   help="where unreadable files go (default FOLDER/.quarantine); a visible "
                        "folder inside the dataset is refused, as the loader would read it")
    p.add_argument("--dry-run", action="store_true", help="only report; change nothing")
    p.set_defaults(func=_verify)
