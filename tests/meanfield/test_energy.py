"""Energy F(mu), first variation psi_mu and its gradient: identities, closed forms, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from monge.meanfield import Energy, GaussianBump, GaussianMixture, ReLUUnit, ShallowNetwork, SigmoidUnit, TanhUnit
from monge.meanfield import examples
from monge.meanfield.closed_forms import ArcCosine, BumpMixture
from monge.meanfield.quadrature import Quadrature


def _circle_rule(k: int = 100_000) -> Quadrature:
    """E over N(0, I_2) of a function positively homogeneous of degree 2: E r^2 = 2 times the mean
    over the unit circle (midpoint rule in the angle); exact enough for the arc-cosine kernel."""
    phi = (torch.arange(k, dtype=torch.float64) + 0.5) * 2 * math.pi / k
    return Quadrature(math.sqrt(2) * torch.stack([phi.cos(), phi.sin()], 1), torch.full((k,), 1.0 / k))


def _problems():
    """(network, energy) pairs covering quadrature, closed forms, scalings and weights."""
    gen = torch.Generator().manual_seed(3)
    rbf_net, rbf_energy = examples.rbf(12, seed=1, lam=0.05)
    teacher_net, teacher_energy = examples.relu_teacher(10, seed=2, lam=0.1)
    relu = ReLUUnit(1)
    relu_net = ShallowNetwork(torch.randn(9, 3, generator=gen, dtype=torch.float64), relu)
    relu_energy = Energy(lambda x: torch.sin(3 * x[:, 0]), (-1, 1), relu, lam=0.01, quadrature=64)
    tanh = TanhUnit(2)
    weights = torch.rand(8, generator=gen, dtype=torch.float64)
    tanh_net = ShallowNetwork(torch.randn(8, 4, generator=gen, dtype=torch.float64), tanh, weights=weights / weights.sum())
    tanh_energy = Energy(lambda x: x[:, 0] * x[:, 1], [(-1, 1), (0, 2)], tanh, quadrature=24)
    sig = SigmoidUnit(3)
    sig_net = ShallowNetwork(torch.randn(7, 5, generator=gen, dtype=torch.float64), sig, scaling="lazy")
    samples = torch.randn(300, 3, generator=gen, dtype=torch.float64)
    sig_energy = Energy(lambda x: torch.cos(x.sum(1)), samples, sig, lam=0.02)
    lazy_rbf = ShallowNetwork(rbf_net.particles, rbf_net.unit, scaling="lazy")
    return {"rbf closed": (rbf_net, rbf_energy), "relu teacher closed": (teacher_net, teacher_energy),
            "relu GL": (relu_net, relu_energy), "tanh 2-d weighted": (tanh_net, tanh_energy),
            "sigmoid samples lazy": (sig_net, sig_energy), "rbf lazy": (lazy_rbf, rbf_energy)}


PROBLEMS = _problems()


def test_reference_constant():
    """1/2 |f|^2 of Rotskoff et al.'s target on R is 0.0688683 (their published constant is off)."""
    assert abs(examples.RBF_TARGET.half_norm2() - 0.0688683) < 5e-8
    x = torch.linspace(-20, 20, 400_001, dtype=torch.float64)[:, None]
    assert abs(0.5 * float(examples.RBF_TARGET(x).square().sum()) * 1e-4 - 0.0688683) < 5e-8
    assert examples.rbf(5)[1].c_f == examples.RBF_TARGET.half_norm2()


