"""Diagnostics: dissipation identity, optimality gap bound, W2 between particle measures, sweeps over N."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monge.meanfield import ShallowNetwork, diagnostics, examples, flow


def test_dissipation_error_detects_a_wrong_dissipation():
    net, energy = examples.rbf(20, seed=0)
    result = flow(net, energy, t_end=1.0, dt=1e-3, snapshots=0)
    assert diagnostics.dissipation_error(result) < 1e-3
    result.dissipation = 1.2 * result.dissipation
    assert diagnostics.dissipation_error(result) > 0.1


def test_optimality_gap_bound_holds_and_shrinks():
    """F(mu) - F* <= int psi dmu - min psi; F* <= F of a long run; the bound falls along the flow."""
    net, energy = examples.rbf(40, seed=1)
    grid = diagnostics.parameter_grid([(-3, 3), (-5, 5)], 61)
    assert grid.shape == (61 * 61, 2)
    start = diagnostics.optimality_gap_bound(net, energy, grid)
    result = flow(net, energy, t_end=20.0, dt=2e-2, snapshots=0)
    end = diagnostics.optimality_gap_bound(result.network, energy, grid)
    assert energy.value(net) - result.energy[-1] <= start + 1e-12  # F* <= F(mu_t)
    assert 0 <= end < start / 5


def test_w2_between_particle_measures():
    net, _ = examples.rbf(30, seed=2)
    assert diagnostics.w2(net, net) == pytest.approx(0.0, abs=1e-7)
    shifted = ShallowNetwork(net.particles + torch.tensor([0.0, 0.5], dtype=torch.float64), net.unit)
    assert diagnostics.w2(net, shifted) == pytest.approx(0.5, rel=1e-6)
    weights = torch.full((60,), 1 / 60, dtype=torch.float64)
    doubled = ShallowNetwork(torch.cat([net.particles, net.particles]), net.unit, weights=weights)
    assert diagnostics.w2(net, doubled) == pytest.approx(0.0, abs=1e-7)  # same measure, other weights
    with pytest.raises(ValueError, match="second"):
        diagnostics.w2(net, examples.relu_teacher(5)[0])


def test_runs_of_larger_n_are_closer():
    """W2 between runs of N and 4N particles (same time) falls as N grows (law of large numbers)."""
    def final(n, seed):
        return flow(*examples.rbf(n, seed=seed), t_end=2.0, dt=5e-2, snapshots=0).network

    small = np.mean([diagnostics.w2(final(10, s), final(40, s + 100)) for s in range(3)])
    large = np.mean([diagnostics.w2(final(80, s), final(320, s + 100)) for s in range(3)])
    assert large < small / 1.5


def test_excess_energy_falls_no_slower_than_one_over_n():
    _, energy = examples.rbf(1)

    def build(n, seed):
        return examples.rbf(n, seed=seed)[0], energy

    # at t = 5 the fluctuations of F(mu_N) over seeds have calmed: 40 seeds resolve the excess at N = 32
    sweep = diagnostics.sweep_n(build, [4, 8, 16, 32], t_end=5.0, dt=0.25, seeds=range(40), n_ref=128)
    assert sweep.ns.tolist() == [4, 8, 16, 32] and sweep.excess.shape == (4,)
    assert np.all(sweep.excess > 2 * sweep.stderr)  # resolved
    assert sweep.slope <= -0.8  # 1/N (or faster), with room for the noise of 40 seeds
    assert sweep.excess[-1] <= 2 * sweep.excess[0] * 4 / 32


def test_bad_input():
    net, energy = examples.rbf(5)
    with pytest.raises(ValueError, match="n:"):
        diagnostics.parameter_grid([(0, 1), (0, 1)], (3,))
    with pytest.raises(ValueError, match="particles: width 3"):
        diagnostics.optimality_gap_bound(net, energy, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="ns"):
        diagnostics.sweep_n(lambda n, s: (net, energy), [5], 1.0, 0.1)
    result = flow(net, energy, t_end=0.1, dt=0.1, record_every=0.1)
    result.times, result.energy, result.dissipation = result.times[:1], result.energy[:1], result.dissipation[:1]
    with pytest.raises(ValueError, match="result"):
        diagnostics.dissipation_error(result)
