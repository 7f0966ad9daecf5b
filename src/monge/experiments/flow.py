r"""``monge flow`` as a library function: a shallow network trained as a Wasserstein gradient flow (chapter 3).

``run(Config(example="rbf"))`` runs the reference experiment of Rotskoff et al. (2019): N = 200
Gaussian bumps, Euler steps of 0.01 to t = 30, the particles :math:`d\xi_i/dt = -\nabla\psi_\mu(\xi_i)`;
``grid=True`` also solves :math:`\partial_t\rho = \nabla\cdot(\rho\nabla\psi_\rho)` for the density of
neurons on a grid from the same initial law (:mod:`monge.meanfield.grid`) and measures the
:math:`W_2` distance between the particles and the density. The run folder holds

- ``particles.npy``: the final particles ``(N, p)``, columns in the unit's parameter order
  (``summary.json``'s ``particle_columns``: ``c, y`` for the bumps, ``omega, theta_1, ...`` for ReLU);
- ``snapshots.npz``: ``times (S,)`` and ``particles (S, N, p)`` along the flow;
- ``energy.npy``: ``(T, 2)`` rows ``(time, energy)``; ``metrics.jsonl``: one line per record
  (``t``, ``energy``, ``grad_max``, ``dissipation`` and, with the grid, ``grid_energy``, ``grid_mass``);
- ``summary.json``: ``energy_initial``, ``energy_final``, ``grad_max_final``, ``dissipation_error``
  (the identity :math:`F(t) - F(0) = -\int_0^t D`), with the grid the ``grid_*`` figures
  (``grid_w2_final``: :math:`W_2` between particles and density), ``seconds``;
- ``grid.npz`` (with the grid): the grid's records, densities and cell faces;
- ``figures/``: ``fits.png``, ``particles.png``, ``particles.gif``, ``energy.png``, ``grid.png``.

A step too long for the flow (the energy rises, or leaves the finite numbers) stops the run with
:class:`~monge.meanfield.FlowDiverged` (a :class:`monge.errors.Diverged`) naming the time, the step and
``dt (--dt)``; the folder is then left as it was.

Examples
--------
>>> from monge.experiments import flow
>>> summary = flow.run(flow.Config(n=20, t=0.5, frames=3), out=folder, quiet=True)  # doctest: +SKIP
>>> summary["energy_final"] < summary["energy_initial"]  # doctest: +SKIP
True
"""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from monge import runs, settings
from monge.errors import InputError, InputTypeError
from monge.meanfield import diagnostics, distributed, flow as particle_flow
from monge.meanfield.flow import INTEGRATORS
from monge.meanfield.grid import Grid, cfl_number, grid_flow, grid_wasserstein
from monge.meanfield.network import SCALINGS
from monge.runs import Run, save_npy, save_npz, seed_everything

from . import _flow_problems as problems
from ._flow_figures import write_figures

COMMAND = "flow"


