"""sgdlab.SGD against torch.optim.SGD, and the lecture's update()/sgd_step/momentum_step."""

from __future__ import annotations

import importlib.util
import inspect
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import sgdlab
from sgdlab import SGD, SgdlabError

shapes = st.lists(st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple),
                  min_size=1, max_size=4)
options = st.fixed_dictionaries({
    "lr": st.sampled_from([1e-3, 0.01, 0.1, 0.5]),
    "momentum": st.sampled_from([0.0, 0.5, 0.9]),
    "dampening": st.sampled_from([0.0, 0.1]),
    "weight_decay": st.sampled_from([0.0, 1e-4, 0.1]),
    "nesterov": st.booleans(),
})


def _valid(opts: dict) -> dict:
    if opts["nesterov"] and (opts["momentum"] == 0 or opts["dampening"] != 0):
        opts = {**opts, "nesterov": False}
    return opts


def _run(make_opt, shapes_, seed: int, steps: int = 50, with_state: bool = False):
    """``steps`` steps with gradients drawn from a private generator; a few params skip steps.

    Parameters alternate float32 and float64, so that the fast path needs two kernel groups.
    """
    g = torch.Generator().manual_seed(seed)
    dtypes = [torch.float32, torch.float64]
    params = [torch.randn(s, generator=g, dtype=dtypes[i % 2]).requires_grad_()
              for i, s in enumerate(shapes_)]
    opt = make_opt(params)
    for step in range(steps):
        for i, p in enumerate(params):
            grad = torch.randn(p.shape, generator=g, dtype=p.dtype)
            # parameter 1 gets no gradient on every third step (grad is None): it must not move
            p.grad = None if (i == 1 and step % 3 == 0) else grad
        opt.step()
    values = [p.detach() for p in params]
    if with_state:
        return values, [opt.state[p].get("momentum_buffer") for p in params]
    return values


@given(shapes, options, st.integers(0, 2**16), st.sampled_from([True, False]))
def test_matches_torch_sgd_for_50_steps(shapes_, opts, seed, foreach):
    opts = _valid(opts)
    ours = _run(lambda ps: SGD(ps, foreach=foreach, **opts), shapes_, seed)
    theirs = _run(lambda ps: torch.optim.SGD(ps, foreach=True, **opts), shapes_, seed)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@given(shapes, options, st.integers(0, 2**16))
def test_readable_and_foreach_paths_agree_bit_for_bit(shapes_, opts, seed):
    opts = _valid(opts)
    slow, slow_v = _run(lambda ps: SGD(ps, foreach=False, **opts), shapes_, seed,
                        with_state=True)
    fast, fast_v = _run(lambda ps: SGD(ps, foreach=True, **opts), shapes_, seed,
                        with_state=True)
    for a, b in zip(slow, fast, strict=True):
        assert a.dtype == b.dtype and torch.equal(a, b)
    for v, w in zip(slow_v, fast_v, strict=True):
        assert (v is None and w is None) or torch.equal(v, w)


def test_the_readable_path_is_the_default_and_foreach_the_explicit_speed_choice(monkeypatch):
    assert inspect.signature(SGD).parameters["foreach"].default is False
    calls = []
    original = torch._foreach_add_

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "_foreach_add_", spy)
    for foreach, expected_calls in ((None, 0), (True, 1)):
        p = torch.tensor([1.0, 2.0], requires_grad=True)
        p.grad = torch.ones(2)
        opt = SGD([p], lr=0.5) if foreach is None else SGD([p], lr=0.5, foreach=foreach)
        calls.clear()
        opt.step()
        assert len(calls) == expected_calls
        torch.testing.assert_close(p.detach(), torch.tensor([0.5, 1.5]))
    # in step(), the readable loop comes before the fast path
    source = inspect.getsource(SGD.step)
    assert source.index("_step_one_by_one") < source.index("_step_foreach")


