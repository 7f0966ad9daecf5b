import numpy as np
import pytest
import torch
from scipy.optimize import linprog

from monge.transport import kantorovich
from tests.problems import cost64, diracs, random_weights


def highs(a, b, c):
    """The transport LP in its textbook form, solved by HiGHS: an independent oracle."""
    n, m = c.shape
    rows = np.zeros((n + m, n * m))
    for i in range(n):
        rows[i, i * m:(i + 1) * m] = 1
    for j in range(m):
        rows[n + j, j::m] = 1
    res = linprog(c.ravel(), A_eq=rows, b_eq=np.concatenate([a, b]), bounds=(0, None), method="highs")
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_against_highs_with_random_weights(p, rng):
    for _ in range(15):
        n, m = int(rng.integers(1, 31)), int(rng.integers(1, 31))
        x, z = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
        a, b = random_weights(n, rng), random_weights(m, rng)
        r = kantorovich(torch.from_numpy(x), torch.from_numpy(z), torch.from_numpy(a), torch.from_numpy(b), p)
        assert float(r.cost) == pytest.approx(highs(a, b, cost64(x, z, p)), rel=1e-9, abs=1e-12)


def test_duality_and_marginals(rng):
    n, m = 40, 25
    x, z = rng.normal(size=(n, 3)), rng.normal(size=(m, 3))
    a, b = random_weights(n, rng, zeros=3), random_weights(m, rng)
    r = kantorovich(torch.from_numpy(x), torch.from_numpy(z), torch.from_numpy(a), torch.from_numpy(b))
    c = torch.from_numpy(cost64(x, z, 2.0))
    a_t, b_t = torch.from_numpy(a), torch.from_numpy(b)
    dual = float(a_t @ r.f + b_t @ r.g)
    assert dual == pytest.approx(float(r.cost), rel=1e-9)
    assert r.duality_gap <= 1e-9 and r.marginal_error <= 1e-12
    torch.testing.assert_close(r.plan.sum(1), a_t, rtol=0, atol=1e-12)
    torch.testing.assert_close(r.plan.sum(0), b_t, rtol=0, atol=1e-12)
    assert float((r.plan * c).sum()) == pytest.approx(float(r.cost), rel=1e-12)
    support = r.plan > 0
    # complementary slackness on the support, dual feasibility where mass can move
    torch.testing.assert_close((r.f[:, None] + r.g[None, :])[support], c[support], rtol=1e-9, atol=1e-9)
    assert int(support.sum()) <= n + m - 1  # a vertex of the transport polytope


def test_float32_weights_never_give_an_empty_plan(rng):
    n = 300
    x = torch.tensor(rng.normal(size=(n, 2)), dtype=torch.float32)
    z = torch.tensor(rng.normal(size=(n, 2)), dtype=torch.float32)
    a = torch.tensor(random_weights(n, rng), dtype=torch.float32)
    b = torch.tensor(random_weights(n, rng), dtype=torch.float32)
    r = kantorovich(x, z, a, b)
    assert r.plan.dtype == torch.float32 and float(r.plan.sum()) == pytest.approx(1.0, rel=1e-6)
    ref = kantorovich(x.double(), z.double(), a.double(), b.double())
    assert float(r.cost) == pytest.approx(float(ref.cost), rel=1e-5)


def test_weights_are_normalised():
    x = torch.tensor([[0.0], [1.0]])
    z = torch.tensor([[0.0], [3.0]])
    r = kantorovich(x, z, torch.tensor([2.0, 2.0]), torch.tensor([3.0, 1.0]), p=1)
    assert float(r.plan.sum()) == pytest.approx(1.0)
    assert float(r.cost) == pytest.approx(0.25 * 2 + 0.25 * 1)  # 1/4 from 1 to 3, 1/4 from 1 to 0


def test_diracs(rng):
    x, z, dist = diracs(4, rng)
    assert float(kantorovich(x, z, p=3.0).cost) == pytest.approx(dist ** 3)


def test_large_problem_reaches_the_optimum(rng):
    """POT's default 100000 pivots stop short at n = 2000; our cap is sized to the problem."""
    n = 2000
    x, z = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2))
    a, b = random_weights(n, rng), random_weights(n, rng)
    r = kantorovich(torch.from_numpy(x), torch.from_numpy(z), torch.from_numpy(a), torch.from_numpy(b))
    assert r.duality_gap <= 1e-9 and r.marginal_error <= 1e-9


def test_non_optimal_result_code_is_an_error(monkeypatch):
    def stuck(a, b, cost, numItermax, log):
        return np.zeros_like(cost), {"result_code": 3, "u": a * 0, "v": b * 0, "cost": 0.0}

    import ot

    monkeypatch.setattr(ot, "emd", stuck)
    with pytest.raises(RuntimeError, match="result code 3 .iteration limit reached"):
        kantorovich(torch.randn(5, 2), torch.randn(4, 2))


def test_gradient_is_envelope(rng):
    x = torch.tensor(rng.normal(size=(6, 2)), requires_grad=True)
    z = torch.tensor(rng.normal(size=(5, 2)))
    a, b = torch.from_numpy(random_weights(6, rng)), torch.from_numpy(random_weights(5, rng))
    r = kantorovich(x, z, a, b)
    r.cost.backward()
    plan = r.plan.detach()
    expected = 2 * (plan.sum(1, keepdim=True) * x.detach() - plan @ z)
    torch.testing.assert_close(x.grad, expected)


def test_output_dtype_device(dtype, device):
    x = torch.randn(5, 2, dtype=dtype, device=device)
    r = kantorovich(x, x + 1)
    for t in (r.cost, r.plan, r.f, r.g):
        assert t.dtype == dtype and t.device.type == device.type


def test_uniform_clouds_past_memory_go_to_the_sparse_matching(monkeypatch):
    """Uniform weights, n = m, a dense programme that does not fit: the certified sparse matching,
    with the same optimum, gradient and potentials' duality as the network simplex; the plan is a
    sparse tensor with one pair per point."""
    import sys

    kant = sys.modules["monge.transport.kantorovich"]
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1200, 2, generator=g, dtype=torch.float64, requires_grad=True)
    z = torch.rand(1200, 2, generator=g, dtype=torch.float64)
    dense = kantorovich(x, z)
    monkeypatch.setattr(kant._memory, "available_bytes", lambda device: 10**6)
    r = kantorovich(x, z)
    assert r.method == "sparse" and r.plan.is_sparse and r.plan._nnz() == 1200 and r.marginal_error == 0.0
    assert torch.equal(r.plan.coalesce().indices()[1], r.permutation)
    assert r.cost.item() == pytest.approx(dense.cost.item(), rel=1e-9)
    assert (r.f.mean() + r.g.mean()).item() == pytest.approx(r.cost.item(), rel=1e-9)
    grad_dense, = torch.autograd.grad(dense.cost, x)
    grad, = torch.autograd.grad(r.cost, x)
    assert torch.allclose(grad, grad_dense, atol=1e-12)
    with pytest.raises(MemoryError, match="linear programme"):  # a cost of one's own: still the dense programme
        kantorovich(cost=torch.rand(1200, 1200, dtype=torch.float64))
