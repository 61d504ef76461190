"""Data-parallel SGD on the lecture's linear model: k processes, one SGD step.

Every rank draws the same mini-batches (the same seeded generator as
:func:`~sgdlab.train.minibatch_sgd`, so no indices need to be sent) and takes its own shard of
each batch: rank ``i`` of ``k`` gets ``n_i`` of the batch's ``n`` rows (``torch.tensor_split``:
the shards differ by at most one row, and a short last batch gives short shards).

Each rank computes the gradient of the mse on its shard, ``g_i = ∇ (1/n_i) Σ_{j∈i} (x_j·a − y_j)²``,
and the ranks all-reduce (sum) the weighted gradients ``(n_i/n) g_i``::

    Σ_i (n_i/n) g_i = Σ_i (n_i/n) (1/n_i) Σ_{j∈i} ∇ℓ_j = (1/n) Σ_{j∈batch} ∇ℓ_j = ∇ mse(batch)

which is *exactly* the gradient of the whole batch, so every rank takes the step that one
process takes on the union of the shards, and all the copies of ``a`` stay equal. A plain
average of the k shard means, ``(1/k) Σ g_i``, is the same only when the shards are equal: with
unequal shards it over-weights the rows of the smaller ones. (DistributedDataParallel averages
by k; its samplers pad or drop rows so that the shards are equal.)

The linear scaling rule: k workers with ``bs`` rows each take the step of one batch of ``k·bs``
rows. A bigger batch gives a gradient with ``1/k`` the variance but takes k times fewer steps
per epoch, so, as a rule of thumb (Goyal et al., 2017), the learning rate is scaled by k to
cover the same distance per epoch. It is a rule of thumb, not a law: it holds while ``k·lr``
stays well under the stability limit ``2/λmax`` (:func:`~sgdlab.max_stable_lr`), usually needs a
warm-up of the lr for big k, and breaks down past a problem-dependent batch size where the
gradient noise is no longer what limits progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch

from sgdlab.checks import check_lr, check_params, check_whole_number, check_xy
from sgdlab.data import make_generator, minibatches
from sgdlab.errors import SgdlabError
from sgdlab.losses import mse
from sgdlab.models import linear
from sgdlab.optim import SGD


class ParallelRun(NamedTuple):
    """What a data-parallel (or reference) run recorded.

    ``params``: (steps + 1, k) parameters, the start first; ``losses``: (steps,) mse of each
    whole batch before its step; ``shard_sizes``: (steps, world_size) rows per rank.
    """

    params: torch.Tensor
    losses: torch.Tensor
    shard_sizes: torch.Tensor


def shard(indices: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """Rank ``rank``'s share of a batch's ``indices``: contiguous, sizes differ by at most 1."""
    world_size = check_whole_number(world_size, "world_size", minimum=1,
                                    hint="one process per CPU core or GPU")
    rank = check_whole_number(rank, "rank", minimum=0, hint="ranks count from 0")
    if rank >= world_size:
        raise SgdlabError(f"rank {rank} does not exist in a group of {world_size} processes "
                          f"(ranks are 0 to {world_size - 1})")
    return indices.tensor_split(world_size)[rank]


def _group() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialized process group, or ``(0, 1)`` without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _checked(x, y, a0, lr, epochs, batch_size):
    check_xy(x, y)
    lr = check_lr(lr)
    epochs = check_whole_number(epochs, "epochs", minimum=0, hint="the lecture trains for 10")
    batch_size = check_whole_number(batch_size, "batch_size", minimum=1,
                                    hint="the lecture uses 64 images per batch")
    try:
        a = torch.as_tensor(a0, dtype=x.dtype).detach().clone()
    except (TypeError, ValueError, RuntimeError) as err:
        raise SgdlabError(f"a0 must be numbers, one per column of x, such as (-1., 1.), "
                          f"got {a0!r}") from err
    check_params(a, x)
    return lr, epochs, batch_size, a


def data_parallel_sgd(x: torch.Tensor, y: torch.Tensor,
                      a0: Sequence[float] | torch.Tensor = (-1.0, 1.0), lr: float = 0.1,
                      epochs: int = 10, batch_size: int = 16, seed: int | None = None
                      ) -> ParallelRun:
    """Mini-batch SGD where each rank of the process group computes its shard's gradient.

    Call it on every rank of an initialized ``torch.distributed`` group (``torchrun``, or
    :func:`sgdlab.launch.run_on_processes`) with the same arguments; without a group it runs
    alone (world size 1). The batches are :func:`~sgdlab.data.minibatches` of the same
    generator as :func:`~sgdlab.train.minibatch_sgd` with this ``seed``; each rank's gradient
    is weighted by ``n_i/n`` and summed with ``all_reduce`` (see the module's docstring for why
    that is exactly the whole batch's gradient), then :class:`sgdlab.SGD` takes the step.
    The recorded loss is all-reduced the same way, so every rank returns the same record.
    """
    import torch.distributed as dist

    lr, epochs, batch_size, a = _checked(x, y, a0, lr, epochs, batch_size)
    rank, world_size = _group()
    g = make_generator(seed)
    a.requires_grad_(True)
    optimizer = SGD([a], lr=lr)
    params, losses, sizes = [a.detach().clone()], [], []
    for _ in range(epochs):
        for batch in minibatches(x.shape[0], batch_size, g):
            mine = shard(batch, rank, world_size)
            weight = len(mine) / len(batch)
            optimizer.zero_grad()
            if len(mine):
                loss = weight * mse(linear(x[mine], a), y[mine])
                loss.backward()
                loss = loss.detach()
            else:  # fewer rows than ranks: this rank adds nothing to the sum
                a.grad, loss = torch.zeros_like(a), torch.zeros((), dtype=x.dtype)
            if world_size > 1:
                dist.all_reduce(a.grad, op=dist.ReduceOp.SUM)
                dist.all_reduce(loss, op=dist.ReduceOp.SUM)
            optimizer.step()
            params.append(a.detach().clone())
            losses.append(loss.item())
            sizes.append([len(shard(batch, r, world_size)) for r in range(world_size)])
    return ParallelRun(torch.stack(params), torch.tensor(losses, dtype=torch.float64),
                       torch.tensor(sizes, dtype=torch.long).reshape(-1, world_size))


def single_process_sgd(x: torch.Tensor, y: torch.Tensor,
                       a0: Sequence[float] | torch.Tensor = (-1.0, 1.0), lr: float = 0.1,
                       epochs: int = 10, batch_size: int = 16, seed: int | None = None
                       ) -> ParallelRun:
    """The reference: one process, :class:`sgdlab.SGD` on the mse of each whole batch.

    The same batches as :func:`data_parallel_sgd` (and as :func:`~sgdlab.minibatch_sgd`) with
    the same ``seed``; no process group is used even when one exists.
    """
    lr, epochs, batch_size, a = _checked(x, y, a0, lr, epochs, batch_size)
    g = make_generator(seed)
    a.requires_grad_(True)
    optimizer = SGD([a], lr=lr)
    params, losses, sizes = [a.detach().clone()], [], []
    for _ in range(epochs):
        for batch in minibatches(x.shape[0], batch_size, g):
            optimizer.zero_grad()
            loss = mse(linear(x[batch], a), y[batch])
            loss.backward()
            optimizer.step()
            params.append(a.detach().clone())
            losses.append(loss.item())
            sizes.append([len(batch)])
    return ParallelRun(torch.stack(params), torch.tensor(losses, dtype=torch.float64),
                       torch.tensor(sizes, dtype=torch.long).reshape(-1, 1))


def linear_worker(n: int, a: tuple[float, float], lr: float, epochs: int, batch_size: int,
                  seed: int) -> ParallelRun:
    """One rank's job for :func:`sgdlab.launch.run_on_processes`: the lecture's data, then
    :func:`data_parallel_sgd` (every rank makes the same data from the same seed)."""
    from sgdlab.data import make_linear_data

    x, y = make_linear_data(n=n, a=a, noise="uniform")
    return data_parallel_sgd(x, y, lr=lr, epochs=epochs, batch_size=batch_size, seed=seed)
