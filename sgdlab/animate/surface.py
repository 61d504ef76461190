"""Parameter space: the MSE as a landscape over ``(a1, a2)`` and the path a run takes on it.

For ``L(a) = (1/n)‖X a − y‖²`` expand the square:

    L(a) = aᵀ S a − 2 aᵀ b + c,   S = XᵀX/n,  b = Xᵀy/n,  c = yᵀy/n,

so the whole grid costs a few multiplications per point, whatever ``n`` is. The bowl's lowest
point is the least-squares solution ``a* = S⁻¹ b``, marked with a star.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes

from sgdlab.animate.panels import (
    COLORS,
    DYNAMIC_ZORDER,
    Limits,
    Panel,
    _padded,
    _style_axes,
)
from sgdlab.animate.replay import Replay, check_line_model
from sgdlab.history import History

#: Trajectories with more points than this are drawn without a marker at every step.
MARKER_LIMIT = 150


def mse_grid(x: np.ndarray, y: np.ndarray, a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
    """``L(a1, a2)`` for every pair of the meshgrid of ``a1`` and ``a2`` (rows follow ``a2``)."""
    n = x.shape[0]
    s, b, c = x.T @ x / n, x.T @ y / n, y @ y / n
    g1, g2 = np.meshgrid(a1, a2)
    return (s[0, 0] * g1**2 + 2 * s[0, 1] * g1 * g2 + s[1, 1] * g2**2
            - 2 * (b[0] * g1 + b[1] * g2) + c)


def optimum(replay: Replay) -> np.ndarray:
    """The least-squares parameters ``a*`` of the run's data (float64)."""
    from sgdlab.linalg import least_squares

    return least_squares(replay.history.x, replay.history.y).double().numpy()


def parameter_limits(histories: Sequence[History]) -> Limits:
    """A box in ``(a1, a2)`` around the optimum, the first guesses and every finite run.

    Diverged runs count only with their first guess, so their escape does not shrink the
    picture of the others.
    """
    replays = [Replay(h) for h in histories]
    points = [optimum(replays[0])[None, :]]
    for r in replays:
        points.append(r.params[:1] if r.history.diverged else r.params)
    p = np.concatenate(points)
    p = p[np.isfinite(p).all(axis=1)]
    lims = []
    for j in range(2):
        lo, hi = _padded(float(p[:, j].min()), float(p[:, j].max()), 0.15)
        mid, half = (lo + hi) / 2, max((hi - lo) / 2, 0.5)
        lims.append((mid - half, mid + half))
    return lims[0], lims[1]


def _contour_levels(grid: np.ndarray, best: float, count: int = 12) -> np.ndarray:
    """Levels packed near the bottom of the bowl: ``best + (max − best)·geomspace``."""
    top = float(grid.max())
    return best + (top - best) * np.geomspace(2e-3, 0.9, count)


class _Trajectories(Panel):
    """Shared set-up of the 2D and 3D parameter pictures."""

    def __init__(self, histories: History | Sequence[History], heading: str | None = None,
                 limits: Limits | None = None, legend: bool | None = None, resolution: int = 80):
        super().__init__(histories, heading)
        for r in self.replays:
            check_line_model(r.history)
        self.limits = limits or parameter_limits([r.history for r in self.replays])
        self.legend = len(self.replays) > 1 if legend is None else legend
        self.best = optimum(self.replays[0])
        data = self.replays[0]
        self.a1 = np.linspace(*self.limits[0], resolution)
        self.a2 = np.linspace(*self.limits[1], resolution)
        self.grid = mse_grid(data.x, data.y, self.a1, self.a2)
        self.best_loss = float(mse_grid(data.x, data.y, self.best[:1], self.best[1:])[0, 0])
        self.paths = []
        self.heads = []

    def _marker(self, frames: int) -> str:
        return "o" if frames <= MARKER_LIMIT else ""

    def _status(self, k: int) -> str:
        if len(self.replays) > 1:
            return super()._status(k)
        r = self.replays[0]
        if r.diverged_by(k):
            line = f"step {k}   diverged at step {r.history.diverged_at}"
        else:
            a1, a2 = r.params_at(k)
            line = f"step {k}   a = ({a1:.2f}, {a2:.2f})"
        return line if self.heading is None else f"{self.heading}\n{line}"


