r"""Fully connected networks of chapter 1: the two-layer network of Figure 1.1 and deep MLPs.

A neuron computes :math:`u = \max(w \cdot x + b, 0)`; a layer stacks neurons,
:math:`u = \max(W x + b, 0)` with the maximum taken entry by entry; a network composes layers,
:math:`f_w(x) = W_L \max(W_{L-1} \cdots \max(W_1 x + b_1, 0) \cdots) + b_L`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from monge.errors import InputError

from ._checks import positive, probability

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "elu": nn.ELU,
               "leaky_relu": nn.LeakyReLU}


def make_activation(name: str) -> nn.Module:
    """The activation module called ``name`` (one of :data:`ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise InputError(f"activation: {name!r}; expected one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class TwoLayer(nn.Module):
    r"""The network of Figure 1.1: :math:`u = \max(W_1 x + b_1, 0)`, :math:`y = W_2 u + b_2`.

    Inputs of any shape ``(batch, *shape)`` are flattened to ``(batch, d_in)``.

    Parameters
    ----------
    d_in : int, the number of input features (e.g. 64 pixels)
    width : int, the number of hidden neurons
    d_out : int, the number of outputs (e.g. 10 classes, or 1 for regression)
    probabilities : bool
        Return softmax probabilities instead of scores, like Figure 1.1's "cat 0.9 / dog 0.1"
        outputs (train on scores; this is for showing them).

    Shapes
    ------
    ``(batch, *shape)`` with ``prod(shape) == d_in`` -> ``(batch, d_out)``.

    Examples
    --------
    >>> net = TwoLayer(64, 100, 10)
    >>> net(torch.zeros(5, 8, 8)).shape
    torch.Size([5, 10])
    """

    def __init__(self, d_in: int, width: int, d_out: int, probabilities: bool = False):
        super().__init__()
        self.d_in, self.width, self.d_out = positive(d_in, "d_in"), positive(width, "width"), positive(d_out, "d_out")
        self.probabilities = bool(probabilities)
        self.hidden = nn.Linear(d_in, width)   # W1, b1
        self.output = nn.Linear(width, d_out)  # W2, b2

    def neurons(self, x: torch.Tensor) -> torch.Tensor:
        r"""The hidden layer :math:`u = \max(W_1 x + b_1, 0)`, shape ``(batch, width)``."""
        return torch.relu(self.hidden(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`y = W_2 \max(W_1 x + b_1, 0) + b_2` (softmax of it with ``probabilities``) for inputs ``x``.

        ``(batch, *shape)`` with ``prod(shape) == d_in`` -> ``(batch, d_out)``.
        """
        y = self.output(self.neurons(x))
        return torch.softmax(y, -1) if self.probabilities else y

    def extra_repr(self) -> str:
        return (f"u = max(W1 x + b1, 0): {self.d_in} -> {self.width}; y = W2 u + b2: {self.width} -> {self.d_out}"
                + ("; softmax" if self.probabilities else ""))


class MLP(nn.Module):
    """A deep fully connected network: ``Linear -> activation -> dropout`` per hidden layer.

    Parameters
    ----------
    d_in : int, input features (inputs are flattened)
    widths : sequence of int, the hidden layers' widths (may be empty: a linear model)
    d_out : int, outputs
    activation : str, one of :data:`ACTIVATIONS` (default ``"relu"``)
    dropout : float in [0, 1), after each hidden activation

    Shapes
    ------
    ``(batch, *shape)`` -> ``(batch, d_out)``.

    Examples
    --------
    >>> MLP(40, [128, 128], 10, dropout=0.1)(torch.zeros(3, 40)).shape
    torch.Size([3, 10])
    """

    def __init__(self, d_in: int, widths, d_out: int, activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        widths = [int(positive(w, "widths")) for w in widths]
        probability(dropout, "dropout")
        positive(d_in, "d_in"), positive(d_out, "d_out")
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip([d_in, *widths], widths):
            layers += [nn.Linear(a, b), make_activation(activation)]
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(widths[-1] if widths else d_in, d_out))
        self.layers = nn.Sequential(*layers)
        self.widths, self.activation_name, self.dropout = widths, activation, dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`f_w(x) = W_L \sigma(\cdots \sigma(W_1 x + b_1) \cdots) + b_L` for inputs ``x``, ``(batch, *shape)``.

        ``x`` is flattened first; the result is ``(batch, d_out)``.
        """
        return self.layers(x)


def count_parameters(module: nn.Module) -> int:
    """The number of trainable parameters of ``module`` (those with ``requires_grad``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def init_uniform_(module: nn.Module, scale: float = 1.0) -> nn.Module:
    r"""Re-draw every Linear layer of ``module`` like PyTorch's default, times ``scale`` (for width sweeps).

    Weights and biases of a layer with :math:`d` inputs become :math:`U(-s / \sqrt d, s / \sqrt d)`,
    :math:`s` = ``scale``; ``module`` is changed in place and returned.
    """
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            bound = scale / math.sqrt(layer.in_features)
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.uniform_(layer.bias, -bound, bound)
    return module
