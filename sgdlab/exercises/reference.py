"""sgdlab's own solutions to the exercises: the core's functions, under the exercise names.

The exercise tests run on this module when no ``--impl`` file is given, so they check the core too.
The same functions train the bears (:mod:`sgdlab.vision` imports them from the core modules).
"""

from sgdlab.data import minibatches
from sgdlab.losses import accuracy, cross_entropy, error_rate, mse, mse_grad, softmax
from sgdlab.lr_suggest import smooth_losses, suggest_lrs
from sgdlab.models import linear
from sgdlab.optim import momentum_step, sgd_step, update
from sgdlab.schedules import lrs_for_groups, one_cycle_lr

__all__ = ["accuracy", "cross_entropy", "error_rate", "linear", "lrs_for_groups", "minibatches",
           "momentum_step", "mse", "mse_grad", "one_cycle_lr", "sgd_step", "smooth_losses",
           "softmax", "suggest_lrs", "update"]
