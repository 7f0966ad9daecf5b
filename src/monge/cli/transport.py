r"""``monge transport``: Monge's problem of the text, and optimal transport between the user's files.

``monge transport --example monge6`` rebuilds Figure 2.2 (sections 2.2-2.4): six points x and six
points z, the text's non-optimal permutation (1, 5, 4, 6, 3, 2), the optimum among all 720
permutations by brute force, checked against every exact solver and Kantorovich's programme, and
Monge's remark that the optimal paths do not cross.

``monge transport A B`` transports the points of file A onto those of file B (``.npy`` or ``.csv``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from monge import transport
from monge.data.files import load_points, load_weights
from monge.geometry import crossings
from monge.plots.transport import euclidean_distance, figure_2_2, one_based, plot_plan
from monge.runs import Run, save_npy, save_npz, seed_everything


EXAMPLES = ("monge6",)
METHODS = ("auto", "exact", "matching", "kantorovich", "lsa", "lapjv", "network_simplex", "auction", "sliced")
MATCHING_METHODS = ("lsa", "lapjv", "network_simplex", "auction")
# The text's permutations of section 2.3, 1-based as printed.
TEXT_PERMUTATION = (1, 5, 4, 6, 3, 2)
TEXT_OPTIMUM = (4, 3, 5, 1, 6, 2)
# Exact solvers must agree with brute force to this relative precision (float64 throughout).
AGREEMENT = 1e-9
# Least distance between two of the example's twelve points, in the unit square.
MIN_SEPARATION = 0.15


@dataclass
class TransportConfig:
    """Settings of ``monge transport`` (written to ``config.json``)."""

    a: str | None = None
    b: str | None = None
    example: str | None = None
    p: float | None = None
    weights_a: str | None = None
    weights_b: str | None = None
    method: str | None = None
    n_directions: int = 128
    seed: int = 0
    out: str | None = None


def register(subparsers) -> None:
    """Add the ``transport`` subcommand."""
    parser = subparsers.add_parser(
        "transport", help="optimal transport: the text's Figure 2.2, or between two files of points",
        description="Monge's optimal transport. '--example monge6' rebuilds Figure 2.2 of the text; "
                    "'A B' transports the points of file A onto those of file B (.npy or .csv; rows are "
                    "points, a 1-D array means points on the line).")
    parser.add_argument("a", nargs="?", metavar="A", help="points x: .npy or .csv file, (n, d) or (n,)")
    parser.add_argument("b", nargs="?", metavar="B", help="points z: .npy or .csv file, (m, d) or (m,)")
    parser.add_argument("--example", choices=EXAMPLES, help="run a worked example of the text instead of files")
    parser.add_argument("--p", type=float, default=None, help="exponent of the cost |x - z|^p (default 2; "
                                                              "the example uses the text's p = 1)")
    parser.add_argument("--weights-a", metavar="FILE", help="weights of the points of A (1-D .npy or .csv)")
    parser.add_argument("--weights-b", metavar="FILE", help="weights of the points of B (1-D .npy or .csv)")
    parser.add_argument("--method", choices=METHODS, default=None,
                        help="solver (default auto: an exact matching for equal sizes without weights, "
                             "else Kantorovich's linear programme)")
    parser.add_argument("--n-directions", type=int, default=128, metavar="L", help="random directions of --method sliced (default 128)")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Run ``monge transport`` from parsed arguments."""
    config = TransportConfig(**{name: getattr(args, name) for name in TransportConfig.__dataclass_fields__})
    if config.example is not None:
        return _run_example(config, args.quiet)
    return _run_files(config, args.quiet)