@dataclass(frozen=True)
class Config:
    """Settings of ``monge flow``, named as its flags; ``None``: the measured default (:func:`resolve`).

    Attributes
    ----------
    example : ``"rbf"``, ``"relu-teacher"`` or a ``.npy``/``.csv`` FILE of samples ``(x, f(x))``
    n : particles (neurons) N
    t : final time
    dt : time step (default 0.01; 0.05 for relu-teacher); the first step for ``method="adaptive"``
    method : ``"euler"``, ``"rk4"`` or ``"adaptive"``
    lam : weight of the potential :math:`V = \\lambda/2 |\\xi|^2`
    scaling : ``"mean-field"`` (output weights 1/N) or ``"lazy"`` (1/sqrt(N))
    unit : a FILE's units, ``"bump"`` (default) or ``"relu"``
    bad_start : rbf only: every bump starts at y ~ -2 + 0.1 N(0, 1)
    grid : also solve the flow of the density on a grid (2 parameters per neuron, mean-field scaling)
    grid_cells : ``(NC, NY)`` cells per parameter (default (160, 80))
    grid_box : ``(LO0, HI0, LO1, HI1)`` (default: rbf's box, or one around a FILE's interval)
    substep : split grid steps that break the CFL condition (``False``: ``--no-substep``, refuse them)
    frames : particle snapshots along the flow, 0 and t included
    seed : random seed
    """

    example: str = "rbf"
    n: int = 200
    t: float = 30.0
    dt: float | None = None
    method: str = "euler"
    lam: float = 0.0
    scaling: str = "mean-field"
    unit: str | None = None
    bad_start: bool = False
    grid: bool = False
    grid_cells: tuple[int, int] | None = None
    grid_box: tuple[float, float, float, float] | None = None
    substep: bool = True
    frames: int = 61
    seed: int = 0

    def __post_init__(self):
        example = os.fspath(self.example) if isinstance(self.example, os.PathLike) else self.example
        if not isinstance(example, str) or (example not in problems.EXAMPLES and not problems.is_file(example)):
            raise settings.refuse("example", self.example, f"one of {', '.join(problems.EXAMPLES)} or a .npy/.csv "
                                  "file of samples (x, f(x))")
        settings.integer("n", self.n, 1)
        _seed(self.seed)
        settings.integer("frames", self.frames, 2)
        settings.number("t", self.t, 0.0, open_low=True)
        settings.optional(settings.number, "dt", self.dt, 0.0, open_low=True)
        settings.number("lam", self.lam, 0.0)
        settings.choice("method", self.method, INTEGRATORS)
        settings.choice("scaling", self.scaling, SCALINGS)
        for name in ("bad_start", "grid", "substep"):
            _boolean(name, getattr(self, name))
        normal = dict(example=example, t=float(self.t), lam=float(self.lam),
                      dt=None if self.dt is None else float(self.dt),
                      grid_cells=_cells(self.grid_cells), grid_box=_box(self.grid_box))
        for name, value in normal.items():
            object.__setattr__(self, name, value)
        self._check_combinations()

    def _check_combinations(self) -> None:
        """The settings that only go with others: a FILE's unit, rbf's bad start, the grid's options."""
        is_file = self.example not in problems.EXAMPLES
        if self.unit is not None:
            if not is_file:
                raise settings.refuse("unit", self.unit, f"no --unit with --example {self.example}, which has its "
                                      "own unit: --unit is for a FILE example")
            settings.choice("unit", self.unit, problems.UNITS)
        if self.bad_start and self.example != "rbf":
            raise settings.refuse("bad_start", True, f"--bad-start only with --example rbf, not {self.example}")
        if not self.grid and (self.grid_cells is not None or self.grid_box is not None or not self.substep):
            raise InputError("grid (--grid): False, but grid_cells (--grid-cells), grid_box (--grid-box) and "
                             "substep (--no-substep) set up the grid solver; add --grid")
        if self.grid and (self.example == "relu-teacher" or self.unit == "relu"):
            unit = "with --unit relu " if self.unit == "relu" else ""
            raise InputError(f"grid (--grid): the grid solver follows neurons with 2 parameters; {self.example} "
                             f"{unit}has 3 per neuron; expected --example rbf or a FILE with --unit bump")
        if self.grid and self.scaling != "mean-field":
            raise InputError(f"grid (--grid): a density of neurons has no N; expected --scaling mean-field, not "
                             f"{self.scaling}")


def _boolean(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise InputTypeError(f"{name} ({settings.flag(name)}): {value!r}; expected True or False")
    return value


def _seed(value) -> int:
    """A seed every generator takes (torch, NumPy, Python): an integer in [0, 2**63)."""
    settings.integer("seed", value, 0)
    if value >= 2**63:
        raise settings.refuse("seed", value, "a non-negative integer below 2**63")
    return value


def _cells(value) -> tuple[int, int] | None:
    if value is None:
        return None
    cells = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(cells) != 2 or any(isinstance(c, bool) or not isinstance(c, int) or c < 2 for c in cells):
        raise settings.refuse("grid_cells", value, "two integers >= 2, the cells per parameter, e.g. (160, 80) "
                              "(--grid-cells 160x80)")
    return cells


def _box(value) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    box = tuple(value) if isinstance(value, (tuple, list)) else ()
    numbers = len(box) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box)
    if not numbers or not all(map(math.isfinite, box)) or box[0] >= box[1] or box[2] >= box[3]:
        raise settings.refuse("grid_box", value, "four finite numbers LO0, HI0, LO1, HI1 with LO < HI, e.g. "
                              "(-8, 8, -4, 4) (--grid-box -8,8,-4,4)")
    return tuple(float(v) for v in box)


