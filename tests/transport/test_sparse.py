"""The certified sparse matching (monge.transport.sparse) against a dense oracle, and its certificate.

What is checked:

- the optimum of ``sparse.solve`` equals scipy's ``linear_sum_assignment`` on the dense matrix
  ``cdist(x, z, "sqeuclidean") ** (p / 2)`` to 1e-9 relative (absolute 1e-12 when the optimum is 0),
  comparing total costs (ties allow several optimal permutations), on several hundred random
  instances: uniform, clustered, five locations (heavy duplicates), x == z, a shuffled copy, all
  points identical, integer grids (ties), collinear points (d = 2 and 3, also at integer steps),
  coplanar points (a plane in d = 3 and 5: rank-2 covariances), a far-apart pair of clouds
  (shift 100), different spreads (Gaussian against uniform); d = 1, 2, 3 and 10 (d = 10 takes the
  block path of the reduced costs), p = 1, 1.5, 2 and 3, n = 1 and 2, and two instances of
  n = 2500 (the coarse start, with POT's network simplex as the oracle there: scipy takes 10-25 s);
  and a few named degenerate clouds (p = 2: two points, a thin cloud, two coplanar clouds in R^3);
- every outcome against its own certificate, recomputed independently from the dense matrix:
  ``perm`` is a permutation, ``primal`` is its cost (1e-12 relative), ``-tolerance <= gap <=
  tolerance``, ``gap == primal - sum f - sum g``, ``C_ij - f_i - g_j >= -tolerance / n`` for every
  pair (dual feasibility) and ``f_i == min_j C_ij - g_j`` (the c-transform);
- wrong starting candidate sets (a random permutation, the reversed one, each row's farthest
  column, each row's nearest column only, a random sparse graph) are repaired by the certificate:
  the exact optimum, in two rounds or more, where the optimum restricted to the given pairs (plus
  the solver's own perfect matching) is verified, with scipy on a matrix of ``inf`` off the pairs, to
  be worse than the global one;
- ``matching(method="sparse")`` equals ``lsa`` in cost (torch float64, float32, numpy inputs), its
  ``f``, ``g`` are dual feasible against ``cost_matrix``, its ``duality_gap`` is a small float,
  its gradients are those of the envelope theorem, batched inputs equal per-problem solves, and
  ``cost=`` is refused naming 'sparse'; ``method="auto"`` takes it for one problem of SPARSE_FROM points or more
  in d <= 5 (SPARSE_FROM_BLOCKS up to SPARSE_MAX_DIM dimensions), only;
- no n x n matrix on this path: ``cost_matrix`` raising, numpy's traced peak far below n^2 floats
  (d = 2, n = 3000), and only bounded ``cost_blocks`` at d = 10.

Peer test material (scipy/optimize/tests/test_linear_assignment.py): ported in spirit are
``test_constant_cost_matrix`` (all costs equal: here every x at one point, every z at another,
``test_constant_cost_matrix_as_points``) and ``test_two_methods_give_same_result_on_many_sparse_inputs``
(its seed 12342309 and density 0.06 for a random sparse 100 x 100 graph; here the graph is the solver's
starting candidate set, not the problem: ``test_scipy_random_sparse_graphs_as_candidates``).
Not ported: scipy's matrix-only cases (rectangular, infinite entries, NaN, object, bool and string
inputs, the spelled-out small matrices, empty matrices), because the sparse solver works from points;
an empty cloud is refused by ``matching``'s input checks before any solver (tests/transport/test_errors.py).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

import monge.transport as transport_package
import monge.transport.costs as costs_module
import monge.transport.monge as monge_module
from monge.errors import InputError
from monge.transport import _reduced_costs, _starts, cost_matrix, matching, sparse
from monge.transport._candidates import principal_matching

EXPONENTS = [1.0, 1.5, 2.0, 3.0]
DIMENSIONS = [1, 2, 3, 10]


# ----------------------------------------------------------------------------- oracles and checks

def dense_costs(x: np.ndarray, z: np.ndarray, p: float) -> np.ndarray:
    """The dense cost matrix, independently of monge: scipy's squared distances to the power p / 2."""
    c = cdist(np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64), "sqeuclidean")
    return c if p == 2 else c ** (p / 2)


def optimum(c: np.ndarray) -> float:
    rows, cols = linear_sum_assignment(c)
    return float(c[rows, cols].sum())


def same_optimum(value: float, best: float) -> bool:
    """1e-9 relative, absolute 1e-12 when the optimum is 0."""
    return abs(value - best) <= 1e-9 * abs(best) + 1e-12


