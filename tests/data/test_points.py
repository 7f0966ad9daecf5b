import numpy as np
import pytest
import torch

from monge.data import from_array, load_points
from monge.errors import InputError, InputTypeError


def test_toys_keep_their_units_and_modes():
    data = load_points("gaussians8", n_train=500, n_test=100, seed=1)
    assert data.train.shape == (500, 2) and data.test.shape == (100, 2) and data.train.dtype == torch.float32
    assert data.shape == (2,) and data.dim == 2 and not data.is_image and data.scale is None
    radius = data.train.norm(dim=1)
    assert float(radius.mean()) == pytest.approx(2 / 1.414, abs=0.01)  # not standardised
    assert data.modes.n_modes == 8
    assert not torch.equal(load_points("gaussians8", n_train=500, n_test=100, seed=2).train, data.train)


@pytest.mark.parametrize("name", ["gaussians8", "moons"])
def test_a_toy_holds_out_10000_points_and_its_training_points_do_not_depend_on_them(name):
    """20000 training and 10000 held-out points by default; training points and the first 2000 held out are one
    draw (the same as with n_test=2000), the other held-out points a second stream of the same seed."""
    from monge.data import toys

    data = load_points(name, seed=3)
    assert data.train.shape == (20000, 2) and data.test.shape == (10000, 2)
    assert "20000 train / 10000 held-out points" in data.description
    joint = load_points(name, seed=3, n_test=2000)
    assert torch.equal(data.train, joint.train) and torch.equal(data.test[:2000], joint.test)
    x, _ = toys.GENERATIVE_TOYS[name](22000, seed=3)  # one draw of training and held-out points, as before
    assert torch.equal(joint.train, torch.from_numpy(x[:20000]).float())
    again, other = load_points(name, seed=3), load_points(name, seed=4)
    assert torch.equal(again.test, data.test) and not torch.equal(other.test[2000:], data.test[2000:])
    assert len(torch.unique(data.test, dim=0)) == 10000  # the second stream repeats none of the first
    assert load_points(name, seed=3, n_test=2001).test.shape == (2001, 2)


def test_digits_are_grey_levels_split_as_classify_does():
    data = load_points("digits")
    assert data.train.shape == (1347, 1, 8, 8) and data.test.shape == (450, 1, 8, 8)
    assert data.is_image and data.scale == 16.0 and data.dim == 64
    assert float(data.train.min()) == 0.0 and float(data.train.max()) == 16.0
    with pytest.raises(InputError, match="only for the toys"):
        load_points("digits", n_train=10)


def test_from_array_splits_the_users_points():
    x = np.arange(40.0).reshape(20, 2)
    data = from_array("points.npy", x, seed=0)
    assert data.train.shape == (15, 2) and data.test.shape == (5, 2)
    both = torch.cat([data.train, data.test]).numpy()
    np.testing.assert_array_equal(np.sort(both[:, 0]), x[:, 0])


@pytest.mark.parametrize("array, message", [
    (np.zeros(5), r"shape \(5,\); expected points \(n, d\)"),
    (np.zeros((3, 2)), "holds 3 points; expected at least 4"),
    (np.full((5, 2), np.nan), "NaN or infinite"),
    ([["a", "b"]] * 5, r"^data: f.npy cannot be read as numbers"),
    ([[1.0, 2.0], [3.0]] * 3, r"^data: f.npy cannot be read as numbers"),
])
def test_from_array_refuses_bad_arrays(array, message):
    with pytest.raises(InputError, match=message):
        from_array("f.npy", array)


def test_unknown_name():
    with pytest.raises(InputError, match="data: 'cats'; expected one of gaussians8"):
        load_points("cats")
    with pytest.raises(InputTypeError, match="data: list; expected a data set name"):
        load_points(["moons"])
