r"""``monge transport`` as a library function: Monge's problem of the text, or transport between files.

With ``Config(example="monge6")`` it rebuilds Figure 2.2 (sections 2.2-2.4): six points x and six
points z, the text's non-optimal permutation (1, 5, 4, 6, 3, 2), the optimum among all 720
permutations by brute force, checked against every exact solver and Kantorovich's programme, and
Monge's remark that the optimal paths do not cross. With ``Config(a=A, b=B)`` it transports the
points of file A onto those of file B (``.npy`` or ``.csv``; rows are points, a 1-D array means
points on the line), with optional weights, by the solver ``method`` names. The run folder gets
``config.json``, ``metrics.jsonl``, ``summary.json`` and, for the example, ``points.npz`` and
``figures/figure_2_2.png``; for files, ``plan.npz`` (rows, cols, mass of the plan's non-zero
entries), ``permutation.npy`` for a matching, and ``figures/matching.png`` for points of the plane (at
most 3000 segments drawn: a seeded sample of larger plans, as its title says). Every output of a
matching is O(n), and the sparse solver (``method="sparse"``, or ``"auto"`` for large clouds with
p = 2 in low dimension) never forms an n x n matrix: files of tens of thousands of points go through.

Examples
--------
>>> import tempfile
>>> from monge.experiments import transport
>>> summary = transport.run(transport.Config(example="monge6"), tempfile.mkdtemp() + "/monge6", quiet=True)
>>> summary["n_permutations"], summary["solvers_agree"], summary["crossings_optimal"]
(720, True, 0)
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from monge import runs, settings, transport
from monge.data.files import load_points, load_weights
from monge.errors import InputError, InputTypeError
from monge.geometry import crossings
from monge.plots.transport import euclidean_distance, figure_2_2, one_based, plot_plan
from monge.runs import Run, save_npy, save_npz, seed_everything
from monge.transport.costs import check_cost_range

__all__ = ["COMMAND", "Config", "EXAMPLES", "METHODS", "monge6", "resolve", "run", "spread_points"]

COMMAND = "transport"
EXAMPLES = ("monge6",)
METHODS = ("auto", "exact", "matching", "kantorovich", "lsa", "lapjv", "network_simplex", "auction", "sparse",
           "sliced")
# The exact solvers that the monge6 example checks against brute force.
MATCHING_METHODS = ("lsa", "lapjv", "network_simplex", "auction")
# The text's permutations of section 2.3, 1-based as printed.
TEXT_PERMUTATION = (1, 5, 4, 6, 3, 2)
TEXT_OPTIMUM = (4, 3, 5, 1, 6, 2)
# Exact solvers must agree with brute force to this relative precision (float64 throughout).
AGREEMENT = 1e-9
# Least distance between two of the example's twelve points, in the unit square.
MIN_SEPARATION = 0.15
# The point files are positional arguments of the command: named as A and B, not as flags.
_FILES = {"a": "A", "b": "B"}


def _path(name: str, value) -> str | None:
    """A file setting as a string (a ``Path`` is accepted), or ``None``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    argument = _FILES.get(name) or settings.flag(name)  # A and B are positional: no flag
    raise InputTypeError(f"{name} ({argument}): {value!r}; expected a file name (str or path)")


