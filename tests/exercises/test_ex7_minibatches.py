"""Exercise 7: ``minibatches(n, batch_size, generator)`` cuts a random permutation into batches.

Oracles: the counting laws of a partition (every index once, ``⌈n/batch_size⌉`` batches, all
full but the last), the generator's state (same state, same batches; torch's global random
state untouched) and variety (different seeds and successive epochs give different orders).
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from exercises.helpers import exercise_settings
from exercises.strategies import seeds

pytestmark = pytest.mark.ex7

row_counts = st.integers(min_value=1, max_value=60)
#: (n, batch_size) with batch sizes from 1 up to a little more than n.
splits = row_counts.flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n + 3)))


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def order(batches) -> list[int]:
    """All the indices, batch after batch, as Python ints."""
    return [int(i) for batch in batches for i in batch]


@exercise_settings
@given(split=splits, seed=seeds)
def test_minibatches_returns_a_list_of_index_tensors(impl, split, seed):
    n, batch_size = split
    batches = impl.minibatches(n, batch_size, generator(seed))
    assert isinstance(batches, list), (
        f"minibatches must return a list, got {type(batches).__name__} (wrap it in list(...))")
    for i, batch in enumerate(batches):
        assert isinstance(batch, torch.Tensor) and batch.dim() == 1, (
            f"batch {i} must be a 1-D tensor of row indices, got {batch!r}")
        assert not batch.is_floating_point() and batch.dtype != torch.bool, (
            f"batch {i} must hold integer indices (torch.long) so that x[batch] picks rows, "
            f"got dtype {batch.dtype}")


@exercise_settings
@given(split=splits, seed=seeds)
def test_every_index_appears_exactly_once(impl, split, seed):
    n, batch_size = split
    indices = order(impl.minibatches(n, batch_size, generator(seed)))
    missing = sorted(set(range(n)) - set(indices))
    repeated = sorted({i for i in indices if indices.count(i) > 1})
    assert sorted(indices) == list(range(n)), (
        f"one epoch must use every row exactly once: with n = {n} the batches together must "
        f"hold 0 … {n - 1}, each once (a permutation, not sampling with replacement); "
        f"missing {missing}, repeated {repeated}, out of range "
        f"{sorted(i for i in set(indices) if not 0 <= i < n)}")


@exercise_settings
@given(split=splits, seed=seeds)
def test_batches_are_full_except_the_last(impl, split, seed):
    n, batch_size = split
    lengths = [len(b) for b in impl.minibatches(n, batch_size, generator(seed))]
    expected = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    assert lengths == expected, (
        f"n = {n} rows in batches of {batch_size} make {math.ceil(n / batch_size)} batches: "
        f"{n // batch_size} full ones and, when {batch_size} does not divide {n}, one last "
        f"batch with the {n % batch_size} leftovers (never drop it). Expected sizes "
        f"{expected}, got {lengths}")


@exercise_settings
@given(n=st.integers(min_value=10, max_value=60), batch_size=st.integers(1, 8), seed=seeds)
def test_the_same_generator_state_gives_the_same_batches(impl, n, batch_size, seed):
    first = order(impl.minibatches(n, batch_size, generator(seed)))
    second = order(impl.minibatches(n, batch_size, generator(seed)))
    assert first == second, (
        "two generators seeded alike must give the same batches: draw the permutation from "
        "the generator you are given (torch.randperm(n, generator=generator))")


@exercise_settings
@given(split=splits, seed=seeds)
def test_minibatches_leaves_the_global_random_state_alone(impl, split, seed):
    n, batch_size = split
    before = torch.get_rng_state()
    impl.minibatches(n, batch_size, generator(seed))
    assert torch.equal(torch.get_rng_state(), before), (
        "minibatches must draw only from the generator it is given; it used (or reseeded) "
        "torch's global random state, e.g. torch.randperm(n) without generator=...")


@exercise_settings
@given(seed=seeds)
def test_different_seeds_shuffle_differently(impl, seed):
    orders = [order(impl.minibatches(20, 5, generator(seed + i))) for i in range(5)]
    assert len({tuple(o) for o in orders}) > 1, (
        f"five different seeds gave the same order {orders[0]}: the rows must be shuffled "
        f"with the generator you are given, not kept in order or shuffled with a fixed seed")
    assert orders[0] != list(range(20)) or orders[1] != list(range(20)), (
        "the rows must be shuffled; the batches came out in order 0, 1, 2, …")


@exercise_settings
@given(seed=seeds)
def test_each_epoch_is_shuffled_anew(impl, seed):
    g = generator(seed)
    first = order(impl.minibatches(20, 5, g))
    second = order(impl.minibatches(20, 5, g))
    assert first != second, (
        "calling minibatches twice with the same generator must give two different epochs: "
        "the generator moves on after each draw; don't reseed it or copy it")
