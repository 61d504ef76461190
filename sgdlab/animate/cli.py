"""``sgdlab animate SCENE --out FILE`` renders one scene; ``sgdlab animate lecture``, the set."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from sgdlab.progress import add_progress_option
from sgdlab.style import add_style_option, style_of

SCENE_NAMES = ("line-fit", "loss-curve", "parameter-space", "surface", "learning-rates",
               "minibatch", "overview")


def frame_size(text: str) -> tuple[int, int]:
    """Parse ``WIDTHxHEIGHT`` (e.g. ``640x480``)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"size must look like 640x480 (width x height in "
                                         f"pixels), got {text!r}")
    return int(match[1]), int(match[2])


def _handle(args: argparse.Namespace) -> int:
    from sgdlab.animate.lecture import render_lecture_set
    from sgdlab.animate.options import check_fps, check_output, check_size
    from sgdlab.animate.scenes import SceneOptions, build_scene
    from sgdlab.errors import SgdlabError

    check_fps(args.fps)  # fail before any work is done
    if args.size is not None:
        check_size(args.size)
    style = style_of(args)
    movie_style = {} if style.size is None else {"size": style.size, "dpi": style.dpi}
    if args.scene == "lecture":
        paths = render_lecture_set(args.out_dir, progress=not args.no_progress, fps=args.fps,
                                   **movie_style)
        for path in paths:
            print(path)
        return 0
    if args.out is None:
        raise SgdlabError(f"say where to write the {args.scene} scene: --out FILE.mp4 "
                          f"(or .gif, .html)")
    options = SceneOptions(lrs=args.lr, steps=args.steps, batch_size=args.batch_size,
                           noise=args.noise, seed=args.seed, size=args.size)
    check_output(args.out, args.size or movie_style.get("size"))
    movie = build_scene(args.scene, options, **movie_style)
    path = movie.save(args.out, fps=args.fps, progress=not args.no_progress)
    print(path)
    return 0


def add_commands(subparsers) -> None:
    """Register ``sgdlab animate``."""
    p = subparsers.add_parser(
        "animate", help="render a gradient-descent animation (MP4, GIF or HTML)",
        description="Record a run on the lecture's data and replay it as an animation. "
                    "SCENE 'lecture' renders the whole lecture set into --out-dir.",
    )
    p.add_argument("scene", choices=(*SCENE_NAMES, "lecture"), metavar="SCENE",
                   help="one of: " + ", ".join((*SCENE_NAMES, "lecture")))
    p.add_argument("--lr", type=float, nargs="+", default=None,
                   help="learning rate (default 0.1); several for learning-rates "
                        "(default: too low, good, just under and over 2/λmax)")
    p.add_argument("--steps", type=int, default=100, help="update steps (default 100)")
    p.add_argument("--batch-size", type=int, default=10,
                   help="mini-batch size for the minibatch scene (default 10)")
    p.add_argument("--noise", choices=("uniform", "gaussian", "none"), default="uniform",
                   help="noise added to the data (default: uniform, as in the lecture)")
    p.add_argument("--seed", type=int, default=42, help="random seed of data and batches")
    p.add_argument("--fps", type=float, default=20.0, help="frames per second (default 20)")
    p.add_argument("--size", type=frame_size, default=None, metavar="WxH",
                   help="frame size in pixels, e.g. 640x480 (even for MP4); with "
                        "--projector it replaces the preset's 1280x720")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="output file; .mp4, .gif or .html picks the format")
    p.add_argument("--out-dir", type=Path, default=Path("animations"), metavar="DIR",
                   help="folder for the lecture set (default: animations)")
    add_style_option(p)
    add_progress_option(p, _handle)
