"""The bears data-parallel: DistributedDataParallel on 2 gloo processes (127.0.0.1) takes the
steps of one process on the union of the shards.

Oracles: :func:`sgdlab.minibatch_sgd` (the linear model), a plain single-process
:class:`Learner` on the same seeded loader (the CNN's weights after 9 steps), the
single-process loader's own batches (the shards), and argparse itself (the command torchrun
runs in every rank). ONE 2-process launch (the module fixture, see ``ranks.py``) does all the
multi-process work, and ends with a crash of rank 1 while rank 0 waits in an all_reduce; the
rest runs in this process.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

import sgdlab
from sgdlab import cli
from sgdlab.errors import ParallelRunError
from sgdlab.launch import run_on_processes
from sgdlab.vision import cli_parallel
from sgdlab.vision.distributed import DistributedLearner, ShardedLoader, sync_batchnorm
from sgdlab.vision.learner import Learner

from .fakes import write_fake_bears
from .ranks import CRASH, LINEAR, tiny_cnn, tiny_loaders, train_tiny, two_rank_worker


@pytest.fixture(scope="module")
def bears(tmp_path_factory) -> Path:
    return write_fake_bears(tmp_path_factory.mktemp("fake") / "bears")


@pytest.fixture(scope="module")
def two_ranks(bears: Path, tmp_path_factory) -> tuple[list[dict], Path, ParallelRunError]:
    """The one launch: each rank's results, the output folder, and the error that ended it."""
    out = tmp_path_factory.mktemp("dp")
    with pytest.raises(ParallelRunError) as ended:
        run_on_processes(two_rank_worker, 2, (str(bears), str(out)), timeout=120)
    assert CRASH in str(ended.value), str(ended.value)  # not an earlier failure
    results = [pickle.loads((out / f"rank{rank}.pkl").read_bytes()) for rank in range(2)]
    return results, out, ended.value


@pytest.mark.slow
def test_the_linear_model_on_two_ranks_matches_one_process(two_ranks):
    (rank0, rank1), _, _ = two_ranks
    n, a, lr, epochs, batch_size, seed = LINEAR
    x, y = sgdlab.make_linear_data(n=n, a=a, noise="uniform")
    oracle = sgdlab.minibatch_sgd(x, y, lr=lr, epochs=epochs, batch_size=batch_size, seed=seed)
    assert rank0["linear"].shard_sizes.tolist() == [[13, 12]] * 100
    assert rank0["linear"].params.shape == oracle.params.shape == (101, 2)
    torch.testing.assert_close(rank0["linear"].params, oracle.params, rtol=0, atol=1e-6)
    torch.testing.assert_close(rank1["linear"].params, rank0["linear"].params, rtol=0, atol=0)


