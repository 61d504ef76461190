"""Synthetic data for the lecture, and mini-batch index partitions.

The lecture's data: ``n`` points with ``x = [u, 1]`` where ``u ~ U(-1, 1)`` and the column of
ones turns ``y = a1*u + a2`` into a matrix product ``y = x @ a``; then noise is added.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

import torch

from sgdlab.checks import DEFAULT_SEED, check_choice, check_number, check_whole_number
from sgdlab.errors import SgdlabError

Noise = Literal["uniform", "gaussian", "none"]


class LinearData(NamedTuple):
    """Points ``x`` (n, 2) and targets ``y`` (n,); unpacks as ``x, y = make_linear_data()``."""

    x: torch.Tensor
    y: torch.Tensor


def make_generator(seed: int | None = None, generator: torch.Generator | None = None
                   ) -> torch.Generator:
    """A private random generator: the one given, or a new one seeded with ``seed``.

    The library never touches torch's global random state. ``seed=None`` means
    :data:`~sgdlab.checks.DEFAULT_SEED`.
    """
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise SgdlabError(f"generator must be a torch.Generator, got "
                              f"{type(generator).__name__}; make one with "
                              f"torch.Generator().manual_seed(0), or pass seed=0 instead")
        return generator
    seed = DEFAULT_SEED if seed is None else check_whole_number(
        seed, "seed", hint="any whole number works, e.g. seed=0")
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def make_linear_data(
    n: int = 100,
    a: tuple[float, ...] | torch.Tensor = (3.0, 2.0),
    noise: Noise = "uniform",
    noise_scale: float = 1.0,
    seed: int | None = DEFAULT_SEED,
    generator: torch.Generator | None = None,
) -> LinearData:
    """Make ``y = x @ a + noise`` exactly as in the lecture, in float32.

    ``x[:, 0] ~ U(-1, 1)`` and ``x[:, 1] = 1``. Noise:

    * ``"uniform"`` (default, the lecture's ``torch.rand(n)``): ``U[0, 1)`` scaled by
      ``noise_scale``. Its mean is ``noise_scale/2``, not 0, so least squares fits an intercept
      near ``a2 + 0.5``, not ``a2``. sgdlab keeps it as the default because it reproduces the
      lecture, and lesson 3 turns the shift into a question for the class.
    * ``"gaussian"``: ``N(0, noise_scale²)``, zero mean, so the fit recovers ``a`` itself.
    * ``"none"``: no noise; the fit is exact.

    Args:
        n: number of points.
        a: the true coefficients ``(slope, intercept)``.
        noise: ``"uniform"``, ``"gaussian"`` or ``"none"``.
        noise_scale: width of the uniform noise or standard deviation of the Gaussian.
        seed: seed of a private generator (ignored when ``generator`` is given).
        generator: a ``torch.Generator`` to draw from instead.
    """
    n = check_whole_number(n, "n", minimum=1, hint="the lecture uses n=100 points")
    if isinstance(a, torch.Tensor):
        a_t = a.detach()
    else:
        try:
            a_t = torch.as_tensor(a)
        except (TypeError, ValueError, RuntimeError) as err:
            raise SgdlabError(f"a must be two numbers (slope, intercept) such as (3., 2.), "
                              f"got {a!r}") from err
    if not a_t.is_floating_point():
        raise SgdlabError(f"a={a!r} holds integers; write floats such as (3., 2.) so that "
                          f"gradients can flow")
    a_t = a_t.to("cpu", torch.float32)
    if a_t.shape != (2,):
        raise SgdlabError(f"a must hold two numbers (slope, intercept), got shape "
                          f"{tuple(a_t.shape)}")
    if not torch.isfinite(a_t).all():
        raise SgdlabError(f"a must hold finite numbers, got {a!r}")
    check_choice(noise, "noise", get_args(Noise))
    noise_scale = check_number(noise_scale, "noise_scale", minimum=0.0,
                               hint="1.0 is the lecture's noise")
    g = make_generator(seed, generator)
    x = torch.ones(n, 2)
    x[:, 0].uniform_(-1.0, 1.0, generator=g)
    y = x @ a_t
    if noise == "uniform":
        y = y + noise_scale * torch.rand(n, generator=g)
    elif noise == "gaussian":
        y = y + noise_scale * torch.randn(n, generator=g)
    return LinearData(x, y)


def minibatches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Cut a random permutation of ``range(n)`` into batches of ``batch_size`` indices.

    One epoch: every index appears exactly once; the last batch holds the
    ``n mod batch_size`` leftovers when that is not zero. The same generator state gives the
    same batches.
    """
    n = check_whole_number(n, "n", minimum=1, hint="cannot make mini-batches of empty data")
    batch_size = check_whole_number(batch_size, "batch_size", minimum=1,
                                    hint="the lecture uses 64 images per batch")
    if not isinstance(generator, torch.Generator):
        raise SgdlabError(f"generator must be a torch.Generator, got "
                          f"{type(generator).__name__}; make one with "
                          f"torch.Generator().manual_seed(0)")
    return list(torch.randperm(n, generator=generator).split(batch_size))