def certificate_errors(outcome: sparse.SparseOutcome, c: np.ndarray) -> list[str]:
    """What is wrong with the outcome's certificate, checked against the dense matrix ``c`` (empty: nothing)."""
    n = len(c)
    errors = []
    perm, f, g, tol = outcome.permutation, outcome.f, outcome.g, outcome.tolerance
    if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
        return [f"not a permutation: {perm.tolist()}"]
    if f.shape != (n,) or g.shape != (n,) or not (np.isfinite(f).all() and np.isfinite(g).all()):
        return ["f or g: wrong shape or not finite"]
    primal = float(c[np.arange(n), perm].sum())
    if abs(outcome.primal - primal) > 1e-12 * abs(primal) + 1e-300:
        errors.append(f"primal {outcome.primal!r} but the matched costs sum to {primal!r}")
    if not tol >= 0 or not np.isfinite(tol):
        errors.append(f"tolerance {tol!r}")
    if outcome.gap > tol:
        errors.append(f"gap {outcome.gap:.3g} above the tolerance {tol:.3g}")
    if outcome.gap < -tol:  # weak duality: sum f + sum g <= OPT <= primal for a feasible dual
        errors.append(f"gap {outcome.gap:.3g} below -tolerance {-tol:.3g}: the dual is not feasible")
    if abs(outcome.gap - (outcome.primal - f.sum() - g.sum())) > tol:
        errors.append(f"gap {outcome.gap!r} is not primal - sum f - sum g = {outcome.primal - f.sum() - g.sum()!r}")
    reduced = c - f[:, None] - g[None, :]
    worst = float(reduced.min())
    if worst < -tol / n:
        i, j = np.unravel_index(np.argmin(reduced), reduced.shape)
        errors.append(f"dual infeasible: C - f - g = {worst:.3g} at ({i}, {j}), below -tolerance/n = {-tol / n:.3g}")
    slack = float(np.abs(reduced.min(1)).max())
    if slack > tol / n:
        errors.append(f"f is not the c-transform of g: |min_j (C_ij - g_j) - f_i| up to {slack:.3g}")
    if outcome.rounds < 1 or outcome.pairs < 1:  # fewer than n where repeated points were merged
        errors.append(f"rounds {outcome.rounds}, pairs {outcome.pairs}")
    return errors


def run_instances(instances) -> tuple[list[str], int]:
    """Solve every ``(label, x, z, p, kwargs)``; return the failures (all of them, not just the first) and the count."""
    failures, count = [], 0
    for label, x, z, p, kwargs in instances:
        count += 1
        c = dense_costs(x, z, p)
        try:
            outcome = sparse.solve(x, z, p, **kwargs)
        except Exception as error:  # noqa: BLE001 -- every instance is reported, the test fails below
            failures.append(f"{label}: raised {error!r}")
            continue
        best = optimum(c)
        problems = certificate_errors(outcome, c)
        if not same_optimum(outcome.primal, best):
            problems.insert(0, f"primal {outcome.primal!r}, optimum {best!r}")
        if problems:
            failures.append(f"{label}: " + "; ".join(problems))
    return failures, count


# ----------------------------------------------------------------------------- instance families

def _uniform(rng, n, d):
    return rng.uniform(size=(n, d)), rng.uniform(size=(n, d))


def _clustered(rng, n, d):
    centres = 5.0 * rng.normal(size=(3, d))
    return (centres[rng.integers(0, 3, n)] + 1e-2 * rng.normal(size=(n, d)),
            centres[rng.integers(0, 3, n)] + 1e-2 * rng.normal(size=(n, d)))


def _five_locations(rng, n, d):
    locations = rng.normal(size=(5, d))
    return locations[rng.integers(0, 5, n)], locations[rng.integers(0, 5, n)]


def _equal(rng, n, d):
    x = rng.normal(size=(n, d))
    return x, x.copy()


def _shuffled_copy(rng, n, d):
    x = rng.normal(size=(n, d))
    return x, x[rng.permutation(n)]


def _identical(rng, n, d):
    point = rng.normal(size=(1, d))
    return np.repeat(point, n, 0), np.repeat(point, n, 0)


def _grid(rng, n, d):
    return rng.integers(0, 4, (n, d)).astype(float), rng.integers(0, 4, (n, d)).astype(float)


def _collinear(rng, n, d):
    direction, offset = rng.normal(size=d), rng.normal(size=d)
    return rng.normal(size=(n, 1)) * direction + offset, rng.normal(size=(n, 1)) * direction + offset


