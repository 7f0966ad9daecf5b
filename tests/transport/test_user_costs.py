"""A cost of one's own: ``cost=`` instead of points, any real values, ``+inf`` for a forbidden pair."""

import itertools
import math

import numpy as np
import pytest
import torch

from monge.transport import (OTLoss, brute_force, cost_matrix, kantorovich, matching, sinkhorn, transport_cost,
                             wasserstein)
from tests.problems import random_weights


def _cost(rng, n, m, low=-1.0, high=2.0):
    return torch.tensor(rng.uniform(low, high, size=(n, m)))  # not a metric: negative, asymmetric


def test_matching_of_a_cost_matches_brute_force(rng):
    cost = _cost(rng, 6, 6)
    best = min(itertools.permutations(range(6)), key=lambda s: sum(float(cost[i, s[i]]) for i in range(6)))
    for method in ("lsa", "lapjv", "network_simplex", "auction", "auto"):
        r = matching(cost=cost, method=method)
        assert r.permutation.tolist() == list(best), method
        assert float(r.cost) == pytest.approx(np.mean([float(cost[i, best[i]]) for i in range(6)]))


def test_a_cost_from_points_equals_the_points(rng, dtype):
    x = torch.tensor(rng.normal(size=(3, 20, 2)), dtype=dtype)
    z = torch.tensor(rng.normal(size=(3, 20, 2)), dtype=dtype)
    cost = cost_matrix(x, z, p=1.5)
    by_points, by_cost = matching(x, z, p=1.5), matching(cost=cost)
    assert torch.equal(by_points.permutation, by_cost.permutation)
    assert by_cost.cost.dtype == dtype
    torch.testing.assert_close(by_cost.cost, by_points.cost)
    a = torch.tensor(random_weights(20, rng), dtype=dtype)
    torch.testing.assert_close(kantorovich(cost=cost[0], a=a).cost, kantorovich(x[0], z[0], a=a, p=1.5).cost)
    s_points = sinkhorn(x, z, p=1.5, eps=0.1, tol=1e-6)
    s_cost = sinkhorn(cost=cost, eps=0.1, tol=1e-6)
    torch.testing.assert_close(s_cost.plan, s_points.plan, atol=1e-6, rtol=1e-4)
    torch.testing.assert_close(s_cost.entropic_cost, s_points.entropic_cost, atol=1e-6, rtol=1e-4)


def test_kantorovich_of_a_cost_matches_scipy_linprog(rng):
    from scipy.optimize import linprog

    n, m = 5, 4
    cost = _cost(rng, n, m)
    cost[0, 1] = cost[3, 2] = math.inf
    a, b = random_weights(n, rng), random_weights(m, rng)
    allowed = np.isfinite(cost.numpy()).ravel()
    rows = np.kron(np.eye(n), np.ones(m))[:, allowed]
    cols = np.kron(np.ones(n), np.eye(m))[:, allowed]
    lp = linprog(cost.numpy().ravel()[allowed], A_eq=np.vstack([rows, cols]), b_eq=np.concatenate([a, b]),
                 method="highs")
    r = kantorovich(cost=cost, a=a, b=b)
    assert float(r.cost) == pytest.approx(lp.fun, rel=1e-9)
    assert float(r.plan[0, 1]) == 0.0 and float(r.plan[3, 2]) == 0.0
    assert float((r.plan.sum(1) - torch.tensor(a)).abs().max()) < 1e-12


def test_forbidden_pairs_in_sinkhorn_carry_no_mass(rng):
    cost = _cost(rng, 6, 6, 0.0, 1.0)
    cost[torch.eye(6, dtype=torch.bool)] = math.inf  # nobody stays where it is
    r = sinkhorn(cost=cost, eps=0.05, tol=1e-9, max_iter=10_000)
    assert r.converged and torch.isfinite(r.f).all() and torch.isfinite(r.g).all()
    assert float(r.plan.diagonal().abs().max()) == 0.0 and math.isfinite(float(r.cost))
    exact = matching(cost=cost)
    assert bool((exact.permutation != torch.arange(6)).all())
    assert float(exact.cost) <= float(r.cost) <= float(exact.cost) + 0.05 * math.log(36)


