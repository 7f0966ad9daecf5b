"""The ready-made experiments: rbf (Rotskoff et al. 2019) and relu_teacher."""

from __future__ import annotations

import pytest
import torch

from monge.meanfield import examples, flow


def test_rbf_initial_law():
    net, energy = examples.rbf(400, seed=0)
    c, y = net.particles.T
    assert net.unit.names == ("c", "y") and net.unit.variance == 0.5 and energy.closed_form
    assert float(y.min()) >= -2 and float(y.max()) <= 2 and abs(float(c.mean())) < 0.15
    bad, _ = examples.rbf(400, seed=0, bad_start=True)
    assert abs(float(bad.particles[:, 1].mean()) + 2) < 0.02 and float(bad.particles[:, 1].std()) < 0.12
    torch.testing.assert_close(examples.rbf(10, seed=3)[0].particles, examples.rbf(10, seed=3)[0].particles)


def test_relu_teacher_learns():
    net, energy = examples.relu_teacher(60, seed=0)
    assert net.unit.names == ("omega", "theta_1", "theta_2") and energy.closed_form
    torch.testing.assert_close(net.particles[:, 0].abs(), net.particles[:, 1:].norm(dim=1))  # balanced
    result = flow(net, energy, t_end=5.0, dt=0.02, snapshots=0)
    assert result.energy[-1] < result.energy[0] / 20
    net3, energy3 = examples.relu_teacher(10, d=3, teacher=4, scaling="lazy", dtype=torch.float32)
    assert net3.particles.shape == (10, 4) and net3.particles.dtype == torch.float32 and net3.scaling == "lazy"
    assert energy3.target.n == 4


@pytest.mark.parametrize("call, match", [(lambda: examples.rbf(0), "n:"), (lambda: examples.relu_teacher(5, d=0), "d:"),
                                         (lambda: examples.relu_teacher(5, teacher=0), "teacher"),
                                         (lambda: examples.rbf(5, scaling="x"), "scaling")])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
