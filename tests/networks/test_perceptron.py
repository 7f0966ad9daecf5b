import pytest
import torch

from monge.errors import InputError
from monge.networks import MLP, TwoLayer, count_parameters


def test_two_layer_is_the_formula_of_figure_1_1():
    torch.manual_seed(0)
    net = TwoLayer(3, 5, 2)
    x = torch.randn(7, 3)
    u = torch.clamp(x @ net.hidden.weight.T + net.hidden.bias, min=0)
    assert torch.allclose(net(x), u @ net.output.weight.T + net.output.bias)
    assert torch.allclose(net.neurons(x), u)
    assert count_parameters(net) == 3 * 5 + 5 + 5 * 2 + 2
    probabilities = TwoLayer(3, 5, 2, probabilities=True)
    probabilities.load_state_dict(net.state_dict())
    assert torch.allclose(probabilities(x), torch.softmax(net(x), -1))
    assert "max(W1 x + b1, 0): 3 -> 5" in repr(net)


def test_mlp_shapes_and_layers():
    net = MLP(40, [16, 8], 10, activation="tanh", dropout=0.5)
    assert net(torch.zeros(4, 1, 40)).shape == (4, 10)
    assert sum(isinstance(m, torch.nn.Tanh) for m in net.modules()) == 2
    assert sum(isinstance(m, torch.nn.Dropout) for m in net.modules()) == 2
    assert MLP(4, [], 2)(torch.zeros(3, 4)).shape == (3, 2)


@pytest.mark.parametrize("make, message", [
    (lambda: TwoLayer(3, 0, 2), "width: 0"),
    (lambda: TwoLayer(3, 2.5, 2), "width: 2.5"),
    (lambda: MLP(3, [4, -1], 2), "widths: -1"),
    (lambda: MLP(3, [4], 2, activation="swish"), "activation: 'swish'; expected one of relu"),
    (lambda: MLP(3, [4], 2, dropout=1.0), "dropout: 1.0"),
])
def test_bad_settings(make, message):
    with pytest.raises(InputError, match=message):
        make()
