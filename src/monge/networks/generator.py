r"""Generative networks of chapter 2: :math:`x = g_w(y)` from a random low-dimensional :math:`y`.

A generator pushes the law of :math:`y \sim \mathcal N(0, I_q)` (the latent space, :math:`q` small)
forward to a law of :math:`x` in the data space; training chooses :math:`w` so that the cloud
:math:`\{g_w(y_1), \dots, g_w(y_n)\}` is close, in Monge's and Kantorovich's Distance, to a cloud of
data :math:`\{z_1, \dots, z_n\}`. Moving :math:`y` along a straight path moves :math:`g_w(y)` along a
path in the data space (Figure 2.3, cats into dogs).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from monge.errors import InputError

from ._checks import positive, sizes
from .perceptron import make_activation

OUTPUTS = {"identity": nn.Identity, "sigmoid": nn.Sigmoid}


def _shape(shape) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) and not isinstance(shape, bool) else tuple(shape)
    if not shape or not sizes(shape):
        raise InputError(f"shape: {shape!r}; expected a tuple of positive integers, e.g. (2,) or (1, 8, 8)")
    return shape


def _output(output: str) -> nn.Module:
    if output not in OUTPUTS:
        raise InputError(f"output: {output!r}; expected one of {', '.join(OUTPUTS)}")
    return OUTPUTS[output]()


class Generator(nn.Module):
    r"""What every generator shares: a latent dimension :math:`q`, an output shape, and sampling.

    Subclasses define ``forward(y)``: ``(batch, latent) -> (batch, *shape)``.
    """

    latent: int
    shape: tuple[int, ...]

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""Latent codes :math:`y_1, \dots, y_n \sim \mathcal N(0, I_q)`, shape ``(n, latent)``.

        On the device and in the dtype of the generator's weights; ``generator`` (a
        ``torch.Generator`` on that device) makes the draw reproducible.
        """
        weight = next(self.parameters())
        n = positive(n, "n")
        return torch.randn(n, self.latent, generator=generator, device=weight.device, dtype=weight.dtype)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""Samples :math:`x_i = g_w(y_i)` with :math:`y_i \sim \mathcal N(0, I_q)`, shape ``(n, *shape)``.

        Parameters
        ----------
        n : int >= 1, the number of samples
        generator : torch.Generator, optional
            On the device of the weights; draws the latent codes (see :meth:`noise`) reproducibly.
        """
        return self(self.noise(n, generator))


class MLPGenerator(Generator):
    r"""A fully connected generator :math:`g_w(y) = \sigma(W_L \max(\cdots \max(W_1 y + b_1, 0) \cdots) + b_L)`.

    Parameters
    ----------
    latent : int, the dimension :math:`q` of :math:`y`
    widths : sequence of int, the hidden layers' widths
    shape : tuple of int (or int), the shape of one sample, e.g. ``(2,)`` for points of the plane,
        ``(64,)`` or ``(1, 8, 8)`` for digits
    output : ``"identity"`` (any real values) or ``"sigmoid"`` (values in (0, 1), e.g. pixels)
    activation : str, the hidden activation (default ``"relu"``)

    Shapes
    ------
    ``(batch, latent) -> (batch, *shape)``.

    Examples
    --------
    >>> g = MLPGenerator(2, [64, 64], (2,))
    >>> g.sample(5).shape
    torch.Size([5, 2])
    >>> MLPGenerator(8, [128], (1, 8, 8), output="sigmoid")(torch.zeros(3, 8)).shape
    torch.Size([3, 1, 8, 8])
    """

    def __init__(self, latent: int, widths, shape, output: str = "identity", activation: str = "relu"):
        super().__init__()
        self.latent, self.shape = positive(latent, "latent"), _shape(shape)
        self.widths = [positive(w, "widths") for w in widths]
        self.output_name, self.activation_name = output, activation
        layers: list[nn.Module] = []
        for a, b in zip([self.latent, *self.widths], self.widths):
            layers += [nn.Linear(a, b), make_activation(activation)]
        layers += [nn.Linear(self.widths[-1] if self.widths else self.latent, math.prod(self.shape)),
                   _output(output)]
        self.layers = nn.Sequential(*layers)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        r"""The samples :math:`x = g_w(y)`: ``(batch, latent)`` codes ``y`` -> ``(batch, *shape)``."""
        return self.layers(y).reshape(len(y), *self.shape)

    def extra_repr(self) -> str:
        return f"y in R^{self.latent} -> {self.widths} -> x of shape {self.shape}, {self.output_name} output"


class ConvGenerator(Generator):
    r"""A convolutional generator for small images: a dense layer, then upsample-and-convolve stages.

    :math:`y \mapsto` a ``(channels[0], s, s)`` map by a dense layer, then each stage doubles the
    height and width (nearest-neighbour upsampling) and applies a 3x3 convolution and ReLU; a last
    3x3 convolution gives the image. Upsampling then convolving (Odena et al., 2016) avoids the
    checkerboard of transposed convolutions. For 8x8 digits: ``2x2 -> 4x4 -> 8x8``.

    Parameters
    ----------
    latent : int, the dimension :math:`q` of :math:`y`
    shape : (C, H, W), the image, e.g. ``(1, 8, 8)``; H and W divisible by ``2 ** len(channels)``
    channels : sequence of int, channels of the starting map and after each stage but the last
        (``len(channels)`` upsampling stages)
    output : ``"identity"`` or ``"sigmoid"``

    Shapes
    ------
    ``(batch, latent) -> (batch, C, H, W)``.

    Examples
    --------
    >>> g = ConvGenerator(8, (1, 8, 8), channels=(64, 32), output="sigmoid")
    >>> g.sample(4).shape
    torch.Size([4, 1, 8, 8])
    """

    def __init__(self, latent: int, shape=(1, 8, 8), channels=(64, 32), output: str = "sigmoid"):
        super().__init__()
        self.latent, self.shape = positive(latent, "latent"), _shape(shape)
        if len(self.shape) != 3:
            raise InputError(f"shape: {self.shape!r}; expected (channels, height, width) for a convolutional generator")
        self.channels = [positive(c, "channels") for c in channels]
        if not self.channels:
            raise InputError("channels: empty; expected at least one stage")
        factor = 2 ** len(self.channels)
        c, h, w = self.shape
        if h % factor or w % factor:
            raise InputError(f"shape: {self.shape!r}; height and width must be divisible by 2 ** len(channels) = "
                             f"{factor}")
        self.start = (self.channels[0], h // factor, w // factor)
        self.output_name = output
        self.dense = nn.Sequential(nn.Linear(self.latent, math.prod(self.start)), nn.ReLU())
        stages: list[nn.Module] = []
        for a, b in zip(self.channels, [*self.channels[1:], self.channels[-1]]):
            stages += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(a, b, 3, padding=1), nn.ReLU()]
        stages += [nn.Conv2d(self.channels[-1], c, 3, padding=1), _output(output)]
        self.stages = nn.Sequential(*stages)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        r"""The images :math:`x = g_w(y)`: ``(batch, latent)`` codes ``y`` -> ``(batch, C, H, W)``."""
        return self.stages(self.dense(y).reshape(len(y), *self.start))

    def extra_repr(self) -> str:
        return (f"y in R^{self.latent} -> {self.start} -> upsample+conv x{len(self.channels)} -> {self.shape}, "
                f"{self.output_name} output")
