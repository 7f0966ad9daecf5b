"""The certified sparse Kantorovich solver (monge.transport.sparse_kantorovich) against dense oracles.

What is checked:

- the optimum of ``sparse_kantorovich.solve`` equals POT's network simplex (``ot.emd`` with
  ``numItermax=10**8`` on ``ot.dist``'s squared distances for p = 2, scipy's euclidean distances ** p
  otherwise) to 1e-9 relative (absolute 1e-12 of the cost scale when the
  optimum is 0), and on the small instances HiGHS (``scipy.optimize.linprog``) as a second,
  independent oracle, on a few hundred weighted instances: uniform, Gaussian against uniform,
  clustered blobs, integer grids (ties), collinear points, a few repeated locations, weights with
  zeros, one point carrying half the mass, far-apart clouds, x == z with other weights, integer
  weights of different totals (b is rescaled to a's total); d = 1, 2, 3, 10; p = 1, 1.5, 2, 3;
  n != m (30 x 50, 200 x 120), n = 1 or m = 1, and a few mid-size problems (n, m ~ 1000-1500);
- every result against its own certificate, recomputed densely from the returned data: the
  support's indices, masses >= 0, the marginals, ``primal`` = sum(mass C), dual feasibility
  ``f_i + g_j <= C_ij`` on every pair, ``f`` the row minima of ``C - g``, the gap within the tolerance;
- poor starting candidates (k = 1, each row's farthest column, an empty set, a random sparse set)
  are repaired by the certificate: the exact optimum, and more than one round where the first
  round's candidate graph is verified (by the oracle restricted to it) not to hold the optimum;
- every pair cost 0 (coincident clouds, underflowing distances) ends, in forked processes with a deadline;
- input errors; ``kantorovich(method="sparse")`` against ``method="network_simplex"`` (cost, sparse
  plan's marginals, gradients in x, z, a, b, dtype, batches, ``cost=`` refused, ``auto`` past memory);
- a hypothesis property: small random weighted instances reach ``ot.emd``'s optimum.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import ot
import pytest
import scipy.sparse
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog
from scipy.spatial.distance import cdist

from monge.errors import InputError
from monge.transport import kantorovich, sparse_kantorovich
from monge.transport.sparse_kantorovich import SparsePlan

EXPONENTS = [1.0, 1.5, 2.0, 3.0]
DIMENSIONS = [1, 2, 3, 10]


# ----------------------------------------------------------------------------- oracles and checks

def dense_costs(x: np.ndarray, z: np.ndarray, p: float) -> np.ndarray:
    """|x_i - z_j|^p by scipy's differences, independently of monge."""
    c = cdist(np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64), "sqeuclidean")
    return c if p == 2 else c ** (p / 2)


