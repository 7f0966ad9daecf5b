import math

import numpy as np
import pytest
import torch

from monge.errors import Diverged, InputError
from monge.networks import TwoLayer
from monge.training.approximation import (WIDTHS, approximate, evaluate, evaluation_grid, fit_width, log_log_slope,
                                          solve_output_, spread_breakpoints_, training_points)
from monge.training.loop import DivergedError
from monge.training.targets import TARGETS, get_target

# Measured on seeds 0-5 with steps=100: sup error at width 32 at most 0.0141, L2 at most 0.0017.
SUP_32, L2_32 = 0.03, 0.004


@pytest.fixture(scope="module")
def small():
    """Widths 1, 4, 32 on the smooth 1-D target, shared by the tests that read it."""
    return approximate("sine", widths=[1, 4, 32], steps=100, seed=0)


def test_the_error_falls_with_width(small):
    assert small.widths == [1, 4, 32]
    for errors in (small.sup_error, small.l2_error):
        assert errors[0] > errors[1] > errors[2]
    assert small.sup_error[-1] < SUP_32
    assert small.l2_error[-1] < L2_32
    assert small.l2_slope < -1.0  # 4 -> 32 neurons: the error falls faster than 1 / n


def test_errors_are_measured_on_a_grid_that_is_not_the_training_points(small):
    grid, x = small.grid, small.train_points
    assert len(grid) == 10001 and len(x) == 4096
    assert not bool(torch.isin(grid, x).any())  # no training point is a grid point
    target = small.target
    for k, net in enumerate(small.networks):
        fit = evaluate(net, grid)
        torch.testing.assert_close(fit, small.fits[k])
        gap = fit - target(grid)
        assert small.sup_error[k] == pytest.approx(float(gap.abs().max()), rel=1e-12)
        assert small.l2_error[k] == pytest.approx(float(gap.pow(2).mean().sqrt()), rel=1e-12)
        assert small.train_error[k] == pytest.approx(float((evaluate(net, x) - target(x)).pow(2).mean().sqrt()),
                                                     rel=1e-12)


def test_result_shapes_and_slopes(small):
    assert small.fits.shape == (3, 10001) and small.values.shape == (10001,)
    assert all(isinstance(net, TwoLayer) and net.width == n for net, n in zip(small.networks, small.widths))
    assert small.slope_widths == [4, 32]
    expected = math.log(small.sup_error[2] / small.sup_error[1]) / math.log(8)
    assert small.sup_slope == pytest.approx(expected, rel=1e-9)
    assert len(small.seconds) == len(small.initial_sup_error) == len(small.initial_l2_error) == 3


def test_a_width_does_not_depend_on_the_other_widths(small):
    alone = approximate("sine", widths=[4], steps=100, seed=0)
    assert alone.sup_error[0] == small.sup_error[1]
    other = approximate("sine", widths=[4], steps=100, seed=1)
    assert other.sup_error[0] != small.sup_error[1]


def test_a_target_of_the_plane():
    result = approximate("bump", widths=[4, 64], steps=50, n_train=4096, n_grid=41, seed=0)
    assert result.grid.shape == (41 * 41, 2) and result.fits.shape == (2, 41 * 41)
    assert result.train_points.shape == (4096, 2)
    assert result.l2_error[1] < result.l2_error[0] / 4
    assert result.l2_error[1] < 0.05  # measured 0.022-0.026 on seeds 0-2
    assert result.sup_error[1] < result.sup_error[0]


def test_callback_reports_each_width():
    seen = []
    approximate("abs", widths=[2, 8], steps=20, callback=seen.append)
    assert [r["width"] for r in seen] == [2, 8]
    assert {"sup_error", "l2_error", "train_error", "initial_sup_error", "initial_l2_error", "seconds"} <= set(seen[0])


def test_default_widths():
    assert WIDTHS == (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def test_training_points_are_jittered_cells():
    target = get_target("bump")
    x = training_points(target, 100, torch.Generator().manual_seed(0))
    assert x.shape == (100, 2) and x.dtype == torch.float64
    cells = torch.floor(x * 10).long()
    assert len({tuple(c) for c in cells.tolist()}) == 100  # one point in each of the 10 x 10 cells
    assert training_points(target, 101, torch.Generator().manual_seed(0)).shape == (121, 2)


def test_evaluation_grid_includes_the_ends():
    grid = evaluation_grid(get_target("abs"), 5)
    torch.testing.assert_close(grid[:, 0], torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0], dtype=torch.float64))
    square = evaluation_grid(get_target("bump"), 3).reshape(3, 3, 2)
    assert square[2, 1].tolist() == [1.0, 0.5]