def _run_example(config: TransportConfig, quiet: bool) -> int:
    if config.a is not None or config.b is not None:
        raise ValueError("A, B: give either two point files or --example, not both")
    if config.p is not None and config.p != 1.0:
        raise ValueError(f"--p: {config.p:g}; the {config.example} example uses the text's Euclidean cost, p = 1")
    if config.method is not None or config.weights_a or config.weights_b:
        raise ValueError("--method, --weights-a, --weights-b: not used by --example (it runs every exact solver)")
    config.p = 1.0
    seed_everything(config.seed)
    folder = Run.create("transport", config, config.out, quiet=quiet)
    _report_example(folder, monge6(folder, config.seed))
    return 0


def _run_files(config: TransportConfig, quiet: bool) -> int:
    if config.a is None or config.b is None:
        raise ValueError("A, B: expected two point files (monge transport A B), or --example monge6")
    config.p = 2.0 if config.p is None else config.p
    config.method = config.method or "auto"
    sliced = config.method == "sliced"
    if not (math.isfinite(config.p) and (config.p >= 1 if sliced else config.p > 0)):
        expected = "p >= 1 (sliced transport sorts, which is optimal for convex costs)" if sliced else "p > 0"
        raise ValueError(f"--p: {config.p:g}; expected a finite exponent {expected}")
    seed_everything(config.seed)
    x, z = load_points(config.a, "A"), load_points(config.b, "B")
    if x.shape[1] != z.shape[1]:
        raise ValueError(f"B: points of dimension {z.shape[1]} in {config.b} but A's are of dimension "
                         f"{x.shape[1]}; expected the same dimension")
    a = load_weights(config.weights_a, "--weights-a", len(x), config.a)
    b = load_weights(config.weights_b, "--weights-b", len(z), config.b)
    a, b = _complete_weights(a, b, len(x), len(z))
    _check_method(config, len(x), len(z), weighted=a is not None)
    folder = Run.create("transport", config, config.out, quiet=quiet)  # only once the input is known good
    transport_files(folder, x, z, a, b, config)
    return 0


def monge6(run: Run, seed: int) -> dict:
    """Figure 2.2 of the text: write its figure, points and summary into ``run``; return the summary.

    Six points x and six points z are drawn uniformly in the unit square (seeded), apart enough
    to be told apart in the figure (see :func:`spread_points`). The text's
    permutation (1, 5, 4, 6, 3, 2) is compared with the optimum of all 6! = 720 permutations
    (brute force), which every exact matching solver and Kantorovich's linear programme must
    reproduce: the Distance of section 2.3 is ``n * cost`` of the :class:`OTResult`.
    """
    points = spread_points(12, np.random.default_rng(seed))
    x_np, z_np = points[:6], points[6:]
    x, z = torch.from_numpy(x_np), torch.from_numpy(z_np)
    n = len(x_np)
    text = np.array(TEXT_PERMUTATION) - 1
    best = transport.brute_force(x, z, p=1.0)
    optimal = best.permutation.numpy()
    distances = {"brute_force": float(best.distance)}
    for method in MATCHING_METHODS:
        distances[method] = float(transport.matching(x, z, p=1.0, method=method).distance)
    distances["kantorovich"] = n * float(transport.kantorovich(x, z, p=1.0).cost)
    for name, distance in distances.items():
        run.log(solver=name, distance=distance, cost=distance / n)
    reference = distances["brute_force"]
    disagreement = max(abs(d - reference) for d in distances.values()) / max(reference, 1e-300)
    summary = {
        "example": "monge6",
        "n": n,
        "p": 1.0,
        "text_permutation": list(TEXT_PERMUTATION),
        "distance_text_permutation": euclidean_distance(x_np, z_np, text),
        "optimal_permutation": [int(s) + 1 for s in optimal],
        "distance_optimal": reference,
        "n_permutations": math.factorial(n),
        "crossings_optimal": crossings(x_np, z_np, optimal),
        "crossings_text": crossings(x_np, z_np, text),
        "distances": distances,
        "costs": {name: d / n for name, d in distances.items()},
        "relative_disagreement": disagreement,
        "solvers_agree": disagreement <= AGREEMENT,
        "optimum_is_text_optimum": tuple(int(s) + 1 for s in optimal) == TEXT_OPTIMUM,
        "note": "Distance = sum of the n Euclidean path lengths = n * cost (cost = W_1 of the uniform measures); "
                "1-based permutations as in the text; the points are random, so the optimum need not be the "
                "text's (4, 3, 5, 1, 6, 2), which belongs to the text's own points",
    }
    save_npz(run.path / "points.npz", x=x_np, z=z_np)
    figure = figure_2_2(x_np, z_np, text, optimal)
    run.save_figure(figure, "figure_2_2.png", dpi=130)
    summary["figure"] = "figures/figure_2_2.png"
    run.write_summary(summary)
    if not summary["solvers_agree"]:
        raise RuntimeError(f"monge6: exact solvers disagree with brute force by {disagreement:.3g} "
                           f"(relative; tolerance {AGREEMENT:g}): {distances}")
    return summary


