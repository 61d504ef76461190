"""The learning rate.

Too low, good, and just under or over the limit 2/lambda_max: where gradient descent crawls,
converges or diverges.
"""

import warnings

import matplotlib.pyplot as plt
import torch

import sgdlab
import sgdlab.animate as animate
from sgdlab.teach import show, step

x, y = sgdlab.make_linear_data(n=100, a=(3.0, 2.0), noise="uniform")

# %%
step("How curved is the bowl?", """
    The mse of a line is a bowl whose curvature is the same everywhere: the Hessian
    H = (2/n) x.T @ x. Its two eigenvalues are the curvatures along the bowl's two axes.

    Along an axis with curvature lam, one step of gradient descent multiplies the distance
    to the bottom by (1 - lr * lam). That shrinks it only while |1 - lr * lam| < 1, so
    every axis shrinks exactly when lr < 2 / lam_max: sgdlab.max_stable_lr. The fastest
    fixed step, sgdlab.optimal_lr, balances the two axes: 2 / (lam_max + lam_min).
""")
print("H =", sgdlab.hessian(x).float())
lam_min, lam_max = sgdlab.curvatures(x).tolist()
limit = sgdlab.max_stable_lr(x)
print(f"curvatures: {lam_min:.3f} and {lam_max:.3f}")
print(f"max_stable_lr = 2/lam_max = {limit:.4f}   optimal_lr = {sgdlab.optimal_lr(x):.4f}")

# %%
step("Five learning rates, 100 steps each", """
    For each learning rate: the factors |1 - lr * lam| along the two axes, then how the run
    ended. A factor near 1 means slow progress; a factor above 1 means every step lands
    further from the bottom than the one before, on the other side of the bowl.

    The last run would blow up, so we ask gradient_descent to stop and return what it
    recorded (on_divergence="stop"); history.diverged_at is the step where the loss
    exploded. Before it starts, gradient_descent warns (an UnstableLearningRateWarning)
    that this lr is at or past 2/lam_max: the loss must grow, even in a run too short to
    see it explode. We print the warning's message under that run.
""")
rates = {
    "too low": 0.01,
    "good (the lecture's)": 0.1,
    "fastest": sgdlab.optimal_lr(x),
    "just under the limit": 0.95 * limit,
    "just over the limit": 1.05 * limit,
}
histories = {}
for name, lr in rates.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", sgdlab.UnstableLearningRateWarning)
        h = sgdlab.gradient_descent(x, y, a0=(-1.0, 1.0), lr=lr, steps=100,
                                    on_divergence="stop")
    histories[name] = h
    factors = f"{abs(1 - lr * lam_min):.3f}, {abs(1 - lr * lam_max):.3f}"
    if h.diverged:
        ending = f"diverged at step {h.diverged_at}"
    else:
        ending = f"final loss {h.full_losses()[-1].item():.4f}"
    print(f"{name:>21}: lr {lr:.4f}  factors {factors}  -> {ending}")
    for warning in caught:
        print(f"{'':>23}warning: {warning.message}")

# %%
step("What a divergence looks like", """
    By default gradient_descent raises a DivergenceError instead. Its message says what
    happened and suggests a learning rate to try; the error also carries the history
    recorded so far.
""")
try:
    sgdlab.gradient_descent(x, y, lr=rates["just over the limit"], steps=100)
except sgdlab.DivergenceError as err:
    divergence = err
    print("DivergenceError:", err)
    print("loss over the last 5 steps:", [f"{v:.3g}" for v in err.history.losses[-5:].tolist()])

# %%
step("Plot the losses and the paths", """
    Left: the loss at every step (log scale). Too low crawls; good and fastest settle; just
    under the limit gets there too, but zig-zags across the bowl; just over the limit
    zig-zags outwards until it explodes. Right: the first 15 steps of four runs on the map
    of the loss.
""")
a1, a2 = torch.meshgrid(torch.linspace(-2, 6, 81), torch.linspace(-1, 5, 61), indexing="ij")
grid = torch.stack([a1.flatten(), a2.flatten()], dim=1)
surface = ((grid @ x.T - y) ** 2).mean(dim=1).reshape(a1.shape)

colors = {name: f"C{i}" for i, name in enumerate(histories)}
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
for name, h in histories.items():
    left.semilogy(range(h.steps + 1), h.full_losses(), color=colors[name],
                  label=f"{name}, lr {rates[name]:.3g}")
left.set(xlabel="step", ylabel="mse (log scale)", title="loss per step", ylim=(0.05, 1e4))
left.legend(fontsize=8)
right.contour(a1, a2, surface, levels=[0.1, 0.3, 1, 2, 4, 8, 16, 32], colors="lightgray")
for name in ("too low", "good (the lecture's)", "just under the limit", "just over the limit"):
    path = histories[name].params[:16]
    right.plot(path[:, 0], path[:, 1], ".-", color=colors[name], markersize=4, label=name)
right.set(xlabel="a1 (slope)", ylabel="a2 (intercept)", title="paths, first 15 steps",
          xlim=(-2, 6), ylim=(-1, 5))
right.legend(fontsize=8)
show(fig, "learning-rates")

# %%
step("Watch them side by side", """
    The same start, the same data, five learning rates. The one above 2/λmax leaves its panel
    and says at which step it diverged; the others keep their scales.
""")
animate.show(animate.compare(histories, size=(1600, 640)), "04-learning-rates")
