"""Returns a Python float (``.item()``), which ``backward()`` cannot use."""

EXERCISE = 2
CAUGHT_BY = ("test_mse_returns_a_0d_tensor", "test_mse_sends_gradients_to_the_predictions")


def mse(y_hat, y):
    return ((y_hat - y) ** 2).mean().item()
