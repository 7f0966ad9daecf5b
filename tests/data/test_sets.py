import random

import numpy as np
import pytest
import torch

from monge.data import DATASETS, Dataset, load, standardised, stratified_split
from monge.errors import InputError, InputTypeError


@pytest.fixture(scope="module")
def digits():
    return load("digits")


def test_digits_split_is_fixed_stratified_and_standardised_on_train(digits):
    assert (digits.n_train, digits.n_test, digits.shape, digits.n_classes) == (1347, 450, (1, 8, 8), 10)
    assert digits.x_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64
    assert digits.class_names == tuple("0123456789")
    # one mean and one standard deviation for the single channel, fitted on the training split
    assert digits.mean.shape == digits.std.shape == (1, 1, 1)
    torch.testing.assert_close(digits.x_train.mean(), torch.tensor(0.0), atol=1e-5, rtol=0)
    torch.testing.assert_close(digits.x_train.std(unbiased=False), torch.tensor(1.0), atol=1e-4, rtol=0)
    assert abs(float(digits.x_test.mean())) > 1e-4  # the test split is not standardised on itself
    from sklearn.datasets import load_digits

    raw = load_digits().data.reshape(-1, 1, 8, 8)
    train, test = stratified_split(load_digits().target, 0.25, 0)
    expected = torch.tensor(raw[test], dtype=torch.float32)
    torch.testing.assert_close(digits.raw(digits.x_test), expected, atol=1e-4, rtol=0)
    counts = torch.bincount(digits.y_test, minlength=10).float() / digits.n_test
    torch.testing.assert_close(counts, torch.bincount(digits.y_train).float() / digits.n_train, atol=0.01, rtol=0)
    assert torch.equal(load("digits").x_train, digits.x_train)
    assert not torch.equal(load("digits", seed=1).y_test, digits.y_test)


def test_mnist1d_offline_with_its_split_and_global_state_untouched():
    np.random.seed(123)
    random.seed(123)
    expected = (np.random.get_state()[1].copy(), random.getstate())
    np.random.seed(123)
    random.seed(123)
    data = load("mnist1d")
    assert np.array_equal(np.random.get_state()[1], expected[0]) and random.getstate() == expected[1]
    assert (data.n_train, data.n_test, data.shape, data.n_classes) == (4000, 1000, (1, 40), 10)
    assert data.mean.shape == (1, 1)
    assert "seed 42, the published data set" in data.description
    assert set(torch.unique(data.y_test).tolist()) == set(range(10))


@pytest.mark.parametrize("name", DATASETS[2:])
def test_toys_are_split_and_standardised_per_feature(name):
    data = load(name, n_samples=200, seed=1)
    assert (data.n_train, data.n_test, data.shape, data.n_classes) == (150, 50, (2,), 2)
    assert data.mean.shape == data.std.shape == (2,)
    torch.testing.assert_close(data.x_train.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(data.standardise(data.raw(data.x_test)), data.x_test, atol=1e-5, rtol=0)
    assert repr(data) == f"Dataset({name!r}: 150 train / 50 test, shape (2,), 2 classes)"


def test_constant_feature_keeps_unit_scale():
    x = np.stack([np.arange(8.0), np.full(8, 3.0)], 1)
    data = standardised("c", x[:6], np.array([0, 1] * 3), x[6:], np.array([0, 1]), class_names=["a", "b"])
    assert float(data.std[1]) == 1.0 and float(data.x_train[:, 1].abs().max()) == 0.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: load("cifar"), InputError, r"'cifar' is not a data set; expected one of digits, mnist1d, moons"),
    (lambda: load("missing.csv"), FileNotFoundError, "no such file"),
    (lambda: load("digits", noise=0.1), InputError, "only for the toys"),
    (lambda: load("mnist1d", test_fraction=0.5), InputError, "its own fixed 80/20 split"),
    (lambda: load("moons", test_fraction=1.5), InputError, r"test_fraction: 1.5; expected a number in \(0, 1\)"),
    (lambda: load("moons", seed=-1), InputError, "seed: -1"),
    (lambda: load(3), InputTypeError, "name: int"),
    (lambda: load("moons", n_samples=1), InputError, r"n_samples: 1; expected an integer >= 2 \(points of the moons"),
    (lambda: load("moons", n_samples=-5), InputError, "n_samples: -5"),
])
def test_bad_requests(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_dataset_checks_its_fields():
    x, y = torch.zeros(4, 2), torch.tensor([0, 1, 0, 1])
    fields = dict(name="d", x_train=x, y_train=y, x_test=x, y_test=y, shape=(2,), n_classes=2, class_names=("a", "b"),
                  mean=torch.zeros(2), std=torch.ones(2))
    Dataset(**fields)
    with pytest.raises(InputError, match="expected 0 to 1"):
        Dataset(**{**fields, "y_test": torch.tensor([0, 1, 2, 1])})
    with pytest.raises(InputTypeError, match="float32 and int64"):
        Dataset(**{**fields, "x_train": x.double()})
    with pytest.raises(InputError, match="class_names"):
        Dataset(**{**fields, "class_names": ("a",)})