@dataclass(frozen=True)
class Config:
    """Settings of ``monge transport``, named as its flags; ``None`` takes the default (:func:`resolve`).

    Parameters
    ----------
    a, b : str, optional
        The files of the points x and z (the command's A and B): ``.npy`` or ``.csv``, ``(n, d)`` or
        ``(n,)``. Give both, or ``example``.
    example : str, optional
        A worked example of the text instead of files: ``"monge6"`` (Figure 2.2).
    p : float, optional
        The exponent of the cost ``|x - z|^p``: default 2 for files (at least 1 for ``sliced``);
        the example uses the text's p = 1.
    weights_a, weights_b : str, optional
        Files of the weights of the points of A and B (1-D); a missing one is uniform, with the
        other's total mass.
    method : str, optional
        The solver for files (default ``"auto"``: an exact matching for equal sizes without
        weights, else Kantorovich's linear programme); one of :data:`METHODS`. ``"auto"``,
        ``"exact"`` and ``"matching"`` take the solver of :func:`monge.transport.matching`'s
        ``"auto"``: from 2000 points in dimension <= 5 and 3000 in dimension <= 64 (and for any matching whose dense cost
        matrices would not fit in memory) ``"sparse"``, the certified exact matching that never
        forms the n x n matrix (O(n k) memory; 20,000 points of the plane in 1.5 s, 100,000 in 8 to 14 s);
        ``"sparse"`` asks for it at any size. Weighted or unequal clouds go to Kantorovich's dense
        programme, and past memory (or with ``"sparse"``) to its certified sparse solver, which never
        forms the n x m matrix (slower than the dense programme where that fits).
    n_directions : int
        Random directions of ``method="sliced"``.
    seed : int
        The example's points, and the directions of sliced transport.
    """

    a: str | None = None
    b: str | None = None
    example: str | None = None
    p: float | None = None
    weights_a: str | None = None
    weights_b: str | None = None
    method: str | None = None
    n_directions: int = 128
    seed: int = 0

    def __post_init__(self):
        for name in ("a", "b", "weights_a", "weights_b"):
            object.__setattr__(self, name, _path(name, getattr(self, name)))
        settings.optional(settings.choice, "example", self.example, EXAMPLES)
        settings.optional(settings.choice, "method", self.method, METHODS)
        if self.p is not None:
            ok = isinstance(self.p, (int, float)) and not isinstance(self.p, bool) and math.isfinite(self.p)
            if not (ok and self.p > 0):
                raise settings.refuse("p", self.p, "a finite exponent p > 0")
            if self.method == "sliced" and self.p < 1:
                raise settings.refuse("p", self.p, "p >= 1 with --method sliced (sliced transport sorts, which "
                                                   "is optimal for convex costs)")
        settings.integer("n_directions", self.n_directions, least=1)
        settings.integer("seed", self.seed, least=0)
        if self.example is None:
            if self.a is None or self.b is None:
                raise InputError("a, b (A, B): expected two point files (monge transport A B), or --example monge6")
            return
        if self.a is not None or self.b is not None:
            raise InputError("a, b (A, B): give either two point files or --example, not both")
        if self.p is not None and self.p != 1.0:
            raise InputError(f"p (--p): {self.p!r}; the {self.example} example uses the text's Euclidean cost, "
                             "expected p = 1")
        if self.method is not None or self.weights_a is not None or self.weights_b is not None:
            raise InputError("method, weights_a, weights_b (--method, --weights-a, --weights-b): not used by "
                             "--example (it runs every exact solver)")


def resolve(config: Config) -> Config:
    """``config`` with its defaults filled in: p = 1 for the example, else p = 2 and method ``"auto"``."""
    if config.example is not None:
        return dataclasses.replace(config, p=1.0)
    return dataclasses.replace(config, p=2.0 if config.p is None else float(config.p), method=config.method or "auto")


