"""The transport board: monge.transport's answers for the page's clouds, and Figure 2.2's 720 permutations."""

import itertools

import numpy as np
import pytest
import torch

from monge.transport import kantorovich, matching, sinkhorn
from monge.playground.transport_board import diameter, permutations, solve


@pytest.fixture
def clouds(rng):
    return rng.uniform(-5, 5, (30, 2)), rng.uniform(-5, 5, (30, 2))


@pytest.mark.parametrize("p", [1, 2])
def test_equal_uniform_clouds_get_monges_matching(clouds, p):
    x, z = clouds
    s = solve(x, z, p=p)
    reference = matching(torch.from_numpy(x), torch.from_numpy(z), p=p)
    assert s.method == "matching" and s.plan is None
    assert s.permutation.dtype == np.int32
    np.testing.assert_array_equal(s.permutation, reference.permutation.numpy())
    assert s.cost == pytest.approx(float(reference.cost), rel=1e-12)
    assert s.seconds > 0


def test_unequal_clouds_or_masses_get_kantorovichs_plan(rng):
    x, z = rng.uniform(-5, 5, (7, 2)), rng.uniform(-5, 5, (11, 2))
    a, b = rng.uniform(0.1, 1, 7), rng.uniform(0.1, 1, 11)
    s = solve(x, z, a, b, p=2)
    assert s.method == "kantorovich" and s.permutation is None and s.plan.dtype == np.float32
    np.testing.assert_allclose(s.plan.sum(1), a / a.sum(), atol=1e-6)
    np.testing.assert_allclose(s.plan.sum(0), b / b.sum(), atol=1e-6)
    reference = kantorovich(torch.from_numpy(x), torch.from_numpy(z), torch.from_numpy(a / a.sum()),
                            torch.from_numpy(b / b.sum()), p=2)
    assert s.cost == pytest.approx(float(reference.cost), rel=1e-10)
    uniform = solve(x, z)  # different sizes, no masses: uniform
    np.testing.assert_allclose(uniform.plan.sum(1), np.full(7, 1 / 7), atol=1e-6)
    # equal sizes with masses: still Kantorovich
    assert solve(x, x, a, a).method == "kantorovich"


def test_sinkhorn_eps_is_relative_to_the_diameter_and_clamped(clouds):
    x, z = clouds
    scale = diameter(x, z) ** 2
    assert scale == pytest.approx(np.sum((np.vstack([x, z]).max(0) - np.vstack([x, z]).min(0)) ** 2))
    s = solve(x, z, method="sinkhorn", eps=1e-2)
    assert s.method == "sinkhorn" and s.eps == pytest.approx(1e-2 * scale) and s.converged
    reference = sinkhorn(torch.from_numpy(x), torch.from_numpy(z), eps=1e-2 * scale)
    assert s.cost == pytest.approx(float(reference.cost), rel=1e-10)
    np.testing.assert_allclose(s.plan.sum(1), np.full(30, 1 / 30), atol=1e-3)
    assert s.cost >= solve(x, z).cost - 1e-9  # the entropic plan costs at least the optimum
    assert solve(x, z, method="sinkhorn", eps=1e-12).eps == pytest.approx(1e-4 * scale)
    assert solve(x, z, method="sinkhorn", eps=50.0).eps == pytest.approx(1.0 * scale)
    assert solve(x, z, p=1, method="sinkhorn", eps=0.1).eps == pytest.approx(0.1 * diameter(x, z))


def test_sinkhorn_on_one_repeated_point_costs_zero():
    x = np.zeros((3, 2))
    s = solve(x, x, method="sinkhorn", eps=1e-3)
    assert s.cost == 0.0 and s.eps == 1.0 and np.isfinite(s.plan).all()


def test_single_points():
    s = solve(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), p=1)
    assert s.method == "matching" and s.cost == pytest.approx(5.0) and s.permutation.tolist() == [0]


@pytest.mark.parametrize("p", [1, 2])
def test_all_720_permutations_and_the_optimum_is_matchings(rng, p):
    x, z = rng.uniform(-5, 5, (6, 2)), rng.uniform(-5, 5, (6, 2))
    costs, best, best_permutation = permutations(x, z, p)
    assert costs.shape == (720,)
    reference = matching(torch.from_numpy(x), torch.from_numpy(z), p=p)
    assert costs.min() == pytest.approx(float(reference.distance), rel=1e-12)
    assert costs[best] == costs.min()
    np.testing.assert_array_equal(best_permutation, reference.permutation.numpy())
    # lexicographic order, each the Distance sum_i |x_i - z_s(i)|^p
    for k, s in enumerate(itertools.permutations(range(6))):
        if k % 97 == 0 or k == 719:
            expected = sum(np.linalg.norm(x[i] - z[s[i]]) ** p for i in range(6))
            assert costs[k] == pytest.approx(expected, rel=1e-12)
    assert costs[0] == pytest.approx(sum(np.linalg.norm(x - z, axis=1) ** p))  # the identity comes first
