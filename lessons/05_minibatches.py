"""Mini-batches and epochs.

Stochastic gradient descent: each step looks at a random mini-batch, an epoch is one pass over
the data.
"""

import math
import statistics
import time

import matplotlib.pyplot as plt
import torch

import sgdlab
import sgdlab.animate as animate
from sgdlab.teach import show, step

x, y = sgdlab.make_linear_data(n=100, a=(3.0, 2.0), noise="uniform")
n = x.shape[0]

# %%
step("Why mini-batches?", """
    So far every step used all 100 points. A real data set can hold 1.5 million images, and
    computing the gradient on all of them for every single step would be far too slow. So
    each step uses a small random batch instead, say 64 images: the gradient is a noisy
    estimate, but it is cheap, and many cheap steps beat a few exact ones. That is
    stochastic gradient descent (SGD).

    An epoch is one pass over all the data: the rows are shuffled and cut into batches, so
    an epoch has ceil(n / batch_size) steps, and the last batch is short when batch_size
    does not divide n.
""")
batch_sizes = [100, 32, 8, 1]
for bs in batch_sizes:
    print(f"batch size {bs:3d}: steps per epoch = ceil({n}/{bs}) = {math.ceil(n / bs)}")

# %%
step("Ten epochs of mini-batch SGD", """
    sgdlab.minibatch_sgd shuffles with its own seeded generator and calls the same update()
    as lesson 3 on one batch at a time. Here is batch size 8 at lr 0.1, printing the
    mini-batch loss every 10 steps. Watch it jump around: each number is measured on just 8
    points.
""")
lr, epochs = 0.1, 10
small = sgdlab.minibatch_sgd(x, y, lr=lr, epochs=epochs, batch_size=8, seed=0, log_every=10)
print(f"{small.steps} steps = {epochs} epochs x {math.ceil(n / 8)} steps")
print("sizes of the first epoch's batches:", [len(small.batch(k)) for k in range(1, 14)])

# %%
step("Same number of epochs, different batch sizes", """
    Every run below sees each point 10 times. Full-batch gradient descent (batch size 100)
    takes only 10 steps in that time; smaller batches take many more, noisier steps and get
    much closer to the best line. Batch size 1 takes the most steps, but each one follows
    a single point, so it keeps bouncing around the bottom: with a fixed learning rate the
    noise never dies down. (That is one reason training schedules lower the learning rate
    towards the end.)
""")
runs = {bs: sgdlab.minibatch_sgd(x, y, lr=lr, epochs=epochs, batch_size=bs, seed=0)
        for bs in batch_sizes}
best = sgdlab.mse(x @ sgdlab.least_squares(x, y), y).item()
for bs, h in runs.items():
    print(f"batch size {bs:3d}: {h.steps:4d} steps, loss on all data {h.full_losses()[-1]:.4f}"
          f"  (least squares: {best:.4f})")

# %%
step("Plot the noise", """
    Left: batch size 8. The thin line is the loss of each mini-batch, the thick one the loss
    on all 100 points after each step: the batch losses scatter around it. Right: loss on
    all the data against epochs, for every batch size.
""")
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
left.semilogy(range(small.steps), small.losses, lw=0.8, label="mini-batch loss")
left.semilogy(range(small.steps + 1), small.full_losses(), lw=2, label="loss on all data")
left.set(xlabel="step", ylabel="mse (log scale)", title="batch size 8: a noisy loss curve")
left.legend()
for bs, h in runs.items():
    steps_per_epoch = math.ceil(n / bs)
    epoch_axis = [k / steps_per_epoch for k in range(h.steps + 1)]
    right.semilogy(epoch_axis, h.full_losses(), label=f"batch size {bs}")
right.axhline(best, color="k", ls="--", lw=1, label="least squares")
right.set(xlabel="epoch", ylabel="mse on all data (log scale)", title="progress per epoch")
right.legend()
show(fig, "minibatches")

# %%
step("Watch the mini-batches", """
    Each frame is one step: the points of the current mini-batch are highlighted, and the
    path on the contours wobbles because every batch points downhill a little differently.
""")
animate.show(animate.overview(small), "05-minibatches")

# %%
step("One optimizer, two ways to write it", """
    update() moves one tensor. A real model has many (ResNet34 has 110 parameter tensors),
    and sgdlab.SGD applies the same rule to each of them, written two ways. By default
    (foreach=False) it loops over the parameters one by one and spells the rule out,
    p.add_(g, alpha=-lr): the code you read in SGD._step_one_by_one. With foreach=True it
    hands whole lists of tensors to torch._foreach_* functions, which do the same arithmetic
    in a few calls: less Python per step.

    Same numbers? Below, two copies of the same 40 small tensors get the same gradients for
    300 steps (momentum 0.9, weight decay 1e-4), one copy per path, and we compare them bit
    for bit. Then the time of one step of each, measured now, on this machine.
""")
g = torch.Generator().manual_seed(0)
start = [torch.randn(32, 32, generator=g) for _ in range(40)]
gradients = [[torch.randn(32, 32, generator=g) for _ in start] for _ in range(5)]
paths = {}
for name, foreach in (("readable", False), ("fast", True)):
    params = [p.clone().requires_grad_() for p in start]
    paths[name] = (params, sgdlab.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4,
                                      foreach=foreach))
step_seconds = {name: [] for name in paths}
for k in range(300):
    order = list(paths) if k % 2 else list(paths)[::-1]  # take turns going first
    for name in order:
        params, optimizer = paths[name]
        for p, grad in zip(params, gradients[k % 5], strict=True):
            p.grad = grad
        began = time.perf_counter()
        optimizer.step()
        step_seconds[name].append(time.perf_counter() - began)
same_numbers = all(torch.equal(a, b) for a, b in zip(paths["readable"][0], paths["fast"][0],
                                                      strict=True))
readable_ms, fast_ms = (statistics.median(step_seconds[name]) * 1e3 for name in paths)
speed_ratio = readable_ms / fast_ms
print("after 300 steps the two copies are equal bit for bit:", same_numbers)
print(f"one step, readable path (foreach=False): {readable_ms:.3f} ms")
print(f"one step, fast path     (foreach=True) : {fast_ms:.3f} ms")
faster = "fast" if speed_ratio > 1 else "readable"
print(f"readable/fast = {speed_ratio:.2f}: here the {faster} path took less time per step")
print("python benchmarks/optimizer.py measures both on ResNet34's 21.8 million parameters")
