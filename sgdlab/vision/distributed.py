"""The bears on k processes: DistributedDataParallel with sgdlab's SGD, exactly one SGD step.

Lesson 13 shows it on the linear model; here the same idea trains the ResNet with torch's
``DistributedDataParallel`` (DDP), which all-reduces the gradients during ``backward()``.

**Who gets which images.** Every rank builds the same loaders (same photos, the same seed-42
validation split, the same seeded generator), so every rank draws the *same* shuffled order
of each epoch as the single-process loader, cut into the same batches of ``batch_size``. Rank
``r`` of ``k`` keeps its contiguous part of every batch, ``batch.tensor_split(k)[r]``
(:func:`sgdlab.parallel.shard`: the parts differ by at most one image), so the ranks hold
disjoint shards of each epoch whose union, step by step, is exactly the single-process batch.
``--batch-size`` stays the size of the whole step (each rank computes about ``batch_size/k``
images). Augmentation draws the random parameters of the *whole* batch from the shared
generator, and each rank applies only its rows, so the generators stay in step and an image
gets the same crop as in one process. A last batch too small to give every rank
:data:`MIN_PER_RANK` images is dropped (one process drops a last batch of 1 for the same
reason: BatchNorm cannot normalize a single image).

**One step.** Rank ``i`` computes the mean loss ``L_i`` of its ``n_i`` images. DDP *averages*
the gradients over the k ranks, so each rank back-propagates ``k·(n_i/n)·L_i`` and DDP gives::

    (1/k) Σ_i k (n_i/n) ∇L_i = Σ_i (n_i/n) ∇L_i = ∇ (1/n) Σ_{j ∈ batch} ℓ_j

the gradient of the whole batch, even when the shards are unequal (a plain average of the
``∇L_i`` over-weights a short shard's images). Then every rank takes the same
:class:`sgdlab.SGD` step, so the copies of the model stay equal. The recorded training loss is
``Σ_i (n_i/n) L_i``, all-reduced, and the validation results are rank 0's, sent to all, so
every rank's table is the same and every rank makes the same decisions (stop, unfreeze...).

**BatchNorm.** By default each rank normalizes its shard by the shard's own mean and variance
(per-rank statistics over about ``batch_size/k`` images), so with BatchNorm a k-rank step is
close to, not equal to, the single-process step. DDP broadcasts rank 0's buffers at every
forward pass, so the running statistics (used for validation and saved in the checkpoint)
are rank 0's, averaged over rank 0's shards. With ``sync_bn`` (``--sync-bn``) every
BatchNorm layer becomes a ``torch.nn.SyncBatchNorm``, whose batch statistics are those of the
whole step's batch (one more all-reduce per layer); PyTorch implements it on GPUs only.

**Randomness.** Dropout draws from the learner's private stream seeded ``seed + rank``, so the
ranks draw independent masks. Only rank 0 prints, shows progress bars and saves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from sgdlab.errors import SgdlabError
from sgdlab.parallel import shard
from sgdlab.vision import checkpoint as ckpt
from sgdlab.vision import evaluate
from sgdlab.vision import model as vision_model
from sgdlab.vision.augment import (
    channel_stats,
    colour_jitter,
    crop_matrices,
    normalize,
    random_resized_crop,
)
from sgdlab.vision.device import autocast, default_device
from sgdlab.vision.learner import Learner
from sgdlab.vision.random_stream import RandomStream
from sgdlab.vision.recorder import format_row

#: Images each rank needs per step: BatchNorm after the global pooling sees one value per
#: image and channel, and cannot normalize a single one.
MIN_PER_RANK = 2


def process_group() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialized ``torch.distributed`` group.

    Raises:
        SgdlabError: no group is initialized (start the processes with torchrun, or
            ``sgdlab bears train --nproc N``, or :func:`sgdlab.launch.run_on_processes`).
    """
    if not (dist.is_available() and dist.is_initialized()):
        raise SgdlabError("data-parallel training needs a torch.distributed process group: "
                          "start it with `sgdlab bears train --nproc 2`, with torchrun, or "
                          "inside sgdlab.launch.run_on_processes")
    return dist.get_rank(), dist.get_world_size()


