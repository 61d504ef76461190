"""``sgdlab bears train --nproc N``: the same training on N processes (data parallelism).

``--nproc N`` (N ≥ 2) starts PyTorch's own launcher, torchrun, on this machine only::

    python -m torch.distributed.run --nnodes 1 --nproc-per-node N \\
        --master-addr 127.0.0.1 --master-port <free port> -m sgdlab.cli bears train <options>

and torchrun runs the same command (without ``--nproc``) in N processes. You may also start
that yourself (``torchrun --nproc-per-node 2 -m sgdlab.cli bears train ...``): a ``bears
train`` that finds torchrun's ``RANK`` and ``WORLD_SIZE`` joins its process group (gloo on a
CPU, NCCL on GPUs, one GPU per process) and trains with
:class:`~sgdlab.vision.distributed.DistributedLearner`. Rank 0 prints and saves; the other
ranks print nothing (their errors still show). ``--sync-bn`` turns every BatchNorm layer into
``SyncBatchNorm`` (GPUs only). With N processes on a CPU each gets ``cores / N`` threads.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from sgdlab.errors import SgdlabError

#: How long a rank waits in a collective (for the others, e.g. while rank 0 validates).
COLLECTIVE_TIMEOUT = timedelta(minutes=10)
LOOPBACK = "127.0.0.1"


def add_parallel_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--nproc`` and ``--sync-bn`` to ``sgdlab bears train``."""
    parser.add_argument("--nproc", type=int, default=None, metavar="N",
                        help="train data-parallel on N processes of this machine (torchrun, "
                             "gloo on a CPU, one GPU each with NCCL): every step's batch is "
                             "split into N shards and their gradients all-reduced, so "
                             "--batch-size stays the whole step's batch; only rank 0 prints "
                             "and saves. On 2 CPU cores it is not faster (see the README)")
    parser.add_argument("--sync-bn", action="store_true",
                        help="with --nproc: BatchNorm statistics over the whole step's batch "
                             "(SyncBatchNorm, GPUs only) instead of each process's shard")
    parser.set_defaults(command_line=lambda args: command_line(parser, args))


def is_main_process() -> bool:
    """True outside a data-parallel run, and on its rank 0 (the process that saves)."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def launched_by_torchrun() -> bool:
    """Whether this process is a rank that torchrun (or a similar launcher) started."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and "LOCAL_RANK" in os.environ


def wants_parallel(args: argparse.Namespace) -> bool:
    """``--nproc`` of 2 or more was given, or this process is one of torchrun's ranks."""
    if args.nproc is not None and args.nproc < 1:
        raise SgdlabError(f"--nproc must be 1 or more processes, got {args.nproc}; 2 shows "
                          f"data parallelism on a CPU")
    if args.sync_bn and not launched_by_torchrun() and (args.nproc or 1) < 2:
        raise SgdlabError("--sync-bn synchronizes BatchNorm across processes; give --nproc 2 "
                          "or more (on GPUs), or leave --sync-bn out")
    return launched_by_torchrun() or (args.nproc or 1) >= 2


def command_line(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The sub-command and options that give ``args`` again, without ``--nproc``: what torchrun
    runs in every rank. ``parser`` is the sub-command's (its ``prog`` ends in its name)."""
    argv = parser.prog.split()[1:]
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "nproc"):
            continue
        value = getattr(args, action.dest, action.default)
        if value == action.default:
            continue
        flag = max(action.option_strings, key=len)
        if action.nargs == 0:
            argv.append(flag)
        elif isinstance(value, (list, tuple)):
            argv += [flag, *map(str, value)]
        else:
            argv += [flag, str(value)]
    return argv


def torchrun_command(nproc: int, argv: list[str], port: int) -> list[str]:
    """The torchrun command that runs ``python -m sgdlab.cli <argv>`` on ``nproc`` local ranks
    that meet on 127.0.0.1:``port``."""
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
            "--nproc-per-node", str(nproc), "--master-addr", LOOPBACK, "--master-port",
            str(port), "-m", "sgdlab.cli", *argv]


def relaunch(args: argparse.Namespace) -> int:
    """Run this command again on ``--nproc`` processes under torchrun; its exit code."""
    from sgdlab.launch import free_port

    command = torchrun_command(args.nproc, args.command_line(args), free_port())
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // args.nproc)))
    if sys.platform == "linux":
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")  # loopback only
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # this sgdlab in every rank
    print(f"data parallel: {args.nproc} processes (torchrun on {LOOPBACK}); rank 0 prints")
    code = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, check=False).returncode
    if code != 0:
        print(f"sgdlab: the data-parallel run failed (exit code {code}); the failing rank's "
              f"error is above. torchrun stopped the other ranks", file=sys.stderr)
    return code


@contextmanager
def joined_group(device: str | None) -> Iterator[tuple[int, int]]:
    """Join torchrun's process group (gloo on a CPU, NCCL with one GPU per rank) for the block;
    yields ``(rank, world_size)``. A group that already exists is used and left open."""
    import torch
    import torch.distributed as dist

    from sgdlab.vision.device import default_device

    if dist.is_initialized():
        yield dist.get_rank(), dist.get_world_size()
        return
    where = default_device(device)
    local_rank = int(os.environ["LOCAL_RANK"])
    if where.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise SgdlabError(f"process {local_rank} has no GPU: this machine has "
                              f"{torch.cuda.device_count()}; give --nproc at most that, or "
                              f"--device cpu")
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if where.type == "cuda" else "gloo",
                            timeout=COLLECTIVE_TIMEOUT)
    try:
        yield dist.get_rank(), dist.get_world_size()
    finally:
        dist.destroy_process_group()


@contextmanager
def quiet(silent: bool) -> Iterator[None]:
    """With ``silent``, send stdout and stderr to nowhere inside the block (restored before an
    error leaves it, so that the error itself is still shown)."""
    if not silent:
        yield
        return
    saved = sys.stdout, sys.stderr
    with open(os.devnull, "w") as nowhere:
        sys.stdout = sys.stderr = nowhere
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved


def train_in_parallel(args: argparse.Namespace, train: Callable[..., int]) -> int:
    """``bears train`` with data parallelism: start torchrun (``--nproc N``), or, inside one of
    its ranks, run ``train(args, make_learner=...)`` with a DistributedLearner."""
    from functools import partial

    if not launched_by_torchrun():
        return relaunch(args)
    world = int(os.environ["WORLD_SIZE"])
    if args.nproc is not None and args.nproc != world:
        raise SgdlabError(f"--nproc {args.nproc} but torchrun started {world} processes; give "
                          f"one of them (torchrun's --nproc-per-node, or --nproc alone)")
    from sgdlab.vision.distributed import distributed_vision_learner

    with joined_group(args.device) as (rank, world_size), quiet(rank != 0):
        if rank == 0:
            print(f"data parallel: rank 0 of {world_size}; every batch of the recipe's batch "
                  f"size is split into {world_size} shards (BatchNorm: "
                  f"{'synchronized' if args.sync_bn else 'per-process statistics'})")
        return train(args, make_learner=partial(distributed_vision_learner,
                                                sync_bn=args.sync_bn))
