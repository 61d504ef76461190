"""How fast is sgdlab's hand-written optimizer? Ratios measured side by side in one run.

1. One optimizer step on ResNet34's 21.8 M parameters (CPU, and the GPU when there is one),
   momentum off and on, by three optimizers in turn:

   * ``sgdlab.SGD(foreach=False)``, the readable path a student meets (the default);
   * ``sgdlab.SGD(foreach=True)``, the fast path the bears learner asks for;
   * ``torch.optim.SGD(foreach=True)``, the reference.

   They take their steps in rotation, so that machine noise hits all alike; we report medians,
   the ratio readable/fast (what the readable path costs), fast/torch (target <= 1.05), and
   whether the two sgdlab paths end with the same parameters and momentum buffers bit for bit.
2. Full-batch gradient descent (lesson 3's ``update()``) on n = 10^6 points: time per step and
   the distance to the closed-form least-squares solution after convergence.

Run: ``python benchmarks/optimizer.py [--steps 200] [--device cpu|cuda]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

import sgdlab

OPTIMIZERS = ("readable", "fast", "torch")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def resnet34_shapes() -> list[torch.Size]:
    """The shapes of ResNet34's parameter tensors (110 tensors, 21.8 M numbers)."""
    import torchvision

    return [p.shape for p in torchvision.models.resnet34(weights=None).parameters()]


def _params_with_grads(shapes: list[torch.Size], device: torch.device,
                       seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    params = []
    for shape in shapes:
        p = torch.randn(shape, generator=g).to(device).requires_grad_()
        p.grad = torch.randn(shape, generator=g).to(device)
        params.append(p)
    return params


def _make_optimizer(name: str, params: list[torch.Tensor], momentum: float):
    options = dict(lr=1e-6, momentum=momentum, weight_decay=1e-4)
    if name == "torch":
        return torch.optim.SGD(params, foreach=True, **options)
    return sgdlab.SGD(params, foreach=name == "fast", **options)


Shapes = list[torch.Size]


def time_optimizer_steps(device: torch.device, momentum: float, steps: int,
                         shapes: Shapes | Callable[[], Shapes] = resnet34_shapes,
                         warmup: int = 10) -> dict:
    """Median seconds per step of each optimizer, measured in rotation, and their agreement.

    Returns ``{"seconds": {name: median}, "bit_for_bit": bool, "max_diff_torch": float}``:
    whether the readable and fast sgdlab paths ended with identical parameters and momentum
    buffers, and the largest ``|fast − torch|`` over all parameters.
    """
    shapes = shapes() if callable(shapes) else shapes
    params = {name: _params_with_grads(shapes, device, seed=0) for name in OPTIMIZERS}
    optimizers = {name: _make_optimizer(name, params[name], momentum) for name in OPTIMIZERS}
    times: dict[str, list[float]] = {name: [] for name in OPTIMIZERS}
    for i in range(steps + warmup):
        k = i % len(OPTIMIZERS)
        for name in OPTIMIZERS[k:] + OPTIMIZERS[:k]:  # each goes first a third of the time
            _sync(device)
            start = time.perf_counter()
            optimizers[name].step()
            _sync(device)
            if i >= warmup:  # warm-up: momentum buffers, allocator, caches
                times[name].append(time.perf_counter() - start)

    def buffers(name: str) -> list[torch.Tensor | None]:
        state = optimizers[name].state
        return [state[p].get("momentum_buffer") for p in params[name]]

    same_params = all(torch.equal(a, b) for a, b in zip(params["readable"], params["fast"],
                                                        strict=True))
    same_buffers = all((a is None and b is None) or torch.equal(a, b)
                       for a, b in zip(buffers("readable"), buffers("fast"), strict=True))
    max_diff = max((a.detach() - b.detach()).abs().max().item()
                   for a, b in zip(params["fast"], params["torch"], strict=True))
    return {"seconds": {name: statistics.median(ts) for name, ts in times.items()},
            "bit_for_bit": same_params and same_buffers, "max_diff_torch": max_diff}


def describe(what: str, momentum: float, result: dict, steps: int) -> str:
    """One line: the three times, the two ratios and the agreement."""
    t = result["seconds"]
    agree = "yes" if result["bit_for_bit"] else "NO"
    return (f"{what}, momentum={momentum}: "
            f"readable (foreach=False) {t['readable'] * 1e3:.2f} ms, "
            f"fast (foreach=True) {t['fast'] * 1e3:.2f} ms, "
            f"readable/fast {t['readable'] / t['fast']:.2f}x; "
            f"torch.optim.SGD(foreach=True) {t['torch'] * 1e3:.2f} ms, "
            f"fast/torch {t['fast'] / t['torch']:.3f}x (medians of {steps}); "
            f"readable and fast agree bit for bit: {agree}; "
            f"max |fast - torch| = {result['max_diff_torch']:.1e}")


def full_batch_gd(n: int, device: torch.device) -> dict[str, float]:
    x, y = sgdlab.make_linear_data(n=n, noise="gaussian", noise_scale=0.5, seed=0)
    x, y = x.to(device), y.to(device)
    lr = sgdlab.optimal_lr(x.cpu())
    a = torch.tensor([-1.0, 1.0], device=device, requires_grad=True)
    per_step = []
    for _ in range(60):
        _sync(device)
        start = time.perf_counter()
        sgdlab.update(x, y, a, lr)
        _sync(device)
        per_step.append(time.perf_counter() - start)
    best = sgdlab.least_squares(x.cpu(), y.cpu())
    return {"lr": lr, "seconds_per_step": statistics.median(per_step),
            "distance": torch.linalg.vector_norm(a.detach().cpu() - best).item()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="timed steps per optimizer")
    parser.add_argument("--device", choices=["cpu", "cuda"], action="append",
                        help="default: cpu, plus cuda when available")
    parser.add_argument("--n", type=int, default=1_000_000, help="points for full-batch GD")
    args = parser.parse_args()
    devices = args.device or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    shapes = resnet34_shapes()
    for name in devices:
        device = torch.device(name)
        label = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
        for momentum in (0.0, 0.9):
            result = time_optimizer_steps(device, momentum, args.steps, shapes)
            print(describe(f"ResNet34 step on {label}", momentum, result, args.steps),
                  flush=True)
        gd = full_batch_gd(args.n, device)
        print(f"full-batch GD on n={args.n:,} ({label}): {gd['seconds_per_step'] * 1e3:.2f} ms "
              f"per update() step; after 60 steps at lr=2/(λmax+λmin)={gd['lr']:.3f}, "
              f"|a - a*| = {gd['distance']:.2e}")


if __name__ == "__main__":
    main()