class ShardedLoader:
    """Rank ``rank``'s shard of every batch of a shuffled :class:`CachedImageLoader`.

    See the module docstring: the same epoch order and batches as ``loader`` on every rank,
    rank ``r`` keeps ``batch.tensor_split(world_size)[r]``. :attr:`batch_total` is the size of
    the whole batch of the shard yielded last (the ``n`` of the ``n_i/n`` weights).
    """

    def __init__(self, loader: Any, rank: int, world_size: int) -> None:
        if isinstance(loader, ShardedLoader):
            raise SgdlabError("this loader is already split across the ranks")
        if loader.batch_size < MIN_PER_RANK * world_size:
            raise SgdlabError(
                f"a batch of {loader.batch_size} images cannot give each of {world_size} "
                f"processes {MIN_PER_RANK} images (BatchNorm needs at least {MIN_PER_RANK}); "
                f"use a batch size of at least {MIN_PER_RANK * world_size} or fewer processes")
        shard(torch.arange(1), rank, world_size)  # checks rank and world_size
        self.loader, self.rank, self.world_size = loader, rank, world_size
        self.batch_size = loader.batch_size
        self.batch_total = 0

    @property
    def generator(self) -> torch.Generator | None:
        """The shared generator of the whole loader (the same state on every rank)."""
        return self.loader.generator

    @property
    def n(self) -> int:
        """Images in the whole training set (all ranks together)."""
        return self.loader.n

    def __len__(self) -> int:
        length = len(self.loader)
        last = self.loader.n - (length - 1) * self.batch_size
        return length - 1 if length and last < MIN_PER_RANK * self.world_size else length

    def shard_batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's rows of the batch of ``indices``, augmented as the whole batch would be:
        the random parameters of all ``len(indices)`` images are drawn, this rank's applied."""
        loader = self.loader
        rows = shard(torch.arange(len(indices)), self.rank, self.world_size)
        if loader.augmentation is None:
            return loader.make_batch(indices[rows])
        params = loader.augmentation.draw(len(indices), loader.generator)
        mine = {name: value[rows.to(value.device)] for name, value in params.items()}
        idx = indices[rows].to(loader.device)
        theta = crop_matrices(mine["half_w"], mine["half_h"], mine["centre_x"],
                              mine["centre_y"], mine["flip"])
        x = random_resized_crop(loader.images[idx], loader.size, theta).div_(255.0)
        x = colour_jitter(x, mine["brightness"], mine["contrast"], mine["saturation"])
        mean, std = channel_stats(loader.mean, x), channel_stats(loader.std, x)
        return normalize(x, mean, std), loader.labels[idx]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for indices in self.loader.batch_indices()[:len(self)]:
            self.batch_total = len(indices)
            yield self.shard_batch(indices)

    def __repr__(self) -> str:
        return (f"ShardedLoader(rank {self.rank} of {self.world_size}, {len(self)} batches of "
                f"{self.batch_size} split {self.world_size} ways, of {self.loader!r})")


def sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` with every BatchNorm layer as ``torch.nn.SyncBatchNorm`` (GPU only)."""
    if device.type != "cuda":
        raise SgdlabError("SyncBatchNorm (--sync-bn) runs on GPUs only in PyTorch; on a CPU "
                          "leave it off: each process then normalizes its own shard")
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)


class DistributedLearner(Learner):
    """A :class:`~sgdlab.vision.learner.Learner` that trains on every rank of a process group.

    Make it on every rank with the same arguments (see the module docstring for what each
    rank computes). It trains through ``DistributedDataParallel``; ``self.model`` stays the
    plain module, so checkpoints, ``predict`` and ``validate`` are as without a group. The
    training loader is replaced by its :class:`ShardedLoader`; rank 0 validates, prints the
    table and saves; the others are silent and write nothing.

    Args:
        sync_bn: use ``torch.nn.SyncBatchNorm`` (GPU only); default: per-rank statistics.
        kwargs: as for :class:`Learner`.
    """

    def __init__(self, dls: Any, model: nn.Module, *, sync_bn: bool = False,
                 **kwargs: Any) -> None:
        self.rank, self.world_size = process_group()
        if self.rank != 0:
            kwargs["progress"], kwargs["log"] = False, _silent
        if sync_bn:
            device = kwargs.get("device") or getattr(dls, "device", None)
            model = sync_batchnorm(model, default_device(device))
        self.sync_bn = sync_bn
        self._ddp: DistributedDataParallel | None = None
        self._trainable: tuple[bool, ...] = ()
        super().__init__(dls, model, **kwargs)
        if self.seed is not None:
            self._random = RandomStream(self.seed + self.rank, self.device)

    @property
    def dls(self) -> Any:
        """The data; its training loader is this rank's :class:`ShardedLoader`."""
        return self._dls

    @dls.setter
    def dls(self, dls: Any) -> None:
        Learner.dls.fset(self, dls)
        if not isinstance(dls.train, ShardedLoader):
            dls.train = ShardedLoader(dls.train, self.rank, self.world_size)

    def training_model(self) -> DistributedDataParallel:
        """The DDP wrapper of ``self.model``, made again whenever freezing changed which
        parameters train (DDP all-reduces the parameters that trained when it was made)."""
        trainable = tuple(p.requires_grad for p in self.model.parameters())
        if self._ddp is None or trainable != self._trainable:
            self._ddp = None  # let the old wrapper's gradient hooks go first
            ids = [self.device.index] if self.device.type == "cuda" else None
            self._ddp = DistributedDataParallel(self.model, device_ids=ids)
            self._trainable = trainable
        return self._ddp

    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """One data-parallel SGD step on this rank's shard; returns the whole batch's loss."""
        xb, yb = evaluate.batch_to_device(xb, yb, self.device)
        weight = len(yb) / self.dls.train.batch_total  # n_i / n
        with autocast(self.device):
            logits = self.training_model()(xb)
        loss = self.loss_func(logits.float(), yb)
        # DDP averages over the ranks: (1/k) Σ k (n_i/n) ∇L_i is the whole batch's gradient
        (loss * (weight * self.world_size)).backward()
        self.opt.step()
        self.opt.zero_grad()
        whole = loss.detach() * weight
        dist.all_reduce(whole, op=dist.ReduceOp.SUM)
        return whole

    def _end_epoch(self, epoch: int, start: float) -> None:
        """Rank 0 validates; every rank records rank 0's numbers (and rank 0's time)."""
        import time

        numbers = torch.zeros(3, dtype=torch.float64, device=self.device)
        if self.rank == 0:
            valid_loss, valid_error = self.validate()
            numbers += torch.tensor([valid_loss, valid_error, time.perf_counter() - start],
                                    dtype=torch.float64, device=self.device)
        dist.broadcast(numbers, src=0)
        valid_loss, valid_error, seconds = numbers.tolist()
        self.log(format_row(self.recorder.end_epoch(epoch, valid_loss, valid_error, seconds)))

    def save(self, name: Any) -> Any:
        """Rank 0 saves as :meth:`Learner.save`; the other ranks only return the path."""
        if self.rank == 0:
            return super().save(name)
        return ckpt.checkpoint_path(name, self.model_dir)


def _silent(line: str) -> None:
    """The log of the ranks other than 0."""


def distributed_vision_learner(dls: Any, arch: str = "resnet34",
                               weights: vision_model.Weights = None, *, head: str = "fastai",
                               freeze: bool | None = None, seed: int | None = None,
                               sync_bn: bool = False, **kwargs: Any) -> DistributedLearner:
    """:func:`~sgdlab.vision.learner.vision_learner`, as a :class:`DistributedLearner`: the
    same model from the same ``seed`` on every rank, frozen likewise."""
    model = vision_model.create_model(len(dls.classes), arch, weights, head, seed)
    learn = DistributedLearner(dls, model, arch=arch, head=head, seed=seed, sync_bn=sync_bn,
                               **kwargs)
    if freeze is None:
        freeze = weights is not None
    if freeze:
        learn.freeze()
    return learn


def images_per_second(arch: str = "resnet18", size: int = 64, batch_size: int = 32,
                      steps: int = 10, warmup: int = 2, threads: int = 1) -> float:
    """One rank's job for ``benchmarks/data_parallel.py``: training images per second of the
    whole group (``batch_size`` images per step, split across the ranks) on random images.

    Call it on every rank (:func:`sgdlab.launch.run_on_processes`, a world of 1 works too);
    ``threads`` is this rank's ``torch.set_num_threads``. The ``warmup`` steps are not timed.
    """
    import time
    from types import SimpleNamespace

    from sgdlab.checks import check_whole_number
    from sgdlab.vision.data import CachedImageLoader
    from sgdlab.vision.images import IMAGENET_MEAN, IMAGENET_STD
    from sgdlab.vision.schedule import constant_schedule

    for name, value, minimum in (("steps", steps, 1), ("warmup", warmup, 0),
                                 ("threads", threads, 1), ("size", size, 8)):
        check_whole_number(value, name, minimum=minimum)
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    n = batch_size * 4
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    labels = torch.arange(n) % 3
    train = CachedImageLoader(images, labels, [], batch_size, size, IMAGENET_MEAN, IMAGENET_STD,
                              shuffle=True, generator=g)
    valid = CachedImageLoader(images[:2], labels[:2], [], batch_size, size, IMAGENET_MEAN,
                              IMAGENET_STD)
    dls = SimpleNamespace(train=train, valid=valid, classes=["a", "b", "c"], size=size,
                          valid_items=["a", "b"], mean=IMAGENET_MEAN, std=IMAGENET_STD,
                          device=torch.device("cpu"), path=".")
    learn = distributed_vision_learner(dls, arch, seed=0, device="cpu", progress=False)
    schedule = constant_schedule(learn.lrs(1e-3), 0.9)
    if warmup:
        learn.fit_schedule(warmup, schedule, validate=False)
    dist.barrier()
    start = time.perf_counter()
    learn.fit_schedule(steps, schedule, validate=False)
    dist.barrier()
    return steps * batch_size / (time.perf_counter() - start)
