"""Panels: one picture of a recorded run, redrawn for any frame ``k``.

A panel owns one matplotlib axes. :meth:`Panel.draw` builds everything once and returns the
artists that change from frame to frame; :meth:`Panel.update` moves only those. The axis limits
are fixed up front from the data and the runs that stay finite, so a diverging run leaves the
axes instead of rescaling them, and the picture never jumps.

Dynamic artists sit above every static one (``DYNAMIC_ZORDER``), so drawing the background
once and the dynamic artists on top (the fast path) gives the same pixels as a full redraw.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes

from sgdlab.animate.replay import Replay, as_history_list, check_line_model, natural_frames
from sgdlab.history import History

#: zorder of everything that moves; above spines (2.5), texts (3) and legends (5).
DYNAMIC_ZORDER = 10

Limits = tuple[tuple[float, float], tuple[float, float]]

COLORS = ("tab:orange", "tab:blue", "tab:green", "tab:purple", "tab:brown", "tab:pink")
DATA_COLOR = "tab:gray"
BATCH_COLOR = "tab:red"


def _padded(lo: float, hi: float, pad: float, minimum: float = 1e-3) -> tuple[float, float]:
    width = max(hi - lo, minimum)
    return lo - pad * width, hi + pad * width


class Panel:
    """Base class: one axes of a :class:`~sgdlab.animate.Movie`."""

    #: ``"3d"`` for panels that need a 3D axes.
    projection: str | None = None

    def __init__(self, histories: History | Sequence[History], heading: str | None = None):
        self.replays = [Replay(h) for h in as_history_list(histories)]
        self.heading = heading
        self.ax: Axes | None = None
        self.title = None

    @property
    def frames(self) -> int:
        """Frames needed to replay every run of this panel."""
        return max(natural_frames(r.history) for r in self.replays)

    def draw(self, ax: Axes, frames: int, fontsize: float) -> list[Artist]:
        """Build the panel on ``ax`` for a movie of ``frames`` frames; return the moving artists."""
        raise NotImplementedError

    def update(self, k: int) -> None:
        """Show frame ``k``."""
        raise NotImplementedError

    def _status(self, k: int) -> str:
        """Title text for frame ``k``: the heading, then one run's status or the step."""
        line = self.replays[0].status(k) if len(self.replays) == 1 else self._step_line(k)
        return line if self.heading is None else f"{self.heading}\n{line}"

    def _step_line(self, k: int) -> str:
        """``step k`` for several runs, with the epoch of the first mini-batch run."""
        epochs = [r.epoch_at(k) for r in self.replays if r.history.batches is not None]
        epochs = [e for e in epochs if e is not None]
        return f"step {k}" + (f"   epoch {epochs[0]}" if epochs else "")

    def _make_title(self, ax: Axes, fontsize: float) -> None:
        self.title = ax.text(0.5, 1.02, self._status(0), transform=ax.transAxes, ha="center",
                             va="bottom", fontsize=fontsize, zorder=DYNAMIC_ZORDER)


def _style_axes(ax: Axes, fontsize: float) -> None:
    ax.tick_params(labelsize=fontsize - 1)
    ax.xaxis.label.set_fontsize(fontsize)
    ax.yaxis.label.set_fontsize(fontsize)


def line_limits(histories: Sequence[History]) -> Limits:
    """Axes limits for the line-fit picture: the data, the first guesses and the fitted line.

    Only the data and where the runs start count, never where they go, so a diverging line
    leaves the picture instead of squashing it.
    """
    from sgdlab.linalg import least_squares

    replays = [Replay(h) for h in histories]
    u, y = replays[0].x[:, 0], replays[0].y
    xlim = _padded(float(u.min()), float(u.max()), 0.05)
    ends = np.array(xlim)
    lines = [r.params[0] for r in replays]
    lines.append(least_squares(histories[0].x, histories[0].y).double().numpy())
    values = np.concatenate([y] + [a[0] * ends + a[1] for a in lines])
    values = values[np.isfinite(values)]
    ylim = _padded(float(values.min()), float(values.max()), 0.08)
    return xlim, ylim