def run(config: Config | None = None, out: str | os.PathLike | None = None, resume: bool = False, *,
        quiet: bool = False, threads: int | None = None) -> dict:
    """Solve the transport problem ``config`` describes and write the run folder ``out``; return the summary.

    Parameters
    ----------
    config : Config, optional
        The settings (default: ``Config(example="monge6")``, Figure 2.2 of the text).
    out : path, optional
        The run folder: new or empty (default ``runs/transport-<time>``). A failure leaves it as it
        was.
    resume : bool
        Must be False: a transport is solved in one go, with no checkpoint to continue from (the
        argument is there because every experiment's ``run`` takes it).
    quiet : bool
        Print nothing.
    threads : int, optional
        CPU threads of torch during the run (restored afterwards); default: unchanged.

    Returns
    -------
    dict
        The summary, as in ``summary.json``. For the example: ``distance_text_permutation``,
        ``distance_optimal``, ``optimal_permutation`` (1-based), ``crossings_optimal``, the
        ``distances`` of every solver, ``solvers_agree``, ... For files: ``n``, ``m``, ``d``, ``p``,
        ``kind`` (matching, kantorovich or sliced), ``solver``, ``cost`` (:math:`W_p^p`),
        ``wasserstein`` (:math:`W_p`), ``seconds``, ``files``, and ``distance`` for a matching; where
        the solver certifies its result, ``duality_gap`` (for a matching by the auction or the sparse
        solver: primal minus dual cost, per point; for Kantorovich's programme: relative) and, for
        those two matching solvers, ``n_iter`` (auction rounds, or the sparse solver's certificate
        rounds).

    Raises
    ------
    monge.errors.InputError
        A bad setting or file (named with its flag, or as A and B), or a method the data cannot use.
    FileNotFoundError
        A file that does not exist.
    FileExistsError
        ``out`` holds files.
    """
    runs.refuse_resume(COMMAND, resume)
    config = Config(example="monge6") if config is None else config
    if not isinstance(config, Config):
        raise InputTypeError(f"config: {type(config).__name__}; expected a monge.experiments.transport.Config")
    config = resolve(config)
    out = runs.default_folder(COMMAND) if out is None else Path(out)
    with runs.guarded(out), runs.threads(threads):
        if config.example is not None:
            seed_everything(config.seed)
            folder = Run.create(COMMAND, config, out, quiet=quiet)
            summary = monge6(folder, config.seed)
            _report_example(folder, summary)
        else:
            problem = _load(config)  # every check before the folder is made
            seed_everything(config.seed)
            folder = Run.create(COMMAND, config, out, quiet=quiet)
            summary = _transport_files(folder, problem, config)
    return runs.jsonable(summary)


def monge6(run: Run, seed: int) -> dict:
    """Figure 2.2 of the text: write its figure, points and summary into ``run``; return the summary.

    Six points x and six points z are drawn uniformly in the unit square (seeded), apart enough
    to be told apart in the figure (see :func:`spread_points`). The text's
    permutation (1, 5, 4, 6, 3, 2) is compared with the optimum of all 6! = 720 permutations
    (brute force), which every exact matching solver and Kantorovich's linear programme must
    reproduce: the Distance of section 2.3 is ``n * cost`` of the :class:`~monge.transport.OTResult`.

    Parameters
    ----------
    run : Run, the folder to write into
    seed : int, of the points
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
    run.save_figure(figure_2_2(x_np, z_np, text, optimal), "figure_2_2.png", dpi=130)
    summary["figure"] = "figures/figure_2_2.png"
    run.write_summary(summary)
    if not summary["solvers_agree"]:  # our bug, not the user's input
        raise RuntimeError(f"monge6: exact solvers disagree with brute force by {disagreement:.3g} "
                           f"(relative; tolerance {AGREEMENT:g}): {distances}")
    return summary


def spread_points(k: int, rng: np.random.Generator, min_distance: float = MIN_SEPARATION) -> np.ndarray:
    """``k`` points uniform in the unit square, each at least ``min_distance`` from the previous ones.

    A point drawn too close to an earlier one is drawn again, so that no two markers or labels of
    the figure sit on top of each other.

    Parameters
    ----------
    k : int, the number of points
    rng : numpy.random.Generator
    min_distance : float, the least distance between two points
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


@dataclass(frozen=True)
class _Problem:
    """The points and weights read from the user's files (``a``, ``b`` None: uniform weights)."""

    x: np.ndarray
    z: np.ndarray
    a: np.ndarray | None
    b: np.ndarray | None


