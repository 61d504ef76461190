"""The SGD core: synthetic data, losses, the closed form, training loops and History."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn import functional as F

import sgdlab
from sgdlab import DivergenceError, SgdlabError, UnstableLearningRateWarning


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
    ({"n": 0}, "n must be a whole number >= 1"),
    ({"n": True}, "n must be a whole number"),
    ({"n": 10.0}, "write 10"),
    ({"a": (3, 2)}, "integers"),
    ({"a": (1.0, 2.0, 3.0)}, "two numbers"),
    ({"a": (3.0, math.nan)}, "finite"),
    ({"a": "slope"}, "two numbers"),
    ({"noise": "pink"}, "noise must be"),
    ({"noise": "gauss"}, "did you mean 'gaussian'"),
    ({"noise_scale": -1.0}, "noise_scale must be"),
    ({"noise_scale": math.inf}, "noise_scale must be"),
    ({"seed": 1.5}, "seed must be a whole number"),
    ({"seed": -1}, "seed must be a whole number >= 0"),
    ({"generator": 7}, "generator must be a torch.Generator"),
])
def test_bad_data_arguments_are_explained(kwargs, fragment):
    with pytest.raises(SgdlabError, match=fragment):
        sgdlab.make_linear_data(**kwargs)


@pytest.mark.parametrize("args, fragment", [
    ((0, 4), "n must be a whole number >= 1"),
    ((10, 0), "batch_size must be a whole number >= 1"),
    ((10, True), "batch_size must be a whole number"),
    ((10, 2.0), "write 2"),
    ((10.0, 2), "n must be a whole number"),
])
def test_bad_minibatch_arguments_are_explained(args, fragment):
    with pytest.raises(SgdlabError, match=fragment):
        sgdlab.minibatches(*args, torch.Generator().manual_seed(0))
    with pytest.raises(SgdlabError, match="generator must be a torch.Generator"):
        sgdlab.minibatches(10, 2, 0)


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
    with pytest.raises(SgdlabError, match="integer dtype"):
        sgdlab.mse(torch.zeros(5, dtype=torch.long), torch.zeros(5))
    with pytest.raises(SgdlabError, match="zero predictions"):
        sgdlab.mse(torch.zeros(0), torch.zeros(0))


def test_mse_grad_refuses_a_column_y_instead_of_returning_a_matrix():
    # y of shape (n, 1) would broadcast x @ a - y to (n, n): the old code returned shape (2, n)
    x, y = sgdlab.make_linear_data(n=7)
    with pytest.raises(SgdlabError, match=r"y must be a vector of shape \(n,\), got shape "
                                          r"\(7, 1\); use y.flatten\(\)"):
        sgdlab.mse_grad(x, y[:, None], torch.zeros(2))
    with pytest.raises(SgdlabError, match=r"a must have shape \(2,\)"):
        sgdlab.mse_grad(x, y, torch.zeros(3))
    with pytest.raises(SgdlabError, match="x is torch.float32 but a is torch.float64"):
        sgdlab.mse_grad(x, y, torch.zeros(2, dtype=torch.float64))


def test_least_squares_refuses_empty_and_nan_data():
    x, y = sgdlab.make_linear_data(n=10)
    with pytest.raises(SgdlabError, match="empty"):  # the old code returned [0, 0]
        sgdlab.least_squares(x[:0], y[:0])
    bad = y.clone()
    bad[3] = math.nan
    with pytest.raises(SgdlabError, match="y contains 1 NaN/inf"):  # old: a torch assert
        sgdlab.least_squares(x, bad)
    with pytest.raises(SgdlabError, match="x contains"):
        sgdlab.least_squares(x.clone().fill_(math.inf), y)
    with pytest.raises(SgdlabError, match="rows but y has"):
        sgdlab.least_squares(x, y[:-1])


def test_a_flat_loss_has_no_stability_limit():
    zeros = torch.zeros(5, 2)
    for fn in (sgdlab.max_stable_lr, sgdlab.optimal_lr, sgdlab.condition_number):
        with pytest.raises(SgdlabError, match="x is all zeros"):  # old: ZeroDivisionError
            fn(zeros)
    with pytest.raises(SgdlabError, match="momentum must be a number in"):
        sgdlab.max_stable_lr(torch.ones(5, 2), momentum=1.0)
    # a repeated column has no curvature along a − b: κ is infinite, never negative
    u = torch.linspace(-1, 1, 9)
    assert sgdlab.condition_number(torch.stack([u, u], dim=1)) == math.inf
    assert torch.all(sgdlab.curvatures(torch.stack([u, u], dim=1)) >= 0)
    with pytest.raises(SgdlabError, match="matrix"):
        sgdlab.hessian(u)


def test_polynomial_features_checks_its_arguments():
    u = torch.linspace(-1, 1, 5)
    assert sgdlab.polynomial_features(u, 2).shape == (5, 3)
    for degree, fragment in [(-1, "degree must be a whole number >= 0"), (2.0, "write 2"),
                             (True, "degree must be a whole number")]:
        with pytest.raises(SgdlabError, match=fragment):
            sgdlab.polynomial_features(u, degree)
    with pytest.raises(SgdlabError, match="integer dtype"):
        sgdlab.polynomial_features(torch.arange(5), 2)


def test_accuracy_refuses_float_targets_and_bad_shapes():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    assert sgdlab.accuracy(logits, torch.tensor([0, 0])) == 0.5
    assert sgdlab.error_rate(logits, torch.tensor([0, 1])) == 0.0
    with pytest.raises(SgdlabError, match="targets must be class numbers"):
        sgdlab.accuracy(logits, torch.tensor([0.0, 1.0]))
    with pytest.raises(SgdlabError, match="shape"):
        sgdlab.error_rate(logits, torch.tensor([[0, 1]]))
    with pytest.raises(SgdlabError, match="two tensors"):
        sgdlab.accuracy(logits, [0, 1])


@given(eps=st.floats(0.0, 0.95), seed=st.integers(0, 2**16), n=st.integers(1, 6),
       k=st.integers(2, 6))
def test_label_smoothing_is_torchs_cross_entropy_with_label_smoothing(eps, seed, n, k):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, k, generator=g, dtype=torch.float64) * 3).requires_grad_()
    twin = logits.detach().clone().requires_grad_()
    targets = torch.randint(0, k, (n,), generator=g)
    ours = sgdlab.LabelSmoothingCrossEntropy(eps)(logits, targets)
    theirs = F.cross_entropy(twin, targets, label_smoothing=eps)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12, abs=1e-12)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(logits.grad, twin.grad, rtol=1e-10, atol=1e-12)


def test_label_smoothing_by_hand_and_its_checks():
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    q = torch.tensor([1 - 0.3 + 0.1, 0.1, 0.1])  # 1 − ε on the label, ε/K everywhere
    expected = -(q * logits.log_softmax(dim=1)[0]).sum()
    loss = sgdlab.LabelSmoothingCrossEntropy(0.3)(logits, torch.tensor([0]))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert repr(sgdlab.LabelSmoothingCrossEntropy(0.1)) == "LabelSmoothingCrossEntropy(eps=0.1)"
    for eps in (-0.1, 1.0, True, "0.1", math.nan):
        with pytest.raises(SgdlabError, match="label smoothing eps must be a number in"):
            sgdlab.LabelSmoothingCrossEntropy(eps)
    with pytest.raises(SgdlabError, match="targets must be class numbers"):
        sgdlab.LabelSmoothingCrossEntropy()(logits, torch.tensor([0.0]))


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


@pytest.mark.filterwarnings("ignore::sgdlab.UnstableLearningRateWarning")
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


def test_an_lr_at_or_above_the_stability_limit_warns_even_when_the_budget_ends_first():
    x, y = sgdlab.make_linear_data()
    limit = sgdlab.max_stable_lr(x)
    with pytest.warns(UnstableLearningRateWarning,
                      match=r"lr=1\.0\d+ >= 2/λmax = 0\.99\d+.*the loss will grow") as caught:
        h = sgdlab.gradient_descent(x, y, lr=1.01 * limit, steps=100)
    assert h.diverged_at is None and h.steps == 100  # returned normally ...
    assert h.full_losses()[-1] > 10 * h.full_losses()[0]  # ... while the loss grew
    assert caught[0].filename == __file__  # the warning points at the caller's line
    assert issubclass(UnstableLearningRateWarning, sgdlab.SgdlabWarning)
    with pytest.warns(UnstableLearningRateWarning):
        sgdlab.gradient_descent(x, y, lr=limit, steps=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sgdlab.gradient_descent(x, y, lr=0.99 * limit, steps=3)
        sgdlab.gradient_descent(torch.zeros(4, 2), torch.ones(4), lr=5.0, steps=3)  # flat


@pytest.mark.parametrize("lr", [math.nan, math.inf, -0.1, 0.0, np.float32(0.1),
                                torch.tensor(0.1), True, "0.1", None])
def test_update_refuses_an_lr_it_cannot_step_with_and_leaves_a_alone(lr):
    x, y = sgdlab.make_linear_data(n=10)
    a = torch.tensor([-1.0, 1.0], requires_grad=True)
    with pytest.raises(SgdlabError, match="learning rate must be a positive number"):
        sgdlab.update(x, y, a, lr)
    assert torch.equal(a.detach(), torch.tensor([-1.0, 1.0])) and a.grad is None
    with pytest.raises(SgdlabError, match="learning rate must be a positive number"):
        sgdlab.gradient_descent(x, y, lr=lr)


def test_update_accepts_python_numbers_and_float_subclasses():
    x, y = sgdlab.make_linear_data(n=10)
    moved = []
    for lr in (1, 0.1, np.float64(0.1)):
        a = torch.tensor([-1.0, 1.0], requires_grad=True)
        sgdlab.update(x, y, a, lr)
        moved.append(a.detach())
    assert torch.equal(moved[1], moved[2]) and not torch.equal(moved[0], moved[1])


@pytest.mark.parametrize("make, fragment", [
    (lambda x, y, a: (x.long(), y, a), "x has integer dtype"),
    (lambda x, y, a: (x, y.long(), a), "y has integer dtype"),
    (lambda x, y, a: (x.double(), y, a), "x is torch.float64 but y is torch.float32"),
    (lambda x, y, a: (x, y, torch.zeros(2, dtype=torch.float64, requires_grad=True)),
     r"x is torch.float32 but a is torch.float64.*dtype=x.dtype, requires_grad=True"),
    (lambda x, y, a: (x, y, torch.zeros(3, requires_grad=True)), r"a must have shape \(2,\)"),
    (lambda x, y, a: (x, y[:, None], a), "y must be a vector"),
    (lambda x, y, a: (x, y[:-1], a), "rows but y has"),
    (lambda x, y, a: (x, y.to("meta"), a), "x is on cpu but y is on meta"),
    (lambda x, y, a: (x.tolist(), y, a), "x must be a torch.Tensor"),
    (lambda x, y, a: (x, y, torch.zeros(2, dtype=torch.long)), "a has integer dtype"),
])
def test_update_explains_tensors_it_cannot_use(make, fragment):
    # the old code crashed inside torch (addmv dtype / size mismatch) or broadcast silently
    x, y = sgdlab.make_linear_data(n=10)
    args = make(x, y, torch.tensor([-1.0, 1.0], requires_grad=True))
    with pytest.raises(SgdlabError, match=fragment):
        sgdlab.update(*args, lr=0.1)


def test_a_starting_guess_of_another_float_dtype_is_converted_to_the_datas():
    # the old code crashed inside torch (addmv: Float and Double) on a float64 a0
    x, y = sgdlab.make_linear_data(n=20)
    h = sgdlab.gradient_descent(x, y, a0=torch.tensor([-1.0, 1.0], dtype=torch.float64),
                                steps=3)
    same = sgdlab.gradient_descent(x, y, a0=(-1.0, 1.0), steps=3)
    assert h.params.dtype == torch.float32 and torch.equal(h.params, same.params)


def test_update_with_another_model_skips_the_linear_shape_checks():
    u = torch.linspace(-1, 1, 20)
    y = 2 * u**2
    a = torch.tensor([0.0], requires_grad=True)
    loss = sgdlab.update(u, y, a, 0.1, model=lambda u, a: a * u**2)
    assert loss == pytest.approx((y**2).mean().item())
    assert a.item() > 0


@pytest.mark.parametrize("call, fragment", [
    (lambda x, y: sgdlab.gradient_descent(x.long(), y), "integer dtype"),
    (lambda x, y: sgdlab.gradient_descent(x, y[:-1]), "rows but y has"),
    (lambda x, y: sgdlab.gradient_descent(x, y, lr=0), "positive number"),
    (lambda x, y: sgdlab.gradient_descent(x, y, steps=-1), "steps must be"),
    (lambda x, y: sgdlab.gradient_descent(x, y, a0=(1.0, 2.0, 3.0)), "shape"),
    (lambda x, y: sgdlab.gradient_descent(x, y, a0=torch.tensor([1, 2])), "integer"),
    (lambda x, y: sgdlab.minibatch_sgd(x, y, batch_size=0), "batch_size must be"),
    (lambda x, y: sgdlab.minibatch_sgd(x, y, epochs=2.5), "epochs must be a whole number"),
    (lambda x, y: sgdlab.minibatch_sgd(x, y, seed="a"), "seed must be a whole number"),
    (lambda x, y: sgdlab.minibatch_sgd(x, y, generator=1), "generator must be"),
    (lambda x, y: sgdlab.minibatch_sgd(x, y, lr=np.float32(0.1)), "positive number"),
    (lambda x, y: sgdlab.gradient_descent(x, y, steps=True), "steps must be"),
    (lambda x, y: sgdlab.gradient_descent(x, y, log_every=0), "log_every must be"),
    (lambda x, y: sgdlab.gradient_descent(x, y, log="stdout"), "log must be a function"),
    (lambda x, y: sgdlab.gradient_descent(x, y, on_divergence="stpo"), "did you mean 'stop'"),
    (lambda x, y: sgdlab.gradient_descent(x, y, a0="ab"), "a0 must be numbers"),
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
    with pytest.raises(SgdlabError, match="frame must be a whole number"):
        h.params_at(1.5)
    with pytest.raises(SgdlabError, match="step must be a whole number >= 1"):
        h.batch(0)
    assert not list(tmp_path.glob("*.tmp"))


def test_loading_something_else_than_a_history_says_what_it_expected(tmp_path):
    (tmp_path / "photo.pt").write_bytes(b"\xff\xd8\xff\xe0 not a torch file")
    torch.save({"state_dict": {}}, tmp_path / "model.pt")
    for name in ("photo.pt", "model.pt", "missing.pt"):
        with pytest.raises(SgdlabError, match="expected a History saved by History.save"):
            sgdlab.History.load(tmp_path / name)
