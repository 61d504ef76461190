"""How much does serving cost? ``sgdlab bears serve`` over HTTP against a bare ``model(x)``.

Side by side in one run, on the CPU, with the real server (a child process on 127.0.0.1):

1. **One request at a time**, at each ``--sizes`` (default 224 and 128 px): p50 and p95 of a
   whole ``POST /api/predict`` (upload, decode, resize, forward, JSON), against a bare
   ``model(x)`` of the same photo, already preprocessed, in this process. The two alternate
   in rounds, never at the same time, so machine noise hits both alike. Target: HTTP p50 ≤
   1.25× the bare p50; the lecture's anchor is 0.2 s per photo on a CPU.
2. **A bounded load test** at ``--load-size``: ``--clients`` threads each post the photo in
   a loop until ``--seconds`` pass or ``--max-requests`` answers (per client) arrive:
   requests/s, p50/p99, errors (targets: 0, and no 5xx other than deliberate 503s), and the
   server's RSS at the start and the end (target: growth < 10%).
3. **Throughput under load against the bare forward at batch 1** (target ≥ 0.8×), and the
   bare forward at batch 4 per image against batch 1. The load test runs twice: without
   micro-batching (the default) and with ``--batch-window-ms`` (requests that arrive within
   a few ms share one forward pass), so the two throughputs can be compared.

The model is ``--arch`` (default the lecture's resnet34) with random weights, saved as a
checkpoint per size in a temporary folder (the speed does not depend on the weights); or
``--model PATH``, whose architecture is then saved at each size. The photo is ``--photo``
or the first grizzly of ``$SGDLAB_BEARS`` / ``../shared/bears``, else a synthetic JPEG.

Run: ``python benchmarks/serve.py`` (a few minutes), or for a quick look
``python benchmarks/serve.py --requests 10 --clients 4 --seconds 5 --sizes 128``.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import torch

REPO = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def find_photo(given: Path | None) -> tuple[str, bytes]:
    if given is not None:
        return given.name, given.read_bytes()
    bears = Path(os.environ.get("SGDLAB_BEARS", REPO.parent / "shared" / "bears"))
    photos = sorted((bears / "grizzly").glob("*.jpg")) if (bears / "grizzly").is_dir() else []
    if photos:
        return photos[0].name, photos[0].read_bytes()
    from PIL import Image

    buffer = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((640, 480)).save(buffer, "JPEG")
    return "synthetic.jpg", buffer.getvalue()


def write_model(folder: Path, arch: str, size: int, model_path: Path | None) -> Path:
    """A checkpoint of ``arch`` (or ``model_path``'s weights) that serves ``size`` px."""
    from sgdlab.vision.checkpoint import make_checkpoint, read_checkpoint, write_checkpoint
    from sgdlab.vision.images import IMAGENET_MEAN, IMAGENET_STD
    from sgdlab.vision.model import create_model

    if model_path is not None:
        checkpoint = {**read_checkpoint(model_path), "size": size}
    else:
        model = create_model(3, arch, seed=0)
        checkpoint = make_checkpoint(model, arch=arch, head="fastai",
                                     classes=["black", "grizzly", "teddys"], size=size,
                                     mean=IMAGENET_MEAN, std=IMAGENET_STD)
    return write_checkpoint(checkpoint, folder / f"{arch}-{size}.pth")


class Server:
    """``sgdlab bears serve`` in a child process on 127.0.0.1; stopped by its PID."""

    def __init__(self, model: Path, max_queue: int, *options: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sgdlab.cli", "bears", "serve", "--model", str(model),
             "--port", str(self.port), "--max-queue", str(max_queue), *options],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                if httpx.get(self.base + "/healthz", timeout=2, trust_env=False).is_success:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not answer /healthz within 180 s")
            time.sleep(0.2)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def bare_forward(model_path: Path, photo: bytes, batch: int = 1):
    """A function timing one bare ``model(x)`` of the preprocessed photo (x: batch copies),
    run in a worker thread."""
    from PIL import Image

    from sgdlab.vision.checkpoint import load_learner
    from sgdlab.vision.images import to_rgb, valid_transform

    learn = load_learner(model_path, device="cpu")
    image = to_rgb(Image.open(io.BytesIO(photo)))
    x = valid_transform(learn.size, learn.mean, learn.std)(image).unsqueeze(0)
    x = x.expand(batch, -1, -1, -1).contiguous()

    def forward() -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            learn.model(x)
        return time.perf_counter() - start

    # In a worker thread, as the server runs it. Measured on the shared 2-core machine, a
    # forward pass in the main thread was 5-20x slower than in a worker thread whenever other
    # processes loaded the cores (PyTorch's intra-op threads of the main thread wait on each
    # other), so a main-thread figure would flatter the server.
    worker = ThreadPoolExecutor(1, thread_name_prefix="bare-forward")

    def once() -> float:
        return worker.submit(forward).result()

    once()  # warm-up
    return once


def one_at_a_time(server: Server, forward, name: str, photo: bytes, requests: int,
                  rounds: int = 5) -> tuple[list[float], list[float]]:
    """Alternate rounds of sequential HTTP requests and bare forwards; seconds of each."""
    http, bare = [], []
    with httpx.Client(base_url=server.base, timeout=60, trust_env=False) as client:
        client.post("/api/predict", files={"file": (name, photo)}).raise_for_status()  # warm
        per_round = max(1, requests // rounds)
        for _ in range(rounds):
            for _ in range(per_round):
                start = time.perf_counter()
                client.post("/api/predict", files={"file": (name, photo)}).raise_for_status()
                http.append(time.perf_counter() - start)
            bare += [forward() for _ in range(per_round)]
    return http, bare


def load_test(server: Server, name: str, photo: bytes, clients: int, seconds: float,
              max_requests: int) -> dict:
    """``clients`` threads posting in loops, each capped in count and time."""
    statuses: Counter = Counter()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client_loop() -> None:
        with httpx.Client(base_url=server.base, timeout=60, trust_env=False) as client:
            for _ in range(max_requests):
                if time.monotonic() >= deadline:
                    return
                start = time.perf_counter()
                try:
                    response = client.post("/api/predict", files={"file": (name, photo)})
                except httpx.HTTPError as err:
                    with lock:
                        errors.append(type(err).__name__)
                    continue
                took = time.perf_counter() - start
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 200:
                        latencies.append(took)
                if response.status_code == 503:  # deliberate: the queue is full
                    time.sleep(float(response.headers.get("retry-after", "1")))

    rss_start = server.rss_mb()
    began = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"statuses": dict(statuses), "errors": errors, "latencies": latencies,
            "elapsed": elapsed, "rss_start": rss_start, "rss_end": server.rss_mb()}


def report_load(result: dict, size: int, args: argparse.Namespace, bare_rate: float,
                batched_rate: float) -> float:
    """Print one load test's figures; return its requests per second."""
    done = result["statuses"].get(200, 0)
    rate = done / result["elapsed"]
    other_5xx = sum(n for s, n in result["statuses"].items() if s >= 500 and s != 503)
    lat = result["latencies"]
    print(f"\n{size} px, load test: {args.clients} clients for at most {args.seconds:g} s, at "
          f"most {args.max_requests} requests each:")
    print(f"  {done} answered in {result['elapsed']:.1f} s: {rate:.2f} requests/s; p50 "
          f"{percentile(lat, 50) * 1e3:.0f} ms, p99 {percentile(lat, 99) * 1e3:.0f} ms")
    print(f"  statuses {result['statuses']}; deliberate 503s {result['statuses'].get(503, 0)}; "
          f"other 5xx {other_5xx}; transport errors {len(result['errors'])} (target 0)")
    growth = result["rss_end"] / result["rss_start"] - 1
    print(f"  server RSS {result['rss_start']:.0f} MB -> {result['rss_end']:.0f} MB "
          f"({growth:+.1%}; target < +10%)")
    print(f"  bare model(x) at batch 1 (measured before the load test): {bare_rate:.2f} "
          f"images/s; under load the server gives {rate / bare_rate:.2f}x of that (target >= "
          f"0.8x)")
    print(f"  bare model(x) at batch 4: {batched_rate:.2f} images/s = "
          f"{batched_rate / bare_rate:.2f}x batch 1 (the most gathering requests could give)")
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 128])
    parser.add_argument("--load-size", type=int, default=None,
                        help="image size of the load test (default: the first of --sizes)")
    parser.add_argument("--arch", default="resnet34")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--photo", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=50,
                        help="sequential requests (and bare forwards) per size (default 50)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-requests", type=int, default=500,
                        help="cap on the requests of each load-test client (default 500)")
    parser.add_argument("--max-queue", type=int, default=16,
                        help="the server's --max-queue (default 16, its default)")
    parser.add_argument("--batch-window-ms", type=float, default=5.0,
                        help="also load-test the server with this micro-batching window "
                             "(default 5; 0: only without)")
    args = parser.parse_args(argv)
    load_size = args.load_size or args.sizes[0]
    name, photo = find_photo(args.photo)
    print(f"photo {name} ({len(photo):,} bytes); {args.arch if args.model is None else args.model}"
          f" on the CPU with {torch.get_num_threads()} threads; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="sgdlab-bench-serve-") as folder:
        for size in args.sizes:
            model = write_model(Path(folder), args.arch, size, args.model)
            forward = bare_forward(model, photo)
            server = Server(model, args.max_queue)
            try:
                http, bare = one_at_a_time(server, forward, name, photo, args.requests)
            finally:
                server.stop()
            h50, b50 = percentile(http, 50) * 1e3, percentile(bare, 50) * 1e3
            print(f"\n{size} px, one request at a time ({len(http)} each, alternating):")
            print(f"  HTTP /api/predict  p50 {h50:7.1f} ms  p95 "
                  f"{percentile(http, 95) * 1e3:7.1f} ms")
            print(f"  bare model(x)      p50 {b50:7.1f} ms  p95 "
                  f"{percentile(bare, 95) * 1e3:7.1f} ms")
            print(f"  HTTP / bare at p50: {h50 / b50:.2f}x (target <= 1.25x; the lecture: "
                  f"about 200 ms per photo on a CPU)", flush=True)
        # the load test comes last: its client threads run in this process, and nothing
        # here is measured after them
        model = write_model(Path(folder), args.arch, load_size, args.model)
        forward, batch_of_4 = bare_forward(model, photo), bare_forward(model, photo, batch=4)
        bare_rate = 1 / statistics.median([forward() for _ in range(max(5, args.requests // 2))])
        batched_rate = 4 / statistics.median([batch_of_4()
                                              for _ in range(max(5, args.requests // 8))])
        windows = [0.0] + ([args.batch_window_ms] if args.batch_window_ms > 0 else [])
        rates = []
        for window in windows:
            server = Server(model, args.max_queue, "--batch-window-ms", str(window))
            try:
                result = load_test(server, name, photo, args.clients, args.seconds,
                                   args.max_requests)
            finally:
                server.stop()
            how = (f"with micro-batching (--batch-window-ms {window:g})" if window
                   else "without micro-batching")
            print(f"\n-- the server {how}")
            rates.append(report_load(result, load_size, args, bare_rate, batched_rate))
        if len(rates) == 2:
            gain = rates[1] / rates[0] if rates[0] else float("nan")
            verdict = "worth offering" if gain >= 1.3 else "not worth it here (< 1.3x)"
            print(f"\nmicro-batching: {rates[1]:.2f} against {rates[0]:.2f} requests/s = "
                  f"{gain:.2f}x the server without it: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