def _load(config: Config) -> _Problem:
    """Read and check the files of ``config``: points, weights, the method and the cost's range."""
    x, z = load_points(config.a, "A"), load_points(config.b, "B")
    if x.shape[1] != z.shape[1]:
        raise InputError(f"B: points of dimension {z.shape[1]} in {config.b} but A's are of dimension "
                         f"{x.shape[1]}; expected the same dimension")
    # the solvers refuse such clouds too, naming x or z: here they are named by their files
    check_cost_range(x, z, config.p, names=(f"A ({config.a})", f"B ({config.b})"))
    a = load_weights(config.weights_a, "--weights-a", len(x), config.a)
    b = load_weights(config.weights_b, "--weights-b", len(z), config.b)
    a, b = _complete_weights(a, b, len(x), len(z))
    if _kind(config.method, len(x), len(z), weighted=a is not None) == "impossible":
        raise InputError(f"method (--method): {config.method!r} solves a matching, which needs equal numbers of "
                         f"points and no weights; found n = {len(x)}, m = {len(z)}"
                         f"{', weights' if a is not None else ''}; expected --method kantorovich (or auto)")
    return _Problem(x, z, a, b)


def _complete_weights(a, b, n: int, m: int):
    """A missing weight vector is uniform with the total mass of the other one."""
    if a is None and b is None:
        return None, None
    if a is None:
        a = np.full(n, b.sum() / n)
    if b is None:
        b = np.full(m, a.sum() / m)
    if not math.isclose(a.sum(), b.sum(), rel_tol=1e-9):
        raise InputError(f"weights_b (--weights-b): weights sum to {b.sum():.10g} but --weights-a sum to "
                         f"{a.sum():.10g}; expected equal total masses (normalise both files to sum to 1)")
    return a, b


def _kind(method: str, n: int, m: int, weighted: bool) -> str:
    """What ``method`` solves: a matching (equal sizes, no weights), Kantorovich's programme, or sliced."""
    if method in ("sliced", "kantorovich"):
        return method
    if n == m and not weighted:
        return "matching"
    return "kantorovich" if method in ("auto", "exact", "network_simplex", "sparse") else "impossible"


def _solve(problem: _Problem, config: Config) -> tuple[transport.OTResult, str]:
    """Run the solver that ``config.method`` names; return the result and its kind."""
    x, z = torch.from_numpy(problem.x), torch.from_numpy(problem.z)
    a = None if problem.a is None else torch.from_numpy(problem.a)
    b = None if problem.b is None else torch.from_numpy(problem.b)
    method, p = config.method, config.p
    kind = _kind(method, len(x), len(z), weighted=a is not None)
    if kind == "sliced":
        return transport.sliced(x, z, a, b, p, n_directions=config.n_directions, seed=config.seed), kind
    if kind == "kantorovich":
        try:
            return transport.kantorovich(x, z, a, b, p, method="sparse" if method == "sparse" else "auto"), kind
        except MemoryError as error:  # refused up front: the n x m cost matrix cannot fit
            if not str(error):
                raise
            raise MemoryError(f"{error} (here: --method sliced)") from None
    return transport.matching(x, z, p, method="auto" if method in ("auto", "exact", "matching") else method), kind


class _Echo(logging.Handler):
    """A logging handler that prints each record as a run's progress line."""

    def __init__(self, run: Run):
        super().__init__(logging.INFO)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        self.run.echo(f"  {record.getMessage()}")


