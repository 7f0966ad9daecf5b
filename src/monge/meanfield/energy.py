r"""The energy of a shallow network as a functional of its measure of neurons.

.. math:: F(\mu) = \frac12 \int_D (f - f_\mu)^2\, dx + \int V\, d\mu, \qquad V(\xi) = \frac\lambda2 |\xi|^2,

its first variation (the text's :math:`\frac{\delta F}{\delta\mu}`)

.. math:: \psi_\mu(\xi) = \alpha \int_D \Phi(\xi, x) (f_\mu(x) - f(x))\, dx + V(\xi)

and its gradient :math:`\nabla_\xi \psi_\mu`. The integral over :math:`D` is a quadrature
(:mod:`.quadrature`), or a closed form (:mod:`.closed_forms`) where all integrals are known:

.. math:: F = C_f - \alpha \sum_i a_i \hat F(\xi_i) + \frac{\alpha^2}2 \sum_{ij} a_i a_j K(\xi_i, \xi_j)
          + \sum_i a_i V(\xi_i),

:math:`C_f = \frac12 \int f^2`, :math:`\hat F(\xi) = \int \Phi(\xi, x) f(x)\, dx`,
:math:`K(\xi, \xi') = \int \Phi(\xi, x) \Phi(\xi', x)\, dx`.
"""

from __future__ import annotations

import torch

from .network import ShallowNetwork
from .units import Unit


class Energy:
    r""":math:`F(\mu) = \frac12 \int_D (f - f_\mu)^2 dx + \int \frac\lambda2 |\xi|^2 d\mu` for one unit and target.

    Parameters
    ----------
    target : callable ``x (M, d) -> (M,)``, a :class:`~.mixture.GaussianMixture`, or a
        :class:`~.network.ShallowNetwork` (a teacher)
    domain : where :math:`x` lives, and the measure :math:`dx`:

        - ``(a, b)`` or ``[(a1, b1), ..., (ad, bd)]``: an interval or box with Lebesgue measure
          (Gauss-Legendre in 1-2 dimensions, scrambled Sobol points beyond);
        - ``"R"`` / ``"R^d"``: all of :math:`\mathbb R^d`, closed form only (GaussianBump unit with a
          GaussianMixture target);
        - ``"gaussian"``: :math:`dx` the standard normal law on :math:`\mathbb R^d`; closed form for
          bias-free ReLU units with a bias-free ReLU teacher (the arc-cosine kernel of Cho & Saul),
          quasi-Monte Carlo otherwise;
        - an ``(M, d)`` Tensor of training samples: :math:`\int \cdot\, dx = \frac1M \sum_m`.
    unit : the unit of the networks this energy is evaluated on
    lam : :math:`\lambda \ge 0`
    quadrature : number of points (per dimension for Gauss-Legendre), or a
        :class:`~.quadrature.Quadrature`; ignored by closed forms.
    """

    def __init__(self, target, domain, unit: Unit, lam: float = 0.0, quadrature=None):
        raise NotImplementedError

    @property
    def closed_form(self) -> bool:
        """Whether the integrals are in closed form (no quadrature)."""
        raise NotImplementedError

    def value(self, network: ShallowNetwork) -> float:
        r""":math:`F(\mu)`."""
        raise NotImplementedError

    def first_variation(self, network: ShallowNetwork, xi: torch.Tensor) -> torch.Tensor:
        r""":math:`\psi_\mu(\xi_k)`, ``(K,)``, at any points ``xi (K, p)``."""
        raise NotImplementedError

    def gradient(self, network: ShallowNetwork, xi: torch.Tensor) -> torch.Tensor:
        r""":math:`\nabla_\xi \psi_\mu(\xi_k)`, ``(K, p)``, at any points ``xi (K, p)``."""
        raise NotImplementedError

    def value_and_gradient(self, network: ShallowNetwork) -> tuple[float, torch.Tensor]:
        r""":math:`F(\mu)` and :math:`\nabla\psi_\mu(\xi_i)` at the network's own particles, ``(N, p)``,
        in one pass (the flow's hot path: one sweep over the quadrature points in blocks)."""
        raise NotImplementedError