@pytest.mark.parametrize("name", PROBLEMS)
def test_first_variation_is_the_derivative_along_a_mixture(name):
    """d/de F((1 - e) mu + e nu) at e = 0 equals int psi_mu d(nu - mu).

    F is quadratic in e, so the one-sided three-point difference is exact up to rounding.
    """
    net, energy = PROBLEMS[name]
    gen = torch.Generator().manual_seed(5)
    other = net.particles + 0.5 * torch.randn(net.particles.shape, generator=gen, dtype=torch.float64)
    both = torch.cat([net.particles, other])

    def f(eps):
        weights = torch.cat([(1 - eps) * net.mass, eps * net.mass])
        mixed = ShallowNetwork(both, net.unit, weights=weights)
        mixed.alpha = net.alpha  # keep the scaling of net (lazy: sqrt of the original N)
        return energy.value(mixed)

    h = 1e-3
    numeric = (4 * f(h) - f(2 * h) - 3 * f(0.0)) / (2 * h)
    psi = energy.first_variation(net, both)
    exact = float(net.mass @ (psi[len(other):] - psi[: len(other)]))
    assert numeric == pytest.approx(exact, rel=1e-6, abs=1e-10)


def _energy_autograd(net, energy, xi):
    """F(mu_N) as a differentiable function of the particles, written independently."""
    unit, lam, a, alpha = net.unit, energy.lam, net.mass, net.alpha
    potential = 0.5 * lam * (a @ xi.square().sum(1))
    if energy.closed_form:
        form = energy._closed
        beta = alpha * a * xi[:, 0]
        kernel = _arc_cosine if isinstance(form, ArcCosine) else (lambda u, v: form.kernel(u, v, beta)[0])
        kb = kernel(xi[:, 1:], xi[:, 1:]) if kernel is not _arc_cosine else _arc_cosine(xi[:, 1:]) @ beta
        ht = form.target_cross(xi[:, 1:])[0]
        return energy.c_f + 0.5 * beta @ kb - beta @ ht + potential
    x, q = energy.quadrature.points, energy.quadrature.weights
    r = alpha * (a @ unit.values(xi, x)) - energy._fx
    return 0.5 * q @ r.square() + potential


def _arc_cosine(u):
    """k(u_i, u_j) of Cho & Saul written with |u|^2 / 2 on the diagonal (where sqrt(0) has no derivative)."""
    dot = u @ u.T
    norm2 = u.square().sum(1)
    off = ~torch.eye(len(u), dtype=torch.bool)
    sin = torch.where(off, norm2[:, None] * norm2[None, :] - dot.square(), torch.ones_like(dot)).sqrt()
    k = (sin + (math.pi - torch.atan2(sin, dot)) * dot) / (2 * math.pi)
    return torch.where(off, k, torch.diag(norm2) / 2)


@pytest.mark.parametrize("name", PROBLEMS)
def test_particle_gradient_is_grad_psi(name):
    """(1 / a_i) grad_{xi_i} F(mu_N) = grad psi_mu(xi_i) (N times the gradient for a_i = 1/N), by autograd."""
    net, energy = PROBLEMS[name]
    xi = net.particles.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(_energy_autograd(net, energy, xi), xi)
    value, grad_psi = energy.value_and_gradient(net)
    torch.testing.assert_close(grad / net.mass[:, None], grad_psi)
    torch.testing.assert_close(grad_psi, energy.gradient(net, net.particles))
    assert value == pytest.approx(energy.value(net), rel=1e-12)
    assert value == pytest.approx(float(_energy_autograd(net, energy, net.particles)), rel=1e-12)


@pytest.mark.parametrize("name", PROBLEMS)
def test_gradient_of_psi_is_its_derivative(name):
    net, energy = PROBLEMS[name]
    gen = torch.Generator().manual_seed(7)
    xi = torch.randn(4, net.unit.p, generator=gen, dtype=torch.float64)
    direction = torch.randn(4, net.unit.p, generator=gen, dtype=torch.float64)
    h = 1e-6
    numeric = (energy.first_variation(net, xi + h * direction) - energy.first_variation(net, xi - h * direction)) / (2 * h)
    torch.testing.assert_close(numeric, (energy.gradient(net, xi) * direction).sum(1), rtol=1e-6, atol=1e-8)


