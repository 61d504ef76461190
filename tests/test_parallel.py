"""Data-parallel SGD with torch.distributed: 2 gloo processes on 127.0.0.1 take the steps of one.

Oracles: :func:`sgdlab.minibatch_sgd` (lesson 5's loop, written without any process group) and
the gradient of the whole batch computed by autograd. Every multi-process run has a deadline and
every rank joins its group with a timeout, so a failure ends the run instead of hanging it.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import pytest
import torch
import torch.distributed as dist

import sgdlab
from sgdlab.launch import LOOPBACK, free_port, run_on_processes
from sgdlab.lessons import get_lesson, list_lessons, run_lesson_file
from sgdlab.parallel import data_parallel_sgd, shard, single_process_sgd


def test_shards_cover_the_batch_unequally():
    batch = torch.arange(25)
    parts = [shard(batch, rank, 2) for rank in range(2)]
    assert [len(p) for p in parts] == [13, 12]
    assert torch.equal(torch.cat(parts), batch)
    assert [len(shard(torch.arange(1), r, 3)) for r in range(3)] == [1, 0, 0]
    with pytest.raises(sgdlab.SgdlabError, match="rank 2 does not exist"):
        shard(batch, 2, 2)


def test_single_process_runs_match_minibatch_sgd():
    x, y = sgdlab.make_linear_data()
    oracle = sgdlab.minibatch_sgd(x, y, lr=0.1, epochs=3, batch_size=15, seed=1)
    for run in (single_process_sgd(x, y, lr=0.1, epochs=3, batch_size=15, seed=1),
                data_parallel_sgd(x, y, lr=0.1, epochs=3, batch_size=15, seed=1)):
        assert run.params.shape == oracle.params.shape == (22, 2)
        torch.testing.assert_close(run.params, oracle.params, rtol=0, atol=1e-6)
    with pytest.raises(sgdlab.SgdlabError, match="lr"):
        data_parallel_sgd(x, y, lr=-1.0)
    with pytest.raises(sgdlab.SgdlabError, match="batch_size"):
        data_parallel_sgd(x, y, batch_size=0)


def fail_on_rank_one() -> float:
    """A worker whose rank 1 crashes (the real crash test is tests/vision/test_distributed.py)."""
    raise RuntimeError("never run: the launcher refuses world_size 0 first")


def test_the_launcher_refuses_what_it_cannot_send():
    with pytest.raises(sgdlab.SgdlabError, match="top of a module"):
        run_on_processes(lambda: 1, 2)
    with pytest.raises(sgdlab.SgdlabError, match="world_size"):
        run_on_processes(fail_on_rank_one, 0)


def test_lesson_13_runs_under_torchrun_and_prints_its_verdict(tmp_path, monkeypatch):
    """The lesson in this process, as one rank of a world of 1 started the way torchrun starts
    it (RANK, WORLD_SIZE, MASTER_ADDR...): cheap, and the same cells. Its 2-process run (the
    linear model on 2 ranks matching minibatch_sgd to 1e-6) is checked in the one 2-process
    launch of tests/vision/test_distributed.py."""
    lesson = get_lesson(13)
    assert lesson in list_lessons() and lesson.title == "Many workers, one SGD step"
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    for name, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1",
                        "MASTER_ADDR": LOOPBACK, "MASTER_PORT": str(free_port())}.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    with redirect_stdout(out):
        ns = run_lesson_file(lesson.path, pause=False, figures=tmp_path)
    assert not dist.is_initialized()  # the lesson left its group
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("data-parallel vs single process: max |Δθ| = ")
    assert ns["world_size"] == 1 and ns["under_torchrun"] is True
    x, y = sgdlab.make_linear_data()
    oracle = sgdlab.minibatch_sgd(x, y, lr=0.1, epochs=25, batch_size=25, seed=0)
    assert ns["parallel"].params.shape == oracle.params.shape == (101, 2)
    torch.testing.assert_close(ns["parallel"].params, oracle.params, rtol=0, atol=1e-6)
    assert float(last.rsplit("=", 1)[1]) == pytest.approx(ns["max_difference"], rel=1e-2)
    assert ns["max_difference"] < 1e-6
    # the first cell: weighting by n_i/n gives the whole batch's gradient, the plain mean not
    torch.testing.assert_close(ns["weighted"], ns["whole"], rtol=0, atol=1e-6)
    assert (ns["plain"] - ns["whole"]).abs().max() > 1e-3