def _collinear_grid(rng, n, d):
    direction = rng.integers(-2, 3, d).astype(float)
    direction[0] = 1.0
    return rng.integers(0, 6, (n, 1)) * direction, rng.integers(0, 6, (n, 1)) * direction


def _coplanar(rng, n, d):
    basis = rng.normal(size=(2, d))  # a plane through the origin of R^d: rank-2 covariances
    return rng.normal(size=(n, 2)) @ basis, rng.uniform(size=(n, 2)) @ basis


def _shifted(rng, n, d):
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 100.0


def _spreads(rng, n, d):
    return rng.normal(size=(n, d)), rng.uniform(size=(n, d))


FAMILIES = {
    "uniform": _uniform, "clustered": _clustered, "five_locations": _five_locations, "equal": _equal,
    "shuffled_copy": _shuffled_copy, "identical": _identical, "grid": _grid, "collinear": _collinear,
    "collinear_grid": _collinear_grid, "coplanar": _coplanar, "shifted": _shifted, "spreads": _spreads,
}
# Collinear families in d = 1 are plain d = 1 instances: their own dimensions are 2 and 3; a plane
# in d = 3 and 5 (the k-d tree's largest dimension).
FAMILY_DIMENSIONS = {"collinear": [2, 3], "collinear_grid": [2, 3], "coplanar": [3, 5]}
REPEATS = 3


def family_instances(family: str, p: float):
    dimensions = FAMILY_DIMENSIONS.get(family, DIMENSIONS)
    repeats = REPEATS * len(DIMENSIONS) // len(dimensions)
    for d in dimensions:
        for repeat in range(repeats):
            seed = [list(FAMILIES).index(family), int(10 * p), d, repeat]
            rng = np.random.default_rng(seed)
            n = int(rng.integers(3, 90))
            x, z = FAMILIES[family](rng, n, d)
            yield f"family={family} seed={seed} n={n} d={d} p={p}", x, z, p, {}


# ----------------------------------------------------------------------------- against the dense optimum

