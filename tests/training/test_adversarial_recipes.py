import dataclasses
import json

import pytest
import torch

from monge.errors import InputError
from monge.networks import ConvCritic, ConvGenerator, MLPCritic, MLPGenerator
from monge.runs import Run
from monge.training.adversarial import WGANConfig, fit_wgan
from monge.training.adversarial_recipes import DEFAULTS, WGANSettings, wgan_defaults


@pytest.mark.parametrize("data, mode", sorted(DEFAULTS))
def test_every_recipe_builds_networks_that_fit_its_data(data, mode):
    recipe = wgan_defaults(data, mode)
    assert isinstance(recipe.training, WGANConfig) and recipe.training.mode == mode
    shape = (1, 8, 8) if recipe.network == "conv" else (2,)
    torch.manual_seed(0)
    generator, critic = recipe.networks(shape)
    samples = generator.sample(3)
    assert samples.shape == (3, *shape) and critic(samples).shape == (3,)
    if recipe.output == "sigmoid":
        assert samples.min() >= 0 and samples.max() <= 1


def test_other_data_take_the_row_of_their_shape():
    assert wgan_defaults("points.csv", "gp", shape=(2,)) == wgan_defaults("vectors", "gp")
    assert wgan_defaults("images.npy", "clip", shape=(1, 8, 8)) == wgan_defaults("images", "clip")
    g, f = wgan_defaults("gaussians8", "gp").networks((2,))
    assert isinstance(g, MLPGenerator) and isinstance(f, MLPCritic)
    g, f = wgan_defaults("digits", "gp").networks((1, 8, 8))
    assert isinstance(g, ConvGenerator) and isinstance(f, ConvCritic)


def test_bad_mode():
    with pytest.raises(InputError, match="^mode .*: 'wgan'; expected one of clip, gp"):
        wgan_defaults("gaussians8", "wgan")


def test_the_settings_of_monge_generate_complete_a_recipe():
    recipe = wgan_defaults("gaussians8", "clip")
    settings = WGANSettings.of(recipe)
    assert settings.critic == (512,) and settings.output == "identity" and settings.mode == "clip"
    assert settings.training(steps=5000, batch=256, lr=5e-4, checkpoint_every=200, seed=0) == recipe.training
    stored = json.loads(json.dumps(dataclasses.asdict(settings)))  # as config.json holds it: lists for tuples
    assert WGANSettings.from_json(stored) == settings
    with pytest.raises(InputError, match="^wgan: .* lacks clip"):
        WGANSettings.from_json({k: v for k, v in stored.items() if k != "clip"})
    with pytest.raises(InputError, match="^critic .*: \\(\\); expected the critic's widths"):
        dataclasses.replace(settings, critic=())
    with pytest.raises(InputError, match="^n_critic"):
        dataclasses.replace(settings, n_critic=0)
    with pytest.raises(InputError, match="^output"):
        dataclasses.replace(settings, output="tanh")


def test_a_recipe_runs_through_fit_wgan(tmp_path):
    recipe = wgan_defaults("digits", "gp")
    training = dataclasses.replace(recipe.training, steps=2, batch=8)
    torch.manual_seed(0)
    g, f = recipe.networks((1, 8, 8))
    data = torch.rand(40, 64)  # flat samples are reshaped to the generator's (1, 8, 8)
    summary = fit_wgan(g, f, data, training, run=Run.create("generate", {}, out=tmp_path, quiet=True), progress=False)
    assert summary["steps"] == 2 and summary["exact_w1"] > 0
