import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from monge.errors import InputError
from monge.plots.approximation import plot_errors, plot_fits_1d, plot_fits_2d, shown_widths

WIDTHS = [1, 2, 4, 8, 16, 32, 64, 128]


def test_shown_widths_are_spread_on_a_log_scale():
    assert shown_widths(WIDTHS) == [1, 4, 32, 128]  # indices 0, 2.3, 4.7, 7 rounded
    assert shown_widths([1, 4]) == [1, 4]


def test_error_figure_is_log_log_with_a_reference_slope():
    sup = [2.0 / n for n in WIDTHS]
    l2 = [1.0 / n**2 for n in WIDTHS]
    fig = plot_errors(WIDTHS, sup, l2, rate=2.0, rate_note="h^2", sup_slope=-1.0, l2_slope=-2.0, title="demo")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert len(lines) == 3
    np.testing.assert_allclose(lines[0].get_ydata(), sup)
    np.testing.assert_allclose(lines[1].get_ydata(), l2)
    n, reference = lines[2].get_xdata(), lines[2].get_ydata()
    assert list(n) == WIDTHS[-4:]  # drawn where the slopes are fitted
    slope = np.polyfit(np.log(n), np.log(reference), 1)[0]
    assert slope == pytest.approx(-2.0)
    np.testing.assert_allclose(reference, l2[-4:], rtol=1e-9)  # this l2 follows n^-2 exactly
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("-1.00" in t for t in labels) and any("-2.00" in t for t in labels) and any("h^2" in t for t in labels)


def test_fits_of_the_line():
    t = torch.linspace(0, 1, 50, dtype=torch.float64)[:, None]
    values = torch.sin(t[:, 0])
    fits = torch.stack([values + 0.1 / n for n in WIDTHS])
    fig = plot_fits_1d(t, values, fits, WIDTHS, show=[2, 64])
    top, bottom = fig.axes
    assert len(top.get_lines()) == 3 and len(bottom.get_lines()) == 2
    np.testing.assert_allclose(bottom.get_lines()[1].get_ydata(), np.full(50, 0.1 / 64))
    assert bottom.get_yscale() == "log"


def test_fits_of_the_plane():
    axis = np.linspace(0, 1, 9)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    values = grid[:, 0] + 2 * grid[:, 1]
    fits = np.stack([values + 1.0 / n for n in WIDTHS])
    fig = plot_fits_2d(grid, values, fits, WIDTHS, train_points=np.random.default_rng(0).uniform(size=(30, 2)))
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 1 + 2 * 3  # the target, three fits and their errors
    target = images[0].images[0].get_array()
    # x1 across, x2 up: the top-right pixel is f(1, 1) and the one left of it is f(7/8, 1)
    assert target[-1, -1] == pytest.approx(3.0) and target[-1, -2] == pytest.approx(2.875)
    assert "width 128" in " ".join(ax.get_title() for ax in fig.axes)


def test_fits_of_the_plane_need_a_square_grid():
    with pytest.raises(InputError, match="grid: shape"):
        plot_fits_2d(np.zeros((10, 2)), np.zeros(10), np.zeros((1, 10)), [4])