@pytest.mark.parametrize("p", EXPONENTS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_sparse_optimum_equals_dense_optimum(family, p):
    """12 instances per (family, p), 576 in all; every failure is listed, not only the first."""
    failures, count = run_instances(family_instances(family, p))
    assert count == 12
    assert not failures, f"{len(failures)} of {count} instances:\n" + "\n".join(failures)


@pytest.mark.parametrize("p", EXPONENTS)
def test_one_and_two_points(p):
    """n = 1 and 2 in d = 1, 2, 3, 10: random points, x == z and identical points (64 instances per p)."""
    def instances():
        for n in (1, 2):
            for d in DIMENSIONS:
                for family, repeats in (("uniform", 6), ("equal", 1), ("identical", 1)):
                    for repeat in range(repeats):
                        seed = [n, d, int(10 * p), repeat, list(FAMILIES).index(family)]
                        x, z = FAMILIES[family](np.random.default_rng(seed), n, d)
                        yield f"family={family} seed={seed} n={n} d={d} p={p}", x, z, p, {}
    failures, count = run_instances(instances())
    assert count == 64
    assert not failures, f"{len(failures)} of {count} instances:\n" + "\n".join(failures)


def _coplanar_seed_7():
    rng = np.random.default_rng(7)
    basis = rng.normal(size=(2, 3))
    return rng.normal(size=(80, 2)) @ basis, rng.uniform(size=(80, 2)) @ basis


DEGENERATE = {  # p = 2, found by the families above and by hypothesis (test_sparse_properties.py)
    # two points in the plane: rank-1 covariances, the Gaussian start's metric is singular
    "two_points_plane": ([[4.0, 1.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 1.0]]),
    "two_points_space": ([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]], [[0.0, 2.0, 2.0], [2.0, 2.0, 2.0]]),
    "two_points_far": ([[2.0, 0.0, 1.0], [0.0, 0.0, 0.0]], [[0.0, 100.0, 100.0], [100.0, 100.0, 100.0]]),
    # z nearly on a line (1e-10 across): the query's affine fits of the potentials
    "thin_z": ([[2.0, 0.0], [0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [-1.0, 1e-10], [1e-10, 1e-10]]),
    # two clouds in one plane of R^3
    "coplanar_seed_7": _coplanar_seed_7(),
}


@pytest.mark.parametrize("name", list(DEGENERATE))
def test_degenerate_clouds(name):
    """Clouds whose covariance is singular or nearly so: the exact optimum and a valid certificate."""
    x, z = (np.asarray(a, dtype=np.float64) for a in DEGENERATE[name])
    failures, _ = run_instances([(name, x, z, 2.0, {})])
    assert not failures, failures[0]


def test_constant_cost_matrix_as_points():
    """scipy's test_constant_cost_matrix (#11602) from points: every cost is 1, any permutation is optimal."""
    for d in DIMENSIONS:
        for p in EXPONENTS:
            x = np.zeros((8, d))
            z = np.zeros((8, d))
            z[:, 0] = 1.0
            outcome = sparse.solve(x, z, p)
            assert outcome.primal == 8.0
            assert not certificate_errors(outcome, dense_costs(x, z, p)), (d, p)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_few_candidates_per_row_are_still_exact(k):
    """With k = 1, 2, 5 start candidates per row and column the certificate supplies the rest."""
    def instances():
        for d, p in ((2, 2.0), (2, 1.0), (3, 1.5), (10, 2.0)):
            for repeat in range(4):
                seed = [k, d, int(10 * p), repeat]
                rng = np.random.default_rng(seed)
                family = ("uniform", "clustered", "spreads", "grid")[repeat]
                x, z = FAMILIES[family](rng, 120, d)
                yield f"family={family} seed={seed} n=120 d={d} p={p} k={k}", x, z, p, {"k": k}
    failures, count = run_instances(instances())
    assert not failures, f"{len(failures)} of {count} instances:\n" + "\n".join(failures)


@pytest.mark.parametrize("family", ["gaussian_vs_uniform", "uniform_vs_uniform"])
def test_coarse_start_at_n_2500(family, monkeypatch):
    """Above _starts.COARSE_FROM the matching starts from its groups' centroids, and is the dense optimum.

    Oracle: POT's network simplex (scipy's lsa takes 10-25 s on these), and the dense certificate
    (dual feasibility on all n^2 pairs, a proof of optimality by weak duality on its own).
    """
    import ot  # here: importing POT takes 0.5-2 s

    n = 2500
    assert n >= _starts.COARSE_FROM
    rng = np.random.default_rng(2500)
    x = rng.normal(size=(n, 2)) if family == "gaussian_vs_uniform" else rng.uniform(size=(n, 2))
    z = rng.uniform(size=(n, 2))
    taken = []
    coarse = _starts.coarse

    def spy(*args, **kwargs):
        taken.append(len(args[0]))
        return coarse(*args, **kwargs)

    monkeypatch.setattr(_starts, "coarse", spy)
    outcome = sparse.solve(x, z)
    assert taken[:1] == [n], "the coarse start was not taken"
    c = dense_costs(x, z, 2.0)
    uniform = np.full(n, 1.0 / n)
    best = n * float(ot.emd2(uniform, uniform, c, numItermax=10**8))
    assert same_optimum(outcome.primal, best), (outcome.primal, best)
    assert not certificate_errors(outcome, c)


@pytest.mark.parametrize("n, d", [(4, 2), (7, 2), (1000, 2), (1003, 1), (999, 3), (512, 10)])
def test_groups_partition_the_cloud_into_nearby_fours(n, d):
    """The coarse start's groups: n // 4 disjoint groups of 4 points, each far tighter than the cloud."""
    rng = np.random.default_rng([n, d])
    x = rng.uniform(size=(n, d))
    of = _starts.groups(x)
    assert of.shape == (n // 4, 4)
    assert len(np.unique(of)) == of.size and of.min() >= 0 and of.max() < n
    if n >= 1000:  # a group spans a few neighbours' distances, not the cloud (the unit cube)
        spans = np.ptp(x[of], axis=1).max(axis=1)
        assert np.median(spans) < 4 * (4 / n) ** (1 / d), np.median(spans)


def test_coarse_start_refines_the_coarse_plan_into_candidate_pairs():
    """The coarse start's pairs: each member of a group with each member of the group its centroid is
    matched to (16 pairs a group), and the potentials are the c-transform of the coarse ones."""
    rng = np.random.default_rng(77)
    x, z = rng.uniform(size=(400, 2)), rng.normal(size=(400, 2))
    seen = {}

    def solve(cx, cz):
        seen["outcome"] = outcome = sparse.solve(cx, cz)
        seen["centroids"] = cx
        return outcome

    g, (rows, cols) = _starts.coarse(x, z, 2.0, solve, None)
    of_x, of_z = _starts.groups(x), _starts.groups(z)
    perm = seen["outcome"].permutation
    expected = {(int(i), int(j)) for t in range(len(of_x)) for i in of_x[t] for j in of_z[perm[t]]}
    assert len(rows) == 16 * len(of_x) and set(zip(rows.tolist(), cols.tolist())) == expected
    transform = (((seen["centroids"][:, None, :] - z[None, :, :]) ** 2).sum(-1) - seen["outcome"].f[:, None]).min(0)
    np.testing.assert_allclose(g, transform, rtol=1e-12, atol=1e-12)


def test_groups_of_repeated_and_collinear_points():
    """Equal points (no widest axis to split) and a segment are still cut into disjoint fours, in order."""
    same = np.zeros((10, 2))
    of = _starts.groups(same)
    assert of.shape == (2, 4) and np.unique(of).size == 8
    line = np.column_stack([np.arange(16.0)[::-1], np.zeros(16)])
    assert sorted(map(sorted, (15 - _starts.groups(line)).tolist())) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11],
                                                                           [12, 13, 14, 15]]


