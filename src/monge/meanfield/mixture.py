r"""Gaussian-mixture targets :math:`f(x) = \sum_k c_k \mathcal N(x; y_k, s_k I_d)`.

With the :class:`~monge.meanfield.units.GaussianBump` unit on :math:`D = \mathbb R^d` every
integral of the energy is a Gaussian: :math:`\int \mathcal N(x; y, s)\, \mathcal N(x; y', s')\, dx
= \mathcal N(y; y', s + s')`, so :class:`~monge.meanfield.energy.Energy` uses a closed form.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from monge.errors import InputError


def gaussian_overlap(y: torch.Tensor, z: torch.Tensor, variance: torch.Tensor | float) -> torch.Tensor:
    r""":math:`\mathcal N(y_i; z_j, v_{ij} I_d)`, ``(K, J)``, for ``y (K, d)``, ``z (J, d)``; ``variance``
    a number, ``(J,)`` or ``(K, J)``."""
    d = y.shape[1]
    sq = torch.cdist(y, z).square() if d > 1 else (y - z.T).square()
    return torch.exp(-0.5 * sq / variance) * (2 * math.pi * variance) ** (-0.5 * d)


class GaussianMixture:
    r"""A target :math:`f(x) = \sum_k c_k \mathcal N(x; y_k, s_k I_d)` (callable on ``x (M, d)``).

    Parameters
    ----------
    c : (K,) coefficients (any sign)
    y : (K,) or (K, d) centres
    variance : number or (K,) variances :math:`s_k > 0`

    Examples
    --------
    The target of Rotskoff et al. (2019), with :math:`\frac12 \|f\|^2 = 0.0688683`:

    >>> f = GaussianMixture([1 / 3, -2 / 3, 1 / 3], [-2.0, 0.0, 2.0], [0.5, 1.0, 0.5])
    >>> round(f.half_norm2(), 7)
    0.0688683
    """

    def __init__(self, c, y, variance):
        c = np.asarray(c, dtype=np.float64).reshape(-1)
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(-1, 1) if y.ndim <= 1 else y
        s = np.broadcast_to(np.asarray(variance, dtype=np.float64), c.shape).copy()
        if y.shape[0] != c.shape[0]:
            raise InputError(f"y: {y.shape[0]} centres but c has {c.shape[0]} coefficients")
        for name, value in (("c", c), ("y", y), ("variance", s)):
            if not np.isfinite(value).all():
                raise InputError(f"{name}: non-finite values in the Gaussian mixture")
        if (s <= 0).any():
            raise InputError(f"variance: expected positive variances, found {s.tolist()}")
        self.c, self.y, self.variance = c, y, s
        self.d = y.shape[1]

    def tensors(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(c, y, variance)`` on the device and dtype of ``like``."""
        return tuple(like.new_tensor(a) for a in (self.c, self.y, self.variance))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`f(x_m)`, ``(M,)``."""
        c, y, s = self.tensors(x)
        return gaussian_overlap(x, y, s) @ c

    def half_norm2(self) -> float:
        r""":math:`C_f = \frac12 \int_{\mathbb R^d} f^2 = \frac12 \sum_{kl} c_k c_l \mathcal N(y_k; y_l, s_k + s_l)`."""
        c, y, s = self.tensors(torch.zeros((), dtype=torch.float64))
        return 0.5 * float(c @ gaussian_overlap(y, y, s[:, None] + s[None, :]) @ c)

    def __repr__(self) -> str:
        return f"GaussianMixture(c={self.c.tolist()}, y={self.y.squeeze(-1).tolist() if self.d == 1 else self.y.tolist()}, variance={self.variance.tolist()})"
