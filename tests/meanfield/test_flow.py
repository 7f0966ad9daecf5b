"""The particle flow d xi_i / dt = -grad psi_mu(xi_i): energy decay, dissipation identity, integrators."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monge.errors import Diverged, InputError, InputTypeError
from monge.meanfield import Energy, FlowDiverged, ReLUUnit, ShallowNetwork, diagnostics, examples, flow


def test_rbf_reference_experiment_small():
    """Rotskoff et al.'s experiment at N = 50 to t = 10: monotone decay from ~0.08 by more than 10x."""
    net, energy = examples.rbf(50, seed=0)
    result = flow(net, energy, t_end=10.0, dt=1e-2)
    assert len(result.times) == 1001 and result.n_steps == 1000 and result.times[-1] == pytest.approx(10.0)
    assert result.energy[0] == pytest.approx(energy.value(net))
    assert np.all(np.diff(result.energy) <= 1e-15)
    assert result.energy[-1] < result.energy[0] / 10
    assert result.network.particles.shape == (50, 2) and result.network.n == 50
    assert result.energy[-1] == pytest.approx(energy.value(result.network), rel=1e-12)
    torch.testing.assert_close(net.particles, examples.rbf(50, seed=0)[0].particles)  # input untouched


def test_bad_start_stalls_above_the_good_start():
    good = flow(*examples.rbf(50, seed=1), t_end=8.0, dt=2e-2, snapshots=0)
    bad = flow(*examples.rbf(50, seed=1, bad_start=True), t_end=8.0, dt=2e-2, snapshots=0)
    assert bad.energy[-1] > 3 * good.energy[-1]


@pytest.mark.parametrize("make", [lambda: examples.rbf(30, seed=2, lam=0.01),
                                  lambda: examples.relu_teacher(30, seed=2),
                                  lambda: _relu_on_interval(20)], ids=["rbf", "relu-teacher", "relu-interval"])
def test_energy_non_increasing_and_dissipation_identity(make):
    net, energy = make()
    result = flow(net, energy, t_end=1.0, dt=1e-3, snapshots=0)
    assert np.all(np.diff(result.energy) <= 1e-14)
    assert diagnostics.dissipation_error(result) < 2e-3  # Euler: O(dt)
    assert result.grad_max[0] ** 2 >= result.dissipation[0] - 1e-15  # max |g|^2 >= mean |g|^2
    rk4 = flow(net, energy, t_end=1.0, dt=2e-2, method="rk4", snapshots=0)
    assert diagnostics.dissipation_error(rk4) < 2e-3  # trapezoid rule on the records: O(dt^2)


def _relu_on_interval(n):
    unit = ReLUUnit(1)
    gen = torch.Generator().manual_seed(0)
    net = ShallowNetwork(torch.randn(n, 3, generator=gen, dtype=torch.float64), unit)
    return net, Energy(lambda x: torch.abs(x[:, 0]) - 0.3, (-1, 1), unit, quadrature=64)


def test_integrators_agree():
    net, energy = examples.rbf(20, seed=3)
    fine = flow(net, energy, t_end=2.0, dt=1e-2, method="rk4", snapshots=0).network.particles
    rk4 = flow(net, energy, t_end=2.0, dt=5e-2, method="rk4")
    euler = flow(net, energy, t_end=2.0, dt=2e-3, snapshots=0).network.particles
    adaptive = flow(net, energy, t_end=2.0, dt=1e-2, method="adaptive", tol=1e-7)
    torch.testing.assert_close(rk4.network.particles, fine, rtol=0, atol=1e-6)  # 4th order
    torch.testing.assert_close(euler, fine, rtol=0, atol=1e-2)  # 1st order
    assert (euler - fine).abs().max() > (rk4.network.particles - fine).abs().max()
    torch.testing.assert_close(adaptive.network.particles, fine, rtol=0, atol=1e-5)
    assert adaptive.times[-1] == pytest.approx(2.0) and adaptive.n_steps > 0
    assert np.all(np.diff(adaptive.energy) <= 1e-15)
    np.testing.assert_allclose(adaptive.snapshot_times, np.linspace(0, 2, 21), atol=1e-12)  # steps land on them