# ----------------------------------------------------------------------------- wrong candidate sets

def restricted_optimum(c: np.ndarray, rows: np.ndarray, cols: np.ndarray, x: np.ndarray, z: np.ndarray) -> float:
    """The optimum over the given pairs plus the solver's own perfect matching (scipy, inf off the pairs)."""
    allowed = np.full(c.shape, np.inf)
    allowed[rows, cols] = c[rows, cols]
    extra_rows, extra_cols = principal_matching(x, z)
    allowed[extra_rows, extra_cols] = c[extra_rows, extra_cols]
    return optimum(allowed)


def wrong_candidates(kind: str, c: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = len(c)
    rows = np.arange(n)
    if kind == "random_permutation":
        return rows, rng.permutation(n)
    if kind == "reversed":
        return rows, rows[::-1].copy()
    if kind == "farthest":
        return rows, c.argmax(1)
    if kind == "nearest":
        return rows, c.argmin(1)
    raise AssertionError(kind)


@pytest.mark.parametrize("d, p", [(2, 2.0), (2, 1.0), (3, 1.5), (10, 2.0), (3, 3.0)])
@pytest.mark.parametrize("kind", ["random_permutation", "reversed", "farthest", "nearest"])
def test_certificate_repairs_wrong_candidates(kind, d, p):
    """A start set that misses the optimum is completed by the certificate: exact, rounds >= 2.

    Not in d = 1: there the solver's own perfect matching (both clouds sorted) is already optimal.
    """
    for repeat in range(3):
        seed = [["random_permutation", "reversed", "farthest", "nearest"].index(kind), d, int(10 * p), repeat]
        rng = np.random.default_rng(seed)
        n = 60
        x = rng.uniform(size=(n, d))
        z = rng.uniform(size=(n, d)) + np.eye(d)[0] * 0.5  # half overlapping: nearest partners collide
        c = dense_costs(x, z, p)
        rows, cols = wrong_candidates(kind, c, rng)
        best = optimum(c)
        assert restricted_optimum(c, rows, cols, x, z) > best * (1 + 1e-9), "precondition: a wrong start set"
        outcome = sparse.solve(x, z, p, candidates=(rows, cols))
        assert same_optimum(outcome.primal, best), (seed, outcome.primal, best)
        assert outcome.rounds >= 2, seed
        assert not certificate_errors(outcome, c), seed


def test_nearest_neighbour_only_where_the_optimum_needs_long_pairs():
    """Two blobs with different shares in x and z: a quarter of the points must cross to the other blob.

    Each row's nearest column only (plus the solver's matching) cannot hold the optimum; neither can
    k = 1 of the start potentials' candidates in general; both must still end at the optimum.
    """
    n, rng = 80, np.random.default_rng(80)
    corners = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
    x = corners[np.repeat([0, 1, 2, 3], [40, 10, 20, 10])] + 0.3 * rng.normal(size=(n, 2))
    z = corners[np.repeat([0, 1, 2, 3], [10, 30, 10, 30])] + 0.3 * rng.normal(size=(n, 2))
    for p in (1.0, 2.0):
        c = dense_costs(x, z, p)
        best = optimum(c)
        rows, cols = np.arange(n), c.argmin(1)
        assert restricted_optimum(c, rows, cols, x, z) > best * (1 + 1e-9)
        outcome = sparse.solve(x, z, p, candidates=(rows, cols))
        assert same_optimum(outcome.primal, best) and outcome.rounds >= 2, (p, outcome.primal, best, outcome.rounds)
        assert not certificate_errors(outcome, c)
        outcome = sparse.solve(x, z, p, k=1)
        assert same_optimum(outcome.primal, best), (p, outcome.primal, best)
        assert not certificate_errors(outcome, c)


def test_scipy_random_sparse_graphs_as_candidates():
    """scipy's test_two_methods_give_same_result_on_many_sparse_inputs, adapted: its seed and its random
    sparse graph of density 0.06 on 100 x 100, here as the starting candidate set between two clouds
    (the problem stays complete, so none of the instances is infeasible)."""
    rng = np.random.default_rng(12342309)
    n = 100
    for trial in range(10):
        x, z = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2))
        mask = rng.uniform(size=(n, n)) < 0.06
        rows, cols = np.nonzero(mask)
        p = (1.0, 2.0)[trial % 2]
        c = dense_costs(x, z, p)
        best = optimum(c)
        outcome = sparse.solve(x, z, p, candidates=(rows, cols))
        assert same_optimum(outcome.primal, best), (trial, outcome.primal, best)
        if restricted_optimum(c, rows, cols, x, z) > best * (1 + 1e-9):
            assert outcome.rounds >= 2, trial
        assert not certificate_errors(outcome, c), trial


