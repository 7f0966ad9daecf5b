"""Units Phi(xi, x) = omega h(theta, x): values, gradients against autograd, the blocked contraction."""

from __future__ import annotations

import pytest
import torch

from monge.meanfield import GaussianBump, ReLUUnit, SigmoidUnit, TanhUnit

UNITS = [ReLUUnit(2), ReLUUnit(3, bias=False), SigmoidUnit(2), TanhUnit(1), GaussianBump(1, 0.5), GaussianBump(2, 0.7)]


def _phi_reference(unit, xi, x):
    """Phi written out in plain torch, for autograd."""
    omega, theta = xi[:, :1], xi[:, 1:]
    if isinstance(unit, GaussianBump):
        sq = ((x[None, :, :] - theta[:, None, :]) ** 2).sum(-1)
        return omega * torch.exp(-sq / (2 * unit.variance)) / (2 * torch.pi * unit.variance) ** (unit.d / 2)
    pre = x @ theta[:, : unit.d].T
    pre = (pre + theta[:, unit.d]).T if unit.bias else pre.T
    act = {ReLUUnit: torch.relu, SigmoidUnit: torch.sigmoid, TanhUnit: torch.tanh}[type(unit)]
    return omega * act(pre)


@pytest.mark.parametrize("unit", UNITS, ids=repr)
def test_values_and_gradients_match_autograd(unit):
    gen = torch.Generator().manual_seed(0)
    xi = torch.randn(5, unit.p, generator=gen, dtype=torch.float64)
    x = torch.randn(7, unit.d, generator=gen, dtype=torch.float64)
    assert len(unit.names) == unit.p and unit.names[0] in ("omega", "c")
    torch.testing.assert_close(unit.values(xi, x), _phi_reference(unit, xi, x))
    grads = unit.gradients(xi, x)
    assert grads.shape == (5, 7, unit.p)
    for m in range(7):
        expected = torch.autograd.functional.jacobian(lambda z: _phi_reference(unit, z, x[m:m + 1]).sum(), xi)
        torch.testing.assert_close(grads[:, m], expected)


@pytest.mark.parametrize("unit", UNITS, ids=repr)
@pytest.mark.parametrize("inplace", [False, True])
def test_blocked_contraction_is_the_gradient_sum(unit, inplace, dtype):
    gen = torch.Generator().manual_seed(1)
    theta = torch.randn(6, unit.p - 1, generator=gen).to(dtype)
    x, g = torch.randn(9, unit.d, generator=gen).to(dtype), torch.randn(9, generator=gen).to(dtype)
    h = unit.h(theta, x)
    out = unit.h_vjp(theta, x, h.clone() if inplace else h, g, inplace=inplace)
    assert out.dtype == dtype and out.shape == theta.shape
    torch.testing.assert_close(out, torch.einsum("m,nmq->nq", g, unit.h_grad(theta, x)))
    if not inplace:
        torch.testing.assert_close(h, unit.h(theta, x))  # untouched
    start = torch.randn(theta.shape, generator=gen).to(dtype)
    acc = start.clone()
    assert unit.h_vjp(theta, x, unit.h(theta, x), g, inplace=inplace, out=acc) is acc
    torch.testing.assert_close(acc, start + out)


def test_relu_and_bump_examples():
    relu = ReLUUnit(1)
    assert relu.names == ("omega", "theta_1", "theta_b")
    assert GaussianBump().names == ("c", "y") and GaussianBump(2).names == ("c", "y_1", "y_2")
    # c N(0; 0, 0.5) = 1 / sqrt(pi)
    value = GaussianBump(variance=0.5).values(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 1))
    torch.testing.assert_close(value, torch.tensor([[torch.pi ** -0.5]]))


@pytest.mark.parametrize("make, match", [(lambda: ReLUUnit(0), "d:"), (lambda: GaussianBump(variance=0.0), "variance"),
                                         (lambda: GaussianBump(d=1.5), "d:")])
def test_bad_units(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_replace_goes_through_the_constructor_checks():
    """ShallowNetwork.replace keeps unit, scaling and total count, and checks the new particles."""
    import pytest
    import torch

    from monge.meanfield import ReLUUnit, ShallowNetwork

    net = ShallowNetwork(torch.randn(6, 3, dtype=torch.float64), ReLUUnit(1), scaling="lazy")
    moved = net.replace(net.particles + 1.0)
    assert moved.unit is net.unit and moved.scaling == "lazy" and moved.n == 6 and moved.alpha == net.alpha
    torch.testing.assert_close(moved.mass, net.mass)
    with pytest.raises(ValueError, match="particles: width 2"):
        net.replace(torch.randn(6, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="particles: non-finite"):
        net.replace(torch.full((6, 3), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="weights: expected shape"):
        net.replace(torch.randn(4, 3, dtype=torch.float64))  # four particles, six masses
