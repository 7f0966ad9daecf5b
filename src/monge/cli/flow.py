r"""``monge flow``: a shallow network trained as a Wasserstein gradient flow (chapter 3 of the text).

``monge flow --example rbf`` runs the reference experiment of Rotskoff et al. (2019): N = 200
Gaussian bumps, Euler steps of 0.01 to t = 30, the particles :math:`d\xi_i/dt = -\nabla\psi_\mu(\xi_i)`;
``--grid`` also solves :math:`\partial_t\rho = \nabla\cdot(\rho\nabla\psi_\rho)` for the density of
neurons on a grid from the same initial law (:mod:`monge.meanfield.grid`) and measures the
:math:`W_2` distance between the particles and the density. The run folder holds

- ``particles.npy``: the final particles ``(N, p)``, columns in the unit's parameter order
  (``summary.json``'s ``particle_columns``: ``c, y`` for the bumps, ``omega, theta_1, ...`` for ReLU);
- ``snapshots.npz``: ``times (S,)`` and ``particles (S, N, p)`` along the flow;
- ``energy.npy``: ``(T, 2)`` rows ``(time, energy)``; ``metrics.jsonl``: one line per record
  (``t``, ``energy``, ``grad_max``, ``dissipation`` and, with ``--grid``, ``grid_energy``, ``grid_mass``);
- ``summary.json``: ``energy_initial``, ``energy_final``, ``grad_max_final``, ``dissipation_error``
  (the identity :math:`F(t) - F(0) = -\int_0^t D`), with ``--grid`` the ``grid_*`` figures
  (``grid_w2_final``: :math:`W_2` between particles and density), ``seconds``;
- ``grid.npz`` (with ``--grid``): the grid's records, densities and cell faces;
- ``figures/``: ``fits.png``, ``particles.png``, ``particles.gif``, ``energy.png``, ``grid.png``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from monge.meanfield import diagnostics, distributed, flow as particle_flow
from monge.meanfield.flow import INTEGRATORS
from monge.meanfield.grid import Grid, cfl_number, grid_flow, grid_wasserstein
from monge.meanfield.network import SCALINGS
from monge.runs import Run, save_npy, save_npz, seed_everything

from . import _flow_problems as problems
from ._flow_figures import write_figures

COMMAND = "flow"


@dataclass
class FlowConfig:
    """Settings of ``monge flow`` (written to ``config.json``, resolved)."""

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
    grid_cells: list[int] | None = None
    grid_box: list[float] | None = None
    substep: bool = True
    frames: int = 61
    threads: int = 1
    seed: int = 0
    out: str | None = None


def register(subparsers) -> None:
    """Add the ``flow`` subcommand."""
    parser = subparsers.add_parser(
        COMMAND, help="train a shallow network as a Wasserstein gradient flow of its neurons (particles, grid)",
        description="Chapter 3: the neurons xi_i of a one-hidden-layer network move by d xi_i/dt = -grad psi_mu(xi_i), "
                    "the Wasserstein gradient flow of F(mu) = 1/2 int (f - f_mu)^2 + int V dmu. The run folder gets "
                    "particles.npy (final particles (N, p), columns in the unit's parameter order: c, y for bumps; "
                    "omega, theta_1, ..., theta_b for ReLU), energy.npy ((T, 2): time, energy), snapshots.npz, "
                    "metrics.jsonl, summary.json and figures/ (fits, particles with trajectories and a GIF, energy and "
                    "dissipation, particles over the grid density).",
        epilog="FILE: a .npy array or .csv table (optional header) of rows (x, f(x)), samples of a target on the "
               "interval [min x, max x]; the energy is the mean over the samples. --unit bump (default; "
               "c N(x; y, s) with s = ((max x - min x) / 10)^2) or relu (omega max(theta_1 x + theta_b, 0)). "
               "--grid needs 2 parameters per neuron (rbf, or a FILE with bumps): a density on a grid of cells "
               "with no-flux walls (the box must hold the neurons; summary.json's grid_boundary_mass says how much "
               "mass reached the walls).")
    default = FlowConfig()
    parser.add_argument("--example", default=default.example, metavar="NAME|FILE",
                        help=f"{' | '.join(problems.EXAMPLES)} | a .npy/.csv file of samples (x, f(x)) "
                             f"(default {default.example})")
    parser.add_argument("--n", "--particles", dest="n", default=str(default.n), metavar="N",
                        help=f"particles (default {default.n}; under torchrun write --particles: torchrun takes --n for its own)")
    parser.add_argument("--t", default=str(default.t), metavar="T", help=f"final time (default {default.t:g})")
    parser.add_argument("--dt", default=None, metavar="DT",
                        help="time step (default 0.01; 0.05 for relu-teacher); the first step for --method adaptive")
    parser.add_argument("--method", default=default.method, metavar="NAME",
                        help=f"{' | '.join(INTEGRATORS)} (default {default.method})")
    parser.add_argument("--lam", default=str(default.lam), metavar="LAMBDA",
                        help="weight lambda >= 0 of the potential V = lambda/2 |xi|^2 (default 0)")
    parser.add_argument("--scaling", default=default.scaling, metavar="NAME",
                        help=f"{' | '.join(SCALINGS)}: output weights 1/N or 1/sqrt(N) (default {default.scaling})")
    parser.add_argument("--unit", default=None, metavar="NAME",
                        help=f"FILE only: {' | '.join(problems.UNITS)} (default bump)")
    parser.add_argument("--bad-start", action="store_true",
                        help="rbf only: every bump starts at y ~ -2 + 0.1 N(0, 1) (the flow stalls)")
    parser.add_argument("--frames", default=str(default.frames), metavar="N",
                        help=f"particle snapshots along the flow, 0 and t included: the GIF's frames and the "
                             f"trajectories (default {default.frames})")
    parser.add_argument("--threads", default="1", metavar="N",
                        help="CPU threads of torch (default 1: a flow's steps are small; on a busy machine two "
                             "threads made the grid 28x slower)")
    grid = parser.add_argument_group("grid (the Eulerian solver)")
    grid.add_argument("--grid", action="store_true", help="also solve the flow of the density on a grid")
    grid.add_argument("--grid-cells", default=None, metavar="NCxNY",
                      help=f"cells per parameter (default {problems.CELLS[0]}x{problems.CELLS[1]})")
    grid.add_argument("--grid-box", default=None, metavar="LO0,HI0,LO1,HI1",
                      help="the box over the two parameters (default rbf: -8,8,-4,4; FILE: c in [-8, 8], "
                           "y on the interval widened by half its length on each side)")
    grid.add_argument("--no-substep", action="store_true",
                      help="refuse a --dt that breaks the grid's CFL condition (dt sum_d max|v_d|/h_d <= 1/2) "
                           "instead of splitting its steps")
    parser.set_defaults(func=run)


def _parse(text, name: str, kind, low: float, strict: bool, what: str):
    try:
        value = kind(str(text).strip())
    except ValueError:
        raise ValueError(f"{name}: {text!r}; expected {what}") from None
    if not math.isfinite(value) or value < low or (strict and value == low):
        raise ValueError(f"{name}: {value:g}; expected {what}")
    return value


def _cells(text: str) -> list[int]:
    parts = str(text).lower().split("x")
    try:
        cells = [int(p) for p in parts]
    except ValueError:
        cells = []
    if len(cells) != 2 or min(cells) < 2:
        raise ValueError(f"--grid-cells: {text!r}; expected two integers >= 2 as NCxNY, e.g. 160x80")
    return cells


def _box(text: str) -> list[float]:
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(map(math.isfinite, values)) or values[0] >= values[1] or values[2] >= values[3]:
        raise ValueError(f"--grid-box: {text!r}; expected LO0,HI0,LO1,HI1 with LO < HI, e.g. -8,8,-4,4")
    return values


def resolve(args) -> FlowConfig:
    """Check every option and return the resolved settings; one-line errors name the option."""
    example = args.example
    if example not in problems.EXAMPLES and not problems.is_file(example):
        raise ValueError(f"--example: {example!r} is neither an example ({', '.join(problems.EXAMPLES)}) nor a "
                         ".npy/.csv file of samples (x, f(x))")
    is_file = example not in problems.EXAMPLES
    if args.method not in INTEGRATORS:
        raise ValueError(f"--method: {args.method!r}; expected one of {', '.join(INTEGRATORS)}")
    if args.scaling not in SCALINGS:
        raise ValueError(f"--scaling: {args.scaling!r}; expected one of {', '.join(SCALINGS)}")
    if args.unit is not None and not is_file:
        raise ValueError(f"--unit: only for a FILE example; {example} has its own unit")
    unit = (args.unit or "bump") if is_file else None
    if unit is not None and unit not in problems.UNITS:
        raise ValueError(f"--unit: {unit!r}; expected one of {', '.join(problems.UNITS)}")
    if args.bad_start and example != "rbf":
        raise ValueError("--bad-start: only for --example rbf")
    dt = problems.DT["file" if is_file else example] if args.dt is None else \
        _parse(args.dt, "--dt", float, 0.0, True, "a positive time step")
    config = FlowConfig(example=example, n=_parse(args.n, "--n", int, 1, False, "a positive integer number of particles"),
                        t=_parse(args.t, "--t", float, 0.0, True, "a positive final time"), dt=dt, method=args.method,
                        lam=_parse(args.lam, "--lam", float, 0.0, False, "a number lambda >= 0"),
                        scaling=args.scaling, unit=unit, bad_start=args.bad_start, grid=args.grid,
                        substep=not args.no_substep, seed=args.seed, out=args.out,
                        threads=_parse(args.threads, "--threads", int, 1, False, "a positive integer"),
                        frames=_parse(args.frames, "--frames", int, 2, False, "an integer >= 2"))
    if not args.grid and (args.grid_cells or args.grid_box or args.no_substep):
        raise ValueError("--grid-cells, --grid-box and --no-substep set up the grid solver; add --grid")
    if args.grid:
        if example == "relu-teacher" or unit == "relu":
            raise ValueError(f"--grid: the grid solver follows neurons with 2 parameters; {example} "
                             f"{'with --unit relu ' if unit == 'relu' else ''}has 3 per neuron (use rbf or a FILE "
                             "with --unit bump)")
        if config.scaling != "mean-field":
            raise ValueError("--grid: a density of neurons has no N; expected --scaling mean-field")
        config.grid_cells = _cells(args.grid_cells) if args.grid_cells else list(problems.CELLS)
        config.grid_box = _box(args.grid_box) if args.grid_box else None
    return config


def run(args) -> int:
    """Run ``monge flow`` from parsed arguments: check every input, then write the run folder.

    Under ``torchrun --nproc_per_node K -m monge flow ...`` the K processes share the particles
    (:mod:`monge.meanfield.distributed`: gloo on the CPU, nccl on GPUs) and compute the same flow as
    one process; the first process writes the run folder, the others only compute.
    """
    config = resolve(args)
    torch.set_num_threads(config.threads)
    if distributed.init_from_env():
        import torch.distributed as dist

        try:
            rank, size = dist.get_rank(), dist.get_world_size()
            _run(args, config, rank, size)
        finally:
            dist.destroy_process_group()
        return 0
    _run(args, config, 0, 1)
    return 0


def _run(args, config: FlowConfig, rank: int, processes: int) -> None:
    """The flow of one process among ``processes`` (rank 0 writes the run folder)."""
    problem = problems.build(config.example, config.n, config.seed, config.lam, config.scaling, config.unit,
                             config.bad_start)
    grid = rho = None
    if config.grid:
        if config.grid_box is None:
            (l0, l1), (h0, h1) = problem.box
            config.grid_box = [l0, h0, l1, h1]
        b = config.grid_box
        grid = Grid((b[0], b[2]), (b[1], b[3]), tuple(config.grid_cells))
        rho = grid.product_law(problem.law)
        number = cfl_number(rho, grid, problem.energy, config.t / max(1, math.ceil(config.t / config.dt - 1e-9)))
        if not config.substep and number > 0.5:
            raise ValueError(f"--dt: {config.dt:g} breaks the grid's CFL condition at t = 0 (dt sum_d max|v_d|/h_d = "
                             f"{number:.3g} > 0.5); take --dt <= {config.dt * 0.5 / number:.3g}, fewer --grid-cells, "
                             "or drop --no-substep")
    seed_everything(config.seed)
    if rank == 0:
        folder = Run.create(COMMAND, config, config.out, quiet=args.quiet)
        if processes > 1:
            folder.echo(f"the particles are shared by {processes} processes (torch.distributed)")
        simulate(folder, config, problem, grid, rho, processes)
    else:  # the same flow, sharded: no files, no output
        particle_flow(problem.network, problem.energy, config.t, config.dt, method=config.method,
                      snapshots=config.frames)


def simulate(run: Run, config: FlowConfig, problem, grid: Grid | None = None, rho=None, processes: int = 1) -> dict:
    """Run the particle flow (and the grid), write the files, figures and summary into ``run``; return the summary."""
    start = time.perf_counter()
    net, energy = problem.network, problem.energy
    run.echo(f"Wasserstein gradient flow of {net.n} neurons: {problem.description}")
    run.echo(f"  {config.method} steps of {config.dt:g} to t = {config.t:g}, scaling {config.scaling}, "
             f"lambda = {config.lam:g}")
    marks = iter(np.linspace(0, config.t, 11)[1:])
    mark = [next(marks)]

    def progress(t, value):
        if t >= mark[0] - 1e-9 * config.t:
            run.echo(f"  t = {t:8.3f}   F = {value:.4e}")
            mark[0] = next(marks, math.inf)

    result = particle_flow(net, energy, config.t, config.dt, method=config.method, snapshots=config.frames,
                           progress=progress)
    seconds_flow = time.perf_counter() - start
    summary = _particle_summary(result, problem, config, seconds_flow)
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
    if (summary["dissipation_error"] or 0) > 0.05:
        run.echo(f"  warning: F(t) - F(0) misses -int D dt by {summary['dissipation_error']:.0%} of the drop: the "
                 "steps are too long for this flow; try a smaller --dt or --method adaptive")
    run.echo(f"  F: {summary['energy_initial']:.4e} -> {summary['energy_final']:.4e}, max |grad psi| "
             f"{summary['grad_max_final']:.2e}, dissipation identity error {summary['dissipation_error']:.1e}")
    run.echo(f"  {summary['seconds']:.1f} s; wrote {run.path}/ (summary.json, particles.npy, energy.npy, figures/)")
    return summary


def _particle_summary(result, problem, config: FlowConfig, seconds: float) -> dict:
    energy = result.energy
    net = result.network
    summary = {
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
    return summary


def _grid(run: Run, config: FlowConfig, problem, grid: Grid, rho, result):
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
    if out.n_substeps:
        run.echo(f"  grid: --dt {config.dt:g} broke the CFL condition (largest dt sum_d max|v_d|/h_d = "
                 f"{summary['grid_cfl_max']:.3g} > 0.5): {out.n_substeps} extra sub-steps kept the density positive")
    run.echo(f"  grid: F {summary['grid_energy_initial']:.4e} -> {summary['grid_energy_final']:.4e}, mass error "
             f"{summary['grid_mass_error']:.1e}, min density {summary['grid_rho_min']:.1e}, W2(particles, grid) "
             f"{w2_initial if w2_initial is not None else float('nan'):.3f} at t = 0, {w2_final:.3f} at t = {config.t:g} "
             f"({seconds:.1f} s)")
    if summary["grid_boundary_mass"] > 1e-3:
        run.echo(f"  grid: warning: {summary['grid_boundary_mass']:.2g} of the mass reached the walls; widen --grid-box")
    return out, summary
