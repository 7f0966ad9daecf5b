"""The flow board: the particle flow of monge.meanfield, stepped, paused, reset and drawn in frames."""

import math

import numpy as np
import pytest
import torch

from monge.errors import InputError
from monge.meanfield import examples
from monge.playground.flow_board import FlowBoard, FlowParams
from monge.playground.protocol import GRID, encode_frame

CURVE = np.stack([np.linspace(-3, 3, 60), 2 * np.sin(1.5 * np.linspace(-3, 3, 60))], 1)


class Clock:
    """A clock that moves only when told."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def board(**params):
    return FlowBoard(FlowParams(**params), playing=False)


def check_frame(b, n, columns):
    header, arrays = b.frame()
    assert header["type"] == "flow" and header["n"] == n and header["columns"] == columns
    assert arrays["particles"].shape == (n, 2)
    for name in ("x", "f_mu", "target"):
        assert arrays[name].shape == (GRID,)
    for array in arrays.values():
        assert array.dtype == np.float32 and np.isfinite(array).all()
    assert all(math.isfinite(header[k]) for k in ("t", "energy", "dissipation"))
    encode_frame(header, arrays)  # the protocol accepts it: finite, float32
    return header, arrays


def test_the_energy_falls_along_the_flow_and_matches_monge_meanfield():
    b = board(n=50, seed=3)
    net, energy = examples.rbf(n=50, seed=3)
    assert b.energy == pytest.approx(energy.value(net), rel=1e-12)
    energies = [b.energy]
    for _ in range(5):
        assert b.run(20) == 20
        energies.append(b.energy)
    assert all(later < earlier for earlier, later in zip(energies, energies[1:]))
    assert b.step == 100 and b.t == pytest.approx(1.0)
    assert b.dissipation > 0
    header, arrays = check_frame(b, 50, ["c", "y"])
    assert header["domain"] == [-4.0, 4.0] and header["paused"] is True
    torch.testing.assert_close(torch.from_numpy(arrays["particles"]), b.network.particles.float())
    # f_mu on the grid is the network's output; the target is the RBF example's
    grid = torch.from_numpy(arrays["x"]).double()[:, None]
    np.testing.assert_allclose(arrays["f_mu"], b.network.f(grid).numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(arrays["target"], energy.target(grid).numpy(), rtol=1e-5, atol=1e-7)


def test_the_euler_step_is_monge_meanfields():
    from monge.meanfield import flow

    b = board(n=30, seed=1, dt=0.02)
    net, energy = examples.rbf(n=30, seed=1)
    b.run(10)
    result = flow(net, energy, t_end=0.2, dt=0.02, snapshots=1)
    torch.testing.assert_close(b.network.particles, result.network.particles)
    assert b.energy == pytest.approx(result.energy[-1], rel=1e-10)
    assert b.dissipation == pytest.approx(result.dissipation[-1], rel=1e-10)


def test_the_bad_start_stalls_above_the_good_start():
    good, bad = board(n=100, seed=1), board(n=100, seed=1, start="bad")
    good.run(500)
    bad.run(500)
    assert good.t == bad.t == pytest.approx(5.0)
    assert bad.energy > 3 * good.energy
    ys = bad.frame()[1]["particles"][:, 1]
    assert ys.min() < -1  # the bumps started near y = -2


def test_a_drawn_target_is_fitted():
    b = board(n=100, seed=2, target="drawn", points=CURVE, dt=0.05)
    start = b.energy
    assert b.run(400) == 400
    assert b.energy < start / 10
    header, arrays = check_frame(b, 100, ["c", "y"])
    assert header["domain"] == [-3.0, 3.0]
    # the target drawn is the page's curve, linearly interpolated
    np.testing.assert_allclose(arrays["target"], np.interp(arrays["x"], CURVE[:, 0], CURVE[:, 1]), atol=1e-5)


def test_a_drawn_target_averages_repeated_x():
    points = np.array([[0.0, 1.0], [0.0, 3.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    b = board(n=10, target="drawn", points=points)
    _, arrays = b.frame()
    assert arrays["target"][0] == pytest.approx(2.0)


def test_the_relu_teacher_is_drawn_as_omega_and_the_angle_of_theta():
    b = board(n=40, target="relu-teacher", dt=0.05)
    start = b.energy
    b.run(20)
    assert b.energy < start
    header, arrays = check_frame(b, 40, ["omega", "theta"])
    assert header["domain"] == pytest.approx([0.0, 2 * math.pi])
    xi = b.network.particles
    np.testing.assert_allclose(arrays["particles"][:, 0], xi[:, 0].numpy(), rtol=1e-6)
    angles = arrays["particles"][:, 1]
    assert angles.min() >= 0 and angles.max() < 2 * math.pi + 1e-6
    np.testing.assert_allclose(np.cos(angles), (xi[:, 1] / xi[:, 1:].norm(dim=1)).numpy(), atol=1e-5)


def test_a_diverging_step_pauses_naming_the_step_and_dt_and_keeps_the_last_finite_state():
    b = FlowBoard(FlowParams(n=50, lam=10.0, dt=1.0), playing=True)
    before = b.network.particles.clone()
    assert b.run(5) == 0
    assert not b.playing
    message = b.take_error()
    assert "step 1" in message and "dt = 1" in message and "reduce dt" in message
    assert b.take_error() is None  # reported once
    torch.testing.assert_close(b.network.particles, before)
    header, _ = check_frame(b, 50, ["c", "y"])
    assert header["paused"] is True and header["step"] == 0
    b.update({"dt": 0.01})  # a shorter step, then play: the flow goes on from the kept state
    b.control("play")
    assert b.run(10) == 10 and b.take_error() is None


def test_live_parameters_apply_without_a_reset_and_the_others_rebuild_from_the_seed():
    b = board(n=30, seed=5)
    b.run(10)
    assert b.update({"dt": 0.02, "speed": 3.0}) is False
    assert b.step == 10 and b.params.dt == 0.02
    energy = b.energy
    assert b.update({"lam": 1.0}) is False
    assert b.step == 10 and b.energy > energy  # the potential's term is added at once
    assert b.update({"n": 60}) is True
    assert b.step == 0 and b.t == 0 and b.network.n == 60
    fresh = board(n=60, seed=5, lam=1.0)
    torch.testing.assert_close(b.network.particles, fresh.network.particles)
    b.run(5)
    b.control("reset")  # keeps the seed
    torch.testing.assert_close(b.network.particles, fresh.network.particles)
    assert b.step == 0
    assert b.update({"scaling": "lazy"}) is True and b.network.alpha == pytest.approx(math.sqrt(60))
    assert b.update({"points": CURVE}) is False  # kept for a drawn target, no reset of the RBF target
    assert b.update({"target": "drawn"}) is True and b.frame()[0]["domain"] == [-3.0, 3.0]


def test_a_drawn_target_without_points_is_refused_and_changes_nothing():
    b = board(n=20, seed=1)
    b.run(3)
    with pytest.raises(InputError, match="points"):
        b.update({"target": "drawn", "n": 50})
    assert b.params.target == "rbf" and b.network.n == 20 and b.step == 3


def test_the_steps_due_follow_speed_and_the_clock():
    clock = Clock()
    b = FlowBoard(FlowParams(n=20, dt=0.01, speed=1.0), playing=False, clock=clock)
    assert b.advance() == 0 and b.seconds_until_due() == math.inf  # paused
    b.control("play")
    assert b.advance(budget=10) == 1  # one step at once: a control shows at the next frame
    clock.now += 0.05
    assert b.advance(budget=10) == 5  # 1 of simulated time a second: 5 steps of 0.01
    assert b.seconds_until_due() == pytest.approx(0.01)
    b.update({"speed": 2.0})
    clock.now += 0.05
    assert b.advance(budget=10) == 10
    clock.now += 100.0  # a board that fell behind catches up 0.25 s, not 100 s
    assert b.advance(budget=10) == 50
    b.control("pause")
    assert b.advance(budget=10) == 0


def test_the_time_budget_stops_a_slice_of_steps():
    clock = Clock()
    b = FlowBoard(FlowParams(n=20, dt=0.01, speed=10.0), playing=True, clock=clock)
    clock.now += 0.25  # 250 steps due
    ticks = iter(range(1000))
    b.clock = lambda: clock.now + 0.01 * next(ticks)  # each reading 10 ms later
    assert b.advance(budget=0.025) == 3


def test_step_pauses_and_takes_one_step():
    b = FlowBoard(FlowParams(n=20), playing=True)
    b.control("step")
    assert not b.playing and b.step == 1
    with pytest.raises(InputError, match="action"):
        b.control("rewind")
