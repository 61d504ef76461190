"""How fast is sgdlab's hand-written optimizer? Ratios measured side by side in one run.

1. One ``sgdlab.SGD`` step versus ``torch.optim.SGD(foreach=True)`` on ResNet34's 21.8 M
   parameters (CPU, and the GPU when there is one), momentum off and on. The two optimizers
   alternate step by step so that machine noise hits both alike; we report medians and the
   ratio ours/torch (target: <= 1.05).
2. Full-batch gradient descent (lesson 3's ``update()``) on n = 10^6 points: time per step and
   the distance to the closed-form least-squares solution after convergence.

Run: ``python benchmarks/optimizer.py [--steps 200] [--device cpu|cuda]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision

import sgdlab


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _params_with_grads(device: torch.device, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    model = torchvision.models.resnet34(weights=None)
    params = [p.detach().to(device).requires_grad_() for p in model.parameters()]
    for p in params:
        p.grad = torch.randn(p.shape, generator=g).to(device)
    return params


def time_optimizer_steps(device: torch.device, momentum: float, steps: int) -> dict[str, float]:
    """Median seconds per step for each optimizer, measured alternately."""
    ours = sgdlab.SGD(_params_with_grads(device, 0), lr=1e-6, momentum=momentum,
                      weight_decay=1e-4)
    theirs = torch.optim.SGD(_params_with_grads(device, 0), lr=1e-6, momentum=momentum,
                             weight_decay=1e-4, foreach=True)
    times: dict[str, list[float]] = {"sgdlab": [], "torch": []}
    for i in range(steps + 10):
        pair = (("sgdlab", ours), ("torch", theirs)) if i % 2 else (("torch", theirs),
                                                                    ("sgdlab", ours))
        for name, opt in pair:
            _sync(device)
            start = time.perf_counter()
            opt.step()
            _sync(device)
            if i >= 10:  # warm-up: momentum buffers, allocator, caches
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


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
    for name in devices:
        device = torch.device(name)
        label = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
        for momentum in (0.0, 0.9):
            t = time_optimizer_steps(device, momentum, args.steps)
            print(f"ResNet34 step on {label}, momentum={momentum}: "
                  f"sgdlab {t['sgdlab'] * 1e3:.2f} ms, torch.optim.SGD(foreach=True) "
                  f"{t['torch'] * 1e3:.2f} ms, ratio {t['sgdlab'] / t['torch']:.3f}x "
                  f"(median of {args.steps})")
        gd = full_batch_gd(args.n, device)
        print(f"full-batch GD on n={args.n:,} ({label}): {gd['seconds_per_step'] * 1e3:.2f} ms "
              f"per update() step; after 60 steps at lr=2/(λmax+λmin)={gd['lr']:.3f}, "
              f"|a - a*| = {gd['distance']:.2e}")


if __name__ == "__main__":
    main()
