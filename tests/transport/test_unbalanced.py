r"""Unbalanced entropic transport: ``sinkhorn(..., rho=r)``.

.. math:: \min_P \langle P, C\rangle + \varepsilon \mathrm{KL}(P | a \otimes b) + \rho \mathrm{KL}(P 1 | a)
          + \rho \mathrm{KL}(P^\top 1 | b)

checked against POT's ``ot.unbalanced.sinkhorn_unbalanced(..., reg_type="kl")``, its own
optimality conditions, and the balanced limit.
"""

import math
import warnings

import numpy as np
import ot
import pytest
import torch

from monge.transport import OTLoss, cost_matrix, sinkhorn, sinkhorn_divergence
from tests.problems import random_weights

TIGHT = dict(tol=1e-12, max_iter=100_000)


def _clouds(rng, n=40, m=30, d=2):
    x = torch.tensor(rng.normal(size=(n, d)))
    z = torch.tensor(rng.normal(size=(m, d)) + 0.5)
    a = torch.tensor(random_weights(n, rng)) * 1.3  # masses differ: nothing forces them equal
    b = torch.tensor(random_weights(m, rng)) * 0.7
    return x, z, a, b


@pytest.mark.parametrize("eps, rho", [(0.5, 1.0), (0.1, 0.5), (0.05, 5.0)])
def test_plan_equals_pot(eps, rho, rng):
    x, z, a, b = _clouds(rng)
    M = cost_matrix(x, z).numpy()
    reference = ot.unbalanced.sinkhorn_unbalanced(a.numpy(), b.numpy(), M, eps, rho, reg_type="kl",
                                                  numItermax=100_000, stopThr=1e-15)
    r = sinkhorn(x, z, a, b, eps=eps, rho=rho, **TIGHT)
    assert r.converged
    np.testing.assert_allclose(r.plan.numpy(), reference, atol=1e-6 * reference.max(), rtol=0)
    assert float(r.cost) == pytest.approx(float((reference * M).sum()), rel=1e-6)
    # the value is the primal objective, with the generalised KL of POT
    def kl(p, q):
        p, q = np.asarray(p).ravel(), np.asarray(q).ravel()
        return float(np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / q), 0.0) - p + q))
    primal = ((reference * M).sum() + eps * kl(reference, np.outer(a, b))
              + rho * kl(reference.sum(1), a.numpy()) + rho * kl(reference.sum(0), b.numpy()))
    assert float(r.entropic_cost) == pytest.approx(primal, rel=1e-6)


def test_optimality_conditions_and_online(rng):
    x, z, a, b = _clouds(rng)
    eps, rho = 0.1, 0.3
    dense = sinkhorn(x, z, a, b, eps=eps, rho=rho, memory="dense", **TIGHT)
    online = sinkhorn(x, z, a, b, eps=eps, rho=rho, memory="online", block_rows=7, **TIGHT)
    torch.testing.assert_close(online.plan, dense.plan)
    # P 1 = a exp(-f / rho), P^T 1 = b exp(-g / rho)
    torch.testing.assert_close(dense.plan.sum(1), a * torch.exp(-dense.f / rho))
    torch.testing.assert_close(dense.plan.sum(0), b * torch.exp(-dense.g / rho))
    assert dense.marginal_error < 1e-11


def test_batched_and_cost_equal_looped(rng):
    x = torch.tensor(rng.normal(size=(3, 12, 2)))
    z = torch.tensor(rng.normal(size=(3, 9, 2)))
    a = torch.tensor(np.stack([random_weights(12, rng) for _ in range(3)]))
    batched = sinkhorn(x, z, a, eps=0.1, rho=0.5, **TIGHT)
    by_cost = sinkhorn(cost=cost_matrix(x, z), a=a, eps=0.1, rho=0.5, **TIGHT)
    for k in range(3):
        one = sinkhorn(x[k], z[k], a[k], eps=0.1, rho=0.5, **TIGHT)
        torch.testing.assert_close(batched.plan[k], one.plan)
        torch.testing.assert_close(by_cost.plan[k], one.plan)
        torch.testing.assert_close(batched.entropic_cost[k], one.entropic_cost)


def test_large_rho_tends_to_balanced(rng):
    x, z, a, b = _clouds(rng, 20, 20)
    a, b = a / a.sum(), b / b.sum()
    balanced = sinkhorn(x, z, a, b, eps=0.1, **TIGHT)
    loose = sinkhorn(x, z, a, b, eps=0.1, rho=1e5, **TIGHT)
    torch.testing.assert_close(loose.plan, balanced.plan, atol=1e-5, rtol=0)
    assert float(loose.entropic_cost) == pytest.approx(float(balanced.entropic_cost), rel=1e-4)


def test_small_rho_transports_less(rng):
    """The marginal penalty trades mass for cost: far clouds, small rho, little mass moves."""
    x = torch.tensor(rng.normal(size=(30, 2)))
    z = x + 10.0
    masses = [float(sinkhorn(x, z, eps=1.0, rho=rho, **TIGHT).plan.sum()) for rho in (1.0, 10.0, 100.0)]
    assert masses[0] < 1e-10 < masses[1] < masses[2] < 1.0


def test_unbalanced_divergence(rng):
    x, z, a, b = _clouds(rng, 25, 25)
    same = sinkhorn_divergence(x, x, a, a, eps=0.1, rho=1.0, **TIGHT)
    assert abs(float(same)) < 1e-10
    for rho in (0.1, 1.0, 10.0):
        assert float(sinkhorn_divergence(x, z, a, b, eps=0.1, rho=rho, **TIGHT)) > 0
        # a pure change of mass has a positive divergence too
        assert float(sinkhorn_divergence(x, x, a, 2 * a, eps=0.1, rho=rho, **TIGHT)) > 0
    loss = OTLoss(method="sinkhorn_divergence", eps=0.1, rho=1.0, **TIGHT)
    xg = x.clone().requires_grad_()
    loss(xg, z).backward()
    assert torch.isfinite(xg.grad).all() and float(xg.grad.abs().max()) > 0


def test_unbalanced_memory_stays_bounded(rng):
    """Online mode forms no n x m matrix: memory O((n + m) d + block x m) whatever rho."""
    x = torch.rand(3000, 2)
    z = torch.rand(2500, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = sinkhorn(x, z, eps=0.01, rho=0.5, memory="online", plan=False, block_rows=64, max_iter=5)
    assert r.plan is None and math.isfinite(float(r.entropic_cost))


@pytest.mark.parametrize("rho", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_rho(rho):
    with pytest.raises(ValueError, match="rho:"):
        sinkhorn(torch.rand(4, 2), torch.rand(4, 2), rho=rho)
    with pytest.raises(TypeError, match="rho:"):
        sinkhorn(torch.rand(4, 2), torch.rand(4, 2), rho="1")
