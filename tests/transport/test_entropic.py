import math
import warnings

import numpy as np
import ot
import pytest
import torch

from monge.errors import InputError
from monge.transport import matching, sinkhorn, sinkhorn_divergence, transport_cost, wasserstein
from monge.transport.entropic import schedule
from tests.problems import cost64, random_weights


def problem(n, m, d, rng, dtype=torch.float64):
    x = torch.tensor(rng.uniform(size=(n, d)), dtype=dtype)
    z = torch.tensor(rng.uniform(size=(m, d)), dtype=dtype)
    a = torch.tensor(random_weights(n, rng), dtype=dtype)
    b = torch.tensor(random_weights(m, rng), dtype=dtype)
    return x, z, a, b


@pytest.mark.parametrize("memory, p, n, m", [
    ("dense", 1.0, 60, 45), ("online", 1.0, 60, 45), ("dense", 1.5, 60, 45), ("online", 1.5, 60, 45),
    ("dense", 2.0, 60, 45), ("online", 2.0, 500, 350), ("auto", 1.0, 500, 350),
])
def test_against_pot_sinkhorn_log(memory, p, n, m, rng):
    if True:
        x, z, a, b = problem(n, m, 2, rng)
        eps = 0.05
        r = sinkhorn(x, z, a, b, p, eps=eps, anneal=False, tol=1e-12, max_iter=20000, memory=memory)
        cost = cost64(x, z, p)
        plan, log = ot.sinkhorn(a.numpy(), b.numpy(), cost, eps, method="sinkhorn_log", stopThr=1e-14,
                                numItermax=200000, log=True)
        assert r.converged
        torch.testing.assert_close(r.plan, torch.from_numpy(plan), rtol=1e-6, atol=1e-6 * plan.max())
        assert float(r.cost) == pytest.approx((plan * cost).sum(), rel=1e-6)
        # POT's scalings: P = exp(log_u + log_v - C / eps); ours: P = a b exp((f + g - C) / eps)
        f_pot = eps * (log["log_u"] - np.log(a.numpy()))
        shift = r.f.numpy() - f_pot
        assert shift.max() - shift.min() <= 1e-6 * np.abs(f_pot).max()
        g_pot = eps * (log["log_v"] - np.log(b.numpy()))
        assert np.allclose(r.g.numpy() - g_pot, -shift.mean(), rtol=0, atol=1e-6 * np.abs(g_pot).max())


def test_entropic_cost_bounds_and_converges_to_the_exact_cost(rng):
    """W <= OT_eps <= W + eps log n (KL(P*|a x b) <= H(a) = log n): the rate as eps -> 0."""
    x, z, _, _ = problem(40, 40, 2, rng)
    exact = float(matching(x, z).cost)
    gaps = []
    for eps in (0.1, 0.03, 0.01):
        r = sinkhorn(x, z, eps=eps, tol=1e-8, max_iter=20000)
        gap = float(r.entropic_cost) - exact
        assert -1e-9 <= gap <= eps * math.log(40) + 1e-9
        assert float(r.cost) >= exact - 1e-9
        gaps.append(gap)
    assert gaps[0] > gaps[1] > gaps[2]


def test_divergence_properties(rng):
    x, z, a, b = problem(80, 60, 2, rng)
    s_xz = sinkhorn_divergence(x, z, a, b, eps=0.01, tol=1e-8)  # symmetric at convergence
    s_zx = sinkhorn_divergence(z, x, b, a, eps=0.01, tol=1e-8)
    assert float(s_xz) > 0
    assert float(s_xz) == pytest.approx(float(s_zx), rel=1e-6)
    assert float(sinkhorn_divergence(x, x, a, a, eps=0.01)) == 0.0
    for eps in (1.0, 0.1, 0.01):  # non-negative at every temperature
        assert float(sinkhorn_divergence(x, x + 1e-3, eps=eps)) >= 0


def test_divergence_of_a_translation_tends_to_its_square(rng):
    x = torch.tensor(rng.uniform(size=(100, 2)))
    t = torch.tensor([0.3, -0.2], dtype=torch.float64)
    assert float(sinkhorn_divergence(x, x + t, eps=1e-3, tol=1e-4)) == pytest.approx(float(t @ t), rel=2e-2)