def test_param_groups_state_dict_and_scheduler_interoperate():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    twin = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    twin.load_state_dict(model.state_dict())

    def groups(m):
        return [{"params": m[0].parameters(), "lr": 0.01}, {"params": m[2].parameters()}]

    ours = SGD(groups(model), lr=0.1, momentum=0.9, weight_decay=1e-3)
    theirs = torch.optim.SGD(groups(twin), lr=0.1, momentum=0.9, weight_decay=1e-3)
    sched_ours = torch.optim.lr_scheduler.StepLR(ours, step_size=3, gamma=0.5)
    sched_theirs = torch.optim.lr_scheduler.StepLR(theirs, step_size=3, gamma=0.5)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    for step in range(10):
        for m, opt, sched in ((model, ours, sched_ours), (twin, theirs, sched_theirs)):
            opt.zero_grad()
            torch.nn.functional.mse_loss(m(x), y).backward()
            opt.step()
            sched.step()
        if step == 4:  # swap state dicts mid-run: the momentum buffers must carry over
            saved = ours.state_dict()
            ours = SGD(groups(model), lr=0.1, momentum=0.9, weight_decay=1e-3)
            ours.load_state_dict(saved)
            sched_ours.optimizer = ours
    assert [g["lr"] for g in ours.param_groups] == [g["lr"] for g in theirs.param_groups]
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    torch_state = theirs.state_dict()["state"][0]["momentum_buffer"]
    torch.testing.assert_close(ours.state_dict()["state"][0]["momentum_buffer"], torch_state)


def test_closure_is_called_and_its_loss_returned():
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.0)
    torch.testing.assert_close(p.detach(), torch.tensor([0.8, -1.6]))


@pytest.mark.parametrize("kwargs, fragment", [
    ({"lr": 0.0}, "learning rate must be a positive"),
    ({"lr": -0.1}, "learning rate must be a positive"),
    ({"lr": math.nan}, "learning rate must be a positive"),
    ({"lr": np.float32(0.1)}, "learning rate must be a positive.*float\\(lr\\)"),
    ({"lr": torch.tensor(0.1)}, "learning rate must be a positive"),
    ({"lr": True}, "learning rate must be a positive"),
    ({"lr": 0.1, "momentum": -0.5}, r"momentum must be a number in \[0, 1\)"),
    ({"lr": 0.1, "momentum": 1.0}, r"momentum must be a number in \[0, 1\)"),
    ({"lr": 0.1, "dampening": 1.5}, r"dampening must be a number in \[0, 1\]"),
    ({"lr": 0.1, "weight_decay": -1.0}, "weight_decay must be a finite number >= 0"),
    ({"lr": 0.1, "weight_decay": math.inf}, "weight_decay must be"),
    ({"lr": 0.1, "nesterov": True}, "Nesterov"),
    ({"lr": 0.1, "nesterov": "yes"}, "nesterov must be True or False"),
    ({"lr": 0.1, "foreach": None}, "foreach must be True or False"),
])
def test_bad_hyperparameters_are_explained(kwargs, fragment):
    with pytest.raises(SgdlabError, match=fragment):
        SGD([torch.zeros(2, requires_grad=True)], **kwargs)


