import copy
import dataclasses
import json

import numpy as np
import pytest

from monge.data import from_array, load_points
from monge.errors import InputError, InputTypeError
from monge.networks import ConvGenerator, MLPCritic, MLPGenerator
from monge.runs import jsonable
from monge.training.adversarial import WGANConfig
from monge.training.adversarial_recipes import WGANSettings
from monge.training.generative import OTConfig
from monge.training.generative_recipes import (DEFAULTS, GenerateConfig, build_generator, build_networks, kind,
                                               resolve)

TOY = load_points("gaussians8", n_train=10, n_test=10)


def test_defaults_fill_what_is_left_out():
    config = resolve(GenerateConfig(loss="sinkhorn", lr=1e-2), TOY)
    assert config.lr == 1e-2 and config.steps == DEFAULTS[("toys", "sinkhorn")]["steps"] and config.p == 1.0
    assert config.every == 125 and config.checkpoint_every == 50 and config.widths == (256, 256, 256)
    g = build_generator(config, TOY)
    assert isinstance(g, MLPGenerator) and g.output_name == "identity" and g.latent == 2
    assert config.training() == OTConfig(loss="sinkhorn", p=1.0, steps=1000, batch=256, lr=1e-2, schedule="cosine",
                                         checkpoint_every=50, seed=0)


def test_the_table_is_whole_and_resolve_changes_nothing_in_place():
    assert len(DEFAULTS) == 12
    assert DEFAULTS[("images", "sinkhorn")] == DEFAULTS[("digits", "sinkhorn")]
    assert DEFAULTS[("vectors", "exact")] == DEFAULTS[("toys", "exact")]
    table = copy.deepcopy(DEFAULTS)
    config = GenerateConfig(loss="sliced")
    resolved = resolve(config, TOY)
    assert config == GenerateConfig(loss="sliced") and resolved.steps == 3000 and DEFAULTS == table
    with pytest.raises(dataclasses.FrozenInstanceError):
        resolved.steps = 3


def test_rho_is_kept_and_balanced_by_default():
    assert resolve(GenerateConfig(loss="sinkhorn", p=2.0, rho=0.2), TOY).rho == 0.2
    assert resolve(GenerateConfig(loss="sinkhorn"), TOY).rho is None


def test_digits_get_a_sigmoid_output_and_conv_works_on_images_only():
    digits = load_points("digits")
    assert kind(digits) == "digits"
    g = build_generator(resolve(GenerateConfig(data="digits", network="conv", widths=(8, 4)), digits), digits)
    assert isinstance(g, ConvGenerator) and g.sample(3).shape == (3, 1, 8, 8)
    assert build_generator(resolve(GenerateConfig(data="digits"), digits), digits).output_name == "sigmoid"
    points = from_array("f.npy", np.zeros((20, 64)))
    assert kind(points) == "vectors"
    with pytest.raises(InputError, match=r"network \(--network\): 'conv' needs images \(C, H, W\); f.npy holds"):
        resolve(GenerateConfig(data="f.npy", network="conv"), points)


def test_adversarial_settings_come_from_the_wgan_recipe_and_stay_on_resume():
    config = resolve(GenerateConfig(loss="wgan-gp", steps=7), TOY)
    assert config.steps == 7 and isinstance(config.wgan, WGANSettings) and config.wgan.mode == "gp"
    stored = dataclasses.replace(config, wgan=dataclasses.replace(config.wgan, n_critic=3))
    assert resolve(stored, TOY).wgan.n_critic == 3
    training = resolve(stored, TOY).training()
    assert isinstance(training, WGANConfig) and (training.steps, training.n_critic, training.lr) == (7, 3, 2e-4)
    generator, critic = build_networks(config, TOY)
    assert isinstance(generator, MLPGenerator) and isinstance(critic, MLPCritic)
    with pytest.raises(InputError, match="^wgan: .*adversarial settings, not of the 'exact' loss"):
        dataclasses.replace(config, loss="exact")
    with pytest.raises(InputError, match="^wgan: mode 'gp'; the 'wgan' loss trains with mode 'clip'"):
        dataclasses.replace(config, loss="wgan")
    with pytest.raises(InputTypeError, match="^wgan: dict"):
        GenerateConfig(loss="wgan", wgan={"critic": [8]})


def test_a_config_json_rebuilds_the_config():
    for config in (resolve(GenerateConfig(loss="wgan", widths=[16, 16]), TOY), resolve(GenerateConfig(), TOY)):
        stored = json.loads(json.dumps({"command": "generate", **jsonable(config)}))
        assert GenerateConfig.from_json(stored) == config
    assert GenerateConfig(widths=[4, 2]).widths == (4, 2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(loss="gan"), r"loss \(--loss\): 'gan'; expected one of exact, sinkhorn, sliced, wgan, wgan-gp"),
    (dict(data=""), r"data \(--data\): ''"),
    (dict(network="rnn"), r"network \(--network\): 'rnn'"),
    (dict(latent=0), r"latent \(--latent\): 0; expected an integer >= 1"),
    (dict(lr=-1.0), r"lr \(--lr\): -1.0; expected a number in \(0, inf\)"),
    (dict(eps=0.0, loss="sinkhorn"), r"eps \(--eps\): 0.0"),
    (dict(eps=0.1, loss="sliced"), "eps .*: 0.1; only the sinkhorn loss"),
    (dict(rho=0.0, loss="sinkhorn"), r"rho \(--rho\): 0.0; expected a number in \(0, inf\)"),
    (dict(rho=-1.0, loss="sinkhorn"), "rho .*: -1.0"),
    (dict(rho=float("nan"), loss="sinkhorn"), "rho .*: nan"),
    (dict(rho="0.2", loss="sinkhorn"), "rho .*: '0.2'"),
    (dict(rho=0.2), "rho .*: 0.2; only the sinkhorn loss has unbalanced transport, not 'exact'"),
    (dict(rho=0.2, loss="sliced"), "rho .*: 0.2; only the sinkhorn loss"),
    (dict(rho=0.2, loss="wgan"), "rho .*: 0.2; only the sinkhorn loss has unbalanced transport, not 'wgan'"),
    (dict(rho=0.2, loss="wgan-gp"), "rho .*: 0.2; only the sinkhorn loss"),
    (dict(p=0.5, loss="sliced"), r"p \(--p\): 0.5; the sliced loss needs p >= 1"),
    (dict(p=2.0, loss="wgan-gp"), r"p \(--p\): 2.0; a setting of the transport losses, not of 'wgan-gp'"),
    (dict(widths=()), r"widths \(--widths\): \(\)"),
    (dict(widths=(8, 0)), r"widths \(--widths\): \(8, 0\); expected positive integers"),
    (dict(loss="wgan", schedule="cosine"), r"schedule \(--schedule\): 'cosine'; a setting of the transport losses"),
    (dict(seed=-3), r"seed \(--seed\): -3"),
    (dict(seed=2**70), r"seed \(--seed\): 1180591620717411303424; expected an integer in \[0, 2\*\*63\)"),
    (dict(data_seed=-1), r"data_seed \(--data-seed\): -1; expected an integer >= 0"),
    (dict(batch=1), r"batch \(--batch\): 1"),
])
def test_bad_settings_name_the_field_and_its_flag(kwargs, message):
    with pytest.raises(InputError, match="^" + message):
        GenerateConfig(**kwargs)
