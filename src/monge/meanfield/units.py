r"""Units :math:`\Phi(\xi, x) = \omega\, h(\theta, x)` of a shallow network, :math:`\xi = (\omega, \theta)`.

Every unit of the text (section "Discrete formulation": :math:`\omega_i h(\theta_i, x)`) is an
output weight times a feature. A unit knows its parameter count ``p`` and parameter order
``names`` (``omega`` first, then the feature's parameters), evaluates ``values`` :math:`(N, M)` and
``gradients`` :math:`(N, M, p)` (for tests and small problems), and offers the blocked contraction
the energy uses on its hot path (no ``(N, M, p)`` tensor, no autograd):

.. math:: \texttt{h\_vjp}(\theta, x, h, g)_n = \sum_m g_m \nabla_\theta h(\theta_n, x_m)
          \quad (N, p - 1),

given the features ``h = unit.h(theta, x)`` already computed for the same block of points.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch

from monge.errors import InputError


class Unit(ABC):
    """Base class: :math:`\\Phi(\\xi, x) = \\xi_0\\, h(\\xi_{1:}, x)`; subclasses define ``h`` and ``h_vjp``."""

    d: int
    p: int
    names: tuple[str, ...]

    @abstractmethod
    def h(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Features :math:`h(\\theta_n, x_m)`, ``(N, M)``, for ``theta (N, p - 1)`` and ``x (M, d)``."""

    @abstractmethod
    def h_vjp(self, theta: torch.Tensor, x: torch.Tensor, h: torch.Tensor, g: torch.Tensor,
              inplace: bool = False, out: torch.Tensor | None = None) -> torch.Tensor:
        """:math:`\\sum_m g_m \\nabla_\\theta h(\\theta_n, x_m)`, ``(N, p - 1)``; ``h`` from :meth:`h`.

        With ``inplace=True`` the buffer ``h`` may be overwritten; with ``out``, the result is added
        to ``out`` inside the matrix product and ``out`` returned (the energy's hot path).

        Parameters
        ----------
        theta : (N, p - 1) Tensor, the feature parameters :math:`\\theta_n`
        x : (M, d) Tensor, inputs
        h : (N, M) Tensor, ``self.h(theta, x)``
        g : (M,) Tensor, the weights :math:`g_m` (e.g. quadrature weights times residuals)
        inplace : bool, whether ``h`` may be overwritten
        out : (N, p - 1) Tensor, optional, accumulated into
        """

    @abstractmethod
    def h_grad(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\nabla_\\theta h(\\theta_n, x_m)`, ``(N, M, p - 1)`` (small problems and tests).

        Parameters
        ----------
        theta : (N, p - 1) Tensor, the feature parameters :math:`\\theta_n`
        x : (M, d) Tensor, inputs :math:`x_m`
        """

    def values(self, xi: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\Phi(\\xi_n, x_m) = \\omega_n h(\\theta_n, x_m)`, ``(N, M)``.

        Parameters
        ----------
        xi : (N, p) Tensor, parameters in the order of ``names``
        x : (M, d) Tensor, inputs
        """
        return xi[:, :1] * self.h(xi[:, 1:], x)

    def gradients(self, xi: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\nabla_\\xi \\Phi(\\xi_n, x_m)`, ``(N, M, p)``: ``(h, omega * grad_theta h)``.

        Parameters
        ----------
        xi : (N, p) Tensor, parameters in the order of ``names``
        x : (M, d) Tensor, inputs
        """
        theta = xi[:, 1:]
        return torch.cat([self.h(theta, x).unsqueeze(-1), xi[:, 0, None, None] * self.h_grad(theta, x)], dim=-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(d={self.d})"


class _Ridge(Unit):
    r"""Ridge units :math:`\omega\, \sigma(\theta \cdot (x, 1))` (or :math:`\theta \cdot x` without bias)."""

    def __init__(self, d: int, bias: bool = True):
        if int(d) != d or d < 1:
            raise InputError(f"d: expected a positive integer input dimension, found {d!r}")
        self.d, self.bias = int(d), bool(bias)
        self.p = self.d + 1 + self.bias
        self.names = ("omega", *(f"theta_{k + 1}" for k in range(self.d))) + (("theta_b",) if self.bias else ())

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`(x, 1)`, ``(M, d + 1)`` (``x`` itself without bias): one matrix product then serves
        both the pre-activations and the contraction, with no separate bias pass."""
        return torch.cat([x, torch.ones_like(x[:, :1])], dim=1) if self.bias else x

    def pre(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        r"""Pre-activations :math:`\theta \cdot (x, 1)`, ``(N, M)``: one matrix product.

        Computed points-major, as the transpose of :math:`(x, 1)\, \theta^\top`: MKL's product is
        faster with the long particle axis last (measured for d = 16..256, N = 1e4), and every later
        use (in-place activation, matrix-vector products, the contraction) takes the view as it is.
        """
        return (self.augment(x) @ theta.T).T

    @abstractmethod
    def act(self, pre: torch.Tensor) -> torch.Tensor:
        r""":math:`\sigma(\text{pre})`, in place."""

    @abstractmethod
    def dact_from_h(self, h: torch.Tensor, inplace: bool) -> torch.Tensor:
        r""":math:`\sigma'(\text{pre})` written with :math:`h = \sigma(\text{pre})` (into ``h`` if ``inplace``)."""

    def h(self, theta, x):
        return self.act(self.pre(theta, x))

    def h_vjp(self, theta, x, h, g, inplace=False, out=None):
        # sum_m g_m s'(pre_nm) (x_m, 1): g scales the small (M, d + 1) factor, not the (N, M) buffer
        slope, xg = self.dact_from_h(h, inplace), self.augment(x) * g[:, None]
        return slope @ xg if out is None else out.addmm_(slope, xg)

    def h_grad(self, theta, x):
        return self.dact_from_h(self.h(theta, x), inplace=True).unsqueeze(-1) * self.augment(x)


class ReLUUnit(_Ridge):
    r"""The neuron of chapter 1: :math:`\Phi(\xi, x) = \omega \max(\theta \cdot (x, 1), 0)`.

    Parameters ``("omega", "theta_1", ..., "theta_d", "theta_b")``; ``bias=False`` drops ``theta_b``
    (positively homogeneous units: the closed form with Gaussian inputs, Cho & Saul 2009, needs it).
    At :math:`\theta \cdot (x, 1) = 0` the derivative is taken as 0.

    Parameters
    ----------
    d : int >= 1, the input dimension
    bias : bool, whether :math:`\theta` has a bias ``theta_b`` (default True)

    Examples
    --------
    >>> import torch
    >>> ReLUUnit(1).values(torch.tensor([[2.0, 1.0, -1.0]]), torch.tensor([[0.0], [3.0]]))
    tensor([[0., 4.]])
    """

    def act(self, pre):
        return pre.clamp_min_(0)

    def dact_from_h(self, h, inplace):
        return h.sign_() if inplace else h.sign()


class SigmoidUnit(_Ridge):
    r"""The sigmoid unit :math:`\Phi(\xi, x) = \omega / (1 + e^{-\theta \cdot (x, 1)})`.

    Parameters
    ----------
    d : int >= 1, the input dimension
    bias : bool, whether :math:`\theta` has a bias ``theta_b`` (default True); parameters as :class:`ReLUUnit`
    """

    def act(self, pre):
        return pre.sigmoid_()

    def dact_from_h(self, h, inplace):
        out = h if inplace else h.clone()
        return out.mul_(1 - h) if not inplace else out.sub_(out.square())


class TanhUnit(_Ridge):
    r"""The tanh unit :math:`\Phi(\xi, x) = \omega \tanh(\theta \cdot (x, 1))`.

    Parameters
    ----------
    d : int >= 1, the input dimension
    bias : bool, whether :math:`\theta` has a bias ``theta_b`` (default True); parameters as :class:`ReLUUnit`
    """

    def act(self, pre):
        return pre.tanh_()

    def dact_from_h(self, h, inplace):
        out = h.square_() if inplace else h.square()
        return out.neg_().add_(1)


class GaussianBump(Unit):
    r"""The unit of Rotskoff et al. (2019): :math:`\Phi((c, y), x) = c\, \mathcal N(x; y, s I_d)`.

    .. math:: \mathcal N(x; y, s I_d) = (2\pi s)^{-d/2} \exp(-|x - y|^2 / (2 s)),
              \qquad \nabla_y = \mathcal N \cdot (x - y) / s.

    Parameters ``("c", "y")`` for ``d = 1``, ``("c", "y_1", ..., "y_d")`` otherwise; ``variance``
    is :math:`s` (fixed, not a parameter).

    Parameters
    ----------
    d : int >= 1, the input dimension (default 1)
    variance : float > 0, the variance :math:`s` of every bump (default 0.5)

    Examples
    --------
    >>> import torch
    >>> round(float(GaussianBump(variance=0.5).values(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 1))), 6)
    0.56419
    """

    def __init__(self, d: int = 1, variance: float = 0.5):
        if int(d) != d or d < 1:
            raise InputError(f"d: expected a positive integer input dimension, found {d!r}")
        if not (math.isfinite(variance) and variance > 0):
            raise InputError(f"variance: expected a positive finite number, found {variance!r}")
        self.d, self.variance = int(d), float(variance)
        self.p = self.d + 1
        self.names = ("c", "y") if self.d == 1 else ("c", *(f"y_{k + 1}" for k in range(self.d)))

    def h(self, theta, x):
        s = self.variance
        sq = torch.addmm((theta * theta).sum(1, keepdim=True), theta, x.T, alpha=-2.0)
        sq.add_((x * x).sum(1)).clamp_min_(0)
        return sq.mul_(-0.5 / s).exp_().mul_((2 * math.pi * s) ** (-0.5 * self.d))

    def h_vjp(self, theta, x, h, g, inplace=False, out=None):
        # sum_m g_m h_nm (x_m - y_n) / s, with g folded into the small factors: one product
        both = h @ torch.cat([x * g[:, None], g[:, None]], dim=1)
        s = 1.0 / self.variance
        if out is None:
            return (both[:, :-1] - theta * both[:, -1:]) * s
        return out.add_(both[:, :-1], alpha=s).addcmul_(theta, both[:, -1:], value=-s)

    def h_grad(self, theta, x):
        return self.h(theta, x).unsqueeze(-1) * (x[None, :, :] - theta[:, None, :]) / self.variance

    def __repr__(self) -> str:
        return f"GaussianBump(d={self.d}, variance={self.variance})"