def spread_points(k: int, rng: np.random.Generator, min_distance: float = MIN_SEPARATION) -> np.ndarray:
    """``k`` points uniform in the unit square, each at least ``min_distance`` from the previous ones.

    A point drawn too close to an earlier one is drawn again, so that no two markers or labels of
    the figure sit on top of each other.
    """
    points: list[np.ndarray] = []
    while len(points) < k:
        candidate = rng.uniform(size=2)
        if all(np.hypot(*(candidate - q)) >= min_distance for q in points):
            points.append(candidate)
    return np.array(points)


def _report_example(run: Run, s: dict) -> None:
    run.echo(f"Monge's problem, n = {s['n']} points in the plane, Euclidean cost (Figure 2.2 of the text)")
    run.echo(f"  text's permutation s  = {one_based(np.array(s['text_permutation']) - 1)}  "
             f"Distance = {s['distance_text_permutation']:.6f}  ({s['crossings_text']} crossings)")
    run.echo(f"  optimal permutation s* = {one_based(np.array(s['optimal_permutation']) - 1)}  "
             f"Distance = {s['distance_optimal']:.6f}  ({s['crossings_optimal']} crossings), "
             f"best of {s['n_permutations']} by brute force")
    run.echo(f"  n * cost = Distance for lsa, lapjv, network simplex, auction and Kantorovich "
             f"(largest relative difference {s['relative_disagreement']:.1e})")
    run.echo(f"  wrote {run.path}/ (summary.json, metrics.jsonl, points.npz, {s['figure']})")


def _complete_weights(a, b, n: int, m: int):
    """A missing weight vector is uniform with the total mass of the other one."""
    if a is None and b is None:
        return None, None
    if a is None:
        a = np.full(n, b.sum() / n)
    if b is None:
        b = np.full(m, a.sum() / m)
    if not math.isclose(a.sum(), b.sum(), rel_tol=1e-9):
        raise ValueError(f"--weights-b: weights sum to {b.sum():.10g} but --weights-a sum to {a.sum():.10g}; "
                         "expected equal total masses (normalise both files to sum to 1)")
    return a, b


def _kind(method: str, n: int, m: int, weighted: bool) -> str:
    """What ``--method`` solves: a matching (equal sizes, no weights), Kantorovich's programme, or sliced."""
    if method in ("sliced", "kantorovich"):
        return method
    if n == m and not weighted:
        return "matching"
    return "kantorovich" if method in ("auto", "exact", "network_simplex") else "impossible"


def _check_method(config: TransportConfig, n: int, m: int, weighted: bool) -> None:
    """Refuse a method the data cannot use, before anything is written."""
    if _kind(config.method, n, m, weighted) == "impossible":
        raise ValueError(f"--method {config.method}: a matching needs equal numbers of points and no weights, "
                         f"found n = {n}, m = {m}{', weights' if weighted else ''}; use --method kantorovich")
    if config.method == "sliced" and (isinstance(config.n_directions, bool) or config.n_directions < 1):
        raise ValueError(f"--n-directions: {config.n_directions}; expected a positive number of directions")


