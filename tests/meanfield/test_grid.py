import logging

import numpy as np
import pytest
import torch

from monge.meanfield import Energy, ReLUUnit, ShallowNetwork, examples, flow
from monge.meanfield.grid import RBF_BOX, Grid, cfl_number, grid_flow, grid_wasserstein, rbf_law, transport_rates


@pytest.fixture(scope="module")
def rbf_energy():
    return examples.rbf(n=1)[1]


@pytest.fixture(scope="module")
def coarse():
    return Grid(*RBF_BOX, shape=(64, 32))


def test_transport_rates_conserve_mass_and_dissipate():
    gen = torch.Generator().manual_seed(0)
    rho = torch.rand(7, 5, generator=gen, dtype=torch.float64)
    psi = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    h = (0.3, 0.7)
    drho, dissipation, speed, grad_max = transport_rates(rho, psi, h)
    assert abs(float(drho.sum())) < 1e-12 * float(drho.abs().sum())
    # dF/dt = sum_k psi_k drho_k h^p = -dissipation (summation by parts with no-flux walls)
    torch.testing.assert_close((psi * drho).sum() * 0.21, -dissipation)
    assert float(dissipation) > 0
    torch.testing.assert_close(speed, torch.stack([psi.diff(dim=0).abs().max() / 0.3, psi.diff(dim=1).abs().max() / 0.7]))
    assert float(grad_max) <= float(speed.max())


def test_columns_give_the_full_first_variation_and_energy():
    """The per-column shortcut equals psi and F of the full weighted network of cells (lam > 0)."""
    _, energy = examples.rbf(n=1, lam=0.3)
    grid = Grid(*RBF_BOX, shape=(12, 10))
    gen = torch.Generator().manual_seed(1)
    rho = torch.rand(grid.shape, generator=gen, dtype=torch.float64)
    rho /= rho.sum() * grid.volume
    full = ShallowNetwork(grid.centres(), energy.unit, weights=grid.weights(rho))
    result = grid_flow(rho, grid, energy, t_end=1e-9, dt=1e-9)
    assert result.energy[0].item() == pytest.approx(energy.value(full), rel=1e-12)
    psi = energy.first_variation(full, grid.centres()).reshape(grid.shape)
    drho, dissipation, _, _ = transport_rates(rho, psi, grid.h)
    assert result.dissipation[0].item() == pytest.approx(float(dissipation), rel=1e-10)


@pytest.fixture(scope="module")
def rbf_run(rbf_energy, coarse):
    return grid_flow(coarse.product_law(rbf_law()), coarse, rbf_energy, t_end=3.0, dt=0.02)


def test_mass_positivity_and_energy(rbf_run):
    r = rbf_run
    assert r.times.shape == r.energy.shape == r.mass.shape == (151,) and r.cfl.shape == (150,)
    assert float((r.mass - 1).abs().max()) < 1e-13
    assert float(r.rho_min.min()) >= 0 and float(r.density.min()) >= 0
    assert bool((r.energy.diff() <= 0).all())
    assert float(r.energy[0]) == pytest.approx(0.0688683, abs=1e-7)  # symmetric c: f_rho = 0 at t = 0
    assert float(r.energy[-1]) < 0.5 * float(r.energy[0])
    assert float(r.boundary_mass.max()) < 1e-6
    assert r.n_substeps == 0 and bool((r.cfl <= 0.5).all())
    assert r.snapshots.shape == (11, 64, 32) and float(r.snapshot_times[-1]) == 3.0
    torch.testing.assert_close(r.snapshots[-1], r.density)


def test_dissipation_identity(rbf_run):
    """F(t) - F(0) = -int_0^t D: trapezoid over the records, to the Euler step's O(dt) error."""
    r = rbf_run
    t, f, d = r.times.numpy(), r.energy.numpy(), r.dissipation.numpy()
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(t))])
    assert np.abs(f - f[0] + integral).max() < 0.02 * (f[0] - f[-1])


def test_grid_agrees_with_particles_better_as_n_grows(rbf_energy):
    """W2(particles, grid) falls with N (both started from the same law): no slower than N^(-1/4)."""
    grid = Grid(*RBF_BOX, shape=(96, 48))
    density = grid_flow(grid.product_law(rbf_law()), grid, rbf_energy, t_end=1.0, dt=0.02).density
    distances = {}
    for n in (50, 400):
        values = []
        for seed in range(3):
            net, energy = examples.rbf(n=n, seed=seed)
            particles = flow(net, energy, t_end=1.0, dt=0.02, snapshots=0).network.particles
            values.append(grid_wasserstein(particles, density, grid))
        distances[n] = float(np.mean(values))
    assert distances[400] < distances[50] * (50 / 400) ** 0.25
    assert distances[400] < 0.3


