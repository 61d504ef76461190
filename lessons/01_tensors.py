"""Tensors and synthetic data.

Build the lecture's 100 points by hand: tensors and their rank, an in-place uniform_, and x @ a.
"""

import matplotlib.pyplot as plt
import torch

import sgdlab
from sgdlab.teach import show, step

# %%
step("A tensor is a rectangular array", """
    Everything in PyTorch is a tensor: a box of numbers with the same length along every
    row, column, ... A tensor's rank is its number of axes. A single number has rank 0, a
    vector rank 1, a table rank 2. A colour image is rank 3 (PyTorch stores it as channels x
    rows x columns) and a mini-batch of images is rank 4.
""")
examples = {
    "number": torch.tensor(3.0),
    "vector": torch.tensor([3.0, 2.0]),
    "table": torch.ones(100, 2),
    "image": torch.zeros(3, 224, 224),
    "batch": torch.zeros(64, 3, 224, 224),
}
for name, t in examples.items():
    print(f"{name:>6}: rank {t.dim()}, shape {tuple(t.shape)}")

# %%
step("100 points with a column of ones", """
    x starts as a 100 x 2 table of ones. We overwrite its first column with random numbers
    between -1 and 1. A trailing underscore, as in uniform_, means "change this tensor in
    place" instead of returning a new one, and x[:, 0] is a view of the first column, so the
    numbers land inside x.

    A private random generator makes the numbers the same on every run without touching
    PyTorch's global random state (42 is sgdlab's default seed).
""")
n = 100
g = torch.Generator().manual_seed(42)
x = torch.ones(n, 2)
x[:, 0].uniform_(-1.0, 1, generator=g)
print("x[:5] =")
print(x[:5])

# %%
step("A line is a matrix product", """
    A line y = a1*u + a2 needs a slope a1 and an intercept a2. With the column of ones, every
    row of x is (u, 1), so the whole line is one matrix product: y = x @ a. This is the
    world's smallest neural network.

    Write 3. rather than 3: integer tensors cannot carry gradients, and the next lessons need
    them. Then we add noise: torch.rand draws uniformly from [0, 1).
""")
a = torch.tensor([3.0, 2.0])
print("torch.tensor([3, 2]).dtype  =", torch.tensor([3, 2]).dtype)
print("torch.tensor([3., 2.]).dtype =", a.dtype)
by_hand = 3.0 * x[:, 0] + 2.0
print("x @ a equals 3*u + 2:", torch.allclose(x @ a, by_hand))
y = x @ a + torch.rand(n, generator=g)
print("y[:5] =", y[:5])

# %%
step("sgdlab.make_linear_data does the same", """
    The next lessons get these points from one call. It follows the same recipe with the same
    seed, so it returns exactly the x and y we just built.
""")
data = sgdlab.make_linear_data(n=100, a=(3.0, 2.0), noise="uniform")
print("same x:", torch.equal(data.x, x), " same y:", torch.equal(data.y, y))

# %%
step("Look at the data", """
    Plot y against the first column of x: a cloud of points around a line with slope 3.
""")
fig, ax = plt.subplots(figsize=(6, 4))
ax.scatter(x[:, 0], y, s=12)
ax.set(xlabel="x[:, 0]", ylabel="y", title="100 points: y = 3 x + 2 + noise")
show(fig, "data")
