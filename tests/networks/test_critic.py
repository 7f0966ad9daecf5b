import pytest
import torch
from torch import nn

from monge.errors import InputError
from monge.networks.critic import ConvCritic, MLPCritic


def test_mlp_critic_gives_one_unbounded_score_per_sample():
    torch.manual_seed(0)
    f = MLPCritic(2, [16, 16], activation="leaky_relu")
    scores = f(100 * torch.randn(50, 2))
    assert scores.shape == (50,)
    assert scores.abs().max() > 1  # no sigmoid: a potential, not a probability
    assert f(torch.zeros(3, 1, 2)).shape == (3,)  # inputs are flattened
    assert "R^2 -> [16, 16] -> R" in f.extra_repr()


def test_conv_critic_takes_images_or_flat_samples_and_has_no_batch_norm():
    torch.manual_seed(0)
    for norm in ("none", "layer"):
        f = ConvCritic((1, 8, 8), channels=(8, 16, 32), norm=norm)
        x = torch.randn(5, 1, 8, 8)
        torch.testing.assert_close(f(x), f(x.reshape(5, 64)))
        assert f(x).shape == (5,)
        assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in f.modules())
        assert f.out_shape == (32, 2, 2)


def test_conv_critic_scores_samples_independently():
    # a gradient penalty needs f(x_i) to depend on x_i only (no statistics across the batch)
    torch.manual_seed(0)
    f = ConvCritic((1, 8, 8), channels=(4, 8), norm="layer")
    x = torch.randn(6, 64)
    torch.testing.assert_close(f(x)[:2], f(x[:2]))


@pytest.mark.parametrize("kwargs, match", [
    (dict(shape=(8, 8)), "shape"),
    (dict(shape=(1, 6, 6), channels=(4, 8, 16)), "divisible"),
    (dict(channels=()), "channels"),
    (dict(norm="batch"), "norm"),
])
def test_conv_critic_bad_settings(kwargs, match):
    with pytest.raises(InputError, match=match):
        ConvCritic(**kwargs)


def test_mlp_critic_bad_settings():
    with pytest.raises(InputError, match="d_in"):
        MLPCritic(0, [4])
    with pytest.raises(InputError, match="widths"):
        MLPCritic(2, [4, 0])
    with pytest.raises(InputError, match="activation"):
        MLPCritic(2, [4], activation="softsign")
