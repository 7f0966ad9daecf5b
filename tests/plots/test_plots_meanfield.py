import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from monge.errors import InputError
from monge.plots.meanfield import (plot_energy, plot_fits, plot_grid_density, plot_particles, save_particles_gif,
                                   shown_times)

RNG = np.random.default_rng(0)
TIMES = np.linspace(0, 2, 5)
SNAPS = np.cumsum(RNG.normal(scale=0.1, size=(5, 30, 2)), axis=0)


def test_shown_times():
    assert shown_times(range(61), 4) == [0, 20, 40, 60]
    assert shown_times([0.0, 1.0], 4) == [0, 1]


def test_fits_draw_the_target_and_one_line_per_time():
    x = np.linspace(-1, 1, 50)
    fits = np.stack([k * x for k in range(3)])
    figure = plot_fits(x, x ** 2, fits, [0, 1, 2], samples=np.stack([x, x ** 2], 1))
    (ax,) = figure.axes
    lines = ax.get_lines()
    assert len(lines) == 5  # samples, target, three fits
    np.testing.assert_allclose(lines[1].get_ydata(), x ** 2)
    np.testing.assert_allclose(lines[-1].get_ydata(), 2 * x)


def test_particles_draw_tracks_and_both_ends():
    figure = plot_particles(SNAPS, TIMES, ("c", "y"), max_tracks=10)
    ax = figure.axes[0]
    assert len(ax.get_lines()) == 10 and len(ax.collections) == 2
    np.testing.assert_allclose(ax.collections[1].get_offsets(), SNAPS[-1])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("c", "y")


def test_particles_with_three_parameters_colour_the_output_weight():
    snaps = RNG.normal(size=(3, 20, 3))
    figure = plot_particles(snaps, [0, 1, 2], ("omega", "theta_1", "theta_2"))
    ax = figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("theta_1", "theta_2")
    np.testing.assert_allclose(ax.collections[1].get_offsets(), snaps[-1, :, 1:])
    np.testing.assert_allclose(ax.collections[1].get_array(), snaps[-1, :, 0])
    assert len(figure.axes) == 2  # the colour bar


def test_gif_has_one_frame_per_snapshot(tmp_path):
    path = tmp_path / "particles.gif"
    save_particles_gif(path, SNAPS, TIMES, ("c", "y"), dpi=40)
    with Image.open(path) as image:
        assert image.format == "GIF" and image.n_frames == len(SNAPS)


def test_energy_is_on_log_axes_with_the_dissipation_check():
    t = np.linspace(0, 5, 51)
    energy, dissipation = np.exp(-t), np.exp(-t)
    figure = plot_energy(t, energy, dissipation, grid_times=t, grid_energy=1.1 * energy, grid_dissipation=dissipation)
    left, right = figure.axes
    assert left.get_yscale() == right.get_yscale() == "log"
    assert len(left.get_lines()) == 2 and len(right.get_lines()) == 3
    # -dF/dt by differences matches D = e^{-t} to O(dt^2)
    middle, slope = right.get_lines()[1].get_data()
    np.testing.assert_allclose(slope, np.exp(-middle), rtol=1e-2)


def test_grid_density_has_one_panel_per_time():
    edges = [np.linspace(-1, 1, 11), np.linspace(-2, 2, 21)]
    densities = RNG.uniform(size=(3, 10, 20))
    figure = plot_grid_density(edges, densities, SNAPS[:3], [0, 1, 2], ("c", "y"))
    assert isinstance(figure, Figure) and len(figure.axes) == 3
    assert [ax.get_title() for ax in figure.axes] == ["t = 0", "t = 1", "t = 2"]
    with pytest.raises(InputError, match=r"densities: shape \(3, 5, 20\); expected \(S, 10, 20\)"):
        plot_grid_density(edges, densities[:, :5], SNAPS[:3], [0, 1, 2], ("c", "y"))
    with pytest.raises(InputError, match="snapshots"):
        plot_grid_density(edges, densities, SNAPS[:2], [0, 1, 2], ("c", "y"))