def test_histogram_start_follows_its_particles(rbf_energy):
    """Started from the particles' own histogram, the grid stays within a few cells of them."""
    net, energy = examples.rbf(n=400, seed=3)
    grid = Grid(*RBF_BOX, shape=(128, 64))
    rho = grid.histogram(net.particles)
    assert grid_wasserstein(net.particles, rho, grid) < max(grid.h)
    density = grid_flow(rho, grid, energy, t_end=1.0, dt=0.02).density
    particles = flow(net, energy, t_end=1.0, dt=0.02, snapshots=0).network.particles
    assert grid_wasserstein(particles, density, grid) < 3 * max(grid.h)


def test_substeps_keep_positivity(rbf_energy, coarse, caplog):
    rho = coarse.product_law(rbf_law())
    with caplog.at_level(logging.INFO, logger="monge.meanfield.grid"):
        r = grid_flow(rho, coarse, rbf_energy, t_end=1.0, dt=0.5, snapshots=2)
    assert r.n_substeps > 0 and float(r.cfl.max()) > 0.5 and int(r.substeps.max()) > 1
    assert cfl_number(rho, coarse, rbf_energy, 0.5) == pytest.approx(float(r.cfl[0]), rel=1e-12)
    assert float(r.rho_min.min()) >= 0 and float((r.mass - 1).abs().max()) < 1e-13
    assert bool((r.energy.diff() <= 0).all())
    assert "CFL" in caplog.text and "sub-steps" in caplog.text
    with pytest.raises(ValueError, match=r"dt: 0.5 violates the CFL condition.*take dt <="):
        grid_flow(rho, coarse, rbf_energy, t_end=1.0, dt=0.5, substep=False)


def test_a_quadrature_energy_and_a_relu_unit():
    """ReLU neurons omega max(theta x, 0) on [-1, 1] (no closed form): the scheme is the same."""
    unit = ReLUUnit(1, bias=False)
    energy = Energy(lambda x: x[:, 0].abs(), (-1.0, 1.0), unit, lam=0.01, quadrature=64)
    grid = Grid((-3, -3), (3, 3), (30, 30))
    rho = grid.histogram(torch.randn(2000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64).clamp(-2.5, 2.5))
    r = grid_flow(rho, grid, energy, t_end=2.0, dt=0.05)
    assert bool((r.energy.diff() <= 0).all()) and float(r.energy[-1]) < 0.5 * float(r.energy[0])
    assert float((r.mass - 1).abs().max()) < 1e-13 and float(r.rho_min.min()) >= 0


def test_float32():
    grid = Grid(*RBF_BOX, shape=(32, 16))
    _, energy = examples.rbf(n=1, dtype=torch.float32)
    r = grid_flow(grid.product_law(rbf_law(), dtype=torch.float32), grid, energy, t_end=0.5, dt=0.05)
    assert r.density.dtype == torch.float32 and r.energy.dtype == torch.float32
    assert float((r.mass - 1).abs().max()) < 1e-5 and float(r.rho_min.min()) >= 0


def test_bad_input(rbf_energy, coarse):
    rho = coarse.product_law(rbf_law())
    cases = [
        (dict(rho=rho[:-1]), ValueError, "rho: shape"),
        (dict(rho=-rho), ValueError, "non-negative"),
        (dict(rho=2 * rho), ValueError, "total mass"),
        (dict(rho=rho.long()), TypeError, "floating"),
        (dict(t_end=0.0), ValueError, "t_end"),
        (dict(dt=-0.1), ValueError, "dt"),
        (dict(dt=float("nan")), ValueError, "dt"),
        (dict(cfl=2.0), ValueError, "cfl"),
        (dict(snapshots=1), ValueError, "snapshots"),
        (dict(grid=Grid((0, 0, 0), (1, 1, 1), (2, 2, 2)), rho=torch.full((2, 2, 2), 1.0, dtype=torch.float64)),
         ValueError, "p=2 parameters"),
        (dict(grid=((0, 0), (1, 1), (2, 2))), TypeError, "grid"),
        (dict(energy=object()), TypeError, "energy"),
    ]
    for change, kind, words in cases:
        args = dict(rho=rho, grid=coarse, energy=rbf_energy, t_end=1.0, dt=0.1) | change
        with pytest.raises(kind, match=words):
            grid_flow(**args)
