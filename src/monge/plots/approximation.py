r"""Figures of universal approximation (section 1.4 of the text): error against width, and the fits.

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot (no global state):
save it with :meth:`monge.training.Run.save_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from monge.errors import InputError

SUP_STYLE = dict(marker="o", color="#d62728")
L2_STYLE = dict(marker="s", color="#1f77b4")


def _numpy(values) -> np.ndarray:
    return np.asarray(values.detach().cpu().numpy() if hasattr(values, "detach") else values, dtype=float)


def shown_widths(widths: Sequence[int], k: int = 4) -> list[int]:
    """``k`` widths spread evenly on a log scale from the smallest to the largest (all if fewer)."""
    widths = list(widths)
    if len(widths) <= k:
        return widths
    picks = np.unique(np.round(np.linspace(0, len(widths) - 1, k)).astype(int))
    return [widths[i] for i in picks]


def _label(name: str, slope: float | None) -> str:
    return name if slope is None else f"{name} (fitted slope {slope:.2f})"


def plot_errors(widths: Sequence[int], sup_error: Sequence[float], l2_error: Sequence[float], *,
                rate: float | None = None, rate_note: str = "", sup_slope: float | None = None,
                l2_slope: float | None = None, title: str = "") -> Figure:
    r"""Sup and L2 errors against the width :math:`n` on log-log axes, with a reference slope.

    The reference line :math:`C n^{-r}` (``rate`` = :math:`r`) is drawn over the larger half of
    the widths, where the fitted slopes are measured, through the geometric mean of their L2 errors.

    Parameters
    ----------
    widths : sequence of int
    sup_error, l2_error : sequences of float, one per width
    rate : float, optional
        The reference rate :math:`r`; ``rate_note`` says where it comes from.
    sup_slope, l2_slope : float, optional
        Fitted slopes, shown in the legend.
    title : str
    """
    n = np.asarray(widths, dtype=float)
    sup, l2 = _numpy(sup_error), _numpy(l2_error)
    figure = Figure(figsize=(6.4, 4.6), layout="constrained")
    ax = figure.subplots()
    ax.loglog(n, sup, label=_label(r"sup error $\max_x |f_w(x) - f^*(x)|$", sup_slope), **SUP_STYLE)
    ax.loglog(n, l2, label=_label(r"L2 error $\| f_w - f^* \|_{L^2}$", l2_slope), **L2_STYLE)
    if rate is not None and len(n) >= 2:
        tail = slice(-max(2, (len(n) + 1) // 2), None)
        anchor_n = np.exp(np.log(n[tail]).mean())
        anchor_e = np.exp(np.log(np.maximum(l2[tail], 1e-300)).mean())
        ax.loglog(n[tail], anchor_e * (n[tail] / anchor_n) ** (-rate), "k--", lw=1,
                  label=f"reference slope $-{rate:g}$" + (f": {rate_note}" if rate_note else ""))
    ax.set_xlabel("width n (neurons of the hidden layer)")
    ax.set_ylabel("error on the evaluation grid")
    ax.set_title(title or "Universal approximation: error against width", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    figure.legend(fontsize=8, loc="outside lower center")  # below the axes: the curves cross the whole box
    return figure


def plot_fits_1d(grid, values, fits, widths: Sequence[int], show: Sequence[int] | None = None, *,
                 title: str = "") -> Figure:
    r"""The target :math:`f^*` and the fits :math:`f_w` of a few widths (top), and :math:`|f_w - f^*|` (bottom).

    Parameters
    ----------
    grid : (g, 1) array, values : (g,) array
        The evaluation points and :math:`f^*` there.
    fits : (len(widths), g) array
        :math:`f_w` of each width on the grid.
    widths : sequence of int
    show : sequence of int, optional
        The widths to draw (default: :func:`shown_widths`).
    """
    t, f = _numpy(grid)[:, 0], _numpy(values)
    fits = _numpy(fits)
    show = shown_widths(widths) if show is None else list(show)
    figure = Figure(figsize=(7.2, 6.4), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    top.plot(t, f, color="black", lw=2.5, label=r"target $f^*$")
    colors = [f"C{k}" for k in range(len(show))]
    for width, color in zip(show, colors):
        k = list(widths).index(width)
        top.plot(t, fits[k], color=color, lw=1.2, label=f"width {width}")
        bottom.semilogy(t, np.maximum(np.abs(fits[k] - f), 1e-17), color=color, lw=0.8)
    top.set_ylabel("value")
    top.legend(fontsize=8)
    top.set_title(title or "Two-layer ReLU networks fitted to the target", fontsize=10)
    bottom.set_xlabel("x")
    bottom.set_ylabel(r"$|f_w(x) - f^*(x)|$")
    bottom.grid(True, which="both", alpha=0.3)
    return figure


def plot_fits_2d(grid, values, fits, widths: Sequence[int], show: Sequence[int] | None = None, *,
                 train_points=None, title: str = "") -> Figure:
    r"""Heat maps of the target :math:`f^*` and the fits :math:`f_w` (top row), and :math:`|f_w - f^*|` (bottom).

    Parameters
    ----------
    grid : (g*g, 2) array
        A square grid in row-major order (as :func:`monge.training.approximation.evaluation_grid`).
    values : (g*g,) array, fits : (len(widths), g*g) array
    widths : sequence of int
    show : sequence of int, optional
        The widths to draw (default: three of :func:`shown_widths`, the largest included).
    train_points : (m, 2) array, optional
        Drawn in the bottom-left panel, to show that they are not the grid.
    """
    points, f, fits = _numpy(grid), _numpy(values), _numpy(fits)
    side = int(round(np.sqrt(len(points))))
    if side * side != len(points) or points.shape[1] != 2:
        raise InputError(f"grid: shape {points.shape}; expected a square grid of the plane, shape (g * g, 2)")
    show = (shown_widths(widths, 4)[1:] if len(widths) > 3 else list(widths)) if show is None else list(show)
    extent = (points[:, 0].min(), points[:, 0].max(), points[:, 1].min(), points[:, 1].max())

    def image(ax, z, cmap, vmin=None, vmax=None):
        # rows of the grid are x1 and columns x2: draw x1 across and x2 up
        shown = ax.imshow(z.reshape(side, side).T, origin="lower", extent=extent, cmap=cmap,
                          vmin=vmin, vmax=vmax, aspect="equal")
        figure.colorbar(shown, ax=ax, shrink=0.8)

    figure = Figure(figsize=(3.6 * (len(show) + 1), 6.8), layout="constrained")
    axes = figure.subplots(2, len(show) + 1, squeeze=False)
    low, high = f.min(), f.max()
    image(axes[0, 0], f, "viridis", low, high)
    axes[0, 0].set_title(r"target $f^*$")
    for j, width in enumerate(show, start=1):
        k = list(widths).index(width)
        image(axes[0, j], fits[k], "viridis", low, high)
        axes[0, j].set_title(f"fit, width {width}")
        image(axes[1, j], np.abs(fits[k] - f), "magma")
        axes[1, j].set_title(f"|error|, width {width}: max {np.abs(fits[k] - f).max():.2g}", fontsize=9)
    corner = axes[1, 0]
    if train_points is not None:
        every = _numpy(train_points)
        shown_points = every[np.random.default_rng(0).permutation(len(every))[:2000]]
        corner.scatter(shown_points[:, 0], shown_points[:, 1], s=1, color="black")
        corner.set_xlim(extent[0], extent[1])
        corner.set_ylim(extent[2], extent[3])
        corner.set_aspect("equal")
        corner.set_title(f"{len(shown_points)} of the {len(every)} training points", fontsize=9)
    else:
        corner.axis("off")
    for ax in axes.flat:
        ax.set_xlabel("$x_1$", fontsize=8)
        ax.set_ylabel("$x_2$", fontsize=8)
    figure.suptitle(title or "Two-layer ReLU networks fitted to the target", fontsize=11)
    return figure