def test_empty_candidate_set_is_the_solvers_matching_alone():
    """No given pair at all: only the solver's own perfect matching; the certificate finds the rest."""
    rng = np.random.default_rng(0)
    x, z = rng.uniform(size=(50, 2)), rng.uniform(size=(50, 2))
    empty = np.empty(0, dtype=np.int64)
    outcome = sparse.solve(x, z, 2.0, candidates=(empty, empty))
    c = dense_costs(x, z, 2.0)
    assert same_optimum(outcome.primal, optimum(c)) and outcome.rounds >= 2
    assert not certificate_errors(outcome, c)


# ----------------------------------------------------------------------------- matching(method="sparse")

def _dual_violation(result, x, z, p: float) -> float:
    """The largest C_ij - f_i - g_j < 0 against monge's cost_matrix, in float64, as a positive number."""
    c = cost_matrix(torch.as_tensor(x).double(), torch.as_tensor(z).double(), p)
    reduced = c - result.f.double()[..., :, None] - result.g.double()[..., None, :]
    return float(max(0.0, -reduced.min()))


@pytest.mark.parametrize("p", [1.0, 2.0])
@pytest.mark.parametrize("kind", ["float64", "float32", "numpy"])
def test_matching_sparse_equals_lsa(kind, p):
    rng = np.random.default_rng([7, int(p)])
    n = 300
    x, z = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2))
    if kind != "numpy":
        dtype = torch.float64 if kind == "float64" else torch.float32
        x, z = torch.from_numpy(x).to(dtype), torch.from_numpy(z).to(dtype)
    result = matching(x, z, p, method="sparse")
    reference = matching(x, z, p, method="lsa")
    assert result.method == "sparse" and result.converged
    dtype = torch.float32 if kind == "float32" else torch.float64
    assert result.cost.dtype == dtype and result.f.dtype == dtype and result.g.dtype == dtype
    assert result.permutation.dtype == torch.long and result.permutation.shape == (n,)
    assert sorted(result.permutation.tolist()) == list(range(n))
    rel = 1e-5 if kind == "float32" else 1e-9
    assert float(result.cost) == pytest.approx(float(reference.cost), rel=rel)
    assert isinstance(result.duality_gap, float)
    assert abs(result.duality_gap) <= 1e-9 * (1 + float(result.cost))
    assert isinstance(result.n_iter, int) and result.n_iter >= 1
    scale = 1e-5 if kind == "float32" else 1e-10
    assert _dual_violation(result, x, z, p) <= scale * (1 + float(result.cost))
    # the dual value is the cost (per point): n cost - sum f - sum g = n duality_gap
    dual = float(result.f.double().sum() + result.g.double().sum())
    tolerance = scale * n * (1 + float(result.cost))
    assert n * float(result.cost) - dual == pytest.approx(n * result.duality_gap, abs=tolerance)
    plan = result.plan
    assert plan is not None and torch.allclose(plan.sum(1), torch.full((n,), 1.0 / n, dtype=dtype))
    assert torch.all(plan[torch.arange(n), result.permutation] == 1.0 / n)


