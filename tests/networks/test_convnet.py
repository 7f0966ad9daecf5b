import pytest
import torch
import torch.nn.functional as F

from monge.errors import InputError
from monge.networks import ConvNet, count_parameters


def test_image_and_signal_shapes():
    net = ConvNet((1, 8, 8), 10)
    assert net(torch.zeros(5, 1, 8, 8)).shape == (5, 10)
    assert net(torch.zeros(5, 64)).shape == (5, 10)  # flat inputs are reshaped
    signal = ConvNet((2, 40), 3, channels=(8, 16, 32), kernel_size=5)
    assert signal(torch.zeros(4, 2, 40)).shape == (4, 3)


def test_a_convolution_is_local_with_shared_weights():
    """Section 1.4: each neuron sees its neighbours only, and every position uses the same weights."""
    torch.manual_seed(0)
    net = ConvNet((1, 12), 2, channels=(3,), convs_per_stage=1, kernel_size=3, batch_norm=False)
    conv = net.stages[0][0]
    x = torch.randn(1, 1, 12)
    u = torch.relu(conv(x))
    padded = F.pad(x, (1, 1))[0, 0]
    for c in range(3):
        for i in range(12):
            expected = torch.relu(conv.bias[c] + (conv.weight[c, 0] * padded[i:i + 3]).sum())
            torch.testing.assert_close(u[0, c, i], expected)
    moved = torch.zeros_like(x)
    moved[..., 5] = 1.0  # one bump: its response moves with it (translation equivariance)
    a, b = torch.relu(conv(moved)), torch.relu(conv(moved.roll(2, -1)))
    torch.testing.assert_close(a[..., 3:8], b[..., 5:10])


def test_parameters_are_far_fewer_than_a_dense_network():
    net = ConvNet((1, 8, 8), 10, channels=(32, 64))
    weights = count_parameters(net)
    conv = 1 * 32 * 9 + 32 * 32 * 9 + 32 * 64 * 9 + 64 * 64 * 9
    assert weights == conv + 2 * (32 + 32 + 64 + 64) + 256 * 10 + 10  # convs, batch norms, classifier
    assert net.dense_equivalent() == 64 * 32 * 64 + (32 * 64) ** 2 + (32 * 16) * (64 * 16) + (64 * 16) ** 2 + 2560
    assert net.dense_equivalent() > 50 * weights


def test_readable_repr():
    text = repr(ConvNet((1, 40), 10, channels=(16, 32, 64)))
    assert "(1, 40) -> [conv 3, 16 ch] x2, max-pool -> (16, 20)" in text
    assert "(64, 5) -> 320 -> 10" in text and "batch norm, dropout 0.2" in text and "parameters" in text


def test_batch_norm_and_dropout_options():
    plain = ConvNet((1, 8, 8), 10, batch_norm=False, dropout=0.0)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert all(m.bias is not None for m in plain.modules() if isinstance(m, torch.nn.Conv2d))
    assert plain.classifier[1].p == 0.0


@pytest.mark.parametrize("kwargs, message", [
    ({"shape": (8, 8)}, None),
    ({"shape": (64,)}, "shape"),
    ({"shape": (1, 8, 8), "channels": (8, 8, 8, 8)}, "expected at most 3 stages"),
    ({"shape": (1, 8, 8), "channels": ()}, "at least one stage"),
    ({"shape": (1, 8, 8), "channels": (0,)}, "channels: 0"),
    ({"shape": (1, 8, 8), "kernel_size": 4}, "odd"),
    ({"shape": (1, 8, 8), "dropout": 1.0}, "dropout"),
    ({"shape": (1, 8, 8), "n_classes": 0}, "n_classes"),
])
def test_bad_settings(kwargs, message):
    kwargs = {"n_classes": 10, **kwargs}
    if message is None:  # (8, 8) reads as 8 channels of length 8: a valid signal
        assert ConvNet(**kwargs)(torch.zeros(2, 8, 8)).shape == (2, 10)
        return
    with pytest.raises(InputError, match=message):
        ConvNet(**kwargs)
