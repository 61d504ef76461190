"""Data parallelism on this machine's CPU: training images/s for 1 and 2 processes, side by side.

Every configuration trains the same ResNet with
:class:`~sgdlab.vision.distributed.DistributedLearner` (DDP over gloo on 127.0.0.1, started
by :func:`sgdlab.launch.run_on_processes`) on random images, with the same whole batch per
step (split across the processes), in one run:

* 1 process x 1 thread, the baseline;
* 1 process x T threads (T = the CPU cores), what one process gets from the whole machine;
* 2 processes x 1 thread each.

Scaling efficiency = (images/s of k processes) / (k x images/s of 1 process x 1 thread): 100%
means k processes are k times faster. On 2 CPU cores, 2 processes compete with each other
(and with anything else running) for the same cores, so expect well under 100%, and compare
with 1 process using both cores' threads. Each configuration's process start (importing
torch) is not timed; only the steps after the warm-up are.

There is no GPU figure here, on purpose: this script measures CPUs. On a machine with k GPUs,
``sgdlab bears train --nproc k`` (NCCL, one GPU per process) is the measurement to make; with
one GPU there is nothing to scale. Never report multi-GPU numbers that were not measured.

Run: ``python benchmarks/data_parallel.py [--arch resnet18] [--size 64] [--batch-size 32]
[--steps 10] [--warmup 2]`` (about a minute on 2 cores at the defaults).
"""

from __future__ import annotations

import argparse
import os
import time

from sgdlab.launch import run_on_processes
from sgdlab.vision.distributed import images_per_second


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18", choices=("resnet18", "resnet34"))
    parser.add_argument("--size", type=int, default=64, help="image side in px (default 64)")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="images per step, all processes together (default 32)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds allowed for each configuration (default 600)")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    job = (args.arch, args.size, args.batch_size, args.steps, args.warmup)
    print(f"{args.arch}, {args.size} px, batch {args.batch_size} per step, {args.steps} timed "
          f"steps after {args.warmup}; CPU cores: {cores}; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    for processes, threads in ((1, 1), (1, cores), (2, 1)):
        if (processes, threads) == (1, cores) and cores == 1:
            continue
        start = time.perf_counter()
        rate = run_on_processes(images_per_second, processes, (*job, threads),
                                timeout=args.timeout)[0]
        rows.append((processes, threads, rate))
        print(f"  {processes} process(es) x {threads} thread(s): {rate:7.1f} images/s "
              f"(the launch took {time.perf_counter() - start:.0f} s)")
    base = rows[0][2]
    print("\nprocesses x threads   images/s   vs 1x1   scaling efficiency")
    for processes, threads, rate in rows:
        efficiency = f"{rate / (processes * base):6.0%}" if processes > 1 else "     -"
        print(f"  {processes} x {threads}{'':14} {rate:8.1f}   {rate / base:5.2f}x   "
              f"{efficiency}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (a shared or "
          f"loaded machine lowers every figure, the 2-process one most)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
