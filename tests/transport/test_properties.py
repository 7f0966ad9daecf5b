"""Laws that hold for every input (hypothesis)."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from monge.geometry import crossings
from monge.transport import kantorovich, matching, wasserstein

coords = st.floats(-10, 10, allow_nan=False, width=64)


def clouds(n_min=1, n_max=7, d=2):
    return st.integers(n_min, n_max).flatmap(
        lambda n: st.tuples(arrays(np.float64, (n, d), elements=coords), arrays(np.float64, (n, d), elements=coords)))


fast = settings(max_examples=40, deadline=None)


@fast
@given(clouds())
def test_distance_to_itself_is_zero(xz):
    x, _ = xz
    assert float(wasserstein(torch.from_numpy(x), torch.from_numpy(x))) == 0.0


@fast
@given(clouds(), st.sampled_from([1.0, 1.5, 2.0]))
def test_symmetry(xz, p):
    x, z = map(torch.from_numpy, xz)
    assert abs(float(wasserstein(x, z, p=p)) - float(wasserstein(z, x, p=p))) <= 1e-9 * (1 + float(wasserstein(x, z, p=p)))


@fast
@given(clouds(), arrays(np.float64, (2,), elements=coords))
def test_translation_invariance(xz, t):
    x, z = map(torch.from_numpy, xz)
    t = torch.from_numpy(t)
    a, b = float(wasserstein(x + t, z + t)), float(wasserstein(x, z))
    assert abs(a - b) <= 1e-7 * (1 + b)


@fast
@given(clouds(), st.randoms(use_true_random=False))
def test_reordering_invariance(xz, random):
    x, z = map(torch.from_numpy, xz)
    order = list(range(len(z)))
    random.shuffle(order)
    a, b = float(wasserstein(x, z[order])), float(wasserstein(x, z))
    assert abs(a - b) <= 1e-9 * (1 + b)


@fast
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(*[arrays(np.float64, (n, 2), elements=coords)] * 3)),
       st.sampled_from([1.0, 2.0, 3.0]))
def test_triangle_inequality(xyz, p):
    x, y, z = map(torch.from_numpy, xyz)
    assert float(wasserstein(x, z, p=p)) <= float(wasserstein(x, y, p=p)) + float(wasserstein(y, z, p=p)) + 1e-9


@fast
@given(st.integers(2, 9), st.integers(0, 2**31 - 1))
def test_monge_optimal_segments_do_not_cross(n, seed):
    """Monge (1781): for the Euclidean cost the optimal segments do not cross.

    Points in general position (drawn from a seed): a proper crossing could be uncrossed at a
    strictly lower cost (triangle inequality), so an optimal matching has none.
    """
    rng = np.random.default_rng(seed)
    x, z = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2))
    for method in ("lsa", "auction"):
        r = matching(torch.from_numpy(x), torch.from_numpy(z), p=1.0, method=method)
        assert crossings(x, z, r.permutation.numpy()) == 0


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_kantorovich_marginals_and_duality(n, m, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.0, 1.0, n) + 1e-3, rng.uniform(0.0, 1.0, m) + 1e-3
    a, b = a / a.sum(), b / b.sum()
    r = kantorovich(torch.from_numpy(rng.normal(size=(n, 2))), torch.from_numpy(rng.normal(size=(m, 2))),
                    torch.from_numpy(a), torch.from_numpy(b))
    assert r.marginal_error <= 1e-12 and r.duality_gap <= 1e-9