def resolve(config: Config, samples: np.ndarray | None = None) -> Config:
    """``config`` with the measured defaults filled in: the time step, a FILE's unit, the grid's cells and box.

    Parameters
    ----------
    config : Config
    samples : (M, 2) array, optional
        The rows of a FILE example (read from it when not given and needed for the grid's box).
    """
    is_file = config.example not in problems.EXAMPLES
    dt = problems.DT["file" if is_file else config.example] if config.dt is None else config.dt
    unit = (config.unit or "bump") if is_file else None
    cells = box = None
    if config.grid:
        cells = problems.CELLS if config.grid_cells is None else config.grid_cells
        box = problems.default_box(config.example, samples) if config.grid_box is None else config.grid_box
    return replace(config, dt=dt, unit=unit, grid_cells=cells, grid_box=box)


def run(config: Config | None = None, out: str | os.PathLike | None = None, resume: bool = False, *,
        quiet: bool = False, threads: int | None = 1) -> dict:
    """Run ``monge flow``: the particle flow (and the grid), its files, figures and summary in ``out``.

    Under ``torchrun --nproc_per_node K`` (or with ``torch.distributed`` already initialised) the K
    processes share the particles (:mod:`monge.meanfield.distributed`: gloo on the CPU, nccl on
    GPUs) and compute the same flow as one process; the first writes the run folder and returns the
    summary, the others only compute and return an empty dict.

    Parameters
    ----------
    config : Config, optional (default ``Config()``)
    out : path, optional
        The run folder, new or empty (default ``runs/flow-<YYYYmmdd-HHMMSS>``). A failure leaves
        it as it was.
    resume : bool
        Refused: a flow keeps no checkpoint to continue from.
    quiet : bool
        Print nothing.
    threads : int or None
        torch's CPU threads during the run (restored after); ``None`` leaves them.

    Returns
    -------
    dict
        The summary, as written to ``summary.json``.

    Raises
    ------
    InputError
        A setting refused (naming it and its flag), a FILE that holds no samples, a ``dt`` that breaks
        the grid's CFL condition with ``substep=False``.
    FlowDiverged
        The step is too long for the flow (a :class:`monge.errors.Diverged` naming ``--dt``).
    FileExistsError
        ``out`` holds files.
    """
    config = Config() if config is None else config
    runs.refuse_resume(COMMAND, resume)
    with runs.threads(threads), _processes() as (rank, processes):
        if rank > 0:  # the same flow, sharded: no files, no output
            config, problem, _, _ = _prepare(config)
            particle_flow(problem.network, problem.energy, config.t, config.dt, method=config.method,
                          snapshots=config.frames)
            return {}
        out = runs.default_folder(COMMAND) if out is None else Path(out)
        with runs.guarded(out):
            config, problem, grid, rho = _prepare(config)
            seed_everything(config.seed)
            folder = Run.create(COMMAND, config, out, quiet=quiet)
            if processes > 1:
                folder.echo(f"the particles are shared by {processes} processes (torch.distributed)")
            return _simulate(folder, config, problem, grid, rho, processes)


@contextmanager
def _processes():
    """``(rank, processes)`` of the ``torch.distributed`` group this flow runs in: the group ``torchrun``
    describes is joined, and left after; one that the caller initialised is used as it is."""
    import torch.distributed as dist

    joined = not (dist.is_available() and dist.is_initialized()) and distributed.init_from_env()
    if not distributed.active():
        yield 0, 1
        return
    try:
        yield dist.get_rank(), dist.get_world_size()
    finally:
        if joined:
            dist.destroy_process_group()