@pytest.mark.parametrize("p", [2.0, 1.5])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_matching_sparse_gradients_are_the_envelope_theorem(p, dtype):
    """d cost / dx_i = grad_x c(x_i, z_{s_i}) / n at the optimal s; the same as lsa's (no ties here)."""
    rng = np.random.default_rng([11, int(10 * p)])
    n = 200
    x0, z0 = torch.from_numpy(rng.normal(size=(n, 2))).to(dtype), torch.from_numpy(rng.normal(size=(n, 2))).to(dtype)
    grads = {}
    for method in ("sparse", "lsa"):
        x, z = x0.clone().requires_grad_(True), z0.clone().requires_grad_(True)
        result = matching(x, z, p, method=method)
        grads[method] = (result.permutation, *torch.autograd.grad(result.cost, (x, z)))
    perm, gx, gz = grads["sparse"]
    assert torch.equal(perm, grads["lsa"][0])
    torch.testing.assert_close(gx, grads["lsa"][1])
    torch.testing.assert_close(gz, grads["lsa"][2])
    diff = (x0 - z0[perm]).double()
    expected = p * diff.norm(dim=1, keepdim=True) ** (p - 2) * diff / n
    torch.testing.assert_close(gx.double(), expected, rtol=1e-5 if dtype == torch.float32 else 1e-10, atol=1e-9)
    expected_z = torch.zeros_like(expected)
    expected_z[perm] = -expected
    torch.testing.assert_close(gz.double(), expected_z, rtol=1e-5 if dtype == torch.float32 else 1e-10, atol=1e-9)


