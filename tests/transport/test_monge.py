import itertools
import math

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from monge.transport import brute_force, kantorovich, matching
from monge.transport.monge import all_permutations
from tests.problems import cost64, permuted_copy

METHODS = ["lsa", "lapjv", "network_simplex", "auction", "auto"]


def test_all_permutations_is_lexicographic_and_complete():
    perms = all_permutations(5)
    assert perms.shape == (120, 5)
    assert [tuple(p) for p in perms] == list(itertools.permutations(range(5)))


def test_brute_force_finds_known_permutation(rng):
    x, z, inverse = permuted_copy(7, 2, rng)
    r = brute_force(x, z, p=1.0)
    assert torch.equal(r.permutation, inverse)
    assert float(r.cost) == pytest.approx(0.0, abs=1e-12)


def test_brute_force_against_itertools(rng):
    x, z = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    c = cost64(x, z, 1.0)
    best = min(sum(c[i, s[i]] for i in range(6)) for s in itertools.permutations(range(6)))
    r = brute_force(torch.from_numpy(x), torch.from_numpy(z))
    assert float(r.distance) == pytest.approx(best, rel=1e-12)


def test_brute_force_ten_points_runs(rng):
    x, z = rng.normal(size=(10, 2)), rng.normal(size=(10, 2))
    r = brute_force(torch.from_numpy(x), torch.from_numpy(z), p=2.0)
    rows, cols = linear_sum_assignment(cost64(x, z, 2.0))
    assert float(r.cost) == pytest.approx(cost64(x, z, 2.0)[rows, cols].mean(), rel=1e-12)


def test_brute_force_refuses_eleven_points():
    with pytest.raises(ValueError, match=r"39,916,800 permutations.*matching"):
        brute_force(torch.randn(11, 2), torch.randn(11, 2))


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0])
def test_every_exact_solver_agrees_on_small_instances(p, rng):
    """brute force = lsa = lapjv = network simplex = auction = kantorovich, including ties."""
    for trial in range(60):
        n = int(rng.integers(1, 9))
        kind = trial % 3
        if kind == 0:
            x, z = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
        elif kind == 1:  # integer grid: many ties
            x, z = rng.integers(0, 3, size=(n, 2)).astype(float), rng.integers(0, 3, size=(n, 2)).astype(float)
        else:  # duplicate points
            x = np.repeat(rng.normal(size=(1, 3)), n, 0)
            z = rng.normal(size=(n, 3))
            z[: n // 2] = x[0]
        x, z = torch.from_numpy(x), torch.from_numpy(z)
        best = float(brute_force(x, z, p).cost)
        for method in METHODS:
            r = matching(x, z, p, method=method)
            assert float(r.cost) == pytest.approx(best, rel=1e-9, abs=1e-12), (trial, method)
            assert sorted(r.permutation.tolist()) == list(range(n))
        assert float(kantorovich(x, z, p=p).cost) == pytest.approx(best, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_matching_against_scipy_at_scale(method, rng):
    n = 1000 if method != "auction" else 400
    x, z = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2))
    c = cost64(x, z, 2.0)
    rows, cols = linear_sum_assignment(c)
    r = matching(torch.from_numpy(x), torch.from_numpy(z), 2.0, method=method)
    assert float(r.cost) == pytest.approx(c[rows, cols].mean(), rel=1e-9)


def test_matching_output_follows_input(dtype, device, rng):
    x = torch.tensor(rng.normal(size=(20, 3)), dtype=dtype, device=device)
    z = torch.tensor(rng.normal(size=(20, 3)), dtype=dtype, device=device)
    for method in METHODS:
        r = matching(x, z, method=method)
        assert r.cost.dtype == dtype and r.cost.device.type == device.type
        assert r.permutation.dtype == torch.long and r.permutation.device.type == device.type
        assert r.plan.shape == (20, 20) and r.plan.dtype == dtype
        torch.testing.assert_close(r.plan.sum(0), torch.full_like(r.plan[0], 1 / 20))


def test_plan_of_permutation_problem_is_that_permutation(rng):
    x, z, inverse = permuted_copy(12, 3, rng, shift=0.01)
    expected = torch.zeros(12, 12, dtype=torch.float64)
    expected[torch.arange(12), inverse] = 1 / 12
    for method in METHODS:
        torch.testing.assert_close(matching(x, z, method=method).plan, expected)
    torch.testing.assert_close(kantorovich(x, z).plan, expected)


