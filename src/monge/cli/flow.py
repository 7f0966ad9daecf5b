"""``monge flow``: the flags of :mod:`monge.experiments.flow` (a shallow network as a Wasserstein gradient flow).

Under ``torchrun --nproc_per_node K -m monge flow ...`` the K processes share the particles and
compute the same flow as one process; the first writes the run folder.
"""

from __future__ import annotations

from monge import settings
from monge.experiments import flow as experiment
from monge.experiments._flow_problems import CELLS, EXAMPLES, UNITS
from monge.meanfield.flow import INTEGRATORS
from monge.meanfield.network import SCALINGS

#: The flags holding numbers, and their type.
NUMBERS = {"n": int, "t": float, "dt": float, "lam": float, "frames": int}


def register(subparsers) -> None:
    """Add the ``flow`` subcommand."""
    parser = subparsers.add_parser(
        experiment.COMMAND,
        help="train a shallow network as a Wasserstein gradient flow of its neurons (particles, grid)",
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
    default = experiment.Config()
    parser.add_argument("--example", default=default.example, metavar="NAME|FILE",
                        help=f"{' | '.join(EXAMPLES)} | a .npy/.csv file of samples (x, f(x)) (default {default.example})")
    parser.add_argument("--n", "--particles", dest="n", metavar="N",
                        help=f"particles (default {default.n}; under torchrun write --particles: torchrun takes --n for its own)")
    parser.add_argument("--t", metavar="T", help=f"final time (default {default.t:g})")
    parser.add_argument("--dt", metavar="DT",
                        help="time step (default 0.01; 0.05 for relu-teacher); the first step for --method adaptive")
    parser.add_argument("--method", default=default.method, metavar="NAME",
                        help=f"{' | '.join(INTEGRATORS)} (default {default.method})")
    parser.add_argument("--lam", metavar="LAMBDA", help="weight lambda >= 0 of the potential V = lambda/2 |xi|^2 (default 0)")
    parser.add_argument("--scaling", default=default.scaling, metavar="NAME",
                        help=f"{' | '.join(SCALINGS)}: output weights 1/N or 1/sqrt(N) (default {default.scaling})")
    parser.add_argument("--unit", metavar="NAME", help=f"FILE only: {' | '.join(UNITS)} (default bump)")
    parser.add_argument("--bad-start", action="store_true",
                        help="rbf only: every bump starts at y ~ -2 + 0.1 N(0, 1) (the flow stalls)")
    parser.add_argument("--frames", metavar="N",
                        help=f"particle snapshots along the flow, 0 and t included: the GIF's frames and the "
                             f"trajectories (default {default.frames})")
    parser.add_argument("--threads", default="1", metavar="N",
                        help="CPU threads of torch (default 1: a flow's steps are small; on a busy machine two "
                             "threads made the grid 28x slower)")
    grid = parser.add_argument_group("grid (the Eulerian solver)")
    grid.add_argument("--grid", action="store_true", help="also solve the flow of the density on a grid")
    grid.add_argument("--grid-cells", metavar="NCxNY", help=f"cells per parameter (default {CELLS[0]}x{CELLS[1]})")
    grid.add_argument("--grid-box", metavar="LO0,HI0,LO1,HI1",
                      help="the box over the two parameters (default rbf: -8,8,-4,4; FILE: c in [-8, 8], "
                           "y on the interval widened by half its length on each side)")
    grid.add_argument("--no-substep", action="store_true",
                      help="refuse a --dt that breaks the grid's CFL condition (dt sum_d max|v_d|/h_d <= 1/2) "
                           "instead of splitting its steps")
    parser.set_defaults(func=run)


def _numbers(text: str | None, name: str, sep: str, kind: type, count: int, example: str):
    """``count`` numbers separated by ``sep`` (``None`` when the flag is not given), e.g. ``160x80``."""
    if text is None:
        return None
    try:
        values = tuple(kind(part) for part in str(text).lower().split(sep))
    except ValueError:
        values = ()
    if len(values) != count:
        raise settings.refuse(name, text, f"{count} {'integers' if kind is int else 'numbers'} as {example}")
    return values


def run(args) -> int:
    """Run ``monge flow`` from parsed arguments: the flags become a :class:`~monge.experiments.flow.Config`."""
    given = {name: settings.parse(getattr(args, name), name, kind) for name, kind in NUMBERS.items()}
    given.update(example=args.example, method=args.method, scaling=args.scaling, unit=args.unit,
                 bad_start=args.bad_start, grid=args.grid, substep=not args.no_substep, seed=args.seed,
                 grid_cells=_numbers(args.grid_cells, "grid_cells", "x", int, 2, "NCxNY, e.g. 160x80"),
                 grid_box=_numbers(args.grid_box, "grid_box", ",", float, 4, "LO0,HI0,LO1,HI1 with LO < HI, e.g. "
                                   "-8,8,-4,4"))
    config = experiment.Config(**{name: value for name, value in given.items() if value is not None})
    experiment.run(config, args.out, quiet=args.quiet, threads=settings.parse(args.threads, "threads", int))
    return 0
