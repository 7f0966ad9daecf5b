import pytest
import torch

from monge.errors import InputError
from monge.networks import ConvGenerator, MLPGenerator


def test_mlp_generator_pushes_gaussian_latents_forward():
    torch.manual_seed(0)
    g = MLPGenerator(3, [16, 16], (2,))
    assert g.latent == 3 and g.shape == (2,)
    y = g.noise(7, torch.Generator().manual_seed(1))
    torch.testing.assert_close(y, torch.randn(7, 3, generator=torch.Generator().manual_seed(1)))
    torch.testing.assert_close(g.sample(7, torch.Generator().manual_seed(1)), g(y))
    assert g(y).shape == (7, 2)
    assert sum(isinstance(m, torch.nn.Linear) for m in g.modules()) == 3


def test_mlp_generator_sigmoid_output_shapes_and_dtype():
    g = MLPGenerator(4, [8], (1, 8, 8), output="sigmoid").double()
    x = g.sample(5)
    assert x.shape == (5, 1, 8, 8) and x.dtype == torch.float64
    assert (x > 0).all() and (x < 1).all()
    assert MLPGenerator(2, [], 3).sample(2).shape == (2, 3)


def test_conv_generator_makes_8x8_images():
    g = ConvGenerator(6, (1, 8, 8), channels=(16, 8))
    x = g.sample(4, torch.Generator().manual_seed(0))
    assert x.shape == (4, 1, 8, 8) and (x > 0).all() and (x < 1).all()
    x.sum().backward()
    assert all(p.grad is not None for p in g.parameters())


@pytest.mark.parametrize("make, message", [
    (lambda: MLPGenerator(0, [4], (2,)), "latent: 0"),
    (lambda: MLPGenerator(2, [4, 0], (2,)), "widths: 0"),
    (lambda: MLPGenerator(2, [4], (2, -1)), r"shape: \(2, -1\)"),
    (lambda: MLPGenerator(2, [4], (2,), output="tanh"), "output: 'tanh'; expected one of identity, sigmoid"),
    (lambda: ConvGenerator(2, (64,)), r"shape: \(64,\); expected \(channels, height, width\)"),
    (lambda: ConvGenerator(2, (1, 6, 6)), "divisible by 2 \\*\\* len\\(channels\\) = 4"),
    (lambda: ConvGenerator(-1), "latent: -1"),
])
def test_bad_settings(make, message):
    with pytest.raises(InputError, match=message):
        make()