def test_batched_costs(rng):
    cost = torch.tensor(rng.uniform(size=(4, 7, 7)))
    batched = matching(cost=cost)
    for k in range(4):
        assert torch.equal(batched.permutation[k], matching(cost=cost[k]).permutation)
    s = sinkhorn(cost=cost, eps=0.1, tol=1e-9)
    for k in range(4):
        torch.testing.assert_close(s.plan[k], sinkhorn(cost=cost[k], eps=0.1, tol=1e-9).plan)
    k = kantorovich(cost=cost)
    torch.testing.assert_close(k.cost, batched.cost)


def test_losses_take_a_cost(rng):
    cost = _cost(rng, 5, 5).requires_grad_()
    exact = transport_cost(cost=cost)
    assert float(exact.detach()) == pytest.approx(float(matching(cost=cost.detach()).cost))
    assert float(OTLoss()(cost=cost).detach()) == pytest.approx(float(exact.detach()))
    positive = (cost.detach() + 2.0)
    assert float(wasserstein(cost=positive, p=2)) == pytest.approx(float(transport_cost(cost=positive)) ** 0.5)
    entropic = transport_cost(cost=cost, method="sinkhorn", eps=0.5, tol=1e-9)
    assert float(entropic.detach()) == pytest.approx(float(sinkhorn(cost=cost.detach(), eps=0.5, tol=1e-9).entropic_cost))


@pytest.mark.parametrize("bad, message", [
    (torch.tensor([[0.0, float("nan")], [1.0, 2.0]]), "cost: 1 entries are NaN"),
    (torch.tensor([[0.0, -float("inf")], [1.0, 2.0]]), r"cost: 1 entries are -inf"),
    (torch.tensor([[float("inf"), float("inf")], [1.0, 2.0]]), "cost: row 0 is \\+inf throughout"),
    (torch.tensor([[float("inf"), 1.0], [float("inf"), 2.0]]), "cost: column 0 is \\+inf throughout"),
    (torch.ones(2, 3, 4, 5), r"cost: shape \(2, 3, 4, 5\)"),
    (torch.ones(0, 3), "cost: shape \\(0, 3\\); expected at least one row"),
])
def test_bad_costs_name_cost(bad, message):
    for solve in (lambda: kantorovich(cost=bad), lambda: sinkhorn(cost=bad, eps=0.1),
                  lambda: transport_cost(cost=bad, method="sinkhorn", eps=0.1)):
        with pytest.raises(ValueError, match=message):
            solve()


def test_infeasible_costs_name_cost():
    # rows 0 and 1 may only go to column 0, which can take half of the mass
    cost = torch.tensor([[0.0, math.inf, math.inf], [0.0, math.inf, math.inf], [1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="cost: the weights cannot be coupled"):
        kantorovich(cost=cost)
    with pytest.raises(ValueError, match="cost: the weights cannot be coupled"):
        sinkhorn(cost=cost, eps=0.1)
    with pytest.raises(ValueError, match="cost: every permutation meets a forbidden pair"):
        matching(cost=cost)
    with pytest.raises(ValueError, match="cost: a row with positive weight"):
        kantorovich(cost=torch.tensor([[0.0, math.inf], [1.0, 1.0]]), a=[0.5, 0.5], b=[0.0, 1.0])
    # feasible once the weights allow it
    r = kantorovich(cost=cost, a=[0.25, 0.25, 0.5], b=[0.5, 0.25, 0.25])
    assert float(r.cost) == pytest.approx(0.5)


def test_cost_and_points_together_or_neither_are_refused():
    with pytest.raises(TypeError, match="cost: given together with points"):
        kantorovich(torch.rand(3, 2), torch.rand(3, 2), cost=torch.rand(3, 3))
    with pytest.raises(TypeError, match="x: missing"):
        sinkhorn()
    with pytest.raises(ValueError, match="cost: shape \\(3, 4\\); a matching needs a square cost matrix"):
        matching(cost=torch.rand(3, 4))
    with pytest.raises(ValueError, match="cost: the Sinkhorn divergence needs"):
        transport_cost(cost=torch.rand(3, 3), method="sinkhorn_divergence")
    with pytest.raises(ValueError, match="memory: 'online'"):
        sinkhorn(cost=torch.rand(3, 3), memory="online")
