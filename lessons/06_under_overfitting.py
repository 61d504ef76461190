"""Underfitting and overfitting.

Fit polynomials of growing degree to curved data and pick the degree on a validation set.
"""

import matplotlib.pyplot as plt
import torch

import sgdlab
from sgdlab.teach import show, step


def curve(u: torch.Tensor) -> torch.Tensor:
    """The hidden truth behind the data: a gentle S-shape."""
    return torch.sin(3 * u) + 0.5 * u


# %%
step("Curved data, split in two", """
    A straight line cannot follow every pattern. Here the data lie around a curve, plus
    Gaussian noise. Before fitting anything we set some points aside as a validation set:
    the model never trains on them, so they tell us how it does on points it has not seen.

    The training set is deliberately small, 20 points, so that overfitting shows up clearly;
    the 100 validation points measure the fit well.
""")
g = torch.Generator().manual_seed(42)
u = torch.empty(120).uniform_(-1.0, 1, generator=g)
y = curve(u) + 0.3 * torch.randn(120, generator=g)
u_train, y_train = u[:20], y[:20]
u_valid, y_valid = u[20:], y[20:]
print(f"{len(u_train)} training points, {len(u_valid)} validation points")
print("u_train[:5] =", u_train[:5])

# %%
step("Polynomial features", """
    A linear model can still fit a curve: give it the columns u^d, ..., u^2, u, 1 instead
    of just u and 1 (sgdlab.polynomial_features). The model is still y = x @ a, so least
    squares and gradient descent work unchanged; only x has more columns. Degree 1 is the
    lecture's line.
""")
print("polynomial_features(u_train, 3)[:3] =")
print(sgdlab.polynomial_features(u_train, 3)[:3])


def fit(degree: int) -> tuple[torch.Tensor, float, float]:
    """Least-squares coefficients for this degree, with the training and validation loss."""
    x_train = sgdlab.polynomial_features(u_train, degree)
    x_valid = sgdlab.polynomial_features(u_valid, degree)
    a = sgdlab.least_squares(x_train, y_train)
    return a, sgdlab.mse(x_train @ a, y_train).item(), sgdlab.mse(x_valid @ a, y_valid).item()


# %%
step("Degree 0 to 12", """
    For every degree: fit on the training set (closed form), then measure on both sets.
    Watch the two columns. The training loss only ever goes down: a higher degree can always
    copy a lower one and then do a little better. The validation loss tells another story:
    high for a line, which underfits the curve, lowest for a small degree, then climbing
    fast as the polynomial chases the noise of the 20 training points and wiggles wildly
    between and beyond them.
""")
degrees = list(range(13))
train_losses, valid_losses = [], []
for degree in degrees:
    _, train_loss, valid_loss = fit(degree)
    train_losses.append(train_loss)
    valid_losses.append(valid_loss)
    print(f"degree {degree:2d}: train loss {train_loss:.4f}   validation loss {valid_loss:.4g}")

# %%
step("Choose the degree on the validation set", """
    The degree with the lowest validation loss is the one to keep. Degree 1 underfits: both
    losses are high. A high degree overfits: tiny training loss, huge validation loss, and
    enormous coefficients that cancel each other out.

    (We used the validation set to make a choice, so its loss now flatters the chosen model
    a little; a third, untouched test set gives the honest final number.)
""")
best_degree = min(degrees, key=lambda d: valid_losses[d])
high_degree = 10
print(f"best degree on the validation set: {best_degree}")
for degree in (1, best_degree, high_degree):
    a, train_loss, valid_loss = fit(degree)
    print(f"degree {degree:2d}: train {train_loss:.4f}, validation {valid_loss:.4g}, "
          f"largest |coefficient| {a.abs().max().item():.3g}")

# %%
step("Gradient descent finds the same fit, slowly", """
    Least squares is a shortcut; gradient descent gets to the same coefficients. The
    polynomial columns are strongly correlated, though: the bowl is far more curved along
    some directions than others (the condition number says by how much), so even at the
    best fixed learning rate it takes a couple of thousand steps.
""")
x_best = sgdlab.polynomial_features(u_train, best_degree)
print(f"condition number: {sgdlab.condition_number(x_best):.0f}")
descent = sgdlab.gradient_descent(x_best, y_train, a0=torch.zeros(best_degree + 1),
                                  lr=sgdlab.optimal_lr(x_best), steps=2000)
closed_form = fit(best_degree)[0]
print("gradient descent:", descent.final_params)
print("least squares   :", closed_form)

# %%
step("Plot the fits and the losses", """
    Left: the training and validation points with the fits of degree 1 (underfit), the
    chosen degree, and a high degree (overfit). Right: both losses against the degree.
""")
grid = torch.linspace(-1, 1, 200)
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
left.scatter(u_valid, y_valid, s=10, color="lightgray", label="validation")
left.scatter(u_train, y_train, s=18, color="k", label="training")
for degree in (1, best_degree, high_degree):
    a = fit(degree)[0]
    left.plot(grid, sgdlab.polynomial_features(grid, degree) @ a, label=f"degree {degree}")
left.plot(grid, curve(grid), "k:", label="true curve")
left.set(xlabel="u", ylabel="y", ylim=(-3, 3), title="underfit, about right, overfit")
left.legend(fontsize=8)
right.semilogy(degrees, train_losses, "o-", label="training loss")
right.semilogy(degrees, valid_losses, "o-", label="validation loss")
right.axvline(best_degree, color="gray", ls="--", label=f"chosen: degree {best_degree}")
right.set(xlabel="degree", ylabel="mse (log scale)", title="choose on the validation set")
right.legend()
show(fig, "degrees")
