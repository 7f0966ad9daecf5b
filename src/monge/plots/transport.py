r"""Figures of chapter 2: Monge's permutations (Figure 2.2 of the text) and transport plans.

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot, so nothing here
touches matplotlib's global state (no backend switch, no open-figure registry): save it with
``figure.savefig(path)`` or :meth:`monge.runs.Run.save_figure`; PNG output uses Agg.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from monge.errors import InputError

X_STYLE = dict(marker="o", color="#1f77b4", label="x (sources)")
Z_STYLE = dict(marker="s", color="#d62728", label="z (destinations)")
SEGMENT_COLOR = "#555555"
CROWD = 2000  # plot_plan draws larger clouds with fainter markers


def _array(points: Any, name: str) -> np.ndarray:
    values = points.detach().cpu().numpy() if hasattr(points, "detach") else np.asarray(points)
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] != 2:
        raise InputError(f"{name}: shape {values.shape}; expected points of the plane, shape (n, 2)")
    return values


def euclidean_distance(x, z, permutation) -> float:
    r"""The text's Distance :math:`\sum_i \|x_i - z_{s_i}\|` of a 0-based ``permutation`` s from ``x`` to ``z``."""
    x, z = np.asarray(x, dtype=float), np.asarray(z, dtype=float)
    return float(np.linalg.norm(x - z[np.asarray(permutation)], axis=1).sum())


def one_based(permutation) -> str:
    """``(s_1, ..., s_n)`` in the text's 1-based notation, from a 0-based permutation."""
    return "(" + ", ".join(str(int(s) + 1) for s in np.asarray(permutation)) + ")"


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (a zero row becomes (1, 1) / sqrt 2: up and to the right)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.where(norms > 0, vectors / np.where(norms > 0, norms, 1.0), np.sqrt(0.5))


def _draw_permutation(ax, x: np.ndarray, z: np.ndarray, permutation: np.ndarray, title: str) -> None:
    ends = z[permutation]
    ax.add_collection(LineCollection(np.stack([x, ends], 1), colors=SEGMENT_COLOR, linewidths=1.6, zorder=1))
    for a, b in zip(x, ends):  # an arrow head halfway shows the direction x -> z
        mid, step = (a + b) / 2, (b - a) * 0.02
        ax.annotate("", xy=mid + step, xytext=mid - step,
                    arrowprops=dict(arrowstyle="-|>", color=SEGMENT_COLOR, lw=1.2, mutation_scale=12))
    ax.scatter(x[:, 0], x[:, 1], s=70, zorder=3, edgecolors="white", linewidths=0.8, **X_STYLE)
    ax.scatter(z[:, 0], z[:, 1], s=70, zorder=3, edgecolors="white", linewidths=0.8, **Z_STYLE)
    # each label sits on the side of its point away from the point's path, so paths stay visible
    away_x = _unit(x - ends)
    away_z = np.empty_like(z)
    away_z[permutation] = _unit(ends - x)
    for label, points, away, color in (("x", x, away_x, X_STYLE["color"]), ("z", z, away_z, Z_STYLE["color"])):
        for i, (point, direction) in enumerate(zip(points, away)):
            ax.annotate(f"${label}_{{{i + 1}}}$", point, xytext=tuple(14 * direction), textcoords="offset points",
                        ha="center", va="center", fontsize=13, color=color, zorder=4)
    ax.set_title(title, fontsize=11)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.margins(0.12)
    ax.grid(alpha=0.25)


