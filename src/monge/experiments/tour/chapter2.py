"""Chapter 2 of the tour: Monge's problem, Kantorovich, Sinkhorn, and generators trained by transport."""

from __future__ import annotations

import time

import numpy as np
import torch

from monge import transport
from monge.plots.transport import one_based, plan_sharpening, plot_plan
from monge.runs import Run

from .. import transport as transport_experiment
from .chapter2_generators import generators
from .common import ChapterResult, Job, Section, TourConfig, run_job

NUMBER = 2
TITLE = "Generative networks and optimal transport"


def _two_clouds(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A generator's first guess (a Gaussian blob) and a data set (a noisy ring), n points each."""
    rng = np.random.default_rng(seed)
    x = 0.35 * rng.normal(size=(n, 2))
    angle = rng.uniform(0, 2 * np.pi, size=n)
    z = np.stack([np.cos(angle), np.sin(angle)], 1) + 0.08 * rng.normal(size=(n, 2))
    return x, z


def _timed(solve, repeats: int = 3):
    """The result of ``solve()`` and its best time over ``repeats`` calls (the least disturbed one)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = solve()
        best = min(best, time.perf_counter() - start)
    return result, best


def _compare_solvers(x: np.ndarray, z: np.ndarray, seed: int, repeats: int = 3,
                     matching_method: str = "auto") -> tuple[list[dict], transport.OTResult]:
    """W_2^2 by an exact matching, Kantorovich's programme and sliced transport: table rows, and the matching.

    All three form the n x n cost matrix but sliced transport; ``matching_method`` is the matching's
    solver (:func:`monge.transport.matching`'s ``method``).
    """
    xt, zt = torch.from_numpy(x), torch.from_numpy(z)
    match, t_match = _timed(lambda: transport.matching(xt, zt, p=2.0, method=matching_method), repeats)
    lp, t_lp = _timed(lambda: transport.kantorovich(xt, zt, p=2.0), repeats)
    sw, t_sw = _timed(lambda: transport.sliced(xt, zt, p=2.0, n_directions=128, seed=seed), repeats)
    return [
        {"method": f"matching ({match.method})", "quantity": "W_2^2", "cost": float(match.cost), "seconds": t_match},
        {"method": "kantorovich (network simplex)", "quantity": "W_2^2", "cost": float(lp.cost), "seconds": t_lp},
        {"method": "sliced (128 directions)", "quantity": "SW_2^2", "cost": float(sw.cost), "seconds": t_sw},
    ], match


def chapter(run: Run, config: TourConfig) -> ChapterResult:
    """Chapter 2: Monge's problem (Figure 2.2) and exact versus sliced transport on a 2-D problem."""
    with run.step("chapter 2: Figure 2.2, brute force over 6! = 720 permutations") as record:
        _, s = run_job(run, "monge6", Job("transport", {"example": "monge6", "p": 1.0}), config.seed)
        record.update(distance_text=s["distance_text_permutation"], distance_optimal=s["distance_optimal"])
    text, best = (one_based(np.array(s[k]) - 1) for k in ("text_permutation", "optimal_permutation"))
    monge = Section(
        "Figure 2.2: Monge's problem for six points",
        [f"Six sources x and six destinations z are drawn uniformly in the unit square, at least "
         f"{transport_experiment.MIN_SEPARATION} apart (seed {config.seed}). "
         f"Left: the text's permutation s = {text}, of Distance {s['distance_text_permutation']:.4f} "
         f"(the sum of the six Euclidean path lengths). Right: the best of all {s['n_permutations']} "
         f"permutations, found by brute force: s* = {best}, Distance {s['distance_optimal']:.4f}.",
         f"scipy's assignment, Jonker-Volgenant, the network simplex, the auction and Kantorovich's linear "
         f"programme all find the same Distance, n * cost (largest relative difference "
         f"{s['relative_disagreement']:.1e}). The optimal paths cross {s['crossings_optimal']} times, the text's "
         f"permutation's {s['crossings_text']} times: Monge's observation that optimal paths do not cross. "
         "The points are random, so s* differs from the text's (4, 3, 5, 1, 6, 2), which belongs to its own points."],
        [("monge6/figures/figure_2_2.png", "Figure 2.2: a non-optimal permutation (left) and the optimal one (right).")],
        [{"solver": k, "Distance": v} for k, v in s["distances"].items()],
    )
    n = 200 if config.quick else 500
    with run.step(f"chapter 2: matching vs kantorovich vs sliced, {n} points") as record:
        x, z = _two_clouds(n, config.seed)
        rows, match = _compare_solvers(x, z, config.seed)
        perm = match.permutation.numpy()
        figure = plot_plan(x, z, np.arange(n), perm, np.full(n, 1.0 / n),
                           title=f"Optimal matching of {n} points, p = 2: $W_2^2$ = {rows[0]['cost']:.4f}")
        run.save_figure(figure, "chapter2_matching.png")
        record["results"] = rows
    agree = abs(rows[0]["cost"] - rows[1]["cost"]) <= 1e-9 * rows[0]["cost"]
    compare = Section(
        f"Exact and sliced transport of {n} points",
        [f"A generator's first guess (a Gaussian blob, x) is matched to a data set (a noisy ring, z), with the "
         f"cost |x - z|^2. The exact matching and Kantorovich's linear programme give the same W_2^2 "
         f"({'equal' if agree else 'NOT equal'} to 1e-9): with uniform weights an optimal plan is a permutation "
         "(Birkhoff). Sliced transport averages exact 1-D transports along random directions: its time grows like "
         "n log n, so it wins for large n, and it is a lower bound (each direction sees only part of the "
         "displacement).",
         "Times are the best of three solves on this machine, cost matrix included."],
        [("figures/chapter2_matching.png", f"The optimal matching of {n} points (p = 2).")],
        rows,
    )
    results = {"monge6_distance_text": s["distance_text_permutation"], "monge6_distance_optimal": s["distance_optimal"],
               "monge6_crossings_optimal": s["crossings_optimal"], "matching_equals_kantorovich": bool(agree)}
    sections = [monge, compare]
    if not config.quick:
        sections.append(_scaling(run, config))
    sharpening, figures = _sharpening(run, config)
    sections.append(sharpening)
    results.update(figures)
    generative, figures = generators(run, config)
    sections += generative
    results.update(figures)
    return ChapterResult(sections, results)


# The sizes of the scaling figure (full tour): every solver up to SIZES[-1]; beyond, only those that
# never form the n x n cost matrix: the sparse matching up to SPARSE_UP_TO (on this problem, a blob
# onto a ring, about 13 s at n = 100,000 and 2.5 s at 25,600; it took 256 s and 21 s before its
# coarse start matched groups' centroids and its queries tilted the potentials), sliced transport up
# to LARGE_SIZES[-1].
SIZES = (100, 200, 400, 800, 1600, 3200)
LARGE_SIZES = (6400, 12800, 25600, 51200, 100_000)
SPARSE_UP_TO = 100_000
# Lines of the figure: the table's key, the label, the marker.
LINES = (("matching", "exact matching, dense (lsa; network simplex from 3000)", "o"),
         ("kantorovich", "kantorovich (network simplex)", "s"),
         ("sliced", "sliced (128 directions)", "^"),
         ("sparse", "sparse matching (certified)", "D"))


def _dense_matching(n: int) -> str:
    """The dense exact matching of the plane that ``matching(method="auto")`` chose before the sparse solver
    (:func:`monge.transport.monge.choose_method`): scipy's ``lsa``, POT's network simplex from 3000 points."""
    return "network_simplex" if n >= 3000 else "lsa"


def _scaling_table(seed: int) -> list[dict]:
    """Seconds of each solver for each n (best of three up to 800 points, one solve beyond); None: not run."""
    table = []
    for n in SIZES + LARGE_SIZES:
        x, z = _two_clouds(n, seed)
        repeats = 3 if n <= 800 else 1
        row = dict.fromkeys(("n", *(key for key, _, _ in LINES)))
        row["n"] = n
        if n <= SIZES[-1]:  # the dense solvers: O(n^2) memory, about n^3 time at worst
            rows, _ = _compare_solvers(x, z, seed, repeats, matching_method=_dense_matching(n))
            row.update({r["method"].split(" ")[0]: r["seconds"] for r in rows})
        else:
            xt, zt = torch.from_numpy(x), torch.from_numpy(z)
            row["sliced"] = _timed(lambda: transport.sliced(xt, zt, p=2.0, n_directions=128, seed=seed), repeats)[1]
        if n <= SPARSE_UP_TO:
            xt, zt = torch.from_numpy(x), torch.from_numpy(z)
            row["sparse"] = _timed(lambda: transport.matching(xt, zt, p=2.0, method="sparse"), repeats)[1]
        table.append(row)
    return table


def _scaling(run: Run, config: TourConfig) -> Section:
    """Time of each solver as n grows (full tour only): the dense ones to 3200 points, sparse and sliced beyond."""
    from matplotlib.figure import Figure

    sizes = SIZES + LARGE_SIZES
    with run.step(f"chapter 2: solver times for n = {', '.join(map(str, sizes))}") as record:
        table = _scaling_table(config.seed)
        fig = Figure(figsize=(6.5, 4.5), layout="constrained")
        ax = fig.subplots()
        for key, label, marker in LINES:
            measured = [(row["n"], row[key]) for row in table if row[key] is not None]
            if measured:
                ax.loglog(*zip(*measured), marker=marker, label=label)
        ax.set_xlabel("n (points in each cloud)")
        ax.set_ylabel("seconds")
        ax.set_title("Time to transport n points onto n points (p = 2, d = 2)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="upper left", fontsize=8)
        run.save_figure(fig, "chapter2_times.png")
        record["times"] = table
    return Section("How the solvers scale", _scaling_text(table),
                   [("figures/chapter2_times.png", "Seconds per solve against n, log-log; the dense solvers stop at "
                     f"n = {SIZES[-1]}.")], table)


def _scaling_text(table: list[dict]) -> list[str]:
    """The section's paragraphs, with the times that were measured."""
    at = {row["n"]: row for row in table}
    timed = [row for row in table if row["sparse"] is not None]
    dense, sparse, sliced = at[SIZES[-1]], timed[-1], table[-1]
    gib = 8 * sparse["n"] ** 2 / 2**30
    before = timed[-2] if len(timed) > 1 else sparse
    stopped = ", and the tour stops it there to keep within its time" if sparse["n"] < sliced["n"] else ""
    return ["Brute force needs n! trials (more than 10^100 at n = 70); the exact solvers take about n^3 "
            "operations at worst, and sliced transport n log n per direction.",
            f"At n = {dense['n']} the dense exact matching took {dense['matching']:.2f} s and Kantorovich's programme "
            f"{dense['kantorovich']:.2f} s, both on the n x n cost matrix ({8 * dense['n'] ** 2 / 2**20:.0f} MB in "
            f"float64), which grows as n^2: the dense solvers stop there. The certified sparse matching "
            f"(monge.transport.matching(method='sparse')) never forms that matrix: it matches each point among a few "
            f"dozen candidates chosen by its dual potentials, then proves the result optimal over all n^2 pairs "
            f"(a duality gap within float64 rounding), in memory proportional to n. It took {dense['sparse']:.2f} s at "
            f"n = {dense['n']} and {sparse['sparse']:.1f} s at n = {sparse['n']:,}, where one dense cost matrix "
            f"would take {gib:.1f} GiB; from n = {before['n']:,} ({before['sparse']:.1f} s) to n = {sparse['n']:,} its "
            f"time grew {sparse['sparse'] / before['sparse']:.1f}-fold for {sparse['n'] / before['n']:.0f} times the "
            f"points on this problem{stopped}. Sliced transport, a lower "
            f"bound and not the optimum, took {sliced['sliced']:.2f} s at n = {sliced['n']:,}.",
            "Times are of one solve on this machine beyond 800 points (the best of three below), cost matrix "
            "included for the dense solvers; None: not measured."]


EPS = (1.0, 0.1, 0.03, 0.01)  # Sinkhorn's temperatures, in units of the mean cost


def _sharpening(run: Run, config: TourConfig) -> tuple[Section, dict]:
    """Monge, Kantorovich and Sinkhorn on one problem: the entropic plan sharpens as eps falls."""
    n = 30
    with run.step(f"chapter 2: Sinkhorn as eps falls, {n} points") as record:
        x, z = (torch.from_numpy(a) for a in _two_clouds(n, config.seed + 1))
        exact = transport.matching(x, z, p=2.0)
        lp = transport.kantorovich(x, z, p=2.0)
        optimum = torch.zeros(n, n, dtype=x.dtype)
        optimum[torch.arange(n), exact.permutation] = 1.0 / n
        scale = float(transport.cost_matrix(x, z, p=2.0).mean())
        plans, rows = [], []
        for eps in EPS:
            r = transport.sinkhorn(x, z, p=2.0, eps=eps * scale, tol=1e-6, max_iter=20_000)
            plans.append(r.plan.numpy())
            rows.append({"eps / mean cost": eps, "<P, C>": float(r.cost), "OT_eps": float(r.entropic_cost),
                         "W_2^2": float(exact.cost), "mass off s": float(1 - n * (r.plan * optimum).sum()),
                         "iterations": r.n_iter})
        figure = plan_sharpening(plans + [optimum.numpy()],
                                 [f"Sinkhorn, eps = {eps:g}" for eps in EPS] + ["Monge: the permutation s"],
                                 exact.permutation.numpy())
        run.save_figure(figure, "chapter2_sharpening.png")
        record["rows"] = rows
    last = rows[-1]
    section = Section(
        "Monge, Kantorovich and Sinkhorn on one problem",
        [f"{n} points of a blob are transported onto {n} points of a ring (cost |x - z|^2). Monge's best permutation "
         f"and Kantorovich's linear programme give the same W_2^2 = {float(exact.cost):.5f} (difference "
         f"{abs(float(exact.cost) - float(lp.cost)):.1e}): with equal uniform masses the optimal plan of the linear "
         "programme is a permutation matrix.",
         "Entropic transport adds eps times the plan's relative entropy: its plan spreads each point's mass over its "
         "neighbours, and as eps falls it sharpens towards the permutation (columns are drawn in the order of the "
         f"optimal permutation, so that the permutation is the diagonal). At eps = {EPS[-1]:g} times the mean cost, "
         f"{100 * last['mass off s']:.1f}% of the mass is off the permutation and <P, C> exceeds W_2^2 by "
         f"{100 * (last['<P, C>'] / last['W_2^2'] - 1):.2f}%; at eps = {EPS[0]:g}, {100 * rows[0]['mass off s']:.0f}% "
         "is off it. Smaller eps costs more iterations: the table counts them (tolerance 1e-6 on the marginals)."],
        [("figures/chapter2_sharpening.png", "Sinkhorn's plans as eps falls, and Monge's permutation (right).")],
        rows,
    )
    return section, {"sharpening_mass_off_permutation": last["mass off s"],
                     "sharpening_cost_excess": last["<P, C>"] / last["W_2^2"] - 1}
