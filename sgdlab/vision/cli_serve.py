"""``sgdlab bears serve``: the bear classifier as a web app (:mod:`sgdlab.vision.web`).

    sgdlab bears serve --model models/bears.pth                    # http://127.0.0.1:8000/
    sgdlab bears serve --model models/bears.pth --host 0.0.0.0 --port 8080
    sgdlab bears serve --model models/bears.pth --max-upload-mb 5 --max-queue 8

The checkpoint is loaded once, on the CPU, before the server starts: a missing file or one
that is not a sgdlab checkpoint stops the command with the checkpoint's own message (exit
code 2). The server binds 127.0.0.1 unless ``--host`` says otherwise and prints the address
to open. ``--allow-private-urls`` lets ``/api/predict-url`` fetch from this machine and its
network (for local tests); without it only the public web is fetched.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_MAX_UPLOAD_MB = 10.0
DEFAULT_MAX_MEGAPIXELS = 40.0


def _serve(args: argparse.Namespace) -> int:
    from sgdlab.checks import check_number, check_whole_number
    from sgdlab.vision import serving
    from sgdlab.vision.checkpoint import load_learner

    serving.require_web_extra()
    from sgdlab.vision.web.app import make_app
    from sgdlab.vision.web.uploads import bytes_from_megabytes

    # every option is checked before the (slow) checkpoint is loaded
    host = serving.check_host(args.host)
    check_whole_number(args.port, "--port", minimum=1)
    max_bytes = bytes_from_megabytes(args.max_upload_mb)
    megapixels = check_number(args.max_megapixels, "--max-megapixels", positive=True,
                              hint="the default is 40")
    check_whole_number(args.max_queue, "--max-queue", minimum=1, hint="the default is 16")
    check_whole_number(args.workers, "--workers", minimum=1, hint="the default is 1")
    check_number(args.url_timeout, "--url-timeout", positive=True, hint="the default is 10")
    check_number(args.batch_window_ms, "--batch-window-ms", minimum=0, hint="0 turns it off")
    check_whole_number(args.max_batch, "--max-batch", minimum=1, hint="the default is 8")
    predictor = load_learner(args.model, device="cpu")
    app = make_app(predictor, max_upload_bytes=max_bytes,
                   max_pixels=max(int(megapixels * 1_000_000), 1), max_queue=args.max_queue,
                   workers=args.workers, allow_private_urls=args.allow_private_urls,
                   url_timeout=args.url_timeout, batch_window_ms=args.batch_window_ms,
                   max_batch=args.max_batch)
    print(f"sgdlab bears serve: loaded {args.model} ({predictor.arch}, {predictor.size} px, "
          f"classes {', '.join(predictor.classes)}) on the CPU; uploads up to "
          f"{args.max_upload_mb:g} MB and {args.max_megapixels:g} MP, at most {args.max_queue} "
          f"predictions waiting", flush=True)
    if args.allow_private_urls:
        print("sgdlab bears serve: --allow-private-urls: /api/predict-url may fetch from this "
              "machine and its network", flush=True)
    # uvicorn's own cap on open connections (it answers 503 above it) keeps uploads that are
    # still arriving, before they reach the queue, from piling up.
    serving.serve(app, host, args.port, what="sgdlab bears serve",
                  limit_concurrency=max(64, 4 * args.max_queue))
    return 0


def add_serve_command(actions) -> None:
    """Register ``sgdlab bears serve``."""
    p = actions.add_parser(
        "serve", help="serve the classifier as a web page and a JSON API",
        description="Load a checkpoint once on the CPU and serve it: the page at / (choose, "
                    "drop or paste a photo, or a picture's URL) and the API: POST /api/predict "
                    "(multipart field 'file'), POST /api/predict-url (JSON {\"url\": ...}), "
                    "GET /api/model, GET /healthz. Predictions run in a worker thread, a "
                    "bounded number at a time (503 with Retry-After when full).")
    p.add_argument("--model", type=Path, default=Path("models/bears.pth"), metavar="PATH",
                   help="a checkpoint saved by `sgdlab bears train` (default models/bears.pth)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 "
                        "for every network it is on)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-upload-mb", type=float, default=DEFAULT_MAX_UPLOAD_MB, metavar="MB",
                   help=f"largest upload or download (default {DEFAULT_MAX_UPLOAD_MB:g}; 413 "
                        f"above it)")
    p.add_argument("--max-megapixels", type=float, default=DEFAULT_MAX_MEGAPIXELS,
                   metavar="MP", help=f"most pixels a picture may decode into (default "
                                      f"{DEFAULT_MAX_MEGAPIXELS:g}; 413 above it)")
    p.add_argument("--max-queue", type=int, default=16, metavar="N",
                   help="predictions waiting or running at once (default 16; 503 above it)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="inference threads (default 1: one forward pass uses every core)")
    p.add_argument("--url-timeout", type=float, default=10.0, metavar="S",
                   help="seconds for a whole download by /api/predict-url (default 10)")
    p.add_argument("--allow-private-urls", action="store_true",
                   help="let /api/predict-url fetch from loopback and private addresses "
                        "(local tests); off by default")
    p.add_argument("--batch-window-ms", type=float, default=0.0, metavar="MS",
                   help="micro-batching: predictions arriving within MS milliseconds share one "
                        "forward pass (default 0: off; e.g. 5)")
    p.add_argument("--max-batch", type=int, default=8, metavar="N",
                   help="the largest micro-batch (default 8)")
    p.set_defaults(func=_serve)
