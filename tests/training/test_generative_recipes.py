import dataclasses

import numpy as np
import pytest
import torch

from monge.data import from_array, load_points
from monge.networks import ConvGenerator, MLPGenerator
from monge.training.generative_recipes import DEFAULTS, GenerateConfig, build_generator, kind, resolve


def test_defaults_fill_what_is_left_out():
    toy = load_points("gaussians8", n_train=10, n_test=10)
    config = resolve(GenerateConfig(loss="sinkhorn", lr=1e-2), toy)
    assert config.lr == 1e-2 and config.steps == DEFAULTS[("toys", "sinkhorn")]["steps"] and config.p == 1.0
    assert config.every == 125 and config.checkpoint_every == 50 and config.widths == (256, 256, 256)
    g = build_generator(config, toy)
    assert isinstance(g, MLPGenerator) and g.output_name == "identity" and g.latent == 2


def test_rho_is_kept_and_balanced_by_default():
    toy = load_points("gaussians8", n_train=10, n_test=10)
    assert resolve(GenerateConfig(loss="sinkhorn", p=2.0, rho=0.2), toy).rho == 0.2
    assert resolve(GenerateConfig(loss="sinkhorn"), toy).rho is None


def test_digits_get_a_sigmoid_output_and_conv_works_on_images_only():
    digits = load_points("digits")
    assert kind(digits) == "digits"
    g = build_generator(resolve(GenerateConfig(data="digits", network="conv", widths=(8, 4)), digits), digits)
    assert isinstance(g, ConvGenerator) and g.sample(3).shape == (3, 1, 8, 8)
    assert build_generator(resolve(GenerateConfig(data="digits"), digits), digits).output_name == "sigmoid"
    points = from_array("f.npy", np.zeros((20, 64)))
    assert kind(points) == "vectors"
    with pytest.raises(ValueError, match=r"network: 'conv' needs images \(C, H, W\); f.npy holds samples of shape"):
        resolve(GenerateConfig(data="f.npy", network="conv"), points)


def test_adversarial_settings_come_from_the_wgan_recipe_and_stay_on_resume():
    toy = load_points("gaussians8", n_train=10, n_test=10)
    config = resolve(GenerateConfig(loss="wgan-gp", steps=7), toy)
    assert config.steps == 7 and config.wgan["mode"] == "gp" and "steps" not in config.wgan
    stored = dataclasses.replace(config, wgan={**config.wgan, "n_critic": 3})
    assert resolve(stored, toy).wgan["n_critic"] == 3
    with pytest.raises(ValueError, match="wgan: "):
        resolve(dataclasses.replace(config, loss="exact", p=None), toy)


@pytest.mark.parametrize("kwargs, message", [
    (dict(loss="gan"), "loss: 'gan'; expected one of exact, sinkhorn, sliced, wgan, wgan-gp"),
    (dict(network="rnn"), "network: 'rnn'"),
    (dict(latent=0), "latent: 0"),
    (dict(eps=0.0, loss="sinkhorn"), "eps: 0.0"),
    (dict(eps=0.1, loss="sliced"), "eps: 0.1; only the sinkhorn loss"),
    (dict(rho=0.0, loss="sinkhorn"), "rho: 0.0; expected a finite number > 0"),
    (dict(rho=-1.0, loss="sinkhorn"), "rho: -1.0"),
    (dict(rho=float("nan"), loss="sinkhorn"), "rho: nan"),
    (dict(rho="0.2", loss="sinkhorn"), "rho: '0.2'"),
    (dict(rho=0.2), "rho: 0.2; only the sinkhorn loss has unbalanced transport, not 'exact'"),
    (dict(rho=0.2, loss="sliced"), "rho: 0.2; only the sinkhorn loss"),
    (dict(rho=0.2, loss="wgan"), "rho: 0.2; only the sinkhorn loss has unbalanced transport, not 'wgan'"),
    (dict(rho=0.2, loss="wgan-gp"), "rho: 0.2; only the sinkhorn loss"),
    (dict(widths=()), r"widths: \(\)"),
    (dict(loss="wgan", schedule="cosine"), "schedule: 'cosine'; a setting of the transport losses"),
])
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve(GenerateConfig(**kwargs), load_points("gaussians8", n_train=10, n_test=10))
