import dataclasses
import math

import pytest
import torch

from monge.data import load
from monge.networks import MLP, ConvNet, TwoLayer
from monge.training.recipes import (SupervisedConfig, build_model, build_optimizer, build_schedule, check, kind,
                                    resolve)


@pytest.fixture(scope="module")
def digits():
    return load("digits")


@pytest.fixture(scope="module")
def moons():
    return load("moons", n_samples=200)


def test_digits_convnet_defaults(digits):
    config = resolve(SupervisedConfig(), digits)
    assert (config.model, config.width, config.depth, config.epochs, config.shift) == ("convnet", 32, 2, 30, 1)
    assert (config.optimizer, config.schedule, config.label_smoothing) == ("adam", "onecycle", 0.1)
    net = build_model(config, digits)
    assert isinstance(net, ConvNet) and net.channels == (32, 64)


def test_squared_loss_trains_on_one_hot_targets(digits):
    config = resolve(SupervisedConfig(model="two-layer", loss="squared"), digits)
    assert config.label_smoothing == 0.0 and config.width == 256 and config.depth == 1
    assert isinstance(build_model(config, digits), TwoLayer)


def test_explicit_settings_win_and_nothing_is_left_unset(digits):
    settings = SupervisedConfig(model="mlp", width=7, depth=3, lr=0.5, optimizer="sgd", schedule="constant")
    config = resolve(settings, digits)
    assert (config.width, config.depth, config.lr, config.optimizer) == (7, 3, 0.5, "sgd")
    assert all(getattr(config, f.name) is not None for f in dataclasses.fields(config)
               if f.name not in ("n_samples", "noise"))
    net = build_model(config, digits)
    assert isinstance(net, MLP) and net.widths == [7, 7, 7]
    optimizer = build_optimizer(config, net)
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.param_groups[0]["momentum"] == 0.9
    assert build_schedule(config, optimizer, 10) is None


def test_points_of_the_plane_default_to_the_two_layer_network(moons):
    config = resolve(SupervisedConfig(data="moons"), moons)
    assert kind(moons) == "vectors" and config.model == "two-layer"
    assert config.n_samples == 200 and config.noise == 0.1
    # about STEPS optimisation steps: 150 samples in batches of 32 = 5 steps per epoch -> capped at 100 epochs
    assert config.epochs == 100 and config.batch == 32


def test_schedules_and_adam(digits):
    config = resolve(SupervisedConfig(model="two-layer", schedule="cosine"), digits)
    net = build_model(config, digits)
    optimizer = build_optimizer(config, net)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert isinstance(build_schedule(config, optimizer, 100), torch.optim.lr_scheduler.CosineAnnealingLR)
    config = dataclasses.replace(config, schedule="onecycle")
    assert isinstance(build_schedule(config, optimizer, 100), torch.optim.lr_scheduler.OneCycleLR)


@pytest.mark.parametrize("change, message", [
    ({"width": 0}, "width \(--width\): 0; expected an integer >= 1"),
    ({"width": 2.5}, "width \(--width\): 2.5"),
    ({"epochs": 0}, "epochs \(--epochs\): 0"),
    ({"batch": -1}, "batch \(--batch\): -1"),
    ({"lr": 0.0}, r"lr \(--lr\): 0.0; expected a number in \(0, inf\)"),
    ({"lr": math.nan}, "lr \(--lr\): nan"),
    ({"dropout": 1.0}, r"dropout \(--dropout\): 1.0; expected a number in \[0, 1\)"),
    ({"weight_decay": -1e-3}, "weight_decay"),
    ({"label_smoothing": 1.0}, "label_smoothing"),
    ({"momentum": 1.5}, "momentum"),
    ({"shift": -1}, "shift"),
    ({"model": "resnet"}, r"model \(--model\): 'resnet'; expected one of two-layer, mlp, convnet"),
    ({"loss": "hinge"}, r"loss \(--loss\): 'hinge'; expected one of squared, cross-entropy"),
    ({"optimizer": "rmsprop"}, r"optimizer \(--optimizer\): 'rmsprop'; expected one of sgd, adam"),
    ({"schedule": "step"}, "schedule"),
    ({"model": "two-layer", "depth": 2}, "one hidden layer"),
    ({"model": "two-layer", "dropout": 0.5}, "has no dropout"),
    ({"model": "convnet", "depth": 3}, "expected at most 2 for digits"),
])
def test_bad_settings(digits, change, message):
    with pytest.raises(ValueError, match=message):
        resolve(SupervisedConfig(**change), digits)


def test_settings_that_do_not_fit_the_data(moons):
    with pytest.raises(ValueError, match="convnet needs images or signals"):
        resolve(SupervisedConfig(data="moons", model="convnet"), moons)
    with pytest.raises(ValueError, match="random shifts are for images and signals"):
        resolve(SupervisedConfig(data="moons", shift=1), moons)
    check(SupervisedConfig())  # unset settings are not errors