def _solve(x: torch.Tensor, z: torch.Tensor, a, b, config: TransportConfig) -> tuple[transport.OTResult, str]:
    """Run the solver that ``--method`` names; return the result and its kind."""
    method, p = config.method, config.p
    kind = _kind(method, len(x), len(z), weighted=a is not None)
    if kind == "sliced":
        return transport.sliced(x, z, a, b, p, n_directions=config.n_directions, seed=config.seed), kind
    if kind == "kantorovich":
        return transport.kantorovich(x, z, a, b, p), kind
    return transport.matching(x, z, p, method="auto" if method in ("auto", "exact", "matching") else method), kind


def transport_files(run: Run, x: np.ndarray, z: np.ndarray, a, b, config: TransportConfig) -> dict:
    """Solve the transport between loaded point clouds and write the run folder; return the summary."""
    xt, zt = torch.from_numpy(x), torch.from_numpy(z)
    at = None if a is None else torch.from_numpy(a)
    bt = None if b is None else torch.from_numpy(b)
    start = time.perf_counter()
    result, kind = _solve(xt, zt, at, bt, config)
    seconds = time.perf_counter() - start
    cost = float(result.cost)
    n, m, d = len(x), len(z), x.shape[1]
    summary = {"A": config.a, "B": config.b, "weights_a": config.weights_a, "weights_b": config.weights_b,
               "n": n, "m": m, "d": d, "p": config.p, "method": config.method, "kind": kind,
               "solver": result.method, "cost": cost, "wasserstein": cost ** (1.0 / config.p),
               "seconds": seconds, "files": ["config.json", "metrics.jsonl", "summary.json"]}
    run.log(step="solve", kind=kind, solver=result.method, cost=cost, seconds=seconds)
    rows = cols = mass = None
    if kind == "matching":
        perm = result.permutation.numpy()
        rows, cols, mass = np.arange(n), perm, np.full(n, 1.0 / n)
        summary["distance"] = float(result.distance)
        summary["distance_note"] = "sum of the n costs |x_i - z_s(i)|^p, the text's Distance (section 2.3): n * cost"
        save_npy(run.path / "permutation.npy", perm)
        summary["files"].append("permutation.npy")
    elif kind == "kantorovich":
        plan = result.plan.numpy()
        rows, cols = np.nonzero(plan)
        mass = plan[rows, cols]
        summary["duality_gap"] = result.duality_gap
    else:
        summary["note"] = (f"sliced transport over {config.n_directions} random directions: cost is SW_p^p and "
                           "wasserstein SW_p, a lower bound of W_p; no plan")
    if rows is not None:
        save_npz(run.path / "plan.npz", rows=rows.astype(np.int64), cols=cols.astype(np.int64), mass=mass)
        summary["plan_entries"] = int(len(mass))
        summary["files"].append("plan.npz")
    if d == 2:
        power = f"{config.p:g}"
        name = "SW" if kind == "sliced" else "W"
        title = f"{kind} ({result.method}), p = {power}: ${name}_{{{power}}}^{{{power}}}$ = {cost:.4g}"
        run.save_figure(plot_plan(x, z, rows, cols, mass, seed=config.seed, title=title), "matching.png")
        summary["files"].append("figures/matching.png")
    run.write_summary(summary)
    run.echo(f"transport of {n} onto {m} points in dimension {d}, p = {config.p:g}: {kind} ({result.method}), "
             f"{seconds:.3f} s")
    label = "SW_p" if kind == "sliced" else "W_p"
    run.echo(f"  cost {label}^p = {cost:.6g}   {label} = {summary['wasserstein']:.6g}")
    if kind == "matching":
        run.echo(f"  Distance (sum of the {n} costs, section 2.3) = n * cost = {summary['distance']:.6g}")
    run.echo(f"  wrote {run.path}/ ({', '.join(summary['files'])})")
    return summary
