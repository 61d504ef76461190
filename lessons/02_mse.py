"""Mean squared error and a first guess.

Score a line with the mean squared error, try the guess a = (-1, 1), and see where it sits on
the loss surface.
"""

import matplotlib.pyplot as plt
import torch

import sgdlab
from sgdlab.teach import show, step

x, y = sgdlab.make_linear_data(n=100, a=(3.0, 2.0), noise="uniform")

# %%
step("A loss says how wrong a line is", """
    To improve a guess we first need a number that says how bad it is. The mean squared
    error takes every point's miss (prediction minus target), squares it so that misses
    above and below both count, and averages:

        mse = ((y_hat - y)**2).mean()

    sgdlab.mse is that one line, plus a shape check.
""")
a = torch.tensor([-1.0, 1.0])
y_hat = x @ a
by_hand = ((y_hat - y) ** 2).mean()
print("y_hat[:5] =", y_hat[:5])
print("y[:5]     =", y[:5])
print(f"mse by hand: {by_hand.item():.4f}   sgdlab.mse: {sgdlab.mse(y_hat, y).item():.4f}")

# %%
step("The first guess: a = (-1, 1)", """
    The lecture's first guess is a line sloping the wrong way. The lecture printed a loss of
    8.89 for it; ours is a little different because our 100 random points are not the
    lecture's 100 random points. Same recipe, different dice.

    For comparison, even the true line a = (3, 2) misses every point by its noise. That
    noise comes from torch.rand, so it lies in [0, 1): its square averages 1/3, and so does
    the true line's loss. A line lifted by the noise's average, 0.5, would miss by less;
    lesson 3 finds that line.
""")
first_loss = sgdlab.mse(x @ a, y).item()
true_loss = sgdlab.mse(x @ torch.tensor([3.0, 2.0]), y).item()
print(f"loss of the guess (-1, 1): {first_loss:.4f}   (lecture: 8.89, on other random data)")
print(f"loss of the true line (3, 2): {true_loss:.4f}")

# %%
step("Plot the data and the guess", """
    Left: the points, the guess and the true line. Right: the loss of every line (a1, a2)
    as a contour map. The loss is a bowl; the guess sits on its side and the bottom is near
    (3, 2.5). Lesson 3 slides down the bowl.
""")
u = torch.linspace(-1, 1, 50)
a1, a2 = torch.meshgrid(torch.linspace(-2, 6, 81), torch.linspace(-1, 5, 61), indexing="ij")
grid = torch.stack([a1.flatten(), a2.flatten()], dim=1)
surface = ((grid @ x.T - y) ** 2).mean(dim=1).reshape(a1.shape)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.scatter(x[:, 0], y, s=12, label="data")
left.plot(u, -1 * u + 1, "r", label=f"guess (-1, 1): loss {first_loss:.2f}")
left.plot(u, 3 * u + 2, "k--", label=f"true line (3, 2): loss {true_loss:.2f}")
left.set(xlabel="x[:, 0]", ylabel="y", title="a first guess")
left.legend()
contours = right.contour(a1, a2, surface, levels=[0.1, 0.3, 1, 2, 4, 8, 16, 32])
right.clabel(contours, fontsize=8)
right.plot(-1, 1, "ro", label="guess")
right.plot(3, 2, "kx", label="true a")
right.set(xlabel="a1 (slope)", ylabel="a2 (intercept)", title="mse over all lines")
right.legend()
show(fig, "guess")
