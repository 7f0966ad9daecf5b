"""The default Sinkhorn schedule on a hard instance: POT's stabilisation example.

Two Gaussian histograms of 100 bins on the line 0..99 (means 30 and 40, sd 10), cost (i - j)^2 up
to 99^2; the exact W2^2 is 99.3153. Iterations are counted, not timed.
"""

import math
import warnings

import numpy as np
import ot
import pytest
import torch

from monge.transport import kantorovich, sinkhorn

EXACT = 99.3153


def _histograms():
    grid = torch.arange(100, dtype=torch.float64)[:, None]
    a = torch.from_numpy(ot.datasets.make_1D_gauss(100, m=30, s=10))
    b = torch.from_numpy(ot.datasets.make_1D_gauss(100, m=40, s=10))
    return grid, a, b


def test_exact_value():
    grid, a, b = _histograms()
    assert float(kantorovich(grid, grid, a, b).cost) == pytest.approx(EXACT, abs=1e-4)


@pytest.mark.parametrize("eps", [10.0, 1.0, 0.1])
def test_defaults_converge_near_the_exact_value(eps):
    grid, a, b = _histograms()
    r = sinkhorn(grid, grid, a, b, eps=eps, max_iter=20_000)
    assert r.converged and r.marginal_error <= 1e-3
    bound = eps * math.log(100 * 100)
    for value in (float(r.cost), float(r.entropic_cost)):
        assert EXACT - 1e-9 <= value <= EXACT + bound
    plain = sinkhorn(grid, grid, a, b, eps=eps, max_iter=20_000, anneal=False, relaxation=1.0)
    assert plain.converged
    assert r.n_iter <= 2 * plain.n_iter, (r.n_iter, plain.n_iter)


def test_a_stalled_solve_says_why():
    grid, a, b = _histograms()
    with pytest.warns(RuntimeWarning, match=r"not converged after max_iter=400 .* crawl when eps"):
        r = sinkhorn(grid, grid, a, b, eps=1e-3, max_iter=400)
    assert not r.converged and np.isfinite(float(r.cost))
    with pytest.warns(RuntimeWarning, match=r"raise max_iter \(to about"):
        sinkhorn(grid, grid, a, b, eps=1.0, max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sinkhorn(grid, grid, a, b, eps=1.0, max_iter=100, warn=False)


def test_annealing_starts_at_the_mean_cost():
    """Above the mean cost under a x b the plan is a x b already: the schedule starts there."""
    from monge.transport.entropic import _mean_cost

    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 300, 2, generator=g, dtype=torch.float64)
    z = torch.rand(1, 200, 2, generator=g, dtype=torch.float64) + 0.5
    a = torch.rand(1, 300, generator=g, dtype=torch.float64)
    b = torch.full((1, 200), 1 / 200, dtype=torch.float64)
    squared = ((x[0, :, None] - z[0, None]) ** 2).sum(-1)
    wa = a[0] / a.sum()
    expected = float(wa @ squared @ b[0])
    huge = torch.tensor([1e9], dtype=torch.float64)
    assert float(_mean_cost(a, b, (x, z), 2.0, None, huge)) == pytest.approx(expected)
    assert float(_mean_cost(a, b, (x, z), 1.5, None, huge)) == pytest.approx(expected ** 0.75)
    assert float(_mean_cost(a, b, (x, z), 2.0, None, torch.tensor([0.5], dtype=torch.float64))) == 0.5  # capped
    cost = squared.clone()[None]
    cost[0, 0, 0] = math.inf  # forbidden pairs are left out, the smallest cost subtracted
    finite = torch.isfinite(cost[0])
    weights = wa[:, None] * b[0][None] * finite
    expected = float((weights * cost[0].masked_fill(~finite, 0)).sum() / weights.sum() - squared.flatten()[1:].min())
    assert float(_mean_cost(a, b, None, 2.0, cost, huge)) == pytest.approx(expected)