def rescaled(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """b at a's total, as the solver takes it."""
    return b * (a.sum() / b.sum())


def pot_optimum(x, a, z, b, p: float) -> float:
    """POT's network simplex: ``ot.dist``'s squared distances for p = 2; for other p scipy's euclidean
    distances ** p (``ot.dist(metric="euclidean")`` is the root of the expanded squared distance,
    ~3e-8 off on coincident points, enough to move the optimum of duplicated clouds by 3e-8 relative)."""
    m = ot.dist(x, z, "sqeuclidean") if p == 2 else cdist(x, z, "euclidean") ** p
    # POT checks equal sums to 6 decimals, and its pivots compare costs to absolute epsilons (costs of
    # 1e-80 came out 3x the optimum): solved at mass 1 and largest cost 1, then scaled back
    total, top = float(a.sum()), float(m.max()) or 1.0
    plan, log = ot.emd(a / total, b / b.sum(), m / top, numItermax=10**8, log=True)
    assert log["result_code"] == 1, log["warning"]
    return total * float((plan * m).sum())


def highs_optimum(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """The transport LP in its textbook form, solved by HiGHS: a second, independent oracle (at mass 1 and
    largest cost 1, then scaled: HiGHS's absolute feasibility tolerance, 1e-7, would swallow weights of 1e-9)."""
    n, m = c.shape
    total, top = float(a.sum()), float(c.max()) or 1.0
    rows = scipy.sparse.vstack([scipy.sparse.kron(scipy.sparse.eye(n), np.ones((1, m))),
                                scipy.sparse.kron(np.ones((1, n)), scipy.sparse.eye(m))]).tocsr()
    res = linprog(c.ravel() / top, A_eq=rows, b_eq=np.concatenate([a / total, b / b.sum()]), bounds=(0, None),
                  method="highs", options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    assert res.status == 0, res.message
    return total * top * float(res.fun)


def same_optimum(value: float, best: float, scale: float) -> bool:
    """1e-9 relative, absolute 1e-12 of the cost scale (an optimum of 0)."""
    return abs(value - best) <= 1e-9 * abs(best) + 1e-12 * scale


def certificate_errors(out: SparsePlan, x, a, z, b, p: float, c: np.ndarray | None = None) -> list[str]:
    """What is wrong with the result's certificate, recomputed from the dense matrix (empty: nothing)."""
    n, m = len(x), len(z)
    c = dense_costs(x, z, p) if c is None else c
    b = rescaled(a, b)
    total = float(a.sum())
    rows, cols, mass, f, g = out.rows, out.cols, out.mass, out.f, out.g
    if not (rows.shape == cols.shape == mass.shape and rows.ndim == 1):
        return [f"support shapes {rows.shape}, {cols.shape}, {mass.shape}"]
    if f.shape != (n,) or g.shape != (m,) or not (np.isfinite(f).all() and np.isfinite(g).all()):
        return [f"f {f.shape} or g {g.shape}: wrong shape or not finite"]
    if len(rows) and (rows.min() < 0 or rows.max() >= n or cols.min() < 0 or cols.max() >= m):
        return ["support indices out of range"]
    errors = []
    if len(np.unique(rows * m + cols)) != len(rows):
        errors.append("a pair appears twice in the support")
    if not (np.isfinite(mass).all() and (mass >= 0).all()):
        errors.append(f"negative or non-finite mass: min {mass.min()!r}")
    row_mass, col_mass = np.bincount(rows, mass, n), np.bincount(cols, mass, m)
    marginal = float(np.abs(row_mass - a).sum() + np.abs(col_mass - b).sum())
    if marginal > 1e-12 * total:
        errors.append(f"marginals off by {marginal:.3g} (total {total:.3g})")
    if not 0 <= out.marginal_error <= 1e-12 * total or abs(out.marginal_error - marginal) > 1e-12 * total:
        errors.append(f"marginal_error {out.marginal_error!r}, recomputed {marginal!r}")
    primal = float(mass @ c[rows, cols])
    if abs(out.primal - primal) > 1e-12 * abs(primal) + 1e-300:
        errors.append(f"primal {out.primal!r} but sum(mass C) = {primal!r}")
    tol = out.tolerance
    if not (np.isfinite(tol) and tol >= 0):
        return errors + [f"tolerance {tol!r}"]
    scale = float(c.max()) + float(np.abs(g).max()) + 1e-300
    reduced = c - f[:, None] - g[None, :]
    per_row = max(tol / total, 1e-12 * scale)
    worst = float(reduced.min())
    if worst < -per_row:
        i, j = np.unravel_index(np.argmin(reduced), reduced.shape)
        errors.append(f"dual infeasible: C - f - g = {worst:.3g} at ({i}, {j}), below {-per_row:.3g}")
    slack = float(np.abs(reduced.min(1)).max())
    if slack > per_row:
        errors.append(f"f is not the c-transform of g: |min_j (C_ij - g_j) - f_i| up to {slack:.3g}")
    gap = float(mass @ reduced[rows, cols])
    if not -tol - 1e-12 * scale * total <= gap <= tol + 1e-12 * scale * total:
        errors.append(f"recomputed gap {gap:.3g} outside +-tolerance {tol:.3g}")
    if not -tol <= out.gap <= tol:
        errors.append(f"reported gap {out.gap:.3g} outside +-tolerance {tol:.3g}")
    dual = float(a @ f + b @ g)  # weak duality: dual <= OPT <= primal
    if primal - dual > tol + 1e-12 * scale * total or dual - primal > tol + 1e-12 * scale * total:
        errors.append(f"primal {primal!r} and dual {dual!r} differ by more than the tolerance {tol:.3g}")
    if out.rounds < 1 or out.pairs < len(rows):
        errors.append(f"rounds {out.rounds}, pairs {out.pairs}")
    return errors


def check(label: str, x, a, z, b, p: float, highs: bool = False, results: list | None = None, **kwargs) -> list[str]:
    """Solve one instance; the failures, each with its label (empty: exact and certified); the result is
    appended to ``results`` when given."""
    x, z, a, b = (np.asarray(t, dtype=np.float64) for t in (x, z, a, b))
    try:
        out = sparse_kantorovich.solve(x, a, z, b, p, **kwargs)
    except Exception as error:  # noqa: BLE001 -- every instance is reported, the test fails on the list
        return [f"{label}: raised {error!r}"]
    if results is not None:
        results.append(out)
    c = dense_costs(x, z, p)
    scale = float(c.max()) * float(a.sum()) + 1e-300
    problems = certificate_errors(out, x, a, z, b, p, c)
    best = pot_optimum(x, a, z, b, p)
    if not same_optimum(out.primal, best, scale):
        problems.insert(0, f"primal {out.primal!r}, POT's optimum {best!r}")
    if highs:
        best = highs_optimum(a, b, c)
        if not same_optimum(out.primal, best, scale):
            problems.insert(0, f"primal {out.primal!r}, HiGHS's optimum {best!r}")
    return [f"{label}: " + "; ".join(problems)] if problems else []


def report(failures: list[str], count: int) -> str:
    return f"{len(failures)} of {count} instances:\n" + "\n".join(failures)


# ----------------------------------------------------------------------------- instance families

def _weights(rng, n):
    return rng.uniform(0.1, 1.0, n)


def _uniform(rng, n, m, d):
    return rng.uniform(size=(n, d)), _weights(rng, n), rng.uniform(size=(m, d)), _weights(rng, m)


def _gaussian_vs_uniform(rng, n, m, d):
    return rng.normal(size=(n, d)), _weights(rng, n), rng.uniform(size=(m, d)), _weights(rng, m)


def _clustered(rng, n, m, d):
    centres = 5.0 * rng.normal(size=(3, d))
    x = centres[rng.integers(0, 3, n)] + 0.05 * rng.normal(size=(n, d))
    z = centres[rng.integers(0, 3, m)] + 0.05 * rng.normal(size=(m, d))
    return x, _weights(rng, n), z, _weights(rng, m)


def _grid(rng, n, m, d):
    x, z = rng.integers(0, 4, (n, d)).astype(float), rng.integers(0, 4, (m, d)).astype(float)
    return x, rng.integers(1, 4, n).astype(float), z, rng.integers(1, 4, m).astype(float)


def _collinear(rng, n, m, d):
    direction, offset = rng.normal(size=d), rng.normal(size=d)
    x = rng.normal(size=(n, 1)) * direction + offset
    z = rng.normal(size=(m, 1)) * direction + offset
    return x, _weights(rng, n), z, _weights(rng, m)


def _duplicated(rng, n, m, d):
    locations = rng.normal(size=(4, d))
    return locations[rng.integers(0, 4, n)], _weights(rng, n), locations[rng.integers(0, 4, m)], _weights(rng, m)


def _zero_weights(rng, n, m, d):
    x, a, z, b = _uniform(rng, n, m, d)
    a[rng.choice(n, size=n // 3, replace=False)] = 0.0
    b[rng.choice(m, size=m // 3, replace=False)] = 0.0
    return x, a, z, b


def _heavy(rng, n, m, d):
    x, a, z, b = _gaussian_vs_uniform(rng, n, m, d)
    a[rng.integers(n)] += a.sum()  # one point carries half the mass (or all of it when n = 1)
    b[rng.integers(m)] += b.sum()
    return x, a, z, b


def _far(rng, n, m, d):
    x, a, z, b = _gaussian_vs_uniform(rng, n, m, d)
    return x, a, z + 100.0, b


def _same_points(rng, n, m, d):
    x = rng.normal(size=(n, d))
    return x, _weights(rng, n), x.copy(), _weights(rng, n)


def _integer_totals(rng, n, m, d):
    """Weights of different totals: b is rescaled to a's."""
    x, _, z, _ = _gaussian_vs_uniform(rng, n, m, d)
    return x, rng.integers(1, 10, n).astype(float), z, rng.integers(1, 10, m).astype(float)


FAMILIES = {
    "uniform": _uniform, "gaussian_vs_uniform": _gaussian_vs_uniform, "clustered": _clustered, "grid": _grid,
    "collinear": _collinear, "duplicated": _duplicated, "zero_weights": _zero_weights, "heavy": _heavy,
    "far": _far, "same_points": _same_points, "integer_totals": _integer_totals,
}
FAMILY_DIMENSIONS = {"collinear": [2, 3, 10]}  # collinear in d = 1 is any d = 1 instance


def family_instances(family: str, p: float):
    for d in FAMILY_DIMENSIONS.get(family, DIMENSIONS):
        seed = [list(FAMILIES).index(family), int(10 * p), d]
        rng = np.random.default_rng(seed)
        n = int(rng.integers(2, 70))
        m = n if family == "same_points" else int(rng.integers(2, 70))
        yield (f"family={family} seed={seed} n={n} m={m} d={d} p={p}", *FAMILIES[family](rng, n, m, d), p,
               n * m <= 1500)


# ----------------------------------------------------------------------------- against the dense optimum

@pytest.mark.parametrize("p", EXPONENTS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_optimum_equals_pot_and_highs(family, p):
    """4 instances (3 collinear) per (family, p); every failure is listed, not only the first."""
    failures, count = [], 0
    for label, x, a, z, b, p_, highs in family_instances(family, p):
        count += 1
        failures += check(label, x, a, z, b, p_, highs=highs)
    assert count == len(FAMILY_DIMENSIONS.get(family, DIMENSIONS))
    assert not failures, report(failures, count)


@pytest.mark.parametrize("p", EXPONENTS)
@pytest.mark.parametrize("shape", [(30, 50), (200, 120)])
def test_rectangular_clouds(shape, p):
    """n != m in d = 1, 2, 3, 10: random weights, Gaussian against uniform."""
    n, m = shape
    failures = []
    for d in DIMENSIONS:
        rng = np.random.default_rng([n, m, int(10 * p), d])
        failures += check(f"n={n} m={m} d={d} p={p}", *_gaussian_vs_uniform(rng, n, m, d), p, highs=n == 30)
    assert not failures, report(failures, len(DIMENSIONS))


@pytest.mark.parametrize("p", EXPONENTS)
def test_one_point_on_either_side(p):
    """n = 1 or m = 1 (every plan is the product), and n = m = 1, in d = 1, 2, 3, 10."""
    failures, count = [], 0
    for d in DIMENSIONS:
        for n, m in ((1, 7), (9, 1), (1, 1), (1, 40)):
            rng = np.random.default_rng([n, m, d, int(10 * p)])
            x, a, z, b = _gaussian_vs_uniform(rng, n, m, d)
            count += 1
            results = []
            failures += check(f"n={n} m={m} d={d} p={p}", x, a, z, b, p, highs=True, results=results)
            expected = (a[:, None] * rescaled(a, b)[None, :] * dense_costs(x, z, p)).sum() / a.sum()
            assert not results or results[0].primal == pytest.approx(expected, rel=1e-12), (n, m, d)
    assert not failures, report(failures, count)


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_all_mass_on_one_point_and_identical_points(p):
    """Degenerate weights and clouds: a Dirac against a cloud, all weight but one zero, all points equal."""
    rng = np.random.default_rng(int(p))
    x, z = rng.normal(size=(20, 2)), rng.normal(size=(15, 2))
    dirac = np.zeros(20)
    dirac[3] = 1.0
    cases = {
        "dirac_a": (x, dirac, z, _weights(rng, 15)),
        "dirac_both": (x, dirac, z, np.eye(15)[7]),
        "one_location_each": (np.zeros((10, 2)), _weights(rng, 10), np.ones((12, 2)), _weights(rng, 12)),
        "tiny_weights": (x, _weights(rng, 20) * 1e-9, z, _weights(rng, 15)),
        "huge_weights": (x, _weights(rng, 20) * 1e9, z, _weights(rng, 15)),
    }
    failures = []
    for name, (xx, a, zz, b) in cases.items():
        failures += check(name, xx, a, zz, b, p, highs=True)
    assert not failures, report(failures, len(cases))
    out = sparse_kantorovich.solve(x, dirac, z, np.eye(15)[7], p)
    assert out.primal == pytest.approx(dense_costs(x, z, p)[3, 7], rel=1e-12)
    assert out.rows.tolist() == [3] and out.cols.tolist() == [7] and out.mass.tolist() == [1.0]


ZERO_COSTS = {
    # every point at one location, every cost 0: n = 1 (no Gaussian start) and p != 2
    "coincident_1x2_p1": (np.zeros((1, 1)), np.zeros((2, 1)), 1.0),
    "coincident_10x12_p1.5": (np.full((10, 3), 0.5), np.full((12, 3), 0.5), 1.5),
    "coincident_10x12_p2": (np.full((10, 3), 0.5), np.full((12, 3), 0.5), 2.0),
    # distinct points whose squared distance underflows: every pair cost is 0.0 in float64
    "underflow_1x2_p1": (np.zeros((1, 1)), np.full((2, 1), 1e-200), 1.0),
    "underflow_3x2_p2": (np.zeros((3, 2)), np.full((2, 2), 1e-200), 2.0),
}


def _solve_zero_costs(name, pipe):
    """In a forked child: solve one ZERO_COSTS case, send back what is wrong with it ("" if nothing)."""
    os.nice(19)  # a child that never returns is killed; until then it yields to the other tests
    x, z, p = ZERO_COSTS[name]
    a, b = np.linspace(1.0, 2.0, len(x)), np.linspace(2.0, 1.0, len(z))
    try:
        out = sparse_kantorovich.solve(x, a, z, b, p)
        pipe.send("" if out.primal <= 1e-199 and out.marginal_error <= 1e-12 * a.sum() else repr(out))
    except Exception as error:  # noqa: BLE001 -- reported by the parent
        pipe.send(repr(error))


def test_zero_costs_end():
    """Every pair cost 0 (coincident clouds, or a squared distance that underflows): a plan of cost 0,
    within 6 s; each case in a forked process, so that a solve that never returns fails the test
    (listing the cases that did not end) instead of hanging the suite."""
    import multiprocessing
    import time

    context = multiprocessing.get_context("fork")
    running = {}
    for name in ZERO_COSTS:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_solve_zero_costs, args=(name, send), daemon=True)
        process.start()
        running[name] = (process, receive)
    problems, deadline = [], time.monotonic() + 6
    for name, (process, receive) in running.items():
        if not receive.poll(max(0.0, deadline - time.monotonic())):
            problems.append(f"{name}: did not end in 6 s")
        elif message := receive.recv():
            problems.append(f"{name}: {message}")
    for process, _ in running.values():
        process.kill()
        process.join()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", [
    ("gaussian_vs_uniform", 1000, 1500, 2, 2.0),
    ("clustered", 1500, 1000, 3, 1.0),
    ("uniform", 1200, 1200, 2, 1.5),
    ("zero_weights", 1200, 1100, 10, 2.0),
])
def test_mid_size(case):
    """n, m ~ 1000-1500: exact against POT, certified against the dense matrix."""
    family, n, m, d, p = case
    rng = np.random.default_rng([n, m, d])
    failures = check(f"family={family} n={n} m={m} d={d} p={p}", *FAMILIES[family](rng, n, m, d), p)
    assert not failures, failures[0]


def test_coarse_start_is_taken_from_coarse_from_points(monkeypatch):
    """From _starts.COARSE_FROM points a side the weighted centroids of groups are solved first, recursively;
    groups of zero weight are left out of that problem, and the plan is still the optimum."""
    from monge.transport import _starts

    n, m = 1300, 1100
    rng = np.random.default_rng(1300)
    x, z = rng.normal(size=(n, 2)), rng.uniform(size=(m, 2))
    a, b = rng.uniform(0.1, 1.1, n), rng.uniform(0.1, 1.1, m)
    a[x[:, 0] > 1.0] = 0.0  # a region of x weighs nothing: its groups have zero weight
    calls, solve = [], sparse_kantorovich.solve

    def spy(cx, ca, cz, cb, *args, **kwargs):
        calls.append((len(cx), len(cz), float(ca.min()), float(cb.min())))
        return solve(cx, ca, cz, cb, *args, **kwargs)

    monkeypatch.setattr(sparse_kantorovich, "solve", spy)
    plan = spy(x, a, z, b)
    assert len(calls) == 2, calls  # this problem, then its coarse problem (below COARSE_FROM: no further level)
    coarse_n, coarse_m, least_a, least_b = calls[1]
    assert coarse_n < n // _starts.GROUP and coarse_m == m // _starts.GROUP and least_a > 0 and least_b > 0
    assert plan.gap <= plan.tolerance
    c = dense_costs(x, z, 2.0)
    best = float((ot.emd(a, rescaled(a, b), c, numItermax=10**8) * c).sum())
    assert plan.primal == pytest.approx(best, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("family", ["uniform", "gaussian_vs_uniform", "clustered", "far", "heavy"])
def test_support_is_a_vertex_where_the_optimum_is_unique(family):
    """Continuous data, positive weights, p > 1: the unique optimal plan is a vertex, n + m - 1 pairs at most."""
    for d, p in ((1, 2.0), (2, 1.5), (3, 3.0), (2, 1.0)):
        rng = np.random.default_rng([77, d, int(10 * p)])
        n, m = int(rng.integers(20, 150)), int(rng.integers(20, 150))
        out = sparse_kantorovich.solve(*FAMILIES[family](rng, n, m, d), p)
        assert len(out.mass) <= n + m - 1, (family, d, p, len(out.mass), n + m - 1)


@pytest.mark.parametrize("family, d, p", [("uniform", 1, 1.0), ("grid", 2, 2.0), ("duplicated", 3, 1.5)])
def test_kantorovich_sparse_plan_with_ties(family, d, p):
    """Where ties make the optimum not unique (p = 1 on a line, integer grids, repeated points) the sparse plan
    may carry more than n + m - 1 pairs (kantorovich's docstring promises the bound only for a unique optimum),
    but it is an optimal plan: the dense programme's cost, both marginals."""
    rng = np.random.default_rng([78, d, int(10 * p)])
    x, a, z, b = (torch.from_numpy(t) for t in FAMILIES[family](rng, 60, 45, d))
    a, b = a / a.sum(), b / b.sum()
    r = kantorovich(x, z, a, b, p, method="sparse")
    dense = kantorovich(x, z, a, b, p, method="network_simplex")
    assert float(r.cost) == pytest.approx(float(dense.cost), rel=1e-9, abs=1e-15)
    plan = r.plan.to_dense()
    torch.testing.assert_close(plan.sum(1), a, rtol=0, atol=1e-12)
    torch.testing.assert_close(plan.sum(0), b, rtol=0, atol=1e-12)


def test_weights_of_any_total():
    """b is rescaled to a's total: scaling a scales the optimum; scaling b alone changes nothing."""
    rng = np.random.default_rng(5)
    x, a, z, b = _gaussian_vs_uniform(rng, 40, 30, 2)
    base = sparse_kantorovich.solve(x, a / a.sum(), z, b / b.sum())
    scaled = sparse_kantorovich.solve(x, 7.0 * a / a.sum(), z, 1e3 * b)
    assert scaled.primal == pytest.approx(7.0 * base.primal, rel=1e-12)
    same = sparse_kantorovich.solve(x, a / a.sum(), z, 123.0 * b)
    assert same.primal == pytest.approx(base.primal, rel=1e-12)
    assert not certificate_errors(scaled, x, 7.0 * a / a.sum(), z, 1e3 * b, 2.0)


# ----------------------------------------------------------------------------- poor candidate sets

def first_round_pairs(monkeypatch) -> list:
    """Record ``(network, rows, cols)``: the candidate pairs each solve starts its first round with."""
    seen = []
    relax = sparse_kantorovich._Network.relax

    def spy(self, *args, **kwargs):
        if not any(s[0] is self for s in seen):
            rows, cols, _, _ = self.edges()
            seen.append((self, rows.copy(), cols.copy()))
        return relax(self, *args, **kwargs)
    monkeypatch.setattr(sparse_kantorovich._Network, "relax", spy)
    return seen


def restricted_optimum(x, a, z, b, p, rows, cols) -> float:
    """The optimum over the given pairs only (POT, a prohibitive cost off them; they hold a feasible plan)."""
    c = dense_costs(x, z, p)
    big = np.full(c.shape, 1e6 * (c.max() + 1))
    big[rows, cols] = c[rows, cols]
    total = float(a.sum())
    plan = ot.emd(a / total, b / b.sum(), big, numItermax=10**8)
    assert plan[big > c].sum() <= 1e-12  # feasible on the pairs
    return total * float((plan * c).sum())


def two_blobs(rng, n, m):
    """Blobs at the corners of a square with different shares in x and z: much mass must cross."""
    corners = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
    x = corners[rng.choice(4, n, p=[0.5, 0.1, 0.3, 0.1])] + 0.3 * rng.normal(size=(n, 2))
    z = corners[rng.choice(4, m, p=[0.1, 0.4, 0.1, 0.4])] + 0.3 * rng.normal(size=(m, 2))
    return x, _weights(rng, n), z, _weights(rng, m)


def _farthest(c, rng):
    return np.arange(len(c)), c.argmax(1)


def _random_sparse(c, rng):
    return np.nonzero(rng.uniform(size=c.shape) < 0.05)


def _empty(c, rng):
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)


POOR = {"farthest": _farthest, "random_sparse": _random_sparse, "empty": _empty}


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("d", [2, 3, 10])
def test_k_one_is_repaired(d, p, monkeypatch):
    """k = 1: the certificate adds what the start misses; more than one round where it misses the optimum."""
    seen = first_round_pairs(monkeypatch)
    repaired = 0
    for repeat in range(3):
        rng = np.random.default_rng([d, int(p), repeat])
        x, a, z, b = (two_blobs(rng, 90, 70) if d == 2 else _gaussian_vs_uniform(rng, 90, 70, d))
        results = []
        failures = check(f"k=1 d={d} p={p} repeat={repeat}", x, a, z, b, p, k=1, results=results)
        assert not failures, failures[0]
        out, (_, rows, cols) = results[0], seen[-1]
        if restricted_optimum(x, a, z, b, p, rows, cols) > pot_optimum(x, a, z, b, p) * (1 + 1e-9):
            assert out.rounds >= 2, (d, p, repeat, out.rounds)
            repaired += 1
    if d == 2:
        assert repaired, "precondition: no start set missed the optimum"


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0])
@pytest.mark.parametrize("kind", list(POOR))
def test_poor_candidates_are_repaired(kind, p, monkeypatch):
    """Extra starting pairs (each row's farthest column, a random sparse set, none) with k = 1: exact."""
    seen = first_round_pairs(monkeypatch)
    repaired = 0
    for repeat in range(3):
        rng = np.random.default_rng([list(POOR).index(kind), int(10 * p), repeat])
        x, a, z, b = two_blobs(rng, 80, 60)
        rows, cols = POOR[kind](dense_costs(x, z, p), rng)
        results = []
        failures = check(f"kind={kind} p={p} repeat={repeat}", x, a, z, b, p, k=1, candidates=(rows, cols),
                         results=results)
        assert not failures, failures[0]
        out, (_, start_rows, start_cols) = results[0], seen[-1]
        assert set(zip(rows.tolist(), cols.tolist())) <= set(zip(start_rows.tolist(), start_cols.tolist()))
        if restricted_optimum(x, a, z, b, p, start_rows, start_cols) > pot_optimum(x, a, z, b, p) * (1 + 1e-9):
            assert out.rounds >= 2, (kind, p, repeat, out.rounds)
            repaired += 1
    assert repaired, "precondition: no start set missed the optimum"


def test_max_rounds_one_is_refused_not_wrong():
    """A start that misses the optimum with a single round allowed: a RuntimeError, never a wrong plan."""
    rng = np.random.default_rng(3)
    x, a, z, b = two_blobs(rng, 120, 100)
    out = sparse_kantorovich.solve(x, a, z, b, 1.0, k=1)
    assert out.rounds >= 2
    with pytest.raises(sparse_kantorovich.Stalled, match="not certified"):
        sparse_kantorovich.solve(x, a, z, b, 1.0, k=1, max_rounds=1)


# ----------------------------------------------------------------------------- input errors

@pytest.mark.parametrize("bad", [
    "x_1d", "z_other_dim", "a_short", "b_long", "a_2d", "negative_a", "negative_b", "zero_a",
])
def test_input_errors(bad):
    """Wrong shapes, negative weights, a zero total: ValueError naming the sparse solver."""
    rng = np.random.default_rng(0)
    x, a, z, b = _uniform(rng, 6, 5, 2)
    if bad == "x_1d":
        x = x[:, 0]
    elif bad == "z_other_dim":
        z = rng.uniform(size=(5, 3))
    elif bad == "a_short":
        a = a[:-1]
    elif bad == "b_long":
        b = np.append(b, 1.0)
    elif bad == "a_2d":
        a = a[:, None]
    elif bad == "negative_a":
        a[2] = -0.1
    elif bad == "negative_b":
        b[0] = -1e-12
    elif bad == "zero_a":
        a[:] = 0.0
    with pytest.raises(ValueError, match="sparse transport"):
        sparse_kantorovich.solve(x, a, z, b)


# ----------------------------------------------------------------------------- kantorovich(method="sparse")

def _torch_problem(seed, n, m, d, dtype=torch.float64):
    rng = np.random.default_rng(seed)
    x, a, z, b = _gaussian_vs_uniform(rng, n, m, d)
    return tuple(torch.from_numpy(t).to(dtype) for t in (x, z, a / a.sum(), b / b.sum()))


@pytest.mark.parametrize("p", EXPONENTS)
@pytest.mark.parametrize("d", [1, 2, 10])
def test_kantorovich_sparse_equals_network_simplex(d, p):
    """Same cost as the network simplex; the sparse plan's marginals, value and duals checked densely."""
    x, z, a, b = _torch_problem([d, int(10 * p)], 70, 45, d)
    r = kantorovich(x, z, a, b, p, method="sparse")
    ref = kantorovich(x, z, a, b, p, method="network_simplex")
    assert r.method == "sparse" and r.permutation is None
    assert float(r.cost) == pytest.approx(float(ref.cost), rel=1e-9)
    assert r.plan.is_sparse and r.plan.shape == (70, 45)
    if not (d == 1 and p == 1):  # a unique optimum, a vertex (ties: the test after the next)
        assert r.plan._nnz() <= 70 + 45 - 1
    dense = r.plan.to_dense()
    torch.testing.assert_close(dense.sum(1), a, rtol=0, atol=1e-12)
    torch.testing.assert_close(dense.sum(0), b, rtol=0, atol=1e-12)
    assert (dense >= 0).all()
    c = torch.from_numpy(dense_costs(x.numpy(), z.numpy(), p))
    assert float((dense * c).sum()) == pytest.approx(float(r.cost), rel=1e-12)
    assert float(a @ r.f + b @ r.g) == pytest.approx(float(r.cost), rel=1e-9)
    assert float((c - r.f[:, None] - r.g[None, :]).min()) >= -1e-12 * float(c.max())
    assert isinstance(r.duality_gap, float) and abs(r.duality_gap) <= 1e-9
    assert r.marginal_error <= 1e-12 and isinstance(r.n_iter, int) and r.n_iter >= 1


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
def test_kantorovich_sparse_gradients_equal_the_dense_method(p):
    """Random continuous data (a unique plan and unique centred duals): gradients in x, z, a, b to 1e-9."""
    x0, z0, a0, b0 = _torch_problem([5, int(10 * p)], 40, 30, 2)
    grads = {}
    for method in ("sparse", "network_simplex"):
        inputs = [t.clone().requires_grad_(True) for t in (x0, z0, a0, b0)]
        r = kantorovich(*inputs, p=p, method=method)
        grads[method] = torch.autograd.grad(r.cost, inputs)
    for name, g_sparse, g_dense in zip("xzab", grads["sparse"], grads["network_simplex"]):
        torch.testing.assert_close(g_sparse, g_dense, rtol=1e-9, atol=1e-9, msg=f"gradient in {name}")
    assert float(grads["sparse"][2].sum()) == pytest.approx(0.0, abs=1e-12)  # centred: along the simplex


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_kantorovich_sparse_output_dtype_device(dtype, device, p):
    """Outputs follow x's dtype and device; float32 input still reaches the float64 optimum to float32."""
    x, z, a, b = (t.to(device) for t in _torch_problem([9, int(p)], 50, 35, 3, dtype))
    r = kantorovich(x, z, a, b, p, method="sparse")
    for t in (r.cost, r.plan, r.f, r.g):
        assert t.dtype == dtype and t.device.type == device.type
    a64, b64 = a.double().cpu(), b.double().cpu()
    ref = kantorovich(x.double().cpu(), z.double().cpu(), a64 / a64.sum(), b64 / b64.sum(), p,
                      method="network_simplex")
    rel = 1e-5 if dtype == torch.float32 else 1e-9
    assert float(r.cost) == pytest.approx(float(ref.cost), rel=rel)
    assert float(r.plan.to_dense().sum()) == pytest.approx(1.0, rel=rel)


def test_kantorovich_sparse_batched():
    """(B, n, d) input: each problem as alone, the dense method's costs, a (B, n, m) sparse plan."""
    rng = np.random.default_rng(12)
    batch, n, m = 3, 40, 25
    x = torch.from_numpy(rng.normal(size=(batch, n, 2)))
    z = torch.from_numpy(rng.uniform(size=(batch, m, 2)))
    a = torch.from_numpy(rng.uniform(0.1, 1, (batch, n)))
    b = torch.from_numpy(rng.uniform(0.1, 1, (batch, m)))
    a, b = a / a.sum(-1, keepdim=True), b / b.sum(-1, keepdim=True)
    r = kantorovich(x, z, a, b, method="sparse")
    ref = kantorovich(x, z, a, b, method="network_simplex")
    assert r.cost.shape == (batch,) and r.f.shape == (batch, n) and r.g.shape == (batch, m)
    assert r.plan.is_sparse and r.plan.shape == (batch, n, m)
    torch.testing.assert_close(r.cost, ref.cost, rtol=1e-9, atol=0)
    dense = r.plan.to_dense()
    torch.testing.assert_close(dense.sum(2), a, rtol=0, atol=1e-12)
    torch.testing.assert_close(dense.sum(1), b, rtol=0, atol=1e-12)
    assert isinstance(r.marginal_error, list) and len(r.marginal_error) == batch
    for k in range(batch):
        single = kantorovich(x[k], z[k], a[k], b[k], method="sparse")
        torch.testing.assert_close(r.cost[k], single.cost, rtol=1e-12, atol=0)
        torch.testing.assert_close(dense[k], single.plan.to_dense(), rtol=0, atol=1e-15)


def test_kantorovich_sparse_uniform_square_gives_the_matching():
    """Equal weights with n = m: the sparse matching, a permutation, the network simplex's optimum."""
    x, z, _, _ = _torch_problem(4, 60, 60, 2)
    r = kantorovich(x, z, method="sparse")
    assert r.permutation is not None and sorted(r.permutation.tolist()) == list(range(60))
    assert float(r.cost) == pytest.approx(float(kantorovich(x, z, method="network_simplex").cost), rel=1e-9)


def test_kantorovich_sparse_refuses_a_cost_matrix_and_unknown_methods():
    """``cost=`` with method='sparse', and an unknown method: ValueError (InputError)."""
    with pytest.raises(InputError, match="method='sparse'") as caught:
        kantorovich(cost=torch.rand(5, 4), method="sparse")
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ValueError, match="method"):
        kantorovich(torch.rand(5, 2), torch.rand(4, 2), method="simplex")


def test_auto_goes_sparse_for_weighted_clouds_past_memory(monkeypatch):
    """A dense programme that does not fit: auto takes the sparse solver, with the dense optimum and gradient."""
    kant = sys.modules["monge.transport.kantorovich"]
    x, z, a, b = _torch_problem(8, 300, 250, 2)
    x.requires_grad_(True)
    dense = kantorovich(x, z, a, b)
    assert dense.method == "network_simplex"
    monkeypatch.setattr(kant._memory, "available_bytes", lambda device: 10**5)
    r = kantorovich(x, z, a, b)
    assert r.method == "sparse" and r.plan.is_sparse and r.permutation is None
    assert r.cost.item() == pytest.approx(dense.cost.item(), rel=1e-9)
    grad_dense, = torch.autograd.grad(dense.cost, x)
    grad, = torch.autograd.grad(r.cost, x)
    torch.testing.assert_close(grad, grad_dense, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------- hypothesis

FEW = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 3.0])
WEIGHTS = st.sampled_from([0.0, 0.1, 1.0, 2.5, 7.0])


@st.composite
def weighted_instances(draw):
    n, m, d = draw(st.integers(1, 25)), draw(st.integers(1, 25)), draw(st.integers(1, 3))
    # rounded to 1e-9: no squared distance underflows to 0 (test_zero_costs_end covers that)
    wide = st.floats(-100, 100, allow_nan=False, width=64).map(lambda v: round(v, 9))
    coords = draw(st.sampled_from([FEW, wide]))
    x, z = draw(arrays(np.float64, (n, d), elements=coords)), draw(arrays(np.float64, (m, d), elements=coords))
    a, b = draw(arrays(np.float64, n, elements=WEIGHTS)), draw(arrays(np.float64, m, elements=WEIGHTS))
    a[draw(st.integers(0, n - 1))] += 1.0  # a positive total
    b[draw(st.integers(0, m - 1))] += 1.0
    return x, a, z, b, draw(st.sampled_from(EXPONENTS))


@settings(max_examples=60, deadline=None)
@given(weighted_instances())
def test_hypothesis_optimum_equals_pot(instance):
    """Small random weighted instances (ties, zero weights, any p): POT's optimum and a valid certificate."""
    x, a, z, b, p = instance
    # every point at one location never returns (test_zero_costs_end, in forked processes): not here
    assume(np.ptp(np.vstack([x, z]), axis=0).max() > 0)
    failures = check("hypothesis", x, a, z, b, p)
    assert not failures, failures[0]