class ParameterSpace(_Trajectories):
    """MSE contours over ``(a1, a2)``, the optimum, and each run's path so far."""

    def draw(self, ax: Axes, frames: int, fontsize: float) -> list[Artist]:
        self.ax = ax
        ax.contour(self.a1, self.a2, self.grid, levels=_contour_levels(self.grid, self.best_loss),
                   cmap="viridis", linewidths=0.9, zorder=1)
        ax.plot(*self.best, marker="*", ms=14, color="black", ls="", label="least squares",
                zorder=3)
        ax.set_xlim(*self.limits[0])
        ax.set_ylim(*self.limits[1])
        ax.set_xlabel("slope a1")
        ax.set_ylabel("intercept a2")
        _style_axes(ax, fontsize)
        self.paths, self.heads = [], []
        marker = self._marker(frames)
        for i, r in enumerate(self.replays):
            color = COLORS[i % len(COLORS)]
            (path,) = ax.plot(r.params[:1, 0], r.params[:1, 1], color=color, lw=1.2,
                              marker=marker, ms=2.5, label=r.history.label or None,
                              zorder=DYNAMIC_ZORDER)
            (head,) = ax.plot(r.params[:1, 0], r.params[:1, 1], color=color, marker="o",
                              ms=7, ls="", markeredgecolor="black", zorder=DYNAMIC_ZORDER + 1)
            self.paths.append(path)
            self.heads.append(head)
        if self.legend:
            ax.legend(loc="lower right", fontsize=fontsize - 2, framealpha=0.8)
        self._make_title(ax, fontsize)
        return [*self.paths, *self.heads, self.title]

    def update(self, k: int) -> None:
        for path, head, r in zip(self.paths, self.heads, self.replays, strict=True):
            s = r.step(k)
            path.set_data(r.params[: s + 1, 0], r.params[: s + 1, 1])
            head.set_data(r.params[s : s + 1, 0], r.params[s : s + 1, 1])
        self.title.set_text(self._status(k))


class LossSurface(_Trajectories):
    """The MSE as a 3D surface over ``(a1, a2)`` with the run rolling down it.

    Points of the path outside the box are hidden, so a diverging run leaves the picture.
    """

    projection = "3d"

    def __init__(self, histories: History | Sequence[History], heading: str | None = None,
                 limits: Limits | None = None, legend: bool | None = None,
                 elevation: float = 35.0, azimuth: float = -60.0):
        super().__init__(histories, heading, limits, legend, resolution=40)
        self.view = (elevation, azimuth)
        self.zlim = (0.0, float(self.grid.max()))

    def draw(self, ax: Axes, frames: int, fontsize: float) -> list[Artist]:
        self.ax = ax
        g1, g2 = np.meshgrid(self.a1, self.a2)
        ax.plot_surface(g1, g2, self.grid, cmap="viridis", alpha=0.55, linewidth=0,
                        antialiased=False, rstride=1, cstride=1, zorder=1)
        ax.plot([self.best[0]], [self.best[1]], [self.best_loss], marker="*", ms=12,
                color="black", ls="", zorder=3)
        ax.set_xlim(*self.limits[0])
        ax.set_ylim(*self.limits[1])
        ax.set_zlim(*self.zlim)
        ax.view_init(*self.view)
        ax.set_xlabel("a1", fontsize=fontsize)
        ax.set_ylabel("a2", fontsize=fontsize)
        ax.set_zlabel("loss", fontsize=fontsize)
        ax.tick_params(labelsize=fontsize - 2)
        self.paths, self.heads = [], []
        marker = self._marker(frames)
        for i, r in enumerate(self.replays):
            color = COLORS[i % len(COLORS)]
            (path,) = ax.plot(*self._points(r, 0), color=color, lw=1.5, marker=marker, ms=2.5,
                              label=r.history.label or None, zorder=DYNAMIC_ZORDER)
            (head,) = ax.plot(*self._points(r, 0), color=color, marker="o", ms=7, ls="",
                              markeredgecolor="black", zorder=DYNAMIC_ZORDER + 1)
            self.paths.append(path)
            self.heads.append(head)
        if self.legend:
            ax.legend(loc="upper right", fontsize=fontsize - 2, framealpha=0.8)
        self.title = ax.text2D(0.5, 1.0, self._status(0), transform=ax.transAxes,
                               ha="center", va="top", fontsize=fontsize, zorder=DYNAMIC_ZORDER)
        return [*self.paths, *self.heads, self.title]

    def _points(self, r: Replay, k: int, last_only: bool = False):
        s = r.step(k)
        p = r.params[s : s + 1] if last_only else r.params[: s + 1]
        z = r.full_losses[s : s + 1] if last_only else r.full_losses[: s + 1]
        (lo1, hi1), (lo2, hi2) = self.limits
        inside = ((p[:, 0] >= lo1) & (p[:, 0] <= hi1) & (p[:, 1] >= lo2) & (p[:, 1] <= hi2)
                  & (z <= self.zlim[1]))
        hide = np.where(inside, 1.0, np.nan)
        return p[:, 0] * hide, p[:, 1] * hide, z * hide

    def update(self, k: int) -> None:
        for path, head, r in zip(self.paths, self.heads, self.replays, strict=True):
            path.set_data_3d(*self._points(r, k))
            head.set_data_3d(*self._points(r, k, last_only=True))
        self.title.set_text(self._status(k))
