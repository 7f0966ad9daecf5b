r"""Quadrature rules :math:`\int_D g(x)\, dx \approx \sum_m q_m g(x_m)` for the energy.

Gauss-Legendre (tensor product) on intervals and boxes in 1-2 dimensions, scrambled Sobol points
(quasi-Monte Carlo, :mod:`scipy.stats.qmc`) beyond; Gauss-Hermite or quasi-Monte Carlo for the
standard normal measure; equal weights :math:`1/M` for training samples. Rules are built in
float64 on the CPU and converted once per dtype and device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import qmc

from monge.errors import InputError

from . import _checks

#: Default sizes: points per dimension (Gauss rules, 1-2 dims), total points beyond.
GAUSS_POINTS = {1: 256, 2: 64}
QMC_POINTS = 4096


@dataclass
class Quadrature:
    r"""A quadrature rule :math:`\int g\, dx \approx \sum_m w_m g(x_m)`: points, weights and the rule's name.

    Attributes
    ----------
    points : (M, d) Tensor, float64 on the CPU, the nodes :math:`x_m`
    weights : (M,) Tensor, float64 on the CPU, the weights :math:`w_m`
    kind : str, which rule (``"gauss-legendre"``, ``"sobol"``, ``"gauss-hermite"``, ``"samples"``, ...)
    """

    points: torch.Tensor
    weights: torch.Tensor
    kind: str = "custom"
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.points = torch.as_tensor(self.points, dtype=torch.float64)
        self.weights = torch.as_tensor(self.weights, dtype=torch.float64)
        if self.points.ndim != 2 or self.weights.shape != self.points.shape[:1]:
            raise InputError(f"quadrature: points (M, d) and weights (M,) expected, found "
                             f"{tuple(self.points.shape)} and {tuple(self.weights.shape)}")

    @property
    def d(self) -> int:
        """The dimension d of the points."""
        return self.points.shape[1]

    def __len__(self) -> int:
        return self.points.shape[0]

    def on(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(points, weights)`` in the dtype and on the device of ``like`` (cached)."""
        key = (like.dtype, like.device)
        if key not in self._cache:
            self._cache[key] = (self.points.to(like), self.weights.to(like))
        return self._cache[key]


def gauss_legendre(box, n: int) -> Quadrature:
    r"""Tensor-product Gauss-Legendre rule with ``n`` points per dimension on ``box = [(a, b), ...]``."""
    nodes, weights = np.polynomial.legendre.leggauss(int(n))
    axes = [(0.5 * (b - a) * nodes + 0.5 * (a + b), 0.5 * (b - a) * weights) for a, b in box]
    points = np.stack(np.meshgrid(*[p for p, _ in axes], indexing="ij"), -1).reshape(-1, len(box))
    w = np.prod(np.stack(np.meshgrid(*[w for _, w in axes], indexing="ij"), -1).reshape(-1, len(box)), axis=1)
    return Quadrature(points, w, "gauss-legendre")


def sobol(box, n: int, seed: int = 0) -> Quadrature:
    r"""Scrambled Sobol points on ``box``, weights :math:`|D|/M` (quasi-Monte Carlo).

    Parameters
    ----------
    box : sequence of d intervals ``(a, b)``, the domain :math:`D`
    n : int, the number of points M, rounded up to a power of two
    seed : int, of the scrambling
    """
    lo, hi = np.array(box, dtype=np.float64).T
    u = qmc.Sobol(len(box), scramble=True, seed=seed).random(_power_of_two(n))
    return Quadrature(lo + u * (hi - lo), np.full(len(u), np.prod(hi - lo) / len(u)), "sobol")


def gaussian(d: int, n: int | None = None, seed: int = 0) -> Quadrature:
    r"""A rule for the standard normal measure on :math:`\mathbb R^d`: :math:`\int g\, d\mathcal N(0, I_d)`.

    Gauss-Hermite in 1-2 dimensions, scrambled Sobol points mapped by the normal quantile beyond
    (weights :math:`1/M`).

    Parameters
    ----------
    d : int, the dimension
    n : int, optional; points per dimension for Gauss-Hermite (default 64), total points beyond
        (rounded up to a power of two; default 4096)
    seed : int, of the scrambling (d > 2)
    """
    if d <= 2:
        nodes, weights = np.polynomial.hermite_e.hermegauss(int(n or 64))
        weights = weights / math.sqrt(2 * math.pi)
        points = np.stack(np.meshgrid(*[nodes] * d, indexing="ij"), -1).reshape(-1, d)
        w = np.prod(np.stack(np.meshgrid(*[weights] * d, indexing="ij"), -1).reshape(-1, d), axis=1)
        return Quadrature(points, w, "gauss-hermite")
    engine = qmc.MultivariateNormalQMC(np.zeros(d), seed=seed)
    points = engine.random(_power_of_two(n or QMC_POINTS))
    return Quadrature(points, np.full(len(points), 1.0 / len(points)), "normal-qmc")


def samples(x) -> Quadrature:
    r"""The rule of training samples ``x`` ``(M, d)``: :math:`\int g\, dx \approx \frac1M \sum_m g(x_m)`."""
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    x = x[:, None] if x.ndim == 1 else x
    return Quadrature(x, torch.full((x.shape[0],), 1.0 / x.shape[0], dtype=torch.float64), "samples")


def box_of(domain, d: int) -> list[tuple[float, float]] | None:
    """A ``domain`` ``(a, b)`` (the cube) or ``[(a1, b1), ...]`` as ``d`` finite intervals; None if not a box."""
    if not isinstance(domain, (tuple, list)) or isinstance(domain, str):
        return None
    if len(domain) == 2 and all(isinstance(v, (int, float)) for v in domain):
        box = [tuple(map(float, domain))] * d
    else:
        try:
            box = [tuple(map(float, pair)) for pair in domain]
        except (TypeError, ValueError):
            raise InputError(f"domain: expected (a, b) or [(a1, b1), ..., (ad, bd)], found {domain!r}") from None
        if len(box) != d or any(len(pair) != 2 for pair in box):
            raise InputError(f"domain: expected {d} intervals (a, b) for inputs of dimension {d}, found {domain!r}")
    for a, b in box:
        if not (math.isfinite(a) and math.isfinite(b) and a < b):
            raise InputError(f"domain: interval ({a}, {b}) is not a finite interval with a < b")
    return box


def rule(domain, d: int, quadrature=None) -> Quadrature:
    """The quadrature for ``domain`` in dimension ``d`` (:class:`~.energy.Energy`); ``quadrature``: a size or a rule."""
    if isinstance(quadrature, Quadrature):
        if quadrature.d != d:
            raise InputError(f"quadrature: points of dimension {quadrature.d}, but the unit's inputs have d={d}")
        return quadrature
    n = None if quadrature is None else int(_checks.positive(quadrature, "quadrature"))
    if isinstance(domain, (torch.Tensor, np.ndarray)):
        q = samples(domain)
        if q.d != d:
            raise InputError(f"domain: samples of dimension {q.d}, but the unit's inputs have d={d}")
        return q
    if domain == "gaussian":
        return gaussian(d, n)
    box = box_of(domain, d)
    if box is None:
        raise InputError(f"domain: {domain!r} has no quadrature; expected (a, b), a box, 'gaussian' or samples "
                         f"('R' and 'R^d' need a closed form: a GaussianBump unit with a GaussianMixture target)")
    if d <= 2:
        return gauss_legendre(box, n or GAUSS_POINTS[d])
    return sobol(box, n or QMC_POINTS)


def _power_of_two(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(n)))