@contextmanager
def _rounds_shown(run: Run):
    """Print the sparse solvers' certificate rounds as they finish (long solves show progress)."""
    logger = logging.getLogger("monge.transport.sparse")
    handler, level = _Echo(run), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _transport_files(run: Run, problem: _Problem, config: Config) -> dict:
    """Solve the transport between the loaded clouds and write the run folder; return the summary."""
    start = time.perf_counter()
    with _rounds_shown(run):
        result, kind = _solve(problem, config)
    seconds = time.perf_counter() - start
    cost = float(result.cost)
    n, m, d = len(problem.x), len(problem.z), problem.x.shape[1]
    summary = {"A": config.a, "B": config.b, "weights_a": config.weights_a, "weights_b": config.weights_b,
               "n": n, "m": m, "d": d, "p": config.p, "method": config.method, "kind": kind,
               "solver": result.method, "cost": cost, "wasserstein": cost ** (1.0 / config.p),
               "seconds": seconds, "files": ["config.json", "metrics.jsonl", "summary.json"]}
    run.log(step="solve", kind=kind, solver=result.method, cost=cost, seconds=seconds)
    rows, cols, mass = _write_plan(run, result, kind, summary, config)
    if d == 2:
        power = f"{config.p:g}"
        name = "SW" if kind == "sliced" else "W"
        title = f"{kind} ({result.method}), p = {power}: ${name}_{{{power}}}^{{{power}}}$ = {cost:.4g}"
        figure = plot_plan(problem.x, problem.z, rows, cols, mass, seed=config.seed, title=title)
        run.save_figure(figure, "matching.png")
        summary["files"].append("figures/matching.png")
    run.write_summary(summary)
    _report_files(run, summary)
    return summary


def _write_plan(run: Run, result: transport.OTResult, kind: str, summary: dict, config: Config):
    """Save the plan's non-zero entries (and a matching's permutation); return them (None for sliced)."""
    n = summary["n"]
    if kind == "matching":
        perm = result.permutation.numpy()
        rows, cols, mass = np.arange(n), perm, np.full(n, 1.0 / n)
        summary["distance"] = float(result.distance)
        summary["distance_note"] = "sum of the n costs |x_i - z_s(i)|^p, the text's Distance (section 2.3): n * cost"
        for key in ("duality_gap", "n_iter"):  # the certificate of the auction and of the sparse solver
            if getattr(result, key) is not None:
                summary[key] = getattr(result, key)
        save_npy(run.path / "permutation.npy", perm)
        summary["files"].append("permutation.npy")
    elif kind == "kantorovich":
        if result.plan.is_sparse:  # the sparse solver: the plan's support, and its certificate rounds
            plan = result.plan.coalesce()
            (rows, cols), mass = plan.indices().numpy(), plan.values().numpy()
            summary["n_iter"] = result.n_iter
        else:
            plan = result.plan.numpy()
            rows, cols = np.nonzero(plan)
            mass = plan[rows, cols]
        summary["duality_gap"] = result.duality_gap
    else:
        summary["note"] = (f"sliced transport over {config.n_directions} random directions: cost is SW_p^p and "
                           "wasserstein SW_p, a lower bound of W_p; no plan")
        return None, None, None
    save_npz(run.path / "plan.npz", rows=rows.astype(np.int64), cols=cols.astype(np.int64), mass=mass)
    summary["plan_entries"] = int(len(mass))
    summary["files"].append("plan.npz")
    return rows, cols, mass


def _report_files(run: Run, summary: dict) -> None:
    s = summary
    run.echo(f"transport of {s['n']} onto {s['m']} points in dimension {s['d']}, p = {s['p']:g}: {s['kind']} "
             f"({s['solver']}), {s['seconds']:.3f} s")
    label = "SW_p" if s["kind"] == "sliced" else "W_p"
    run.echo(f"  cost {label}^p = {s['cost']:.6g}   {label} = {s['wasserstein']:.6g}")
    if s["kind"] == "matching":
        run.echo(f"  Distance (sum of the {s['n']} costs, section 2.3) = n * cost = {s['distance']:.6g}")
        if "duality_gap" in s and "n_iter" in s:
            rounds = "certificate rounds" if s["solver"] == "sparse" else "auction rounds"
            run.echo(f"  certified optimal: duality gap {s['duality_gap']:.3g} per point after {s['n_iter']} {rounds}")
    run.echo(f"  wrote {run.path}/ ({', '.join(s['files'])})")
