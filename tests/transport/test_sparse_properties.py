"""The certified sparse matching equals scipy's optimum for every small input (hypothesis).

For arbitrary clouds of n = 1..40 points in d = 1..3, p = 1 or 2: ``sparse.solve`` reaches the
optimum of scipy's ``linear_sum_assignment`` on the dense matrix to 1e-9 relative (absolute 1e-12 when
the optimum is 0), and its certificate holds against that matrix (a permutation, its cost, the gap
within the tolerance, dual feasibility on every pair, f the c-transform of g). Two kinds of
coordinates: a small set of floats, so that duplicate points, ties and degenerate (collinear,
coincident) clouds are common, and arbitrary floats in [-1e3, 1e3]. A third property starts the
solver from arbitrary candidate pairs, which the certificate must complete.

Peer test material: scipy's ``linear_sum_assignment`` tests are on cost matrices; not ported:
scipy's matrix-only cases (rectangular, infinite entries), because the sparse solver works from
points. The oracle and the certificate check are those of tests/transport/test_sparse.py.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from monge.transport import sparse
from tests.transport.test_sparse import certificate_errors, dense_costs, optimum, same_optimum

FEW = st.sampled_from([-1.0, 0.0, 0.25, 0.5, 1.0, 3.0])
WIDE = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)
EXPONENTS = st.sampled_from([1.0, 2.0])


def clouds(elements, n_max: int = 40, d_max: int = 3):
    return st.tuples(st.integers(1, n_max), st.integers(1, d_max)).flatmap(
        lambda nd: st.tuples(arrays(np.float64, nd, elements=elements), arrays(np.float64, nd, elements=elements)))


def assert_exact_and_certified(x: np.ndarray, z: np.ndarray, p: float, **kwargs) -> sparse.SparseOutcome:
    outcome = sparse.solve(x, z, p, **kwargs)
    c = dense_costs(x, z, p)
    best = optimum(c)
    assert same_optimum(outcome.primal, best), (outcome.primal, best)
    errors = certificate_errors(outcome, c)
    assert not errors, errors
    return outcome


@settings(max_examples=80, deadline=None)
@given(clouds(FEW), EXPONENTS)
def test_exact_on_few_distinct_coordinates(xz, p):
    assert_exact_and_certified(*xz, p)


@settings(max_examples=60, deadline=None)
@given(clouds(WIDE), EXPONENTS)
def test_exact_on_arbitrary_coordinates(xz, p):
    assert_exact_and_certified(*xz, p)


@settings(max_examples=40, deadline=None)
@given(clouds(FEW, n_max=25).flatmap(lambda xz: st.tuples(
    st.just(xz), st.lists(st.tuples(st.integers(0, len(xz[0]) - 1), st.integers(0, len(xz[0]) - 1)),
                          min_size=1, max_size=3 * len(xz[0])))), EXPONENTS)
def test_exact_from_arbitrary_candidate_pairs(problem, p):
    """Any non-empty start set (plus the solver's own perfect matching) ends at the certified optimum."""
    (x, z), pairs = problem
    rows, cols = (np.array(column, dtype=np.int64) for column in zip(*pairs))
    assert_exact_and_certified(x, z, p, candidates=(rows, cols))