def test_records_snapshots_and_progress():
    net, energy = examples.rbf(10, seed=4)
    seen = []
    result = flow(net, energy, t_end=1.0, dt=0.01, record_every=0.1, snapshots=5, progress=lambda t, e: seen.append((t, e)))
    np.testing.assert_allclose(result.times, np.linspace(0, 1, 11), atol=1e-12)
    assert [t for t, _ in seen] == list(result.times) and [e for _, e in seen] == list(result.energy)
    assert result.snapshots.shape == (5, 10, 2) and result.snapshots.dtype == np.float64
    np.testing.assert_allclose(result.snapshot_times, [0, 0.25, 0.5, 0.75, 1.0], atol=1e-12)
    np.testing.assert_array_equal(result.snapshots[0], net.particles.numpy())
    np.testing.assert_array_equal(result.snapshots[-1], result.network.particles.numpy())
    only_final = flow(net, energy, t_end=1.0, dt=0.01, snapshots=1)
    assert only_final.snapshots.shape == (1, 10, 2) and only_final.snapshot_times.tolist() == [1.0]


def test_float32_flow():
    net, energy = examples.rbf(20, seed=5, dtype=torch.float32)
    result = flow(net, energy, t_end=1.0, dt=0.01)
    assert result.network.particles.dtype == torch.float32 and result.snapshots.dtype == np.float32
    double = flow(*examples.rbf(20, seed=5), t_end=1.0, dt=0.01)
    np.testing.assert_allclose(result.energy, double.energy, rtol=1e-4)


def test_lazy_particles_move_less():
    """Lazy scaling (output 1/sqrt(N), time 1/N): f_mu starts at the same speed, particles move far less."""
    net, energy = examples.rbf(200, seed=6)
    lazy_net = ShallowNetwork(net.particles, net.unit, scaling="lazy")
    mean_field = flow(net, energy, t_end=0.5, dt=1e-2, snapshots=0)
    lazy = flow(lazy_net, energy, t_end=0.5, dt=1e-2, snapshots=0)
    # d/dt F at t = 0: the same size in both scalings up to the change of f_mu0
    moved = (mean_field.network.particles - net.particles).abs().max()
    moved_lazy = (lazy.network.particles - net.particles).abs().max()
    assert moved_lazy < moved / 5
    assert lazy.energy[-1] < lazy.energy[0]


def test_diverging_flow_raises():
    """Euler on V = lam/2 |xi|^2 multiplies xi by (1 - dt lam) = -9 per step: overflow, then an error."""
    net, energy = examples.rbf(10, seed=7, lam=1.0)
    with pytest.raises(FlowDiverged, match=r"at t = \S+ \(step \d+\): .*reduce the time step dt \(--dt\)") as caught:
        flow(net, energy, t_end=4000.0, dt=10.0)
    assert isinstance(caught.value, Diverged) and isinstance(caught.value, ArithmeticError)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("kwargs, match", [({"dt": 0.0}, "dt"), ({"dt": -1.0}, "dt"), ({"t_end": 0.0}, "t_end"),
                                           ({"method": "leapfrog"}, "method"), ({"snapshots": -1}, "snapshots"),
                                           ({"record_every": 0.0}, "record_every"), ({"dt": float("nan")}, "dt"),
                                           ({"tol": 0.0}, "tol")])
def test_bad_arguments(kwargs, match):
    net, energy = examples.rbf(5)
    options = {"t_end": 1.0, "dt": 0.1, **kwargs}
    with pytest.raises(InputError, match=match):
        flow(net, energy, **options)


def test_unit_mismatch():
    net, _ = examples.rbf(5)
    _, relu_energy = examples.relu_teacher(5)
    with pytest.raises(InputError, match="network: unit"):
        flow(net, relu_energy, 1.0, 0.1)
    with pytest.raises(InputTypeError, match="energy"):
        flow(net, None, 1.0, 0.1)


def test_a_step_that_raises_the_energy_is_refused():
    """Euler steps far too long for the flow raise the energy: FlowDiverged says so and names dt."""
    import pytest

    from monge.meanfield import FlowDiverged, flow
    from monge.meanfield.examples import relu_teacher

    network, energy = relu_teacher(n=50, seed=0)
    with pytest.raises(FlowDiverged, match=r"the energy rose from .* at t = 10 \(step 1\): .* reduce the time "
                                           r"step dt \(--dt\)"):
        flow(network, energy, t_end=30.0, dt=10.0)
    flow(network, energy, t_end=0.5, dt=0.05)  # a step that fits: no error
