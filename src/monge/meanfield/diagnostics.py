r"""Diagnostics of a particle flow: dissipation identity, optimality gap, W2, sweeps over N."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .energy import Energy
from .flow import FlowResult
from .network import ShallowNetwork


def dissipation_error(result: FlowResult) -> float:
    r"""Relative error of the dissipation identity :math:`F(t) - F(0) = -\int_0^t D(s)\, ds`.

    ``D`` is ``result.dissipation``, integrated by the trapezoid rule over the records; the error
    is :math:`\max_t |F(t) - F(0) + \int_0^t D| / (F(0) - F(t_{end}))`.
    """
    raise NotImplementedError


def parameter_grid(bounds, n: int | tuple[int, ...], like: torch.Tensor | None = None) -> torch.Tensor:
    """A regular grid of parameters, ``(n^p, p)``, over ``bounds = [(lo, hi), ...]`` (one per parameter)."""
    raise NotImplementedError


def optimality_gap_bound(network: ShallowNetwork, energy: Energy, grid: torch.Tensor) -> float:
    r"""The convexity bound :math:`F(\mu) - F^* \le \int \psi_\mu\, d\mu - \min_\xi \psi_\mu(\xi)`.

    :math:`F` is convex along linear interpolations, so for every measure :math:`\nu`,
    :math:`F(\nu) \ge F(\mu) + \int \psi_\mu\, d(\nu - \mu)`; the minimum is taken over ``grid``
    (``(G, p)`` points, e.g. :func:`parameter_grid`) and the particles: :math:`F^*` is then the
    minimum over measures supported there.
    """
    raise NotImplementedError


def w2(first: ShallowNetwork, second: ShallowNetwork, method: str = "exact") -> float:
    r""":math:`W_2` between the particle measures :math:`\sum_i a_i \delta_{\xi_i}` of two networks
    (:func:`monge.transport.wasserstein` with their masses)."""
    raise NotImplementedError


@dataclass
class Sweep:
    """Energies at time ``t`` for several N: mean and standard error over seeds, excess over the
    reference (mean energy of ``n_ref`` particles), and the fitted log-log slope of the excess."""

    ns: np.ndarray
    energy: np.ndarray
    stderr: np.ndarray
    reference: float
    excess: np.ndarray
    slope: float


def sweep_n(build: Callable[[int, int], tuple[ShallowNetwork, Energy]], ns, t_end: float, dt: float,
            seeds=range(4), method: str = "euler", n_ref: int | None = None) -> Sweep:
    r"""Energy at ``t_end`` against N: the excess :math:`E F(\mu_N(t)) - F(\mu(t))` falls like :math:`1/N`.

    ``build(n, seed) -> (network, energy)`` (e.g. :func:`.examples.rbf`).
    """
    raise NotImplementedError
