r"""Figures of chapter 3: shallow networks as Wasserstein gradient flows.

The fit :math:`f_\mu` against the target over time, the neurons :math:`\xi_i` moving in parameter
space (still, with trajectories, and as an animated GIF), the energy :math:`F(\mu_t)` with its
dissipation :math:`-dF/dt = \int |\nabla\psi_\mu|^2 d\mu_t`, and the particles over the grid
density of the Eulerian solver. Every function returns a :class:`matplotlib.figure.Figure` made
without pyplot (no global state): save it with :meth:`monge.training.Run.save_figure`;
:func:`save_particles_gif` writes the animation with Pillow.

Parameter space: for units with two parameters (the bump's :math:`(c, y)`) the axes are the two
parameters; with more, the axes are the first two feature parameters :math:`\theta_1, \theta_2`
and the colour is the output weight :math:`\omega`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from monge.errors import InputError

ENERGY, DISSIPATION, GRID = "#1f77b4", "#d62728", "#2ca02c"
WEIGHTS = "coolwarm"


def _numpy(values) -> np.ndarray:
    return np.asarray(values.detach().cpu().numpy() if hasattr(values, "detach") else values, dtype=float)


def shown_times(times: Sequence[float], k: int = 4) -> list[int]:
    """Indices of ``k`` of the record ``times`` spread evenly from the first to the last (all if fewer)."""
    n = len(times)
    if n <= k:
        return list(range(n))
    return sorted(set(np.round(np.linspace(0, n - 1, k)).astype(int).tolist()))


def plot_fits(x, target, fits, times: Sequence[float], *, samples=None, title: str = "") -> Figure:
    r"""The target :math:`f` and the network's :math:`f_{\mu_t}` at a few times.

    Parameters
    ----------
    x : (M,) inputs on the line (sorted)
    target : (M,) :math:`f(x)`
    fits : (S, M) :math:`f_{\mu_t}(x)` at ``times``
    times : (S,) floats
    samples : (n, 2) optional data points ``(x, f(x))`` drawn as dots (a FILE target)
    """
    x, target, fits = _numpy(x), _numpy(target), _numpy(fits)
    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = figure.subplots()
    if samples is not None:
        samples = _numpy(samples)
        ax.plot(samples[:, 0], samples[:, 1], ".", color="0.6", ms=3, label="samples")
    ax.plot(x, target, color="black", lw=2.2, label=r"target $f$")
    colours = [_shade(k, len(fits)) for k in range(len(fits))]
    for fit, t, colour in zip(fits, times, colours):
        ax.plot(x, fit, color=colour, lw=1.4, label=rf"$f_\mu$ at t = {t:g}")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.legend(fontsize=8)
    ax.set_title(title or r"The network $f_\mu = \int \Phi(\xi, \cdot)\, d\mu$ fitting the target")
    return figure


def _shade(k: int, n: int) -> tuple:
    from matplotlib import colormaps

    return colormaps["viridis"](0.15 + 0.7 * k / max(1, n - 1))


def _plane(snapshots: np.ndarray, names: Sequence[str]):
    """(xy (S, N, 2), colour (S, N) or None, axis labels) of the parameter-space picture."""
    if snapshots.shape[-1] == 2:
        return snapshots, None, (names[0], names[1])
    return snapshots[..., 1:3], snapshots[..., 0], (names[1], names[2])


def _colour_norm(values: np.ndarray) -> TwoSlopeNorm:
    top = max(float(np.abs(values).max()), 1e-12)
    return TwoSlopeNorm(0.0, -top, top)


def plot_particles(snapshots, times: Sequence[float], names: Sequence[str], *, max_tracks: int = 200,
                   title: str = "") -> Figure:
    r"""The neurons :math:`\xi_i` in parameter space: trajectories from :math:`t = 0` to the end.

    Parameters
    ----------
    snapshots : (S, N, p) particles at ``times``
    times : (S,)
    names : the unit's parameter names (axis labels)
    max_tracks : at most this many trajectories are drawn (evenly chosen); all final positions are
    """
    snaps = _numpy(snapshots)
    xy, colour, labels = _plane(snaps, names)
    figure = Figure(figsize=(6.4, 5.0), layout="constrained")
    ax = figure.subplots()
    n = xy.shape[1]
    tracks = np.unique(np.linspace(0, n - 1, min(n, max_tracks)).astype(int))
    for i in tracks:
        ax.plot(xy[:, i, 0], xy[:, i, 1], color="0.75", lw=0.6, zorder=1)
    ax.scatter(xy[0, :, 0], xy[0, :, 1], s=8, facecolors="none", edgecolors="0.45", lw=0.6,
               label=f"t = {times[0]:g}", zorder=2)
    if colour is None:
        ax.scatter(xy[-1, :, 0], xy[-1, :, 1], s=12, color=ENERGY, label=f"t = {times[-1]:g}", zorder=3)
    else:
        points = ax.scatter(xy[-1, :, 0], xy[-1, :, 1], s=12, c=colour[-1], cmap=WEIGHTS,
                            norm=_colour_norm(colour[-1]), label=f"t = {times[-1]:g}", zorder=3)
        figure.colorbar(points, ax=ax, label=f"{names[0]} at t = {times[-1]:g}")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title or f"{n} neurons in parameter space and their trajectories")
    return figure


def save_particles_gif(path: str | os.PathLike, snapshots, times: Sequence[float], names: Sequence[str], *,
                       fps: int = 8, dpi: int = 80, title: str = "") -> None:
    r"""An animated GIF of the neurons moving in parameter space, one frame per snapshot (Pillow).

    The axes are fixed to the range of all frames; the file is written to ``path`` directly (write
    it to a temporary name and rename it for atomicity).

    Parameters
    ----------
    path : str or path, the ``.gif`` file
    snapshots : (S, N, p) array-like, the particles at each of S times
    times : sequence of S floats, the times of the snapshots
    names : sequence of p str, the parameters' names (``unit.names``), for the axes
    fps : int, frames per second
    dpi : int, resolution of the frames
    title : str, above the frames
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    snaps = _numpy(snapshots)
    xy, colour, labels = _plane(snaps, names)
    # a fixed layout: constrained layout would be solved again for every frame (most of the time)
    figure = Figure(figsize=(5.0, 4.0))
    figure.subplots_adjust(left=0.14, right=0.96, bottom=0.13, top=0.9)
    ax = figure.subplots()
    low, high = xy.reshape(-1, 2).min(0), xy.reshape(-1, 2).max(0)
    pad = 0.05 * np.maximum(high - low, 1e-9)
    ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
    ax.set_ylim(low[1] - pad[1], high[1] + pad[1])
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    if colour is None:
        points = ax.scatter(xy[0, :, 0], xy[0, :, 1], s=10, color=ENERGY)
    else:
        points = ax.scatter(xy[0, :, 0], xy[0, :, 1], s=10, c=colour[0], cmap=WEIGHTS, norm=_colour_norm(colour))
    heading = ax.set_title("")

    def frame(k):
        points.set_offsets(xy[k])
        if colour is not None:
            points.set_array(colour[k])
        heading.set_text(f"{title}  t = {times[k]:.3g}".strip())
        return points, heading

    animation = FuncAnimation(figure, frame, frames=len(xy), blit=False)
    animation.save(os.fspath(path), writer=PillowWriter(fps=fps), dpi=dpi)


