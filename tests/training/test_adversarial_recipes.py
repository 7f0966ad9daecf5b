import dataclasses

import pytest
import torch

from monge.networks import ConvCritic, ConvGenerator, MLPCritic, MLPGenerator
from monge.training.adversarial import WGANConfig, fit_wgan
from monge.training.adversarial_recipes import DEFAULTS, wgan_defaults
from monge.runs import Run


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
    with pytest.raises(ValueError, match="^mode"):
        wgan_defaults("gaussians8", "wgan")


def test_a_recipe_runs_through_fit_wgan(tmp_path):
    recipe = wgan_defaults("digits", "gp")
    training = dataclasses.replace(recipe.training, steps=2, batch=8)
    torch.manual_seed(0)
    g, f = recipe.networks((1, 8, 8))
    data = torch.rand(40, 64)  # flat samples are reshaped to the generator's (1, 8, 8)
    summary = fit_wgan(g, f, data, run=Run.create("generate", {}, out=tmp_path, quiet=True), progress=False,
                       **dataclasses.asdict(training))
    assert summary["steps"] == 2 and summary["exact_w1"] > 0