def figure_2_2(x, z, text_permutation, optimal_permutation) -> Figure:
    r"""Figure 2.2 of the text: a non-optimal permutation (left) and the optimal one (right).

    Each panel draws the points :math:`x_i` and :math:`z_j` and the paths :math:`x_i \to z_{s_i}`;
    its title gives the permutation in the text's 1-based notation and its Distance
    :math:`\sum_i \|x_i - z_{s_i}\|`.

    Parameters
    ----------
    x, z : (n, 2) array-like
        Sources and destinations.
    text_permutation, optimal_permutation : (n,) array-like of int
        0-based permutations: ``z[s[i]]`` is the destination of ``x[i]``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x, z = _array(x, "x"), _array(z, "z")
    n = len(x)
    fig = Figure(figsize=(11, 5.4), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    panels = ((text_permutation, "The text's permutation (not optimal)"),
              (optimal_permutation, "The optimal permutation (brute force)"))
    for ax, (perm, name) in zip(axes, panels):
        perm = np.asarray(perm.tolist() if hasattr(perm, "tolist") else perm, dtype=int)
        title = f"{name}\n$s$ = {one_based(perm)},  Distance = {euclidean_distance(x, z, perm):.4f}"
        _draw_permutation(ax, x, z, perm, title)
    axes[0].legend(loc="best", fontsize=9, framealpha=0.9)
    fig.suptitle(f"Figure 2.2: Monge's problem for n = {n} points in the plane "
                 f"(Distance = sum of the {n} path lengths; best of {math.factorial(n):,} permutations)",
                 fontsize=12)
    return fig


def plot_plan(x, z, rows, cols, mass, *, max_segments: int = 3000, seed: int = 0,
              title: str | None = None) -> Figure:
    r"""A transport plan between two clouds of the plane: one segment per pair with mass.

    Segment opacity and width grow with the mass :math:`P_{ij}`. Beyond ``max_segments`` pairs,
    that many are drawn, sampled with probability proportional to their mass (seeded; the title
    says so): a matching of 30,000 points draws 3000 of its segments, so that the figure's time
    stays bounded (about a second). Clouds of more than 2000 points are drawn with smaller,
    translucent markers, so that the picture shows their density and the segments show through.

    Parameters
    ----------
    x : (n, 2), z : (m, 2) array-like
    rows, cols : (k,) int arrays
        The pairs ``(i, j)`` of the plan's non-zero entries; ``None`` draws the clouds only.
    mass : (k,) float array
        ``P[rows, cols]``.
    max_segments : int
        The most segments drawn.
    seed : int
        Seed of the subsample.
    title : str, optional
        First line of the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x, z = _array(x, "x"), _array(z, "z")
    fig = Figure(figsize=(7, 6.5), layout="constrained")
    ax = fig.subplots()
    lines = [title] if title else []
    if rows is not None:
        rows, cols, mass = np.asarray(rows), np.asarray(cols), np.asarray(mass, dtype=float)
        if not rows.shape == cols.shape == mass.shape or rows.ndim != 1:
            raise InputError(f"rows, cols, mass: shapes {rows.shape}, {cols.shape}, {mass.shape}; "
                             "expected three (k,) arrays")
        total = len(mass)
        if total > max_segments:
            rng = np.random.default_rng(seed)
            keep = rng.choice(total, size=max_segments, replace=False, p=mass / mass.sum())
            rows, cols, mass = rows[keep], cols[keep], mass[keep]
            lines.append(f"{max_segments:,} of {total:,} segments shown, sampled by mass")
        else:
            lines.append(f"{total:,} segments (width and opacity follow the mass)")
        weight = mass / mass.max() if len(mass) and mass.max() > 0 else mass
        # many segments: thinner and fainter, so that the picture shows density rather than ink
        crowd = float(np.clip(np.sqrt(100 / max(len(weight), 1)), 0.2, 1.0))
        colors = np.zeros((len(weight), 4))
        colors[:, 3] = (0.15 + 0.7 * weight) * min(1.0, 1.5 * crowd)
        ax.add_collection(LineCollection(np.stack([x[rows], z[cols]], 1), colors=colors,
                                         linewidths=(0.3 + 1.4 * weight) * max(crowd, 0.3), zorder=1))
    else:
        lines.append("no plan to draw")
    crowded = max(len(x), len(z))
    size = float(np.clip(3000 / crowded, 1.0, 60))  # 4 (pt^2) at 750 points, 1 from 3000
    alpha = float(np.clip(np.sqrt(CROWD / crowded), 0.3, 1.0))  # opaque up to CROWD points: segments show through
    ax.scatter(x[:, 0], x[:, 1], s=size, zorder=3, linewidths=0, alpha=alpha, **X_STYLE)
    ax.scatter(z[:, 0], z[:, 1], s=size, zorder=3, linewidths=0, alpha=alpha, **Z_STYLE)
    ax.set_title("\n".join(lines), fontsize=11)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.margins(0.05)
    legend = ax.legend(loc="best", fontsize=9, framealpha=0.9, markerscale=max(1.0, 30 / size) ** 0.5)
    for handle in legend.legend_handles:
        handle.set_alpha(1.0)
    ax.grid(alpha=0.25)
    return fig


def plan_sharpening(plans, titles, permutation) -> Figure:
    r"""Transport plans side by side as matrices, columns ordered so that a permutation is the diagonal.

    Entropic plans :math:`P_\varepsilon` spread each row's mass over many columns; as
    :math:`\varepsilon \to 0` they concentrate on the optimal permutation :math:`s`, which the
    column order :math:`j \mapsto s_j` draws as the diagonal. Each panel is scaled to its own
    largest entry (white 0, dark the largest).

    Parameters
    ----------
    plans : sequence of (n, n) array-like
    titles : sequence of str, one per plan
    permutation : (n,) int array-like
        The optimal permutation: ``z[permutation[i]]`` is the partner of ``x[i]``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plans = [np.asarray(p, dtype=float) for p in plans]
    permutation = np.asarray(permutation)
    if len(plans) != len(titles) or not plans:
        raise InputError(f"plans, titles: {len(plans)} plans and {len(titles)} titles; expected as many, at least one")
    n = len(permutation)
    for k, plan in enumerate(plans):
        if plan.shape != (n, n):
            raise InputError(f"plans[{k}]: shape {plan.shape}; expected ({n}, {n}) like the permutation")
    fig = Figure(figsize=(2.6 * len(plans) + 0.4, 3.2), layout="constrained")
    for ax, plan, title in zip(np.atleast_1d(fig.subplots(1, len(plans))), plans, titles):
        ax.imshow(plan[:, permutation] / max(plan.max(), 1e-300), cmap="Greys", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("z (in the order s)", fontsize=8)
    fig.axes[0].set_ylabel("x", fontsize=8)
    return fig
