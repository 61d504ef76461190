"""sgdlab's own solutions to the exercises: the core's functions, under the exercise names.

The exercise tests run on this module when no ``--impl`` file is given, so they check the core too.
"""

from sgdlab.data import minibatches
from sgdlab.losses import accuracy, error_rate, mse, mse_grad
from sgdlab.models import linear
from sgdlab.optim import momentum_step, sgd_step, update

__all__ = ["accuracy", "error_rate", "linear", "minibatches", "momentum_step", "mse", "mse_grad",
           "sgd_step", "update"]
