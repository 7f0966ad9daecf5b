r"""Shallow networks as measures: :math:`f_\mu(x) = \int \Phi(\xi, x)\, d\mu(\xi)`.

For the particle measure :math:`\mu_N = \sum_i a_i \delta_{\xi_i}` (:math:`a_i = 1/N`, or
explicit weights: the grid solver passes cell centres with masses :math:`\rho_k h^2`),

.. math:: f_\mu(x) = \alpha \sum_i a_i \Phi(\xi_i, x),

with :math:`\alpha = 1` in the mean-field scaling (the text's :math:`F_N = \frac1N \sum_i
\omega_i h(\theta_i, x)`) and :math:`\alpha = \sqrt N` in the lazy scaling (output weights
:math:`1/\sqrt N`, Chizat & Bach 2019).
"""

from __future__ import annotations

import math

import torch

from monge.errors import InputError, InputTypeError

from . import _checks
from ._collectives import all_reduce_sum
from .units import Unit

SCALINGS = ("mean-field", "lazy")
# Points per block when evaluating f_mu: bounds the (N, block) buffer.
BLOCK_ENTRIES = 1 << 22


class ShallowNetwork:
    r"""N particles :math:`\xi_i \in \mathbb R^p` and a unit: :math:`f_\mu(x) = \alpha \sum_i a_i \Phi(\xi_i, x)`.

    Parameters
    ----------
    particles : (N, p) Tensor, columns in ``unit.names`` order
    unit : a :mod:`~monge.meanfield.units` unit
    scaling : {"mean-field", "lazy"}
        output weights :math:`w_i = \alpha a_i` with :math:`\alpha = 1` or :math:`\sqrt N`.
    weights : (N,) Tensor, optional
        the measure's masses :math:`a_i \ge 0`, summing to 1 (default :math:`1/N`).

    Attributes
    ----------
    particles, unit, scaling, n (number of particles), mass (``(N,)`` masses :math:`a_i`),
    alpha (:math:`\alpha`), weights (``(N,)`` output weights :math:`\alpha a_i`), group (the
    ``torch.distributed`` group of a sharded network, else None; see :mod:`.distributed`).

    Examples
    --------
    >>> import torch
    >>> from monge.meanfield import ReLUUnit
    >>> net = ShallowNetwork(torch.tensor([[1.0, 1.0, 0.0], [3.0, -1.0, 0.0]]), ReLUUnit(1))
    >>> net.f(torch.tensor([[-1.0], [2.0]]))
    tensor([1.5000, 1.0000])
    """

    def __init__(self, particles, unit: Unit, scaling: str = "mean-field", weights=None, *, group=None,
                 n_total: int | None = None):
        if not isinstance(unit, Unit):
            raise InputTypeError(f"unit: expected a monge.meanfield unit, found {type(unit).__name__}")
        self.unit = unit
        self.particles = _checks.particles(particles, unit)
        self.scaling = _checks.choice(scaling, "scaling", SCALINGS)
        self.group = group
        n = self.particles.shape[0]
        self.n_total = n if n_total is None else int(n_total)  # all shards together
        if weights is None:
            self.mass = self.particles.new_full((n,), 1.0 / self.n_total)
        else:
            self.mass = _weights(weights, self.particles, check_sum=group is None)
        self.alpha = math.sqrt(self.n_total) if self.scaling == "lazy" else 1.0

    @property
    def n(self) -> int:
        """The number of particles (all shards together for a sharded network)."""
        return self.n_total

    @property
    def weights(self) -> torch.Tensor:
        r"""Output weights :math:`w_i = \alpha a_i`, ``(N,)``."""
        return self.mass * self.alpha

    _KEEP = object()

    def replace(self, particles, *, mass=None, group=_KEEP) -> "ShallowNetwork":
        """The same network (unit, scaling, total count) with other particles, through the constructor's checks.

        Parameters
        ----------
        particles : (N', p) Tensor, the new particles
        mass : (N',) Tensor, optional; their masses (default: the current ones, for as many particles)
        group : process group or None, optional; the shards' group (default: the current one)
        """
        group = self.group if group is ShallowNetwork._KEEP else group
        return ShallowNetwork(particles, self.unit, self.scaling, self.mass if mass is None else mass, group=group,
                              n_total=self.n_total)

    def f(self, x) -> torch.Tensor:
        r"""The network's output :math:`f_\mu(x_m) = \alpha \sum_i a_i \Phi(\xi_i, x_m)`, ``(M,)`` (summed over shards).

        Parameters
        ----------
        x : (M, d) Tensor or array-like, inputs (``(M,)`` for ``d = 1``); the result has the particles' dtype
        """
        x = _checks.points(x, self.unit.d, like=self.particles)
        coef = self.weights * self.particles[:, 0]
        theta = self.particles[:, 1:]
        block = max(1, BLOCK_ENTRIES // max(1, self.particles.shape[0]))
        out = torch.cat([coef @ self.unit.h(theta, xb) for xb in x.split(block)])
        if self.group is not None:
            out = all_reduce_sum(out, self.group)
        return out

    __call__ = f

    def __repr__(self) -> str:
        return f"ShallowNetwork(n={self.n}, unit={self.unit!r}, scaling={self.scaling!r})"


def _weights(weights, like: torch.Tensor, check_sum: bool = True) -> torch.Tensor:
    w = torch.as_tensor(weights, dtype=like.dtype, device=like.device)
    if w.shape != like.shape[:1]:
        raise InputError(f"weights: expected shape ({like.shape[0]},), found {tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise InputError("weights: expected finite non-negative masses")
    total = float(w.sum())
    tol = 1e-5 if like.dtype in (torch.float32, torch.float16, torch.bfloat16) else 1e-10
    if check_sum and abs(total - 1.0) > tol * max(1, like.shape[0]) ** 0.5:
        raise InputError(f"weights: masses sum to {total!r}; expected 1 (a probability measure)")
    return w