@pytest.mark.parametrize("name", ["sine", "abs", "bump"])
@pytest.mark.parametrize("random", [False, True])
def test_breakpoints_are_spread_over_the_domain(name, random):
    target = get_target(name)
    net = spread_breakpoints_(TwoLayer(target.dim, 64, 1).double(), target, torch.Generator().manual_seed(0),
                              random=random)
    w, b = net.hidden.weight.detach(), net.hidden.bias.detach()
    corners = torch.cartesian_prod(*[torch.tensor([target.low, target.high], dtype=torch.float64)] * target.dim)
    values = corners.reshape(-1, target.dim) @ w.T + b  # each neuron's pre-activation at the corners
    assert bool(((values.min(0).values < 0) & (values.max(0).values > 0)).all())  # every kink crosses the domain
    if target.dim == 1:
        breakpoints = (-b / w[:, 0]).sort().values
        cells = torch.floor((breakpoints - target.low) / target.side * 64).long()
        assert cells.tolist() == list(range(64))  # one breakpoint in each of the 64 cells


def test_the_output_layer_is_the_least_squares_solution():
    target = get_target("sine")
    x = training_points(target, 200, torch.Generator().manual_seed(0))
    y = target(x)
    net = spread_breakpoints_(TwoLayer(1, 16, 1).double(), target, torch.Generator().manual_seed(1))
    solve_output_(net, x, y)
    design = torch.cat([net.neurons(x), torch.ones(len(x), 1, dtype=torch.float64)], 1).detach()
    residual = (net(x)[:, 0] - y).detach()
    normal = design.T @ residual  # the normal equations: the residual is orthogonal to every neuron
    assert float(normal.abs().max()) < 1e-9 * float(design.abs().max() * y.abs().sum())


def test_more_starts_never_raise_the_training_error():
    target = get_target("bump")
    x = training_points(target, 400, torch.Generator().manual_seed(0))
    y = target(x)
    errors = []
    for starts in (1, 4):
        _, net = fit_width(target, 2, x, y, steps=30, lr=0.1, starts=starts, seed=0)
        errors.append(float((evaluate(net, x) - y).pow(2).mean()))
    assert errors[1] <= errors[0]


def test_log_log_slope():
    assert log_log_slope([1, 2, 4, 8], [1.0, 0.5, 0.25, 0.125]) == pytest.approx(-1.0)
    assert log_log_slope([1, 2, 4, 8], [5.0, 1.0, 0.25, 0.0625], among=[2, 4, 8]) == pytest.approx(-2.0)
    assert log_log_slope([4], [0.1]) is None


def test_targets():
    assert set(TARGETS) == {"sine", "abs", "bump"}
    for target in TARGETS.values():
        x = evaluation_grid(target, 11)
        values = target(x)
        assert values.shape == (len(x),) and bool(torch.isfinite(values).all())
        assert target.rate > 0 and target.high > target.low
    assert float(get_target("abs")(torch.zeros(1, 1, dtype=torch.float64))) == 0.0
    sine = get_target("sine")(torch.tensor([[0.25]], dtype=torch.float64))
    assert float(sine) == pytest.approx(1 + 0.3 * math.cos(1.75))


@pytest.mark.parametrize("kwargs, words", [
    (dict(target="cosine"), ["target", "'cosine'", "sine, abs, bump"]),
    (dict(widths=[]), ["widths", "empty"]),
    (dict(widths=[0, 2]), ["widths", "0", "positive integers"]),
    (dict(widths=[1.5]), ["widths", "1.5", "positive integers"]),
    (dict(widths=[True]), ["widths", "True"]),
    (dict(widths=[4, 2]), ["widths", "increasing"]),
    (dict(widths=7), ["widths", "7", "sequence"]),
    (dict(steps=0), ["steps", "0", "positive integer"]),
    (dict(steps=-5), ["steps", "-5"]),
    (dict(steps=2.5), ["steps", "2.5"]),
    (dict(lr=0.0), ["lr", "positive"]),
    (dict(lr=float("nan")), ["lr", "nan"]),
    (dict(starts=0), ["starts", "0"]),
    (dict(n_train=0), ["n_train", "0"]),
    (dict(batch_size=0), ["batch_size", "0"]),
    (dict(n_grid=1), ["n_grid", "1", "at least 2"]),
    (dict(seed=-1), ["seed", "-1", "non-negative"]),
])
def test_bad_input(kwargs, words):
    with pytest.raises(InputError) as error:  # a ValueError
        approximate(**{"widths": [2], "steps": 1, **kwargs})
    for word in words:
        assert word in str(error.value), (word, str(error.value))


def test_divergence_is_reported():
    with pytest.raises(DivergedError, match="width 8.*lower the learning rate") as caught:
        approximate("sine", widths=[8], steps=20, lr=1e30)
    assert isinstance(caught.value, Diverged)


@pytest.mark.parametrize("name", ["cosine", ["sine"], None])
def test_an_unknown_target_is_an_input_error(name):
    with pytest.raises(InputError, match="target: .*; expected one of sine, abs, bump"):
        get_target(name)
