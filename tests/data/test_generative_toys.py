import math

import numpy as np
import pytest

from monge.data import toys
from monge.errors import InputError
from monge.metrics import high_quality, modes_covered


@pytest.mark.parametrize("name", sorted(toys.GENERATIVE_TOYS))
def test_shapes_labels_and_seed(name):
    make = toys.GENERATIVE_TOYS[name]
    x, y = make(301, seed=3)
    assert x.shape == (301, 2) and x.dtype == np.float64 and y.shape == (301,) and y.dtype == np.int64
    assert np.isfinite(x).all() and 0 <= y.min() and y.max() < toys.modes(name).n_modes
    again, labels = make(301, seed=3)
    np.testing.assert_array_equal(x, again)
    np.testing.assert_array_equal(y, labels)
    assert not np.array_equal(make(301, seed=4)[0], x)


def test_gaussians_follow_gan_toy_recipes():
    m8 = toys.modes("gaussians8")
    np.testing.assert_allclose(np.hypot(*m8.centres.T), 2 / 1.414)
    assert m8.std == pytest.approx(0.02 / 1.414)
    x, y = toys.gaussians8(8000, seed=0)
    spread = x - m8.centres[y]
    np.testing.assert_allclose(spread.std(0), m8.std, rtol=0.05)
    m25 = toys.modes("gaussians25")
    assert sorted(set(np.round(m25.centres[:, 0] * 2.828, 6))) == [-4, -2, 0, 2, 4]
    assert m25.std == pytest.approx(0.05 / 2.828)
    x, y = toys.gaussians25(5000, seed=1)
    np.testing.assert_allclose((x - m25.centres[y]).std(0), m25.std, rtol=0.08)


def test_curves_swissroll_circle_moons():
    for name in ("swissroll", "circle", "moons"):
        noiseless, y = toys.GENERATIVE_TOYS[name](500, noise=0.0, seed=2)
        m = toys.modes(name, noise=0.0)
        distance = np.sqrt(((noiseless[:, None] - m.centres[None]) ** 2).sum(-1)).min(1)
        assert distance.max() < 0.01, name  # curve points every 0.0025 or closer
    x, _ = toys.swissroll(2000, noise=0.0)
    r = np.hypot(*x.T) * 7.5  # t on the roll, in [1.5 pi, 4.5 pi]
    assert 1.5 * math.pi - 1e-9 <= r.min() and r.max() <= 4.5 * math.pi + 1e-9
    assert toys.modes("swissroll").std == pytest.approx(0.25 / 7.5)
    x, _ = toys.circle(1000, noise=0.0)
    np.testing.assert_allclose(np.hypot(*x.T), 1.0)


@pytest.mark.parametrize("name", sorted(toys.GENERATIVE_TOYS))
def test_the_data_itself_covers_every_mode_with_quality(name):
    x, _ = toys.GENERATIVE_TOYS[name](4000, seed=5)
    m = toys.modes(name)
    assert modes_covered(x, m.centres, m.std, m.labels) == m.n_modes
    assert high_quality(x, m.centres, m.std) > 0.98  # 98.9% of a 2-D Gaussian lies within 3 std


def test_bad_arguments():
    with pytest.raises(InputError, match="name: 'spiral'; expected one of gaussians8"):
        toys.modes("spiral")
    with pytest.raises(InputError, match="noise: -1"):
        toys.gaussians8(10, noise=-1)
    with pytest.raises(InputError, match="n: 0"):
        toys.swissroll(0)