def test_a_param_groups_own_settings_get_the_same_checks():
    p, q = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    opt = SGD([{"params": [p], "lr": 1}, {"params": [q], "momentum": 0.5}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 1.0 and type(opt.param_groups[0]["lr"]) is float
    for group, fragment in [({"lr": np.float32(0.01)}, "learning rate must be a positive"),
                            ({"momentum": 1.5}, "momentum must be a number in"),
                            ({"weight_decay": -1}, "weight_decay must be"),
                            ({"nesterov": True}, "Nesterov")]:
        with pytest.raises(SgdlabError, match=fragment):
            SGD([{"params": [p], **group}], lr=0.1)
        with pytest.raises(SgdlabError, match=fragment):
            opt.add_param_group({"params": [torch.zeros(1, requires_grad=True)], **group})
    assert len(opt.param_groups) == 2


def test_bad_parameter_lists_are_explained():
    with pytest.raises(SgdlabError, match="single tensor"):
        SGD(torch.zeros(2, requires_grad=True), lr=0.1)
    with pytest.raises(SgdlabError, match=r"SGD\(model.parameters\(\), lr=0.1\)"):
        SGD([], lr=0.1)


def test_a_schedule_that_sets_a_nan_lr_is_stopped_before_the_step():
    p = torch.ones(2, requires_grad=True)
    opt = SGD([p], lr=0.1)
    p.grad = torch.ones(2)
    opt.param_groups[0]["lr"] = math.nan
    with pytest.raises(SgdlabError, match="param group 0 has learning rate nan"):
        opt.step()
    assert torch.equal(p.detach(), torch.ones(2))
    opt.param_groups[0]["lr"] = 0.0  # a schedule may end at exactly 0: no step, no error
    opt.step()
    assert torch.equal(p.detach(), torch.ones(2))


def test_update_is_one_lecture_step_and_returns_loss_before_it():
    x, y = sgdlab.make_linear_data(n=50, seed=3)
    a = torch.tensor([-1.0, 1.0], requires_grad=True)
    expected_loss = sgdlab.mse(x @ a.detach(), y).item()
    expected_a = a.detach() - 0.1 * sgdlab.mse_grad(x, y, a.detach())
    loss = sgdlab.update(x, y, a, lr=0.1)
    assert loss == pytest.approx(expected_loss, rel=1e-6)
    torch.testing.assert_close(a.detach(), expected_a)
    assert torch.count_nonzero(a.grad) == 0


def test_update_explains_a_parameter_without_gradients():
    x, y = sgdlab.make_linear_data(n=10)
    with pytest.raises(SgdlabError, match="requires_grad"):
        sgdlab.update(x, y, torch.tensor([-1.0, 1.0]), lr=0.1)
    with pytest.raises(SgdlabError, match="leaf"):
        sgdlab.update(x, y, torch.tensor([-1.0, 1.0], requires_grad=True) * 2, lr=0.1)


def test_momentum_step_matches_torch_sgd_and_zeroes_grads():
    g = torch.Generator().manual_seed(1)
    ours = [torch.randn(3, 2, generator=g).requires_grad_(), torch.randn(4, generator=g)
            .requires_grad_()]
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    velocities = [torch.zeros_like(p) for p in ours]
    opt = torch.optim.SGD(theirs, lr=0.05, momentum=0.9)
    for _ in range(20):
        grads = [torch.randn(p.shape, generator=g) for p in ours]
        for p, q, gr in zip(ours, theirs, grads, strict=True):
            p.grad, q.grad = gr.clone(), gr.clone()
        sgdlab.momentum_step(ours, velocities, lr=0.05, beta=0.9)
        opt.step()
        assert all(torch.count_nonzero(p.grad) == 0 for p in ours)
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q)


def test_sgd_step_and_momentum_step_explain_bad_arguments():
    p = torch.ones(2, requires_grad=True)
    p.grad = torch.ones(2)
    for lr in (math.nan, -1.0, np.float32(0.1), torch.tensor(0.1)):
        with pytest.raises(SgdlabError, match="learning rate must be a positive number"):
            sgdlab.sgd_step([p], lr)
        with pytest.raises(SgdlabError, match="learning rate must be a positive number"):
            sgdlab.momentum_step([p], [torch.zeros(2)], lr, 0.9)
    assert torch.equal(p.detach(), torch.ones(2))
    with pytest.raises(SgdlabError, match=r"single tensor.*\[p\]"):
        sgdlab.sgd_step(p, 0.1)  # looping over a tensor would give its rows: nothing moves
    with pytest.raises(SgdlabError, match=r"params\[1\] is a float"):
        sgdlab.sgd_step([p, 1.0], 0.1)
    with pytest.raises(SgdlabError, match="params must be a list of tensors"):
        sgdlab.sgd_step(3, 0.1)
    with pytest.raises(SgdlabError, match="2 parameters but 1 velocities"):
        sgdlab.momentum_step([p, p], [torch.zeros(2)], 0.1, 0.9)
    with pytest.raises(SgdlabError, match="velocities\\[0\\] is \\(3,\\)"):
        sgdlab.momentum_step([p], [torch.zeros(3)], 0.1, 0.9)
    with pytest.raises(SgdlabError, match=r"beta must be a number in \[0, 1\)"):
        sgdlab.momentum_step([p], [torch.zeros(2)], 0.1, 1.0)
    assert torch.equal(p.detach(), torch.ones(2))


def test_sgd_step_skips_params_without_gradients():
    p, q = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    p.grad = torch.tensor([1.0, 2.0])
    sgdlab.sgd_step([p, q], lr=0.5)
    torch.testing.assert_close(p.detach(), torch.tensor([0.5, 0.0]))
    torch.testing.assert_close(q.detach(), torch.ones(2))
    assert torch.count_nonzero(p.grad) == 0


def _load_benchmark():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "optimizer.py"
    spec = importlib.util.spec_from_file_location("optimizer_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_the_benchmark_times_both_paths_and_checks_they_agree_bit_for_bit(momentum):
    bench = _load_benchmark()
    shapes = [torch.Size([3, 4]), torch.Size([5]), torch.Size([])]
    result = bench.time_optimizer_steps(torch.device("cpu"), momentum, steps=4, shapes=shapes,
                                        warmup=1)
    assert set(result["seconds"]) == {"readable", "fast", "torch"}
    assert all(t > 0 for t in result["seconds"].values())
    assert result["bit_for_bit"] is True and result["max_diff_torch"] < 1e-6
    line = bench.describe("tiny step on CPU", momentum, result, 4)
    assert "readable/fast" in line and "fast/torch" in line
    assert "readable and fast agree bit for bit: yes" in line
