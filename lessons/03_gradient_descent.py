"""Gradient descent by hand.

The gradient and the update() loop: 100 steps at lr 0.1, checked against least squares and autograd.
"""

import matplotlib.pyplot as plt
import torch

import sgdlab
import sgdlab.animate as animate
from sgdlab.teach import show, step

x, y = sgdlab.make_linear_data(n=100, a=(3.0, 2.0), noise="uniform")

# %%
step("The gradient: which way is downhill?", """
    The gradient of the loss says, for each parameter, how fast the loss grows when that
    parameter grows. Walking against it goes downhill. PyTorch computes it for us: make `a`
    track gradients (requires_grad=True), compute the loss, call loss.backward(), and the
    gradient appears in a.grad.

    For the mse of a line we can also write it down: (2/n) * x.T @ (x @ a - y), which is
    sgdlab.mse_grad. Autograd and the formula should agree.
""")
a = torch.tensor([-1.0, 1.0], requires_grad=True)
loss = sgdlab.mse(x @ a, y)
loss.backward()
formula = sgdlab.mse_grad(x, y, a.detach())
autograd_matches = torch.allclose(a.grad, formula, rtol=1e-5, atol=1e-5)
print("loss      :", round(loss.item(), 4))
print("autograd  :", a.grad)
print("mse_grad  :", formula)
print("they agree:", autograd_matches)
a.grad = None  # start the loop below with a clean gradient

# %%
step("The update() loop", """
    One step of gradient descent, sgdlab.update(x, y, a, lr), does four things:
    predict y_hat = x @ a; compute the loss; loss.backward(); then, with gradient tracking
    switched off, move a by -lr * a.grad in place and zero the gradient for the next step.

    Why multiply by a small learning rate lr? The gradient says which way is down, not how
    far: a full step could jump right over the bottom of the bowl. With lr = 0.1, 100 steps,
    printing the loss every 10 steps (the lecture's numbers come from other random data, so
    only the shape should match):
""")
lr = 0.1
lecture = ["8.89", "1.61", "0.58", "0.24", "0.14", "0.10", "0.089", "0.086", "0.084", "0.084"]
losses = []
for t in range(100):
    losses.append(sgdlab.update(x, y, a, lr))
    if t % 10 == 0:
        print(f"step {t + 1:3d}  loss {losses[-1]:.4f}   (lecture: {lecture[t // 10]})")
after_100 = a.detach().clone()
print("a after 100 steps:", after_100)

# %%
step("Compare with the exact answer", """
    For a line there is a closed form: least squares solves the normal equations
    x.T @ x @ a = x.T @ y in one go (sgdlab.least_squares). Gradient descent should be
    heading there.
""")
a_star = sgdlab.least_squares(x, y)
print("least squares   :", a_star)
print("gradient descent:", after_100)
print(f"largest gap after 100 steps: {(after_100 - a_star).abs().max().item():.5f}")

# %%
step("Why is the intercept 2.5 and not 2?", """
    We made the data with intercept 2, yet the best line has an intercept near 2.5. The
    noise is the reason: torch.rand draws from [0, 1), so it is never negative and averages
    0.5. Every point sits on average 0.5 above the true line, and the best line follows them
    up. Our 100 draws happen to average a little less than 0.5, and that is (almost exactly)
    how much our intercept is lifted.

    Two checks: with 100,000 points the lift is 0.5 almost exactly, and with noise that
    averages zero (Gaussian) the intercept goes back to 2.
""")
noise = y - x @ torch.tensor([3.0, 2.0])
print(f"mean of our noise: {noise.mean().item():.4f}   intercept - 2: {a_star[1].item() - 2:.4f}")
big = sgdlab.make_linear_data(n=100_000, noise="uniform")
print("least squares on 100,000 points:", sgdlab.least_squares(big.x, big.y))
zero_mean = sgdlab.make_linear_data(n=100, noise="gaussian", noise_scale=0.3)
print("least squares with Gaussian noise:", sgdlab.least_squares(zero_mean.x, zero_mean.y))

# %%
step("Keep going", """
    After 100 steps we are close but not there: each step closes the gap by a fixed
    fraction, so 100 more steps shrink it much further.
""")
for _ in range(100):
    sgdlab.update(x, y, a, lr)
final_gap = (a.detach() - a_star).abs().max().item()
print("a after 200 steps:", a.detach())
print(f"largest gap to least squares: {final_gap:.6f}")

# %%
step("Record a run to look at it", """
    sgdlab.gradient_descent runs the same update() loop and records every step in a History
    (the parameters after each step and each step's loss), so that we can draw it afterwards.
    Its first 100 steps are the ones we just took.
""")
history = sgdlab.gradient_descent(x, y, a0=(-1.0, 1.0), lr=lr, steps=100)
print("same as our loop:", torch.allclose(history.final_params, after_100, atol=1e-6))

u = torch.linspace(-1, 1, 50)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.scatter(x[:, 0], y, s=12, color="lightgray")
for k in (0, 5, 10, 20, 100):
    slope, intercept = history.params_at(k).tolist()
    left.plot(u, slope * u + intercept, label=f"after {k} steps")
left.set(xlabel="x[:, 0]", ylabel="y", title="the line slides into place")
left.legend()
right.semilogy(range(history.steps + 1), history.full_losses())
right.axhline(sgdlab.mse(x @ a_star, y).item(), color="k", ls="--", label="least squares")
right.set(xlabel="step", ylabel="mse (log scale)", title="loss at lr = 0.1")
right.legend()
show(fig, "descent")

# %%
step("Watch it move", """
    The recorded history holds every step, so we can replay it: the line on the left, the
    loss in the middle, and the path of (a1, a2) over the loss contours on the right. In a
    notebook it plays inline; in a terminal it opens a window (or is saved as an MP4).
""")
animate.show(animate.overview(history), "03-gradient-descent")