@pytest.mark.slow
def test_a_cnn_on_two_ranks_takes_the_single_process_steps(two_ranks, bears):
    (rank0, rank1), _, _ = two_ranks
    assert rank0["shards"] == [5, 5, 3] and rank1["shards"] == [4, 4, 3]
    single = Learner(tiny_loaders(str(bears)), tiny_cnn(), device="cpu", seed=0,
                     progress=False, log=lambda line: None)
    losses = train_tiny(single)
    assert len(losses) == len(rank0["losses"]) == 9
    torch.testing.assert_close(rank0["losses"], losses, rtol=1e-5, atol=1e-6)
    assert rank1["losses"] == rank0["losses"]  # every rank records the whole batch's loss
    for name, value in single.model.state_dict().items():
        torch.testing.assert_close(rank0["state"][name], value, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(rank1["state"][name], rank0["state"][name], rtol=0, atol=0)
    moved = (single.model[0].weight - tiny_cnn()[0].weight).abs().max().item()
    assert moved > 1e-2  # it trained, so this is not the match of two untouched models
    assert len(rank0["log"]) == 6 and rank1["log"] == []  # header + row, 3 fits; rank 1 quiet
    saved = torch.load(rank0["saved"], weights_only=True)
    torch.testing.assert_close(saved["state_dict"]["0.weight"], rank0["state"]["0.weight"])
    assert rank1["saved"] == rank0["saved"]


@pytest.mark.slow
def test_bears_train_under_torchrun_prints_and_saves_on_rank_0_only(two_ranks):
    (rank0, rank1), out, _ = two_ranks
    assert rank0["code"] == rank1["code"] == 0, rank0["printed"]
    assert "data parallel: rank 0 of 2" in rank0["printed"]
    assert "error_rate" in rank0["printed"] and "saved:" in rank0["printed"]
    assert rank1["printed"] == ""
    assert sorted(p.name for p in (out / "models").iterdir()) == ["dp.csv", "dp.pth"]


@pytest.mark.slow
def test_a_crash_in_one_rank_ends_the_run_with_its_error(two_ranks):
    _, _, error = two_ranks
    assert "rank 1 of 2 failed" in str(error) and "RuntimeError" in str(error)


def test_the_shards_are_disjoint_and_their_union_is_the_single_process_batch(bears):
    single = tiny_loaders(str(bears)).train
    ranks = [ShardedLoader(tiny_loaders(str(bears)).train, rank, 2) for rank in range(2)]
    for epoch in range(2):
        whole = list(single)
        parts = [list(loader) for loader in ranks]
        assert len(whole) == len(parts[0]) == len(parts[1]) == 3, epoch
        for (xb, yb), (x0, y0), (x1, y1) in zip(whole, *parts, strict=True):
            assert (len(y0), len(y1)) == ((len(yb) + 1) // 2, len(yb) // 2)
            torch.testing.assert_close(torch.cat([x0, x1]), xb)  # same images, same crops
            assert torch.equal(torch.cat([y0, y1]), yb)


def test_a_last_batch_too_small_for_every_rank_is_dropped(bears):
    loaders = tiny_loaders(str(bears))
    loaders.train.batch_size = 11  # 24 = 11 + 11 + 2, and 2 images cannot give 2 ranks 2 each
    assert len(loaders.train) == 3
    assert len(ShardedLoader(loaders.train, 0, 2)) == 2
    with pytest.raises(sgdlab.SgdlabError, match="at least 12 or fewer processes"):
        ShardedLoader(loaders.train, 0, 6)


def test_what_needs_a_group_or_a_gpu_says_so(bears):
    with pytest.raises(sgdlab.SgdlabError, match="--nproc 2"):
        DistributedLearner(tiny_loaders(str(bears)), tiny_cnn(), device="cpu")
    with pytest.raises(sgdlab.SgdlabError, match="GPUs only"):
        sync_batchnorm(tiny_cnn(), torch.device("cpu"))


def test_torchrun_reruns_the_same_command_without_nproc():
    parser = cli.build_parser()
    argv = ["bears", "train", "--epochs", "3", "--unfreeze-lr", "1e-05", "0.0001", "--sync-bn",
            "--data", "photos", "--nproc", "2", "--model-dir", "out"]
    args = parser.parse_args(argv)
    again = args.command_line(args)
    assert again[:2] == ["bears", "train"] and "--nproc" not in again
    rerun = vars(parser.parse_args(again))
    for name, value in vars(args).items():
        if name not in ("nproc", "command_line", "func"):
            assert rerun[name] == value, name
    command = cli_parallel.torchrun_command(2, again, 29500)
    assert command[1:4] == ["-m", "torch.distributed.run", "--nnodes"]
    assert command[command.index("--master-addr") + 1] == "127.0.0.1"
    assert command[command.index("-m", 2) + 1:] == ["sgdlab.cli", *again]


def test_nproc_and_sync_bn_are_checked(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    parser = cli.build_parser()
    with pytest.raises(sgdlab.SgdlabError, match="--nproc must be 1 or more"):
        cli_parallel.wants_parallel(parser.parse_args(["bears", "train", "--nproc", "0"]))
    with pytest.raises(sgdlab.SgdlabError, match="give --nproc 2"):
        cli_parallel.wants_parallel(parser.parse_args(["bears", "train", "--sync-bn"]))
    assert not cli_parallel.wants_parallel(parser.parse_args(["bears", "train", "--nproc", "1"]))
    assert cli_parallel.wants_parallel(parser.parse_args(["bears", "train", "--nproc", "2"]))


def test_the_benchmark_job_measures_on_a_group_of_one(monkeypatch):
    """``benchmarks/data_parallel.py``'s rank job, in this process as a world of 1."""
    import math
    from datetime import timedelta

    import torch.distributed as dist

    from sgdlab.launch import LOOPBACK, free_port
    from sgdlab.vision.distributed import images_per_second

    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    threads = torch.get_num_threads()
    dist.init_process_group("gloo", init_method=f"tcp://{LOOPBACK}:{free_port()}", rank=0,
                            world_size=1, timeout=timedelta(seconds=60))
    try:
        rate = images_per_second("resnet18", size=16, batch_size=4, steps=1, warmup=0)
        with pytest.raises(sgdlab.SgdlabError, match="steps"):
            images_per_second(steps=0)
    finally:
        dist.destroy_process_group()
        torch.set_num_threads(threads)
    assert math.isfinite(rate) and rate > 0
