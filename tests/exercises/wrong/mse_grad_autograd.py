"""Lets autograd do the work (a fresh leaf, ``backward()``, its ``.grad``): right numbers, but
exercise 3 asks for the gradient by hand."""

EXERCISE = 3
CAUGHT_BY = ("test_mse_grad_is_worked_out_by_hand",)


def mse_grad(x, y, a):
    a = a.detach().clone().requires_grad_(True)
    loss = ((x @ a - y) ** 2).mean()
    loss.backward()
    return a.grad
