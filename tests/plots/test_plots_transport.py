import subprocess
import sys

import numpy as np
import pytest
import torch
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from monge.errors import InputError
from monge.plots.transport import euclidean_distance, figure_2_2, one_based, plan_sharpening, plot_plan


def _segments(ax):
    return [c for c in ax.collections if isinstance(c, LineCollection)][0].get_segments()


def test_one_based_notation():
    assert one_based([0, 4, 3, 5, 2, 1]) == "(1, 5, 4, 6, 3, 2)"


def test_euclidean_distance_is_the_sum_of_lengths():
    x = np.array([[0.0, 0.0], [0.0, 1.0]])
    z = np.array([[3.0, 4.0], [0.0, 2.0]])
    assert euclidean_distance(x, z, [0, 1]) == pytest.approx(5.0 + 1.0)
    assert euclidean_distance(x, z, [1, 0]) == pytest.approx(2.0 + np.hypot(3.0, 3.0))


def test_figure_2_2_panels(rng):
    x, z = rng.uniform(size=(6, 2)), rng.uniform(size=(6, 2))
    text, best = np.array([0, 4, 3, 5, 2, 1]), np.array([3, 2, 4, 0, 5, 1])
    fig = figure_2_2(torch.from_numpy(x), z, text, torch.from_numpy(best))
    assert isinstance(fig, Figure)
    left, right = fig.axes[:2]
    assert "(1, 5, 4, 6, 3, 2)" in left.get_title()
    assert f"{euclidean_distance(x, z, text):.4f}" in left.get_title()
    assert "(4, 3, 5, 1, 6, 2)" in right.get_title()
    assert f"{euclidean_distance(x, z, best):.4f}" in right.get_title()
    for ax, perm in ((left, text), (right, best)):
        segments = np.array(_segments(ax))
        np.testing.assert_allclose(segments[:, 0], x)
        np.testing.assert_allclose(segments[:, 1], z[perm])
        labels = {t.get_text() for t in ax.texts}
        assert {f"$x_{{{i}}}$" for i in range(1, 7)} <= labels
        assert {f"$z_{{{i}}}$" for i in range(1, 7)} <= labels
        assert ax.get_aspect() == 1.0
    assert left.get_legend() is not None
    assert "720" in fig._suptitle.get_text()


def test_plan_figure_draws_every_pair_with_mass(rng):
    x, z = rng.normal(size=(10, 2)), rng.normal(size=(7, 2))
    rows, cols, mass = np.arange(10), np.arange(10) % 7, np.full(10, 0.1)
    fig = plot_plan(x, z, rows, cols, mass, title="plan")
    ax = fig.axes[0]
    assert len(_segments(ax)) == 10
    assert ax.get_title().startswith("plan\n10 segments")


def test_plan_figure_subsamples_large_plans(rng):
    n = 500
    x, z = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    fig = plot_plan(x, z, np.arange(n), rng.permutation(n), np.full(n, 1 / n), max_segments=100)
    ax = fig.axes[0]
    assert len(_segments(ax)) == 100
    assert "100 of 500 segments shown" in ax.get_title()


def test_a_matching_of_30000_points_draws_a_seeded_sample_of_its_segments_and_faint_points(rng):
    """A large matching stays legible and bounded: 3000 segments, through small translucent markers."""
    import io

    from matplotlib.collections import PathCollection

    n = 30_000
    x, z, perm = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2)), rng.permutation(n)
    figures = [plot_plan(x, z, np.arange(n), perm, np.full(n, 1 / n), seed=seed) for seed in (3, 3, 4)]
    ax = figures[0].axes[0]
    segments = _segments(ax)
    assert len(segments) == 3000 and "3,000 of 30,000 segments shown" in ax.get_title()
    np.testing.assert_array_equal(segments, _segments(figures[1].axes[0]))  # seeded
    assert not np.array_equal(segments, _segments(figures[2].axes[0]))
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points) == 2 and all(c.get_alpha() < 1 and c.get_sizes()[0] < 4 for c in points)  # density, not ink
    assert all(h.get_alpha() == 1.0 for h in ax.get_legend().legend_handles)  # the legend stays readable
    buffer = io.BytesIO()
    figures[0].savefig(buffer, format="png", dpi=120)
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_small_plans_keep_opaque_points_over_their_segments(rng):
    from matplotlib.collections import PathCollection

    x, z = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    ax = plot_plan(x, z, np.arange(40), rng.permutation(40), np.full(40, 1 / 40)).axes[0]
    lines = [c for c in ax.collections if isinstance(c, LineCollection)][0]
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert all(c.get_alpha() == 1.0 and lines.get_zorder() < c.get_zorder() for c in points)


def test_plan_figure_without_plan(rng):
    fig = plot_plan(rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), None, None, None)
    assert "no plan" in fig.axes[0].get_title()


def test_bad_shapes_are_refused(rng):
    with pytest.raises(InputError, match="x: shape"):
        figure_2_2(rng.normal(size=(6, 3)), rng.normal(size=(6, 2)), range(6), range(6))
    with pytest.raises(InputError, match="rows, cols, mass"):
        plot_plan(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), np.arange(3), np.arange(2), np.ones(3))
    with pytest.raises(InputError, match="plans, titles: 1 plans and 2 titles"):
        plan_sharpening([np.eye(2)], ["a", "b"], [0, 1])
    with pytest.raises(InputError, match=r"plans\[0\]: shape \(3, 3\); expected \(2, 2\)"):
        plan_sharpening([np.eye(3)], ["a"], [0, 1])


def test_importing_plots_leaves_matplotlib_state_alone():
    # the backend as set, read without resolving it (get_backend() itself would import pyplot)
    backend = "dict.__getitem__(matplotlib.rcParams, 'backend')"
    code = (f"import matplotlib, sys; before = {backend}; import monge.plots; "
            f"print('matplotlib.pyplot' in sys.modules, {backend} == before)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[-2:] == ["False", "True"]  # last line: other libraries may print first