def test_batched_equals_looped(rng):
    x = torch.tensor(rng.uniform(size=(5, 70, 3)))
    z = torch.tensor(rng.uniform(size=(5, 50, 3)))
    b = torch.tensor(np.stack([random_weights(50, rng) for _ in range(5)]))
    batch = sinkhorn(x, z, None, b, eps=0.05, tol=1e-7)
    assert batch.cost.shape == (5,) and batch.converged.shape == (5,) and batch.n_iter.shape == (5,)
    for k in range(5):
        single = sinkhorn(x[k], z[k], None, b[k], eps=0.05, tol=1e-7)
        # the batch anneals from its largest diameter: equal up to the tolerance, per-problem stops
        assert abs(int(batch.n_iter[k]) - single.n_iter) <= 3 and bool(batch.converged[k])
        torch.testing.assert_close(batch.cost[k], single.cost, rtol=1e-6, atol=0)
        torch.testing.assert_close(batch.plan[k], single.plan, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
def test_online_mode_equals_dense_mode(p, rng):
    x, z, a, b = problem(300, 200, 3, rng)
    dense = sinkhorn(x, z, a, b, p, eps=0.02, memory="dense", tol=1e-9)
    online = sinkhorn(x, z, a, b, p, eps=0.02, memory="online", block_rows=37, tol=1e-9)
    torch.testing.assert_close(online.f, dense.f, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(online.plan, dense.plan, rtol=1e-9, atol=1e-15)
    assert online.n_iter == dense.n_iter


def test_gradient_against_finite_differences(rng):
    x, z, a, b = problem(30, 25, 2, rng)
    x.requires_grad_()
    z.requires_grad_()
    r = sinkhorn(x, z, a, b, eps=0.05, tol=1e-13, max_iter=10000)
    gx, gz = torch.autograd.grad(r.entropic_cost, (x, z))
    vx, vz = torch.tensor(rng.normal(size=(30, 2))), torch.tensor(rng.normal(size=(25, 2)))
    h = 1e-5

    def value(s):
        with torch.no_grad():
            return float(sinkhorn(x + s * vx, z + s * vz, a, b, eps=0.05, tol=1e-13, max_iter=10000).entropic_cost)

    fd = (value(h) - value(-h)) / (2 * h)
    assert float((gx * vx).sum() + (gz * vz).sum()) == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("p", [1.0, 1.5])
def test_gradient_for_other_exponents(p, rng):
    x, z, _, _ = problem(20, 20, 2, rng)
    x.requires_grad_()
    (gx,) = torch.autograd.grad(sinkhorn(x, z, p=p, eps=0.05, tol=1e-13, max_iter=10000).entropic_cost, x)
    v = torch.tensor(rng.normal(size=(20, 2)))
    h = 1e-6
    with torch.no_grad():
        fd = (float(sinkhorn(x + h * v, z, p=p, eps=0.05, tol=1e-13, max_iter=10000).entropic_cost)
              - float(sinkhorn(x - h * v, z, p=p, eps=0.05, tol=1e-13, max_iter=10000).entropic_cost)) / (2 * h)
    assert float((gx * v).sum()) == pytest.approx(fd, rel=1e-5)


def test_gradient_tends_to_the_exact_gradient(rng):
    """A shuffled copy shifted by t: the exact gradient of W_2^2 in x is 2 (x_i - z_s_i) / n = -2 t / n."""
    x = torch.tensor(rng.uniform(size=(30, 2)), requires_grad=True)
    z = x.detach()[torch.from_numpy(rng.permutation(30))] + 1.0
    (exact,) = torch.autograd.grad(transport_cost(x, z, method="exact"), x)
    torch.testing.assert_close(exact, torch.full_like(exact, -2 * 1.0 / 30))
    errors = []
    for eps in (0.1, 0.01, 0.001):
        (grad,) = torch.autograd.grad(sinkhorn(x, z, eps=eps, tol=1e-5, max_iter=20000).cost, x)
        errors.append(float((grad - exact).norm() / exact.norm()))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-2


def test_backward_costs_about_one_iteration(rng):
    """The backward pass of OT_eps is one pass over the blocks: no graph of the loop is kept."""
    x, z, _, _ = problem(200, 200, 2, rng)
    x.requires_grad_()
    r = sinkhorn(x, z, eps=0.01)
    assert r.n_iter > 20
    nodes, todo = set(), [r.entropic_cost.grad_fn]
    while todo:
        node = todo.pop()
        if node is not None and node not in nodes:
            nodes.add(node)
            todo.extend(fn for fn, _ in node.next_functions)
    names = sorted(type(node).__name__ for node in nodes)
    assert "_AttachedBackward" in names and len(names) <= 4, names


def test_tiny_eps_gives_no_nan(rng):
    x32, z32, _, _ = problem(200, 150, 2, rng, dtype=torch.float32)
    scale = 2.0  # diameter^2 of the unit square
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = sinkhorn(x32, z32, eps=1e-4 * scale, max_iter=50)
        r64 = sinkhorn(x32.double(), z32.double(), eps=1e-7 * scale, max_iter=50)
    for res in (r, r64):
        assert all(bool(torch.isfinite(t).all()) for t in (res.cost, res.f, res.g, res.plan))
        assert math.isfinite(res.marginal_error)
    refusal = (r"eps: 1e-08 is too small for torch.float32 points or costs: below .* of the cost scale .*float32 "
               r"cannot resolve C / eps; expected eps >= (\S+)$")
    with pytest.raises(InputError, match=refusal) as caught:
        sinkhorn(x32, z32, eps=1e-8)
    assert "float64" not in str(caught.value)  # what a command's user can change is eps, not always the dtype
    least = float(caught.value.args[0].rsplit(">= ", 1)[1])
    assert math.isfinite(float(sinkhorn(x32, z32, eps=least, max_iter=5, warn=False).cost))  # the bound given passes
    with pytest.raises(InputError, match="too small"):
        sinkhorn(x32, z32, eps=least * 0.9)


def test_max_iter_reached_warns(rng):
    x, z, _, _ = problem(50, 50, 2, rng)
    with pytest.warns(RuntimeWarning, match="not converged after max_iter=2"):
        r = sinkhorn(x, z, eps=1e-3, max_iter=2, tol=1e-12)
    assert r.converged is False and r.n_iter > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sinkhorn(x, z, eps=1e-3, max_iter=2, tol=1e-12, warn=False).converged is False


def test_plan_only_when_asked_or_small(rng):
    x, z, _, _ = problem(50, 40, 2, rng)
    assert sinkhorn(x, z, eps=0.1).plan.shape == (50, 40)
    assert sinkhorn(x, z, eps=0.1, plan=False).plan is None
    r = sinkhorn(x, z, eps=0.1, plan=False)
    assert r.f.shape == (50,) and r.g.shape == (40,) and r.eps == 0.1


def test_schedule_rule():
    steps = schedule(2.0, 0.01, 0.5)
    assert steps[0] == 2.0 and steps[-1] == 0.01 and all(u > v for u, v in zip(steps, steps[1:]))
    assert len(steps) == math.ceil(math.log2(200)) + 1
    assert schedule(0.001, 0.01, 0.5) == [0.01]


def test_output_follows_input(dtype, device, rng):
    x = torch.tensor(rng.uniform(size=(30, 2)), dtype=dtype, device=device)
    r = sinkhorn(x, x + 0.1, eps=0.05)
    for t in (r.cost, r.entropic_cost, r.f, r.g, r.plan):
        assert t.dtype == dtype and t.device.type == device.type


def test_wasserstein_and_losses_with_sinkhorn(rng):
    x = torch.tensor(rng.uniform(size=(30, 2)))
    z = x[torch.from_numpy(rng.permutation(30))] + 1.0  # W_2 = |t| = sqrt(2)
    w = float(wasserstein(x, z, method="sinkhorn", eps=1e-3, tol=1e-5, max_iter=5000))
    assert w == pytest.approx(math.sqrt(2), rel=1e-3)
    assert float(transport_cost(x, z, method="sinkhorn_divergence", eps=0.01)) == pytest.approx(2.0, rel=1e-2)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(eps=0.0), ValueError, "eps: 0.0; expected a finite eps > 0"),
    (dict(eps=-1.0), ValueError, "eps: -1.0"),
    (dict(eps="small"), TypeError, "eps: expected a number"),
    (dict(max_iter=0), ValueError, "max_iter: 0"),
    (dict(tol=-1), ValueError, "tol: -1"),
    (dict(scaling=1.5), ValueError, "scaling: 1.5"),
    (dict(memory="gpu"), ValueError, "memory='gpu'"),
])
def test_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        sinkhorn(torch.rand(5, 2), torch.rand(4, 2), **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="z: points of dimension 3"):
        sinkhorn(torch.rand(5, 2), torch.rand(4, 3))
    with pytest.raises(ValueError, match="b: weights sum to 2 but a sums to 1"):
        sinkhorn(torch.rand(5, 2), torch.rand(4, 2), b=torch.full((4,), 0.5))
    with pytest.raises(ValueError, match=r"b: shape \(2, 4\); expected \(4,\) or \(3, 4\)"):
        sinkhorn(torch.rand(3, 5, 2), torch.rand(3, 4, 2), b=torch.full((2, 4), 0.25))
    with pytest.raises(ValueError, match="x: 1 entries are NaN"):
        sinkhorn(torch.tensor([[0.0, float("nan")]]), torch.rand(4, 2))


