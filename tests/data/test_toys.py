import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons

from monge.data import toys
from monge.errors import InputError


@pytest.mark.parametrize("name", sorted(toys.TOYS))
def test_shapes_types_balance_and_seed(name):
    make = toys.TOYS[name]
    x, y = make(301, seed=3)
    assert x.shape == (301, 2) and x.dtype == np.float64 and y.shape == (301,) and y.dtype == np.int64
    assert np.isfinite(x).all() and set(np.unique(y)) == {0, 1}
    again, labels = make(301, seed=3)
    np.testing.assert_array_equal(x, again)
    np.testing.assert_array_equal(y, labels)
    assert not np.array_equal(make(301, seed=4)[0], x)


@pytest.mark.parametrize("name", ["moons", "blobs", "spiral"])
def test_generated_classes_are_balanced(name):
    _, y = toys.TOYS[name](101)
    assert sorted(np.bincount(y).tolist()) == [50, 51]


def test_noiseless_toys_follow_their_definitions():
    x, y = toys.circles(400, noise=0.0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert (r[y == 0] <= 2.5).all() and (r[y == 1] >= 3.5).all() and r.max() <= 5
    x, y = toys.xor(400, noise=0.0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(int))
    assert (np.abs(x) >= 0.3).all()
    x, y = toys.moons(400, noise=0.0)
    np.testing.assert_allclose(np.hypot(x[y == 0, 0], x[y == 0, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(x[y == 1, 0] - 1, x[y == 1, 1] - 0.5), 1.0)
    x, y = toys.spiral(400, noise=0.0)
    assert np.hypot(x[:, 0], x[:, 1]).max() <= 5
    x, y = toys.blobs(3000, noise=0.0)  # sigma 0.5 around (2, 2) and (-2, -2)
    np.testing.assert_allclose(x[y == 0].mean(0), [2, 2], atol=0.05)
    np.testing.assert_allclose(x[y == 1].mean(0), [-2, -2], atol=0.05)


def test_blobs_with_more_classes():
    x, y = toys.blobs(90, n_classes=3)
    assert np.bincount(y).tolist() == [30, 30, 30]


def _state(seed):
    return np.random.RandomState(np.random.MT19937(seed))


@pytest.mark.parametrize("n, seed, noise", [(301, 3, 0.1), (1000, 0, 0.3), (2, 2**70, 0.0)])
def test_moons_are_scikit_learns(n, seed, noise):
    x, y = toys.moons(n, noise=noise, seed=seed)
    expected_x, expected_y = make_moons((n - n // 2, n // 2), noise=noise, random_state=_state(seed))
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(y, expected_y)
    assert x.dtype == np.float64 and y.dtype == np.int64 and x.flags.c_contiguous


def test_noiseless_moons_are_two_half_circles_in_their_frame():
    assert np.bincount(toys.moons(401, seed=1)[1]).tolist() == [201, 200]
    x, y = toys.moons(402, noise=0.0, seed=1)  # 201 points per half circle: t = pi / 2 among them
    np.testing.assert_allclose(x.min(0), [-1.0, -0.5], atol=1e-12)
    np.testing.assert_allclose(x.max(0), [2.0, 1.0], atol=1e-12)
    assert (x[y == 0, 1] >= -1e-12).all() and (x[y == 1, 1] <= 0.5 + 1e-12).all()  # upper and lower half circles


@pytest.mark.parametrize("n_classes", [2, 3])
def test_blobs_are_scikit_learns_with_playgrounds_centres(n_classes):
    x, y = toys.blobs(200, noise=0.2, n_classes=n_classes, seed=5)
    theta = np.pi / 4 + 2 * np.pi * np.arange(n_classes) / n_classes
    centres = 2 * np.sqrt(2) * np.stack([np.cos(theta), np.sin(theta)], 1)
    expected_x, expected_y = make_blobs(200, centers=centres, cluster_std=0.5 + 3.5 * 0.2, random_state=_state(5))
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(y, expected_y)


def test_blobs_spread_follows_the_noise():
    x, y = toys.blobs(20000, noise=0.3, seed=0)  # sigma = 0.5 + 3.5 * 0.3 = 1.55
    np.testing.assert_allclose(x[y == 0].std(0), [1.55, 1.55], rtol=0.03)
    np.testing.assert_allclose(x[y == 1].mean(0), [-2, -2], atol=0.05)


def test_circles_fill_a_disc_inside_a_ring():
    x, y = toys.circles(4000, noise=0.0, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert 0.45 < (r[y == 0] < 1.25).mean() < 0.55  # radius uniform in [0, 2.5]: half the disc's points within 1.25
    x, y = toys.circles(4000, noise=0.5, seed=0)  # labels follow the radius of the moved point: still separable
    np.testing.assert_array_equal(y, np.hypot(x[:, 0], x[:, 1]) > 2.5)


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 1}, "n: 1; expected an integer >= 2"),
    ({"n": 10.0}, "n: 10.0"),
    ({"noise": -0.1}, "noise: -0.1"),
    ({"noise": float("nan")}, "noise: nan"),
    ({"seed": -1}, "seed: -1; expected an integer >= 0"),
    ({"seed": 1.5}, "seed: 1.5"),
])
def test_bad_arguments(kwargs, message):
    for name in sorted(toys.TOYS):
        with pytest.raises(InputError, match=message):
            toys.TOYS[name](**kwargs)
    with pytest.raises(InputError, match="n_classes"):
        toys.blobs(10, n_classes=1)


def test_every_toy_takes_a_large_seed():
    for name in sorted(toys.TOYS):
        assert toys.TOYS[name](10, seed=2**70)[0].shape == (10, 2)