class LineFit(Panel):
    """The lecture's animation: the data scatter and the current line ``y = a1·x + a2``.

    The title carries the step, the loss on all the data for the parameters drawn, and the
    learning rate. For a mini-batch run the points of the batch that step ``k`` used are
    highlighted. Further runs (for example full-batch next to mini-batch) add more lines.
    """

    def __init__(self, histories: History | Sequence[History], heading: str | None = None,
                 limits: Limits | None = None, highlight_batch: bool = True,
                 legend: bool | None = None):
        super().__init__(histories, heading)
        for r in self.replays:
            check_line_model(r.history)
        self.limits = limits or line_limits([r.history for r in self.replays])
        self.highlight_batch = highlight_batch
        self.legend = len(self.replays) > 1 if legend is None else legend
        self.lines = []
        self.batch_points = None
        self._ends = np.array(self.limits[0])

    def draw(self, ax: Axes, frames: int, fontsize: float) -> list[Artist]:
        self.ax = ax
        data = self.replays[0]
        ax.scatter(data.x[:, 0], data.y, s=12, color=DATA_COLOR, alpha=0.7, label="data",
                   zorder=2)
        ax.set_xlim(*self.limits[0])
        ax.set_ylim(*self.limits[1])
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        _style_axes(ax, fontsize)
        self.lines = []
        for i, r in enumerate(self.replays):
            (line,) = ax.plot(self._ends, self._line(r, 0), color=COLORS[i % len(COLORS)],
                              lw=2, label=r.history.label or None,
                              zorder=DYNAMIC_ZORDER)
            self.lines.append(line)
        dynamic: list[Artist] = list(self.lines)
        self.batch_points = None
        if self.highlight_batch and any(r.history.batches is not None for r in self.replays):
            self.batch_points = ax.scatter([], [], s=40, facecolors="none",
                                           edgecolors=BATCH_COLOR, linewidths=1.5,
                                           label="this step's mini-batch",
                                           zorder=DYNAMIC_ZORDER)
            dynamic.append(self.batch_points)
        if self.legend:
            ax.legend(loc="upper left", fontsize=fontsize - 2, framealpha=0.8)
        self._make_title(ax, fontsize)
        dynamic.append(self.title)
        return dynamic

    def _line(self, replay: Replay, k: int) -> np.ndarray:
        a1, a2 = replay.params_at(k)
        return a1 * self._ends + a2

    def update(self, k: int) -> None:
        for line, r in zip(self.lines, self.replays, strict=True):
            line.set_ydata(self._line(r, k))
        if self.batch_points is not None:
            r = next(r for r in self.replays if r.history.batches is not None)
            idx = r.batch_at(k)
            points = (np.empty((0, 2)) if idx is None
                      else np.column_stack([r.x[idx, 0], r.y[idx]]))
            self.batch_points.set_offsets(points)
        self.title.set_text(self._status(k))


class LossCurve(Panel):
    """The loss on all the data, growing one step per frame (log scale).

    For a mini-batch run the noisy loss of each mini-batch is drawn faintly behind it. The
    y-range comes from the runs that stay finite; a diverging curve leaves through the top.
    """

    def __init__(self, histories: History | Sequence[History], heading: str | None = None,
                 legend: bool | None = None):
        super().__init__(histories, heading)
        self.legend = len(self.replays) > 1 if legend is None else legend
        self.curves = []
        self.batch_curves = []

    def _ylim(self) -> tuple[float, float]:
        values = [r.full_losses[:1] for r in self.replays]
        values += [r.full_losses for r in self.replays if not r.history.diverged]
        values += [r.history.losses.double().numpy() for r in self.replays
                   if r.history.batches is not None and not r.history.diverged]
        v = np.concatenate(values)
        v = v[np.isfinite(v) & (v > 0)]
        if v.size == 0:
            return 1e-3, 10.0
        lo, hi = max(float(v.min()), 1e-12), float(v.max())
        return lo / 1.5, hi * 1.5

    def draw(self, ax: Axes, frames: int, fontsize: float) -> list[Artist]:
        self.ax = ax
        ax.set_yscale("log")
        ax.set_xlim(0, max(frames - 1, 1))
        ax.set_ylim(*self._ylim())
        ax.set_xlabel("step")
        ax.set_ylabel("loss (MSE)")
        ax.grid(True, which="major", alpha=0.3)
        _style_axes(ax, fontsize)
        self.curves, self.batch_curves = [], []
        dynamic: list[Artist] = []
        for i, r in enumerate(self.replays):
            color = COLORS[i % len(COLORS)]
            if r.history.batches is not None:
                (faint,) = ax.plot([], [], color=color, lw=0.8, alpha=0.35,
                                   zorder=DYNAMIC_ZORDER)
                self.batch_curves.append((r, faint))
                dynamic.append(faint)
            (curve,) = ax.plot([0], r.full_losses[:1], color=color, lw=2,
                               label=r.history.label or None, zorder=DYNAMIC_ZORDER + 1)
            self.curves.append(curve)
            dynamic.append(curve)
        if self.legend:
            ax.legend(loc="upper right", fontsize=fontsize - 2, framealpha=0.8)
        self._make_title(ax, fontsize)
        dynamic.append(self.title)
        return dynamic

    def update(self, k: int) -> None:
        for curve, r in zip(self.curves, self.replays, strict=True):
            s = r.step(k)
            curve.set_data(np.arange(s + 1), r.full_losses[: s + 1])
        for r, faint in self.batch_curves:
            s = r.step(k)
            faint.set_data(np.arange(s), r.history.losses[:s].double().numpy())
        self.title.set_text(self._status(k))

    def _status(self, k: int) -> str:
        heading = self.heading or "loss on all the data"
        if len(self.replays) == 1:
            return f"{heading}\n{self.replays[0].status(k)}"
        return f"{heading}\n{self._step_line(k)}"