def plot_energy(times, energy, dissipation, *, grid_times=None, grid_energy=None, grid_dissipation=None,
                title: str = "") -> Figure:
    r"""Energy :math:`F(\mu_t)` and dissipation on log axes; the dissipation identity as a check.

    Left: :math:`F(\mu_t)` (and the grid's :math:`F(\rho_t)`). Right: the recorded dissipation
    :math:`D(t) = \int |\nabla\psi_{\mu_t}|^2 d\mu_t` against :math:`-dF/dt` by finite differences
    of the energy: along the flow they coincide (:math:`dF/dt = -D`).

    Parameters
    ----------
    times : (T,) array-like, the record times of the particles
    energy : (T,) array-like, :math:`F(\mu_t)`
    dissipation : (T,) array-like, :math:`D(t)`
    grid_times, grid_energy, grid_dissipation : (T',) array-like, optional; the same for the grid's density
    title : str, above the panels

    Returns
    -------
    matplotlib.figure.Figure
    """
    t, f, d = _numpy(times), _numpy(energy), _numpy(dissipation)
    figure = Figure(figsize=(10.0, 4.0), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.semilogy(t, f, color=ENERGY, label=r"particles $F(\mu_t)$")
    if grid_energy is not None:
        left.semilogy(_numpy(grid_times), _numpy(grid_energy), color=GRID, ls="--", label=r"grid $F(\rho_t)$")
    left.set_xlabel("t")
    left.set_ylabel("energy")
    left.legend(fontsize=8)
    left.set_title(r"$F(\mu) = \frac{1}{2}\int (f - f_\mu)^2 + \int V d\mu$")
    right.semilogy(t, d, color=DISSIPATION, label=r"$D = \int |\nabla\psi_\mu|^2 d\mu$")
    if len(t) > 1:
        slope = -np.diff(f) / np.diff(t)
        middle = 0.5 * (t[1:] + t[:-1])
        shown = slope > 0
        right.semilogy(middle[shown], slope[shown], color="black", ls=":", lw=1.2, label=r"$-dF/dt$ (differences)")
    if grid_dissipation is not None:
        right.semilogy(_numpy(grid_times), _numpy(grid_dissipation), color=GRID, ls="--", label="grid D")
    right.set_xlabel("t")
    right.set_ylabel("dissipation")
    right.legend(fontsize=8)
    right.set_title(r"dissipation: $dF/dt = -D$")
    if title:
        figure.suptitle(title)
    return figure


def plot_grid_density(edges: Sequence, densities, snapshots, times: Sequence[float], names: Sequence[str], *,
                      title: str = "") -> Figure:
    r"""The grid density :math:`\rho_t` (colour) with the particles of the same times on top.

    Parameters
    ----------
    edges : two arrays of cell faces (axis 0, axis 1)
    densities : (S, n0, n1) grid densities at ``times``
    snapshots : (S, N, 2) particles at the same times
    times : (S,)
    names : the two parameter names
    """
    ex, ey = (_numpy(e) for e in edges)
    rho, snaps = _numpy(densities), _numpy(snapshots)
    if rho.ndim != 3 or rho.shape[1:] != (len(ex) - 1, len(ey) - 1):
        raise InputError(f"densities: shape {rho.shape}; expected (S, {len(ex) - 1}, {len(ey) - 1}), one cell per "
                         "pair of faces in edges")
    if snaps.ndim != 3 or snaps.shape[0] != rho.shape[0] or snaps.shape[2] != 2 or len(times) != rho.shape[0]:
        raise InputError(f"snapshots: shape {snaps.shape} and {len(times)} times; expected ({rho.shape[0]}, N, 2) "
                         "particles and one time per density")
    panels = len(rho)
    figure = Figure(figsize=(4.2 * panels, 4.0), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, panels, sharex=True, sharey=True))
    for ax, density, particles, t in zip(axes, rho, snaps, times):
        ax.pcolormesh(ex, ey, density.T, cmap="Greys", shading="flat", vmin=0, vmax=density.max())
        ax.scatter(particles[:, 0], particles[:, 1], s=5, color=DISSIPATION, alpha=0.7, lw=0)
        ax.set_title(f"t = {t:g}")
        ax.set_xlabel(names[0])
    # show where the mass is: cells above 1e-3 of their panel's peak, and the particles, with a margin
    held = (rho > 1e-3 * rho.max(axis=(1, 2), keepdims=True)).any(0)
    cx, cy = 0.5 * (ex[1:] + ex[:-1]), 0.5 * (ey[1:] + ey[:-1])
    xs = np.concatenate([cx[held.any(1)], snaps[..., 0].ravel()])
    ys = np.concatenate([cy[held.any(0)], snaps[..., 1].ravel()])
    pad_x, pad_y = 0.08 * (xs.max() - xs.min()) + 1e-9, 0.08 * (ys.max() - ys.min()) + 1e-9
    axes[0].set_xlim(max(ex[0], xs.min() - pad_x), min(ex[-1], xs.max() + pad_x))
    axes[0].set_ylim(max(ey[0], ys.min() - pad_y), min(ey[-1], ys.max() + pad_y))
    axes[0].set_ylabel(names[1])
    figure.suptitle(title or "Particles (red) over the grid density (grey, each panel scaled to its peak): "
                             "one Wasserstein gradient flow", fontsize=10)
    return figure
