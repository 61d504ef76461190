"""The SGD core: synthetic data, losses, the closed form, training loops and History."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import sgdlab
from sgdlab import DivergenceError, SgdlabError


def test_linear_data_is_the_lectures_design():
    x, y = sgdlab.make_linear_data(n=1000, a=(3.0, 2.0), noise="none", seed=0)
    assert x.dtype == torch.float32 and x.shape == (1000, 2)
    assert torch.all(x[:, 1] == 1)
    assert x[:, 0].min() >= -1 and x[:, 0].max() < 1
    torch.testing.assert_close(y, 3 * x[:, 0] + 2)


def test_uniform_noise_lifts_the_fitted_intercept_by_half_gaussian_does_not():
    fit = {}
    for noise in ("uniform", "gaussian"):
        x, y = sgdlab.make_linear_data(n=20_000, noise=noise, noise_scale=1.0, seed=1)
        fit[noise] = sgdlab.least_squares(x, y)
    assert fit["uniform"][1].item() == pytest.approx(2.5, abs=0.02)
    assert fit["gaussian"][1].item() == pytest.approx(2.0, abs=0.03)
    assert fit["uniform"][0].item() == pytest.approx(3.0, abs=0.03)


def test_data_uses_a_private_generator_and_the_seed():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = sgdlab.make_linear_data(seed=5)
    assert torch.equal(torch.get_rng_state(), state), "the global RNG must not be touched"
    b = sgdlab.make_linear_data(seed=5)
    c = sgdlab.make_linear_data(seed=6)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"n": 0}, "positive integer"),
    ({"a": (3, 2)}, "integers"),
    ({"a": (1.0, 2.0, 3.0)}, "two numbers"),
    ({"noise": "pink"}, "noise must be"),
])
def test_bad_data_arguments_are_explained(kwargs, fragment):
    with pytest.raises(SgdlabError, match=fragment):
        sgdlab.make_linear_data(**kwargs)


@given(st.integers(1, 200), st.integers(1, 64), st.integers(0, 1000))
def test_minibatches_partition_the_rows(n, bs, seed):
    batches = sgdlab.minibatches(n, bs, torch.Generator().manual_seed(seed))
    assert torch.equal(torch.sort(torch.cat(batches)).values, torch.arange(n))
    assert all(len(b) == bs for b in batches[:-1]) and 1 <= len(batches[-1]) <= bs
    assert len(batches) == math.ceil(n / bs)


def test_mse_grad_matches_autograd_and_finite_differences():
    x, y = sgdlab.make_linear_data(n=37, seed=2)
    a = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
    x64, y64 = x.double(), y.double()
    sgdlab.mse(x64 @ a, y64).backward()
    analytic = sgdlab.mse_grad(x64, y64, a.detach())
    torch.testing.assert_close(analytic, a.grad)
    eps = 1e-6
    for i in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[i] = eps
        fd = (sgdlab.mse(x64 @ (a.detach() + e), y64) - sgdlab.mse(x64 @ (a.detach() - e), y64))
        assert analytic[i].item() == pytest.approx(fd.item() / (2 * eps), rel=1e-6)


def test_mse_refuses_silent_broadcasting():
    with pytest.raises(SgdlabError, match="broadcast"):
        sgdlab.mse(torch.zeros(5, 1), torch.zeros(5))


def test_hessian_and_learning_rate_limits():
    x, _ = sgdlab.make_linear_data(n=500, seed=4)
    h = sgdlab.hessian(x)
    torch.testing.assert_close(h, 2 / 500 * x.double().T @ x.double())
    lam = torch.linalg.eigvalsh(h)
    assert sgdlab.max_stable_lr(x) == pytest.approx(2 / lam[-1].item())
    assert sgdlab.max_stable_lr(x, momentum=0.9) == pytest.approx(3.8 / lam[-1].item())
    assert sgdlab.optimal_lr(x) == pytest.approx(2 / (lam[0] + lam[-1]).item())
    assert sgdlab.max_stable_lr(x) == pytest.approx(1.0, abs=0.1)  # λmax ≈ 2 for the lecture's x


def test_gradient_descent_reproduces_the_lecture_and_reaches_the_closed_form():
    x, y = sgdlab.make_linear_data()
    lines: list[str] = []
    h = sgdlab.gradient_descent(x, y, lr=0.1, steps=100, log_every=10, log=lines.append)
    assert len(lines) == 10 and lines[0].startswith("step    1")
    assert h.steps == 100 and h.params.shape == (101, 2)
    torch.testing.assert_close(h.params[0], torch.tensor([-1.0, 1.0]))
    assert h.losses[0].item() == pytest.approx(sgdlab.mse(x @ h.params[0], y).item(), rel=1e-6)
    assert torch.all(h.losses[1:] <= h.losses[:-1])
    torch.testing.assert_close(h.final_params, sgdlab.least_squares(x, y), atol=1e-2, rtol=0)
    long = sgdlab.gradient_descent(x, y, lr=sgdlab.optimal_lr(x), steps=2000)
    torch.testing.assert_close(long.final_params, sgdlab.least_squares(x, y), atol=1e-5, rtol=0)


def test_gradient_descent_steps_are_the_analytic_recurrence():
    x, y = sgdlab.make_linear_data(n=64, seed=9)
    h = sgdlab.gradient_descent(x, y, lr=0.3, steps=20)
    for k in range(1, 21):
        prev = h.params[k - 1]
        torch.testing.assert_close(h.params[k], prev - 0.3 * sgdlab.mse_grad(x, y, prev))


def test_minibatch_sgd_records_epochs_and_batches():
    x, y = sgdlab.make_linear_data(n=100, seed=0)
    h = sgdlab.minibatch_sgd(x, y, lr=0.1, epochs=3, batch_size=32, seed=1)
    assert h.steps == 3 * 4
    assert [len(h.batch(k)) for k in range(1, 5)] == [32, 32, 32, 4]
    assert h.epochs.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    for epoch in range(3):
        rows = torch.cat(h.batches[4 * epoch: 4 * epoch + 4])
        assert torch.equal(torch.sort(rows).values, torch.arange(100))
    # each step used exactly its recorded batch: replay the update from the history alone
    for k in range(1, h.steps + 1):
        idx, prev = h.batch(k), h.params[k - 1]
        torch.testing.assert_close(h.params[k], prev - 0.1 * sgdlab.mse_grad(x[idx], y[idx], prev))
    again = sgdlab.minibatch_sgd(x, y, lr=0.1, epochs=3, batch_size=32, seed=1)
    assert torch.equal(again.params, h.params)


def test_divergence_names_the_step_and_suggests_a_stable_lr():
    x, y = sgdlab.make_linear_data()
    limit = sgdlab.max_stable_lr(x)
    with pytest.raises(DivergenceError, match=r"learning rate 1.5 is too high.*step \d+") as info:
        sgdlab.gradient_descent(x, y, lr=1.5, steps=200)
    err = info.value
    assert err.suggested_lr == pytest.approx(limit / 2)
    assert err.history.steps == err.step - 1
    stopped = sgdlab.gradient_descent(x, y, lr=1.5, steps=200, on_divergence="stop")
    assert stopped.diverged_at == err.step and stopped.steps == err.step - 1
    just_under = sgdlab.gradient_descent(x, y, lr=0.95 * limit, steps=200)
    assert just_under.diverged_at is None
    nan = sgdlab.gradient_descent(x, y, lr=1e30, steps=5, on_divergence="stop")
    assert nan.diverged_at is not None


@pytest.mark.parametrize("call, fragment", [
    (lambda x, y: sgdlab.gradient_descent(x.long(), y), "integer dtype"),
    (lambda x, y: sgdlab.gradient_descent(x, y[:-1]), "rows but y has"),
    (lambda x, y: sgdlab.gradient_descent(x, y, lr=0), "positive number"),
    (lambda x, y: sgdlab.gradient_descent(x, y, steps=-1), "steps must be"),
    (lambda x, y: sgdlab.gradient_descent(x, y, a0=(1.0, 2.0, 3.0)), "shape"),
    (lambda x, y: sgdlab.gradient_descent(x, y, a0=torch.tensor([1, 2])), "integer"),
    (lambda x, y: sgdlab.minibatch_sgd(x, y, batch_size=0), "batch size"),
    (lambda x, y: sgdlab.gradient_descent(x[:0], y[:0]), "empty"),
    (lambda x, y: sgdlab.gradient_descent(x, y.clone().fill_(math.nan)), "NaN"),
    (lambda x, y: sgdlab.gradient_descent(x[:, 0], y), "matrix"),
])
def test_learner_mistakes_get_actionable_errors(call, fragment):
    x, y = sgdlab.make_linear_data(n=20)
    with pytest.raises(SgdlabError, match=fragment):
        call(x, y)


def test_history_round_trips_and_checks_frames(tmp_path):
    x, y = sgdlab.make_linear_data(n=30)
    h = sgdlab.minibatch_sgd(x, y, epochs=2, batch_size=8, seed=0)
    path = h.save(tmp_path / "run.pt")
    back = sgdlab.History.load(path)
    assert torch.equal(back.params, h.params) and back.label == h.label
    assert all(torch.equal(a, b) for a, b in zip(back.batches, h.batches, strict=True))
    full = h.full_losses()
    assert full.shape == (h.steps + 1,)
    assert full[0].item() == pytest.approx(sgdlab.mse(x @ h.params[0], y).item(), rel=1e-5)
    with pytest.raises(SgdlabError, match="frame must be between 0 and"):
        h.params_at(h.steps + 1)
    assert not list(tmp_path.glob("*.tmp"))