def _prepare(config: Config):
    """The resolved settings, the problem, and the grid and its initial density (``None`` without a grid)."""
    samples = problems.read_samples(config.example) if config.example not in problems.EXAMPLES else None
    config = resolve(config, samples)
    problem = problems.build(config.example, config.n, config.seed, config.lam, config.scaling, config.unit,
                             config.bad_start, samples)
    if not config.grid:
        return config, problem, None, None
    b = config.grid_box
    grid = Grid((b[0], b[2]), (b[1], b[3]), config.grid_cells)
    try:
        rho = grid.product_law(problem.law)
    except InputError as error:
        raise InputError(f"grid_box (--grid-box): {list(b)}: {error}") from None
    number = cfl_number(rho, grid, problem.energy, config.t / max(1, math.ceil(config.t / config.dt - 1e-9)))
    if not config.substep and number > 0.5:
        raise InputError(f"dt (--dt): {config.dt:g} breaks the grid's CFL condition at t = 0 (dt sum_d max|v_d|/h_d "
                         f"= {number:.3g} > 0.5); take --dt <= {config.dt * 0.5 / number:.3g}, fewer --grid-cells, "
                         "or drop --no-substep")
    return config, problem, grid, rho


def _simulate(run: Run, config: Config, problem, grid: Grid | None = None, rho=None, processes: int = 1) -> dict:
    """Run the particle flow (and the grid), write the files, figures and summary into ``run``; return the summary."""
    start = time.perf_counter()
    net = problem.network
    run.echo(f"Wasserstein gradient flow of {net.n} neurons: {problem.description}")
    run.echo(f"  {config.method} steps of {config.dt:g} to t = {config.t:g}, scaling {config.scaling}, "
             f"lambda = {config.lam:g}")
    result = particle_flow(net, problem.energy, config.t, config.dt, method=config.method, snapshots=config.frames,
                           progress=_progress(run, config.t))
    summary = _particle_summary(result, problem, config, time.perf_counter() - start)
    records = {"t": result.times, "energy": result.energy, "grad_max": result.grad_max,
               "dissipation": result.dissipation}
    grid_result = None
    if grid is not None:
        grid_result, grid_summary = _grid(run, config, problem, grid, rho, result)
        summary.update(grid_summary)
        if len(grid_result.times) == len(result.times):
            records.update(grid_energy=grid_result.energy.numpy(), grid_mass=grid_result.mass.numpy())
    for k in range(len(result.times)):
        run.log(**{name: float(values[k]) for name, values in records.items()})
    save_npy(run.path / "particles.npy", result.network.particles.detach().cpu().numpy())
    save_npy(run.path / "energy.npy", np.stack([result.times, result.energy], 1))
    save_npz(run.path / "snapshots.npz", times=result.snapshot_times, particles=result.snapshots,
             columns=np.array(net.unit.names))
    figures = write_figures(run, problem, result, grid, grid_result)
    summary["seconds"] = time.perf_counter() - start
    summary["processes"] = processes
    summary["figures"] = figures
    summary["files"] = ["config.json", "metrics.jsonl", "summary.json", "particles.npy", "energy.npy", "snapshots.npz",
                        *(["grid.npz"] if grid is not None else []), *figures]
    run.write_summary(summary)
    _report(run, summary)
    return summary


def _progress(run: Run, t_end: float):
    """A ``progress(t, energy)`` that prints the energy at each tenth of the flow."""
    marks = iter(np.linspace(0, t_end, 11)[1:])
    mark = [next(marks)]

    def progress(t, value):
        if t >= mark[0] - 1e-9 * t_end:
            run.echo(f"  t = {t:8.3f}   F = {value:.4e}")
            mark[0] = next(marks, math.inf)

    return progress


def _report(run: Run, summary: dict) -> None:
    if (summary["dissipation_error"] or 0) > 0.05:
        run.echo(f"  warning: F(t) - F(0) misses -int D dt by {summary['dissipation_error']:.0%} of the drop: the "
                 "steps are too long for this flow; try a smaller --dt or --method adaptive")
    run.echo(f"  F: {summary['energy_initial']:.4e} -> {summary['energy_final']:.4e}, max |grad psi| "
             f"{summary['grad_max_final']:.2e}, dissipation identity error {summary['dissipation_error']:.1e}")
    run.echo(f"  {summary['seconds']:.1f} s; wrote {run.path}/ (summary.json, particles.npy, energy.npy, figures/)")


