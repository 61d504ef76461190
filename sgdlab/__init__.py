"""sgdlab: stochastic gradient descent from the bottom up.

The core (this package's top level) knows only tensors, losses and the optimizer; the bear
classifier lives in :mod:`sgdlab.vision` and the animations in :mod:`sgdlab.animate`.
"""

from sgdlab.data import LinearData, make_generator, make_linear_data, minibatches
from sgdlab.errors import (
    DivergenceError,
    SgdlabError,
    SgdlabWarning,
    UnstableLearningRateWarning,
)
from sgdlab.history import History
from sgdlab.linalg import (
    condition_number,
    curvatures,
    hessian,
    least_squares,
    max_stable_lr,
    optimal_lr,
)
from sgdlab.losses import LabelSmoothingCrossEntropy, accuracy, error_rate, mse, mse_grad
from sgdlab.models import linear, polynomial_features
from sgdlab.optim import SGD, momentum_step, sgd_step, update
from sgdlab.train import gradient_descent, minibatch_sgd

__version__ = "0.1.0"

__all__ = [
    "SGD", "DivergenceError", "History", "LabelSmoothingCrossEntropy", "LinearData",
    "SgdlabError", "SgdlabWarning", "UnstableLearningRateWarning", "accuracy",
    "condition_number", "curvatures", "error_rate", "gradient_descent", "hessian",
    "least_squares", "linear", "make_generator", "make_linear_data", "max_stable_lr",
    "minibatch_sgd", "minibatches", "momentum_step", "mse", "mse_grad", "optimal_lr",
    "polynomial_features", "sgd_step", "update",
]