def test_auto_scaling_rule():
    from monge.transport.entropic import auto_scaling, schedule

    assert auto_scaling(1.0, 0.1) == 0.5 and auto_scaling(1.0, 1e-6) == 0.95
    assert auto_scaling(1.0, 1e-3) == pytest.approx(1 - 5 * 1e-3 ** 0.5)
    steps = schedule(2.0, 0.02, 0.5)
    assert steps[0] == 2.0 and steps[-1] == 0.02 and all(u > v for u, v in zip(steps, steps[1:]))


@pytest.mark.parametrize("ratio", [1e-2, 1e-4])
def test_default_schedule_beats_a_fixed_ratio(ratio):
    # the rule's measured purpose: fewer iterations than a fixed ratio across eps / D^p
    torch.manual_seed(0)
    x, z = torch.rand(300, 2, dtype=torch.float64), torch.rand(300, 2, dtype=torch.float64)
    both = torch.cat([x, z])
    eps = ratio * float(((both.amax(0) - both.amin(0)) ** 2).sum())
    auto = sinkhorn(x, z, eps=eps, max_iter=100000)
    fixed = [sinkhorn(x, z, eps=eps, scaling=s, max_iter=100000) for s in (0.5, 0.8)]
    assert auto.converged and auto.n_iter <= min(r.n_iter for r in fixed) < max(r.n_iter for r in fixed)
    assert float(auto.entropic_cost) == pytest.approx(float(fixed[1].entropic_cost), rel=1e-4)