def test_bump_closed_form_matches_quadrature():
    net, closed = examples.rbf(20, seed=4, lam=0.1)
    quad = Energy(examples.RBF_TARGET, (-14, 14), net.unit, lam=0.1, quadrature=400, closed_form=False)
    assert isinstance(closed._closed, BumpMixture) and closed.closed_form and not quad.closed_form
    xi = torch.randn(6, 2, dtype=torch.float64)
    assert closed.value(net) == pytest.approx(quad.value(net), rel=1e-12)
    assert closed.c_f == pytest.approx(quad.c_f, rel=1e-12)
    torch.testing.assert_close(closed.first_variation(net, xi), quad.first_variation(net, xi), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(closed.gradient(net, xi), quad.gradient(net, xi), rtol=1e-10, atol=1e-12)


def test_bump_closed_form_in_two_dimensions_and_far_particles():
    """The factorised kernel falls back to the direct formula when exp(|y|^2 / 2s) could overflow."""
    unit = GaussianBump(2, variance=0.3)
    target = GaussianMixture([1.0, -0.5], [[0.0, 0.0], [1.0, 1.0]], [0.4, 0.8])
    closed = Energy(target, "R^2", unit)
    quad = Energy(target, [(-7, 8), (-7, 8)], unit, quadrature=120, closed_form=False)
    xi = torch.tensor([[1.0, 0.1, 0.2], [-0.5, 1.5, 0.5], [0.7, -1.0, 0.3]], dtype=torch.float64)
    net = ShallowNetwork(xi, unit)
    assert closed.value(net) == pytest.approx(quad.value(net), rel=1e-9)
    torch.testing.assert_close(closed.gradient(net, xi), quad.gradient(net, xi), rtol=1e-8, atol=1e-10)
    far = ShallowNetwork(torch.tensor([[1.0, 0.0, 0.0], [1.0, 40.0, 0.0]], dtype=torch.float64), unit)
    direct = closed._closed._sum(far.particles[:, 1:], far.particles[:, 1:], far.weights * far.particles[:, 0], 0.6)
    for got, want in zip(closed._closed.kernel(far.particles[:, 1:], far.particles[:, 1:],
                                               far.weights * far.particles[:, 0]), direct):
        torch.testing.assert_close(got, want)


def test_relu_arc_cosine_closed_form_matches_quadrature():
    net, closed = examples.relu_teacher(15, seed=3, lam=0.1)
    quad = Energy(closed.target, "gaussian", net.unit, lam=0.1, quadrature=_circle_rule(), closed_form=False)
    assert isinstance(closed._closed, ArcCosine)
    xi = torch.randn(6, 3, dtype=torch.float64)
    assert closed.value(net) == pytest.approx(quad.value(net), rel=1e-7)
    torch.testing.assert_close(closed.first_variation(net, xi), quad.first_variation(net, xi), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(closed.gradient(net, xi), quad.gradient(net, xi), rtol=1e-4, atol=1e-4)


def test_outputs_follow_the_particles_dtype():
    net, energy = examples.rbf(10, dtype=torch.float32)
    value, grad = energy.value_and_gradient(net)
    assert isinstance(value, float) and grad.dtype == torch.float32
    assert energy.first_variation(net, net.particles).dtype == torch.float32
    net64, _ = examples.rbf(10)
    torch.testing.assert_close(grad, energy.value_and_gradient(net64)[1].float(), rtol=1e-4, atol=1e-6)


def test_quadrature_energy_in_float32_matches_float64():
    net, energy = PROBLEMS["relu GL"]
    single = ShallowNetwork(net.particles.float(), net.unit)
    torch.testing.assert_close(energy.value_and_gradient(single)[1], energy.value_and_gradient(net)[1].float(),
                               rtol=1e-4, atol=1e-5)


def test_energy_is_zero_at_the_target():
    unit = GaussianBump(1, variance=0.5)
    target = GaussianMixture([0.5, 0.5], [-1.0, 1.0], 0.5)
    net = ShallowNetwork(torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=torch.float64), unit)
    energy = Energy(target, "R", unit)
    assert abs(energy.value(net)) < 1e-15
    assert float(energy.gradient(net, net.particles).abs().max()) < 1e-14


def test_bad_input():
    unit = ReLUUnit(1)
    with pytest.raises(ValueError, match="particles: width 2"):
        ShallowNetwork(torch.zeros(3, 2), unit)
    with pytest.raises(ValueError, match="target: non-finite"):
        Energy(lambda x: torch.log(x[:, 0]), (-1, 1), unit)
    with pytest.raises(ValueError, match="target: returned shape"):
        Energy(lambda x: x, (-1, 1), ReLUUnit(2))
    with pytest.raises(ValueError, match="c: non-finite"):
        GaussianMixture([np.nan], [0.0], [1.0])
    with pytest.raises(ValueError, match="domain="):
        Energy(lambda x: x[:, 0], "R", unit)  # no closed form on R for a ReLU unit
    with pytest.raises(ValueError, match="domain="):
        Energy(lambda x: x[:, 0], "sphere", unit)
    with pytest.raises(ValueError, match="domain: interval"):
        Energy(lambda x: x[:, 0], (1, -1), unit)
    with pytest.raises(ValueError, match="lam"):
        Energy(lambda x: x[:, 0], (-1, 1), unit, lam=-1)
    with pytest.raises(ValueError, match="scaling"):
        ShallowNetwork(torch.zeros(3, 3), unit, scaling="wide")
    with pytest.raises(ValueError, match="weights: masses sum"):
        ShallowNetwork(torch.zeros(3, 3), unit, weights=torch.ones(3))
    with pytest.raises(ValueError, match="particles: non-finite"):
        ShallowNetwork(torch.full((3, 3), float("nan")), unit)
    energy = Energy(lambda x: x[:, 0], (-1, 1), unit)
    with pytest.raises(ValueError, match="particles: width 4"):
        energy.first_variation(ShallowNetwork(torch.zeros(2, 3), unit), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="network: unit"):
        energy.value(ShallowNetwork(torch.zeros(2, 3), TanhUnit(1)))
    with pytest.raises(ValueError, match="network: unit"):  # same p = 4, other inputs
        Energy(lambda x: x[:, 0], [(-1, 1)] * 2, ReLUUnit(2)).value(ShallowNetwork(torch.zeros(2, 4), ReLUUnit(3, bias=False)))


def test_symmetric_bump_kernel_equals_the_full_one():
    net, energy = examples.rbf(301, seed=8)
    theta, beta = net.particles[:, 1:], net.weights * net.particles[:, 0]
    for got, want in zip(energy._closed.kernel(theta, theta, beta, symmetric=True),
                         energy._closed.kernel(theta, theta.clone(), beta)):
        torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("unit", [ReLUUnit(3), TanhUnit(2)])
def test_sweep_split_over_threads_equals_one_sweep(monkeypatch, unit):
    """Large problems sweep the points in one part per torch thread: the same F and gradient."""
    from monge.meanfield import energy as energy_module

    gen = torch.Generator().manual_seed(3)
    x = torch.randn(600, unit.d, generator=gen, dtype=torch.float64)
    energy = Energy(lambda z: torch.sin(z.sum(1)), x, unit)
    net = ShallowNetwork(torch.randn(50, unit.p, generator=gen, dtype=torch.float64), unit)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one_value, one_grad = energy.value_and_gradient(net)
        monkeypatch.setattr(energy_module, "SPLIT_ENTRIES", 1)
        monkeypatch.setattr(energy_module, "BLOCK_ENTRIES", 50 * 16)  # 16 points a block: several per part
        torch.set_num_threads(3)
        calls = []
        original = energy_module._sweep_in_threads
        monkeypatch.setattr(energy_module, "_sweep_in_threads", lambda *a: calls.append(a[-1]) or original(*a))
        split_value, split_grad = energy.value_and_gradient(net)
        assert torch.get_num_threads() == 3  # restored after the one-threaded parts
    finally:
        torch.set_num_threads(threads)
    assert calls == [3]
    assert split_value == pytest.approx(one_value, rel=1e-12)
    torch.testing.assert_close(split_grad, one_grad, rtol=1e-11, atol=1e-14)
