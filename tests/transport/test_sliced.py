import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from monge.transport import kantorovich, matching, sliced, transport_1d
from monge.transport.sliced import random_directions
from tests.problems import random_weights, sorted_line


def test_sorting_equals_known_answer(rng):
    u, v, expected = sorted_line(50, rng)
    assert float(transport_1d(u, v, p=2).cost) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
def test_weighted_1d_against_linear_programme(p, rng):
    for _ in range(10):
        n, m = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        u, v = rng.normal(size=n), rng.normal(size=m)
        a, b = random_weights(n, rng, zeros=min(2, n - 1)), random_weights(m, rng)
        got = transport_1d(torch.from_numpy(u), torch.from_numpy(v), torch.from_numpy(a), torch.from_numpy(b), p)
        ref = kantorovich(torch.from_numpy(u), torch.from_numpy(v), torch.from_numpy(a), torch.from_numpy(b), p)
        assert float(got.cost) == pytest.approx(float(ref.cost), rel=1e-9, abs=1e-12)


def test_w1_against_scipy(rng):
    u, v = rng.normal(size=30), rng.normal(size=45)
    a, b = random_weights(30, rng), random_weights(45, rng)
    got = transport_1d(torch.from_numpy(u), torch.from_numpy(v), torch.from_numpy(a), torch.from_numpy(b), p=1)
    assert float(got.cost) == pytest.approx(wasserstein_distance(u, v, a, b), rel=1e-10)


def test_sliced_in_one_dimension_is_exact(rng):
    x, z = rng.normal(size=(40, 1)), rng.normal(size=(40, 1))
    s = sliced(torch.from_numpy(x), torch.from_numpy(z), n_directions=5)
    assert float(s.cost) == pytest.approx(float(matching(torch.from_numpy(x), torch.from_numpy(z)).cost))


def test_sliced_of_a_translation(rng):
    """SW_2^2(x, x + t) = E (theta . t)^2 = |t|^2 / d exactly in the limit of many directions."""
    x = torch.from_numpy(rng.normal(size=(200, 4)))
    t = torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=torch.float64)
    directions = random_directions(4000, 4, seed=1, like=x)
    s = sliced(x, x + t, directions=directions)
    exact = float(((directions @ t) ** 2).mean())
    assert float(s.cost) == pytest.approx(exact, rel=1e-10)
    assert exact == pytest.approx(float(t @ t) / 4, rel=0.1)


def test_sliced_is_at_most_the_exact_cost(rng):
    x, z = torch.from_numpy(rng.normal(size=(100, 3))), torch.from_numpy(rng.normal(size=(100, 3)) + 0.5)
    assert float(sliced(x, z).cost) <= float(matching(x, z).cost)


def test_sliced_is_seeded_and_weighted(rng):
    x, z = torch.from_numpy(rng.normal(size=(50, 3))), torch.from_numpy(rng.normal(size=(30, 3)))
    assert float(sliced(x, z, seed=3).cost) == float(sliced(x, z, seed=3).cost)
    assert float(sliced(x, z, seed=3).cost) != float(sliced(x, z, seed=4).cost)
    a = torch.from_numpy(random_weights(50, rng))
    assert float(sliced(x, z, a=a, b=None).cost) > 0


def test_sliced_gradient(rng):
    x = torch.tensor(rng.normal(size=(8, 2)), requires_grad=True)
    z = torch.tensor(rng.normal(size=(8, 2)))
    assert torch.autograd.gradcheck(lambda x: sliced(x, z, n_directions=7).cost, (x,))


def test_sliced_dtype_device(dtype, device):
    x = torch.randn(20, 3, dtype=dtype, device=device)
    r = sliced(x, x + 1)
    assert r.cost.dtype == dtype and r.cost.device.type == device.type


def test_concave_cost_refused():
    with pytest.raises(ValueError, match="p: 0.5.*p >= 1"):
        transport_1d(torch.randn(4), torch.randn(4), p=0.5)


@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("shape", [(1000,), (3, 70000), (5, 17)])
def test_host_sort_equals_torch_sort(shape, grad):
    from monge.transport.sliced import _sort

    u = torch.randn(*shape, dtype=torch.float64, requires_grad=grad)
    values, order = _sort(u, index=True)
    expected, _ = u.detach().sort(-1)
    assert torch.equal(values.detach(), expected)
    assert torch.equal(u.detach().gather(-1, order), expected)
    values_only, none = _sort(u, index=False)
    assert torch.equal(values_only.detach(), expected) and (none is None) == (not grad)
    if grad:  # the gathered values carry the gradient back to their places
        (values * torch.arange(shape[-1], dtype=u.dtype)).sum().backward()
        assert torch.equal(u.grad.gather(-1, order), torch.arange(shape[-1], dtype=u.dtype).expand(shape))


def test_sliced_gradient_on_a_large_problem_matches_torch_sort():
    torch.manual_seed(0)
    x = torch.randn(40000, 3, dtype=torch.float64, requires_grad=True)
    z = torch.randn(40000, 3, dtype=torch.float64)
    sliced(x, z, n_directions=5).cost.backward()
    theta = random_directions(5, 3, like=x)
    u, v = (theta @ x.T), (theta @ z.T)
    reference = (u.sort(-1)[0] - v.detach().sort(-1)[0]).pow(2).mean()
    (expected,) = torch.autograd.grad(reference, x)
    assert torch.allclose(x.grad, expected, rtol=1e-10, atol=1e-16)