def test_distance_is_n_times_cost(rng):
    x, z = torch.from_numpy(rng.normal(size=(6, 2))), torch.from_numpy(rng.normal(size=(6, 2)))
    r = matching(x, z, p=1.0)
    assert float(r.distance) == pytest.approx(6 * float(r.cost))
    assert float(r.distance) == pytest.approx(float(brute_force(x, z).distance))


@pytest.mark.parametrize("method", ["auction", "lsa", "auto"])
def test_batched_matching_equals_loop(method, rng):
    x = torch.from_numpy(rng.uniform(size=(16, 50, 2)))
    z = torch.from_numpy(rng.uniform(size=(16, 50, 2)))
    r = matching(x, z, method=method)
    assert r.permutation.shape == (16, 50) and r.cost.shape == (16,)
    for b in range(16):
        single = matching(x[b], z[b], method="lsa")
        assert float(r.cost[b]) == pytest.approx(float(single.cost), rel=1e-9)


def test_auction_returns_certified_duals(rng):
    x, z = torch.from_numpy(rng.normal(size=(64, 3))), torch.from_numpy(rng.normal(size=(64, 3)))
    r = matching(x, z, method="auction")
    c = torch.from_numpy(cost64(x, z, 2.0))
    assert bool((r.f[:, None] + r.g[None, :] <= c + 1e-12).all())  # dual feasible
    dual = float(r.f.mean() + r.g.mean())
    assert float(r.cost) - dual == pytest.approx(r.duality_gap, abs=1e-12)
    assert 0 <= r.duality_gap <= 64 * 8 * torch.finfo(torch.float64).eps * float(c.max())


def test_float32_auction_is_optimal_to_float32_precision(rng):
    x, z = rng.uniform(size=(300, 2)), rng.uniform(size=(300, 2))
    r = matching(torch.tensor(x, dtype=torch.float32), torch.tensor(z, dtype=torch.float32), method="auction")
    c = cost64(x, z, 2.0)
    rows, cols = linear_sum_assignment(c)
    assert c[np.arange(300), r.permutation.numpy()].mean() == pytest.approx(c[rows, cols].mean(), rel=1e-5)


def test_failed_certificate_falls_back_to_lsa(rng, monkeypatch):
    from monge.transport import monge as monge_module
    real = monge_module.auction

    def truncated(cost, **kw):
        return real(cost, max_rounds=1)

    monkeypatch.setattr(monge_module, "auction", truncated)
    x, z = torch.from_numpy(rng.normal(size=(30, 2))), torch.from_numpy(rng.normal(size=(30, 2)))
    with pytest.warns(RuntimeWarning, match="certificate failed"):
        r = matching(x, z, method="auction")
    rows, cols = linear_sum_assignment(cost64(x, z, 2.0))
    assert float(r.cost) == pytest.approx(cost64(x, z, 2.0)[rows, cols].mean(), rel=1e-12)


def test_single_point():
    r = matching(torch.tensor([[1.0, 2.0]]), torch.tensor([[4.0, 6.0]]), p=1.0, method="auction")
    assert r.permutation.tolist() == [0] and float(r.cost) == pytest.approx(5.0)


def test_choose_method_rule():
    from monge.transport.monge import choose_method
    assert choose_method(torch.zeros(5000, 2)) == "sparse"
    assert choose_method(torch.zeros(2000, 5)) == "sparse"
    assert choose_method(torch.zeros(2000, 2)) == "sparse"
    assert choose_method(torch.zeros(1999, 2)) == "lsa"
    assert choose_method(torch.zeros(5000, 2), p=1.0) == "sparse"
    assert choose_method(torch.zeros(2999, 6)) == "lapjv"
    assert choose_method(torch.zeros(3000, 64)) == "sparse"
    assert choose_method(torch.zeros(3000, 65)) == "lapjv"
    assert choose_method(torch.zeros(2000, 6)) == "lapjv"
    assert choose_method(torch.zeros(2000, 64)) == "lapjv"
    assert choose_method(torch.zeros(8, 128, 2)) in {"lapjv", "lsa", "auction"}
    assert math.isfinite(float(matching(torch.randn(300, 2), torch.randn(300, 2)).cost))
