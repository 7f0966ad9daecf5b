"""The figures of ``monge flow`` (:mod:`monge.experiments.flow`), drawn from the run's results into ``figures/``."""

from __future__ import annotations

import os

import numpy as np
import torch

from monge.plots.meanfield import (plot_energy, plot_fits, plot_grid_density, plot_particles, save_particles_gif,
                                   shown_times)
from monge.runs import atomic_write


def write_figures(run, problem, result, grid=None, grid_result=None) -> list[str]:
    """Save fits, particles (PNG and GIF), energy and, with a grid, the density figure; return their paths."""
    names = problem.network.unit.names
    times, snaps = result.snapshot_times, result.snapshots
    written = []
    if len(snaps):
        shown = shown_times(times, 4)
        with torch.no_grad():
            target = problem.energy.target(problem.inputs)
            fits = [problem.network.replace(torch.from_numpy(snaps[k]).to(problem.network.particles))
                    .f(problem.inputs) for k in shown]
        figure = plot_fits(problem.abscissa, np.asarray(target), torch.stack(fits), [times[k] for k in shown],
                           samples=problem.samples)
        figure.axes[0].set_xlabel(problem.abscissa_label)
        run.save_figure(figure, "fits.png")
        run.save_figure(plot_particles(snaps, times, names), "particles.png")
        _gif(run.figures / "particles.gif", snaps, times, names)
        written += ["figures/fits.png", "figures/particles.png", "figures/particles.gif"]
    grid_args = {}
    if grid_result is not None:
        grid_args = dict(grid_times=grid_result.times, grid_energy=grid_result.energy,
                         grid_dissipation=grid_result.dissipation)
    run.save_figure(plot_energy(result.times, result.energy, result.dissipation, **grid_args), "energy.png")
    written.append("figures/energy.png")
    if grid_result is not None and len(snaps):
        picks = shown_times(grid_result.snapshot_times, 3)
        grid_times = grid_result.snapshot_times.numpy()[picks]
        nearest = [int(np.abs(times - t).argmin()) for t in grid_times]
        figure = plot_grid_density(grid.edges(), grid_result.snapshots[picks], snaps[nearest], grid_times, names)
        run.save_figure(figure, "grid.png")
        written.append("figures/grid.png")
    return written


def _gif(path, snaps, times, names) -> None:
    """The animation, written to a temporary name in the folder and renamed (never half a GIF)."""
    temporary = path.with_name(f".{path.name}.tmp.gif")
    try:
        save_particles_gif(temporary, snaps, times, names)
        with atomic_write(path) as fh:
            fh.write(temporary.read_bytes())
    finally:
        if temporary.exists():
            os.unlink(temporary)
