import numpy as np
import pytest

from monge.data import toys


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


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 1}, "n: 1; expected an integer >= 2"),
    ({"n": 10.0}, "n: 10.0"),
    ({"noise": -0.1}, "noise: -0.1"),
    ({"noise": float("nan")}, "noise: nan"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        toys.moons(**kwargs)
    with pytest.raises(ValueError, match="n_classes"):
        toys.blobs(10, n_classes=1)
