r"""A small convolutional network (section 1.4 of the text): local connections and shared weights.

A convolutional layer connects each neuron to its neighbours only, and every position uses the same
weights: for a signal (images likewise with two offsets),

.. math:: u[c, i] = \max\Big(b_c + \sum_{c'} \sum_{|j| \le r} W[c, c', j]\, x[c', i + j],\ 0\Big),

so a layer of :math:`C'` to :math:`C` channels has :math:`C C' (2r + 1)` weights whatever the
size of the input, where a fully connected layer between the same neurons has
:math:`C C' L^2` (:meth:`ConvNet.dense_equivalent` counts them).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from monge.errors import InputError

from ._checks import positive, probability, sizes

_LAYERS = {1: (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d), 2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d)}


class ConvNet(nn.Module):
    r"""Stages of ``convolution -> batch norm -> ReLU`` (twice), then a 2x max-pool; a linear classifier on top.

    Parameters
    ----------
    shape : (C, L) or (C, H, W)
        One input: a signal of C channels and length L (MNIST-1D: ``(1, 40)``) or an image
        (digits: ``(1, 8, 8)``).
    n_classes : int, the number of outputs (scores, one per class)
    channels : sequence of int
        Channels of each stage; each stage halves the length (or height and width) by max-pooling.
    convs_per_stage : int, convolutional layers per stage
    kernel_size : int, odd: the neighbourhood :math:`2r + 1` each neuron sees
    dropout : float in [0, 1), before the classifier
    batch_norm : bool
        Normalise each channel over the batch after each convolution (Ioffe and Szegedy, 2015):
        faster, steadier training.

    Shapes
    ------
    ``(batch, *shape)`` (or flat ``(batch, prod(shape))``) -> ``(batch, n_classes)``.

    Examples
    --------
    >>> net = ConvNet((1, 8, 8), 10, channels=(32, 64))
    >>> net(torch.zeros(5, 1, 8, 8)).shape
    torch.Size([5, 10])
    >>> print(net.extra_repr().replace(" -> (", "\n-> ("))
    (1, 8, 8) -> [conv 3x3, 32 ch] x2, max-pool
    -> (32, 4, 4) -> [conv 3x3, 64 ch] x2, max-pool
    -> (64, 2, 2) -> 256 -> 10
    batch norm, dropout 0.2; 67,754 parameters (a dense network between the same neurons: 5,900,800 weights)
    >>> ConvNet((1, 40), 10, channels=(16, 32, 64), kernel_size=5)(torch.zeros(3, 40)).shape
    torch.Size([3, 10])
    """

    def __init__(self, shape, n_classes: int, channels=(32, 64), convs_per_stage: int = 2, kernel_size: int = 3,
                 dropout: float = 0.2, batch_norm: bool = True):
        super().__init__()
        shape = tuple(shape)
        if len(shape) not in (2, 3) or not sizes(shape):
            raise InputError(f"shape: {shape!r}; expected (channels, length) or (channels, height, width)")
        channels = [positive(c, "channels") for c in channels]
        if not channels:
            raise InputError("channels: empty; expected at least one stage")
        positive(n_classes, "n_classes"), positive(convs_per_stage, "convs_per_stage")
        if positive(kernel_size, "kernel_size") % 2 == 0:
            raise InputError(f"kernel_size: {kernel_size}; expected an odd size (a centred neighbourhood)")
        probability(dropout, "dropout")
        spatial = list(shape[1:])
        if min(spatial) < 2 ** len(channels):
            raise InputError(f"channels: {len(channels)} stages halve the size {tuple(spatial)} {len(channels)} times; "
                             f"expected at most {int(math.log2(min(spatial)))} stages for this shape")
        conv, norm, pool = _LAYERS[len(spatial)]
        stages, flow, before = [], [], shape[0]
        for width in channels:
            layers: list[nn.Module] = []
            for _ in range(convs_per_stage):
                layers += [conv(before, width, kernel_size, padding=kernel_size // 2, bias=not batch_norm)]
                layers += [norm(width)] if batch_norm else []
                layers.append(nn.ReLU())
                before = width
            layers.append(pool(2))
            spatial = [s // 2 for s in spatial]
            stages.append(nn.Sequential(*layers))
            flow.append((width, tuple(spatial)))
        self.stages = nn.Sequential(*stages)
        features = channels[-1] * math.prod(spatial)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(features, n_classes))
        self.shape, self.n_classes, self.channels = shape, n_classes, tuple(channels)
        self.convs_per_stage, self.kernel_size = convs_per_stage, kernel_size
        self.dropout, self.batch_norm = dropout, batch_norm
        self._flow, self._features = flow, features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""The class scores :math:`f_w(x)`: inputs ``x``, ``(batch, *shape)`` or flat, -> ``(batch, n_classes)``."""
        return self.classifier(self.stages(x.reshape(len(x), *self.shape)))

    def dense_equivalent(self) -> int:
        r"""Weights of a fully connected network between the same neurons (no locality, no sharing).

        A convolution from :math:`C'` to :math:`C` channels on :math:`L` positions becomes a dense
        layer of :math:`C' L \times C L` weights; the linear classifier is counted as it is.
        """
        total, size, before = 0, math.prod(self.shape[1:]), self.shape[0]
        for width, after in self._flow:
            for _ in range(self.convs_per_stage):
                total += (before * size) * (width * size)
                before = width
            size = math.prod(after)
        return total + self._features * self.n_classes

    def extra_repr(self) -> str:
        kernel = "x".join([str(self.kernel_size)] * (len(self.shape) - 1))
        parts = [str(self.shape)]
        for width, after in self._flow:
            parts.append(f"[conv {kernel}, {width} ch] x{self.convs_per_stage}, max-pool")
            parts.append(str((width, *after)))
        parts += [str(self._features), str(self.n_classes)]
        weights = sum(p.numel() for p in self.parameters())
        return (" -> ".join(parts) + f"\n{'batch norm, ' if self.batch_norm else ''}dropout {self.dropout:g}; "
                f"{weights:,} parameters (a dense network between the same neurons: "
                f"{self.dense_equivalent():,} weights)")