def _particle_summary(result, problem, config: Config, seconds: float) -> dict:
    energy = result.energy
    net = result.network
    return {
        "example": problem.name, "description": problem.description, "unit": repr(net.unit),
        "particle_columns": list(net.unit.names), "n": net.n, "t": config.t, "dt": config.dt,
        "method": config.method, "scaling": config.scaling, "lam": config.lam, "bad_start": config.bad_start,
        "seed": config.seed, "n_steps": result.n_steps,
        "energy_initial": float(energy[0]), "energy_final": float(energy[-1]), "energy_min": float(energy.min()),
        "energy_non_increasing": bool((np.diff(energy) <= 1e-12 * abs(energy[0])).all()),
        "grad_max_final": float(result.grad_max[-1]), "dissipation_final": float(result.dissipation[-1]),
        "dissipation_error": diagnostics.dissipation_error(result) if len(energy) > 1 else None,
        "seconds_flow": seconds,
    }


def _grid(run: Run, config: Config, problem, grid: Grid, rho, result):
    """Solve the grid flow, compare it with the particles, write ``grid.npz``; return (result, summary)."""
    start = time.perf_counter()
    run.echo(f"  grid: {grid.shape[0]}x{grid.shape[1]} cells over {list(zip(grid.low, grid.high))} "
             f"(h = {grid.h[0]:.3g} x {grid.h[1]:.3g}), no-flux walls")
    out = grid_flow(rho, grid, problem.energy, config.t, config.dt, substep=config.substep,
                    snapshots=min(config.frames, 11))
    seconds = time.perf_counter() - start
    snaps = result.snapshots
    w2_initial = grid_wasserstein(snaps[0], out.snapshots[0], grid) if len(snaps) else None
    w2_final = grid_wasserstein(result.network.particles, out.density, grid)
    summary = {
        "grid_cells": list(grid.shape), "grid_box": [list(grid.low), list(grid.high)], "grid_h": list(grid.h),
        "grid_energy_initial": float(out.energy[0]), "grid_energy_final": float(out.energy[-1]),
        "grid_energy_non_increasing": bool((out.energy.diff() <= 0).all()),
        "grid_mass_error": float((out.mass - 1).abs().max()), "grid_rho_min": float(out.rho_min.min()),
        "grid_boundary_mass": float(out.boundary_mass.max()), "grid_cfl_max": float(out.cfl.max()),
        "grid_extra_substeps": out.n_substeps, "grid_w2_initial": w2_initial, "grid_w2_final": w2_final,
        "grid_seconds": seconds,
    }
    save_npz(run.path / "grid.npz", times=out.times.numpy(), energy=out.energy.numpy(), mass=out.mass.numpy(),
             dissipation=out.dissipation.numpy(), snapshot_times=out.snapshot_times.numpy(),
             snapshots=out.snapshots.numpy(), density=out.density.numpy(), edges_0=grid.edges()[0].numpy(),
             edges_1=grid.edges()[1].numpy())
    _grid_report(run, config, summary, out.n_substeps)
    return out, summary


def _grid_report(run: Run, config: Config, summary: dict, substeps: int) -> None:
    if substeps:
        run.echo(f"  grid: --dt {config.dt:g} broke the CFL condition (largest dt sum_d max|v_d|/h_d = "
                 f"{summary['grid_cfl_max']:.3g} > 0.5): {substeps} extra sub-steps kept the density positive")
    w2_initial = summary["grid_w2_initial"]
    run.echo(f"  grid: F {summary['grid_energy_initial']:.4e} -> {summary['grid_energy_final']:.4e}, mass error "
             f"{summary['grid_mass_error']:.1e}, min density {summary['grid_rho_min']:.1e}, W2(particles, grid) "
             f"{w2_initial if w2_initial is not None else float('nan'):.3f} at t = 0, {summary['grid_w2_final']:.3f} "
             f"at t = {config.t:g} ({summary['grid_seconds']:.1f} s)")
    if summary["grid_boundary_mass"] > 1e-3:
        run.echo(f"  grid: warning: {summary['grid_boundary_mass']:.2g} of the mass reached the walls; widen --grid-box")
