"""What each rank of the tests' one 2-process launch does (imported by name in every rank, so
it stays free of pytest): the lecture's linear model, the tiny CNN with DDP, ``sgdlab bears
train`` as under torchrun, then a crash of rank 1 while rank 0 waits for it.
"""

from __future__ import annotations

import io
import os
import pickle
from contextlib import redirect_stdout
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from sgdlab import cli
from sgdlab.parallel import linear_worker
from sgdlab.vision.data import ImageDataLoaders, find_classes, split_items
from sgdlab.vision.distributed import DistributedLearner, ShardedLoader
from sgdlab.vision.learner import Learner

#: 24 training photos in batches of 9: 9, 9, 6, split 5/4, 5/4, 3/3 (unequal shards).
BATCH, SIZE, LR = 9, 12, 0.05
#: The lesson's run: 100 rows, batches of 25 (shards 13/12), 25 epochs = 100 steps.
LINEAR = (100, (3.0, 2.0), 0.1, 25, 25, 0)
CRASH = "rank one broke on purpose"


def tiny_loaders(folder: str) -> ImageDataLoaders:
    """The fake bears at 12 px, augmented, batches of 9, the seed-42 split."""
    classes, items = find_classes(Path(folder))
    train, valid = split_items(items, valid_pct=0.2, seed=42)
    return ImageDataLoaders(folder, classes, train, valid, size=SIZE, batch_size=BATCH,
                            device="cpu", seed=42, num_workers=1)


def tiny_cnn() -> nn.Module:
    """A BatchNorm-free CNN with seeded weights (no global random state used)."""
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, stride=2),
                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return model


def train_tiny(learn: Learner) -> list[float]:
    """Three one-epoch fits, the second with the first layer frozen (so DDP is rebuilt twice):
    9 steps. Returns every step's recorded loss."""
    losses = list(learn.fit(1, LR).losses)
    learn.model[0].weight.requires_grad_(False)
    losses += learn.fit(1, LR).losses
    learn.model[0].weight.requires_grad_(True)
    losses += learn.fit(1, LR).losses
    return losses


def two_rank_worker(folder: str, out: str) -> None:
    """Every check's data, saved as ``out/rank<r>.pkl``; then rank 1 crashes."""
    torch.set_num_threads(1)
    rank = dist.get_rank()
    result: dict = {"linear": linear_worker(*LINEAR)}
    log: list[str] = []
    learn = DistributedLearner(tiny_loaders(folder), tiny_cnn(), device="cpu", seed=0,
                               progress=False, log=log.append)
    result["shards"] = [len(yb) for _, yb in ShardedLoader(tiny_loaders(folder).train, rank, 2)]
    result["losses"] = train_tiny(learn)
    result.update(state=learn.model.state_dict(), log=log,
                  saved=str(learn.save(Path(out) / "cnn.pth")))
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2")
    printed = io.StringIO()
    with redirect_stdout(printed):
        result["code"] = cli.main([
            "bears", "train", "--data", folder, "--size", "16", "--arch", "resnet18",
            "--batch-size", "8", "--device", "cpu", "--small-epochs", "0", "--epochs", "1",
            "--name", "dp", "--model-dir", str(Path(out) / "models"), "--nproc", "2"])
    result["printed"] = printed.getvalue()
    dist.barrier()  # both ranks are done before either writes, and both wrote before the crash
    (Path(out) / f"rank{rank}.pkl").write_bytes(pickle.dumps(result))
    dist.barrier()
    if rank == 1:
        raise RuntimeError(CRASH)
    dist.all_reduce(torch.ones(1))  # rank 0 waits here for a rank that is gone
