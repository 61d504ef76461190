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
from sgdlab.errors import ParallelRunError
from sgdlab.launch import run_on_processes
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
    """A worker whose rank 1 crashes while rank 0 waits for it in an all_reduce."""
    if dist.get_rank() == 1:
        raise RuntimeError("rank one broke on purpose")
    total = torch.ones(1)
    dist.all_reduce(total)
    return total.item()


@pytest.mark.slow
def test_a_crash_in_one_rank_ends_the_run_with_its_error():
    with pytest.raises(ParallelRunError, match="rank 1 of 2 failed") as caught:
        run_on_processes(fail_on_rank_one, 2, timeout=60)
    assert "rank one broke on purpose" in str(caught.value)


def test_the_launcher_refuses_what_it_cannot_send():
    with pytest.raises(sgdlab.SgdlabError, match="top of a module"):
        run_on_processes(lambda: 1, 2)
    with pytest.raises(sgdlab.SgdlabError, match="world_size"):
        run_on_processes(fail_on_rank_one, 0)


@pytest.mark.slow
def test_lesson_13_runs_two_processes_that_match_one(tmp_path):
    lesson = get_lesson(13)
    assert lesson in list_lessons() and lesson.title == "Many workers, one SGD step"
    out = io.StringIO()
    with redirect_stdout(out):
        ns = run_lesson_file(lesson.path, pause=False, figures=tmp_path)
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("data-parallel vs single process: max |Δθ| = ")
    assert ns["world_size"] == 2 and ns["under_torchrun"] is False
    parallel = ns["parallel"]
    assert parallel.shard_sizes.tolist() == [[13, 12]] * 100  # unequal shards, every step
    x, y = sgdlab.make_linear_data()
    oracle = sgdlab.minibatch_sgd(x, y, lr=0.1, epochs=25, batch_size=25, seed=0)
    assert parallel.params.shape == oracle.params.shape == (101, 2)
    torch.testing.assert_close(parallel.params, oracle.params, rtol=0, atol=1e-6)
    assert float(last.rsplit("=", 1)[1]) == pytest.approx(ns["max_difference"], rel=1e-2)
    assert ns["max_difference"] < 1e-6
    # the first cell: weighting by n_i/n gives the whole batch's gradient, the plain mean not
    torch.testing.assert_close(ns["weighted"], ns["whole"], rtol=0, atol=1e-6)
    assert (ns["plain"] - ns["whole"]).abs().max() > 1e-3