def test_over_relaxation_reaches_the_same_solution_in_fewer_iterations():
    torch.manual_seed(1)
    x, z = torch.rand(3, 300, 2, dtype=torch.float64), torch.rand(3, 300, 2, dtype=torch.float64)
    plain = sinkhorn(x, z, eps=2e-3, relaxation=1.0, tol=1e-9, max_iter=100000)
    for omega in (1.8, 1.99):  # 1.99 overshoots: the problems fall back to plain steps and converge
        relaxed = sinkhorn(x, z, eps=2e-3, relaxation=omega, tol=1e-9, max_iter=100000)
        assert bool(relaxed.converged.all())
        assert torch.allclose(relaxed.entropic_cost, plain.entropic_cost, rtol=1e-9)
        assert torch.allclose(relaxed.plan, plain.plan, atol=1e-10)
    relaxed = sinkhorn(x, z, eps=2e-3, tol=1e-3)
    assert bool((relaxed.n_iter < sinkhorn(x, z, eps=2e-3, tol=1e-3, relaxation=1.0).n_iter).all())


@pytest.mark.parametrize("omega", [0.5, 2.0, True, "1.5"])
def test_bad_relaxation(omega):
    with pytest.raises((ValueError, TypeError), match="relaxation"):
        sinkhorn(torch.rand(5, 2), torch.rand(5, 2), relaxation=omega)