def test_matching_sparse_batched_equals_per_problem():
    rng = np.random.default_rng(3)
    batch, n = 3, 150
    x = torch.from_numpy(rng.normal(size=(batch, n, 2)))
    z = torch.from_numpy(rng.uniform(size=(batch, n, 2)))
    result = matching(x, z, method="sparse")
    reference = matching(x, z, method="lsa")
    assert result.method == "sparse"
    assert result.permutation.shape == (batch, n) and result.cost.shape == (batch,)
    assert result.f.shape == (batch, n) and result.g.shape == (batch, n)
    torch.testing.assert_close(result.cost, reference.cost, rtol=1e-9, atol=0)
    singles = [matching(x[b], z[b], method="sparse") for b in range(batch)]
    for b, single in enumerate(singles):
        assert torch.equal(result.permutation[b], single.permutation)
        torch.testing.assert_close(result.cost[b], single.cost, rtol=1e-12, atol=0)
        torch.testing.assert_close(result.f[b], single.f, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(result.g[b], single.g, rtol=1e-12, atol=1e-12)
    assert result.n_iter == max(s.n_iter for s in singles)
    assert result.duality_gap == max(s.duality_gap for s in singles)
    assert _dual_violation(result, x, z, 2.0) <= 1e-10


def test_matching_sparse_refuses_a_cost_matrix():
    with pytest.raises(InputError, match="sparse") as caught:
        matching(cost=torch.rand(5, 5), method="sparse")
    assert isinstance(caught.value, ValueError)


def test_auto_takes_sparse_for_one_large_low_dimensional_problem():
    rng = np.random.default_rng(1500)
    n = monge_module.SPARSE_FROM
    x, z = torch.from_numpy(rng.uniform(size=(n, 2))), torch.from_numpy(rng.uniform(size=(n, 2)))
    result = matching(x, z)
    assert result.method == "sparse"
    assert float(result.cost) == pytest.approx(float(matching(x, z, method="network_simplex").cost), rel=1e-9)


def test_auto_does_not_take_sparse_for_small_or_batched_problems():
    rng = np.random.default_rng(500)
    x, z = torch.from_numpy(rng.uniform(size=(500, 2))), torch.from_numpy(rng.uniform(size=(500, 2)))
    assert matching(x, z).method != "sparse"
    n = monge_module.SPARSE_FROM
    # the rule alone (no solve): smaller problems, batches and d > SPARSE_MAX_DIM do not take it; any p does
    assert monge_module.choose_method(torch.empty(n - 1, 2)) != "sparse"
    assert monge_module.choose_method(torch.empty(2, n, 2)) != "sparse"
    assert monge_module.choose_method(torch.empty(n, 2), 1.0) == "sparse"
    high = monge_module.SPARSE_FROM_BLOCKS  # past the tree's dimensions the sparse solver needs more points
    assert monge_module.choose_method(torch.empty(high - 1, _reduced_costs.KDTREE_MAX_DIM + 1)) != "sparse"
    assert monge_module.choose_method(torch.empty(high, monge_module.SPARSE_MAX_DIM + 1)) != "sparse"
    assert monge_module.choose_method(torch.empty(high, monge_module.SPARSE_MAX_DIM), 1.5) == "sparse"


def test_auto_takes_sparse_where_the_dense_matrices_do_not_fit(monkeypatch):
    monkeypatch.setattr(monge_module._memory, "available_bytes", lambda device: 1 << 20)
    assert monge_module.choose_method(torch.empty(500, 8), 1.0) == "sparse"
    assert monge_module.choose_method(torch.empty(2, 500, 8), 1.0) != "sparse"


# ----------------------------------------------------------------------------- no n x n matrix

def _forbid_cost_matrix(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("cost_matrix called on the sparse path")
    for module in (costs_module, monge_module, transport_package):
        monkeypatch.setattr(module, "cost_matrix", refuse)


def _certified_by_dense_duality(result, x: np.ndarray, z: np.ndarray) -> None:
    """Weak duality on all n^2 pairs (numpy only): the matching is optimal up to the gap."""
    n = len(x)
    c = dense_costs(x, z, 2.0)
    f, g = result.f.numpy(), result.g.numpy()
    primal = float(c[np.arange(n), result.permutation.numpy()].sum())
    scale = float(c.max()) + float(np.abs(g).max())
    assert float((c - f[:, None] - g[None, :]).min()) >= -1e-12 * scale
    assert primal - f.sum() - g.sum() <= 1e-9 * n * scale
    assert float(result.cost) == pytest.approx(primal / n, rel=1e-12)


def test_no_dense_matrix_in_the_plane(monkeypatch):
    """d = 2, n = 3000: no cost_matrix, no cost_blocks (the tilted k-d tree), numpy's peak far below n^2 floats."""
    _forbid_cost_matrix(monkeypatch)

    def no_blocks(*args, **kwargs):
        raise AssertionError("cost_blocks called for p = 2 in the plane")
    monkeypatch.setattr(_reduced_costs, "cost_blocks", no_blocks)
    n = 3000
    rng = np.random.default_rng(3000)
    x, z = rng.normal(size=(n, 2)), rng.uniform(size=(n, 2))
    xt, zt = torch.from_numpy(x), torch.from_numpy(z)
    matching(xt[:100], zt[:100], method="sparse")  # numba's compilation outside the trace
    tracemalloc.start()
    try:
        result = matching(xt, zt, method="sparse")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.plan is None
    matrix = n * n * 8
    assert peak < matrix / 4, f"numpy's peak {peak / 2**20:.1f} MiB; an n x n float64 matrix is {matrix / 2**20:.0f} MiB"
    _certified_by_dense_duality(result, x, z)


def test_no_dense_matrix_in_ten_dimensions(monkeypatch):
    """d = 10 takes the block path: cost_blocks is allowed, in blocks of at most costs._BLOCK_ELEMENTS."""
    _forbid_cost_matrix(monkeypatch)
    blocks = []
    stream = _reduced_costs.cost_blocks

    def recorded(*args, **kwargs):
        for rows, block in stream(*args, **kwargs):
            blocks.append(block.numel())
            yield rows, block
    monkeypatch.setattr(_reduced_costs, "cost_blocks", recorded)
    n = 3000
    rng = np.random.default_rng(3010)
    x, z = rng.uniform(size=(n, 10)), rng.uniform(size=(n, 10))
    result = matching(torch.from_numpy(x), torch.from_numpy(z), method="sparse")
    assert blocks and max(blocks) <= costs_module._BLOCK_ELEMENTS
    _certified_by_dense_duality(result, x, z)


def test_auto_falls_back_to_a_dense_solver_when_the_certificate_stalls(monkeypatch):
    """matching(auto) gives the sparse solver AUTO_ROUNDS certificate rounds; a solve that stalls
    (here train against test samples of 25 Gaussians, whose mass crossing between clusters needs several
    rounds, given one) goes to the dense solver where it fits, with the same optimum; method="sparse"
    itself never stops short."""
    from monge.data import toys

    n = monge_module.SPARSE_FROM
    x, z = (torch.from_numpy(np.asarray(toys.gaussians25(n, seed=seed)[0], dtype=np.float64)) for seed in (1, 2))
    monkeypatch.setattr(monge_module, "AUTO_ROUNDS", 1)
    with pytest.raises(sparse.Stalled):
        sparse.solve(x.numpy(), z.numpy(), max_rounds=1)
    result = matching(x, z)
    assert result.method == monge_module._dense_method(x)
    assert float(result.cost) == pytest.approx(float(matching(x, z, method="sparse").cost), rel=1e-9)
