r"""Critics of chapter 2 (section 2.5): the adversary network :math:`f` as a Kantorovich potential.

Kantorovich's problem with the cost :math:`\|x - z\|` has a dual (Kantorovich-Rubinstein),

.. math:: W_1(\mu, \nu) = \sup_{\mathrm{Lip}(f) \le 1} \ \mathbb E_{z \sim \nu} f(z) - \mathbb E_{y} f(g_w(y)),

a supremum over 1-Lipschitz functions :math:`f`, the potentials. A critic is a network :math:`f`
that plays this potential (Arjovsky et al., 2017): a single real score per sample, no sigmoid (it
is not a probability of being real), and a Lipschitz constraint enforced during training (weight
clipping or a gradient penalty, :mod:`monge.training.adversarial`). A gradient penalty constrains
:math:`\|\nabla_x f(x)\|` sample by sample, so the critic must not mix the samples of a batch: no
batch normalisation (Gulrajani et al., 2017); :class:`ConvCritic` offers layer normalisation instead.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from monge.errors import InputError

from ._checks import positive, sizes
from .perceptron import make_activation

NORMS = ("none", "layer")


class MLPCritic(nn.Module):
    r"""A fully connected critic :math:`f(x) = W_L \sigma(\cdots \sigma(W_1 x + b_1) \cdots) + b_L \in \mathbb R`.

    Parameters
    ----------
    d_in : int, the number of features of one sample (inputs are flattened)
    widths : sequence of int, the hidden layers' widths
    activation : str, the hidden activation, ``"relu"`` (default) or ``"leaky_relu"``, ...

    Shapes
    ------
    ``(batch, *shape)`` with ``prod(shape) == d_in`` -> ``(batch,)``: one score :math:`f(x_i)` per sample.

    Examples
    --------
    >>> f = MLPCritic(2, [64, 64])
    >>> f(torch.zeros(5, 2)).shape
    torch.Size([5])
    """

    def __init__(self, d_in: int, widths, activation: str = "relu"):
        super().__init__()
        self.d_in = positive(d_in, "d_in")
        self.widths = [positive(w, "widths") for w in widths]
        self.activation_name = activation
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip([self.d_in, *self.widths], self.widths):
            layers += [nn.Linear(a, b), make_activation(activation)]
        layers.append(nn.Linear(self.widths[-1] if self.widths else self.d_in, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""The scores :math:`f(x_i)`: ``(batch, *shape)`` samples ``x`` -> ``(batch,)``."""
        return self.layers(x).squeeze(-1)

    def extra_repr(self) -> str:
        return f"f: R^{self.d_in} -> {self.widths} -> R, {self.activation_name}"


class ConvCritic(nn.Module):
    r"""A convolutional critic for small images (8x8 digits): strided convolutions, then a linear score.

    A 3x3 convolution keeps the size; each further stage is a 4x4 convolution of stride 2 that halves
    the height and width (``8x8 -> 4x4 -> 2x2``), each followed by the normalisation and a leaky
    ReLU (slope 0.2, as in DCGAN critics); a linear layer gives the score.

    Parameters
    ----------
    shape : (C, H, W), one image, e.g. ``(1, 8, 8)``; flat inputs ``(batch, C * H * W)`` are reshaped
    channels : sequence of int, channels of the first convolution and of each halving stage
        (``len(channels) - 1`` halvings; H and W must be divisible by ``2 ** (len(channels) - 1)``)
    norm : ``"none"`` or ``"layer"`` (layer normalisation of each sample over channels and pixels);
        never batch normalisation, which breaks the per-sample gradient penalty

    Shapes
    ------
    ``(batch, C, H, W)`` or ``(batch, C * H * W)`` -> ``(batch,)``.

    Examples
    --------
    >>> f = ConvCritic((1, 8, 8), channels=(32, 64, 128))
    >>> f(torch.zeros(3, 64)).shape
    torch.Size([3])
    """

    def __init__(self, shape=(1, 8, 8), channels=(32, 64, 128), norm: str = "none"):
        super().__init__()
        shape = tuple(shape)
        if len(shape) != 3 or not sizes(shape):
            raise InputError(f"shape: {shape!r}; expected (channels, height, width), e.g. (1, 8, 8)")
        self.channels = [positive(c, "channels") for c in channels]
        if not self.channels:
            raise InputError("channels: empty; expected at least one convolution")
        factor = 2 ** (len(self.channels) - 1)
        c, h, w = shape
        if h % factor or w % factor:
            raise InputError(f"shape: {shape!r}; height and width must be divisible by 2 ** (len(channels) - 1) "
                             f"= {factor}")
        if norm not in NORMS:
            raise InputError(f"norm: {norm!r}; expected one of {', '.join(NORMS)} (batch norm breaks the "
                             "gradient penalty)")
        self.shape, self.norm = shape, norm
        layers: list[nn.Module] = []
        size = (h, w)
        for k, (a, b) in enumerate(zip([c, *self.channels], self.channels)):
            if k == 0:
                layers.append(nn.Conv2d(a, b, 3, padding=1))
            else:
                layers.append(nn.Conv2d(a, b, 4, stride=2, padding=1))
                size = (size[0] // 2, size[1] // 2)
            if norm == "layer":
                layers.append(nn.GroupNorm(1, b))  # one group: normalise each sample over (C, H, W)
            layers.append(nn.LeakyReLU(0.2))
        self.features = nn.Sequential(*layers)
        self.out_shape = (self.channels[-1], *size)
        self.score = nn.Linear(math.prod(self.out_shape), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""The scores :math:`f(x_i)`: images ``x``, ``(batch, C, H, W)`` or flat, -> ``(batch,)``."""
        x = x.reshape(len(x), *self.shape)
        return self.score(self.features(x).flatten(1)).squeeze(-1)

    def extra_repr(self) -> str:
        return (f"{self.shape} -> conv 3x3, {self.channels[0]} ch -> stride-2 conv 4x4 x{len(self.channels) - 1} -> "
                f"{self.out_shape} -> R; norm {self.norm}")
