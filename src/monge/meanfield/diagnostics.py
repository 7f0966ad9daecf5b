r"""Diagnostics of a particle flow: dissipation identity, optimality gap, W2, sweeps over N."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from monge.errors import InputError, InputTypeError

from . import _checks
from .energy import Energy
from .flow import FlowResult, flow
from .network import ShallowNetwork


def dissipation_error(result: FlowResult) -> float:
    r"""Relative error of the dissipation identity :math:`F(t) - F(0) = -\int_0^t D(s)\, ds`.

    ``D`` is ``result.dissipation``, integrated by the trapezoid rule over the records; the error
    is :math:`\max_t |F(t) - F(0) + \int_0^t D| / (F(0) - F(t_{end}))`.
    """
    t, f, d = result.times, result.energy, result.dissipation
    if len(t) < 2:
        raise InputError("result: the dissipation identity needs at least two records")
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(t))])
    drop = max(f[0] - f.min(), np.finfo(np.float64).tiny)
    return float(np.abs(f - f[0] + integral).max() / drop)


def parameter_grid(bounds, n: int | tuple[int, ...], like: torch.Tensor | None = None) -> torch.Tensor:
    """A regular grid of parameters, ``(n^p, p)``, over ``bounds = [(lo, hi), ...]`` (one per parameter).

    Parameters
    ----------
    bounds : sequence of p pairs ``(lo, hi)``, both ends included
    n : int, or one int per parameter: points per axis
    like : Tensor, optional; the grid takes its dtype and device (default float64 on the CPU)
    """
    bounds = [tuple(map(float, pair)) for pair in bounds]
    sizes = (int(n),) * len(bounds) if np.isscalar(n) else tuple(int(k) for k in n)
    if len(sizes) != len(bounds) or min(sizes) < 1:
        raise InputError(f"n: expected a positive size or one per parameter ({len(bounds)}), found {n!r}")
    axes = [torch.linspace(lo, hi, k, dtype=torch.float64) for (lo, hi), k in zip(bounds, sizes)]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(bounds))
    return grid if like is None else grid.to(like)


def optimality_gap_bound(network: ShallowNetwork, energy: Energy, grid: torch.Tensor) -> float:
    r"""The convexity bound :math:`F(\mu) - F^* \le \int \psi_\mu\, d\mu - \min_\xi \psi_\mu(\xi)`.

    :math:`F` is convex along linear interpolations, so for every measure :math:`\nu`,
    :math:`F(\nu) \ge F(\mu) + \int \psi_\mu\, d(\nu - \mu)`; the minimum is taken over ``grid``
    (``(G, p)`` points, e.g. :func:`parameter_grid`) and the particles: :math:`F^*` is then the
    minimum over measures supported there.

    Parameters
    ----------
    network : ShallowNetwork, the measure :math:`\mu` (not sharded)
    energy : Energy, :math:`F`
    grid : (G, p) Tensor, candidate neurons :math:`\xi` for the minimum of :math:`\psi_\mu`

    Returns
    -------
    float, an upper bound on :math:`F(\mu) - F^*`
    """
    if network.group is not None:
        raise InputError("network: a sharded network; gather it first (monge.meanfield.distributed.gather)")
    grid = _checks.particles(grid, network.unit).to(network.particles)
    psi_particles = energy.first_variation(network, network.particles)
    psi_grid = energy.first_variation(network, grid)
    lowest = torch.minimum(psi_grid.min(), psi_particles.min())
    return float(network.mass @ psi_particles - lowest)


def w2(first: ShallowNetwork, second: ShallowNetwork, method: str = "exact", **options) -> float:
    r""":math:`W_2` between the particle measures :math:`\sum_i a_i \delta_{\xi_i}` of two networks.

    .. math:: W_2(\mu, \nu)^2 = \min_{P \in U(a, b)} \sum_{ij} P_{ij} |\xi_i - \xi'_j|^2

    (:func:`monge.transport.wasserstein` with their masses).

    Parameters
    ----------
    first, second : ShallowNetwork, not sharded, with units of the same parameter count p
    method : ``"exact"``, ``"sinkhorn"`` or ``"sliced"``, as :func:`monge.transport.wasserstein`
    **options : passed on to :func:`monge.transport.wasserstein`
    """
    from monge.transport import wasserstein

    for name, net in (("first", first), ("second", second)):
        if not isinstance(net, ShallowNetwork):
            raise InputTypeError(f"{name}: expected a ShallowNetwork, found {type(net).__name__}")
        if net.group is not None:
            raise InputError(f"{name}: a sharded network; gather it first (monge.meanfield.distributed.gather)")
    if first.unit.p != second.unit.p:
        raise InputError(f"second: particles in R^{second.unit.p} but first's are in R^{first.unit.p}")
    x, z = first.particles, second.particles.to(first.particles)
    return float(wasserstein(x, z, first.mass, second.mass.to(first.mass), p=2.0, method=method, **options))


@dataclass
class Sweep:
    r"""Energies at time ``t`` for several N: mean and standard error over seeds, excess over the reference.

    Attributes
    ----------
    ns : (K,) int array, the numbers of particles N, increasing
    energy : (K,) array, the mean over seeds of :math:`F(\mu_N(t))`
    stderr : (K,) array, its standard error over seeds
    reference : float, the mean energy of ``n_ref`` particles, standing for :math:`F(\mu(t))`
    excess : (K,) array, ``energy - reference``
    slope : float, the fitted log-log slope of the positive excesses against N (NaN below two)
    """

    ns: np.ndarray
    energy: np.ndarray
    stderr: np.ndarray
    reference: float
    excess: np.ndarray
    slope: float


def sweep_n(build: Callable[[int, int], tuple[ShallowNetwork, Energy]], ns, t_end: float, dt: float,
            seeds=range(4), method: str = "euler", n_ref: int | None = None) -> Sweep:
    r"""Energy at ``t_end`` against N: the excess :math:`E F(\mu_N(t)) - F(\mu(t))` falls like :math:`1/N`.

    Parameters
    ----------
    build : callable ``(n, seed) -> (network, energy)`` (e.g. :func:`.examples.rbf`)
    ns : iterable of int >= 1, at least two sizes N
    t_end, dt : float, the time and step of each :func:`~.flow.flow`
    seeds : iterable of int, the seeds averaged over (default 0..3)
    method : the integrator of :func:`~.flow.flow`
    n_ref : int, optional; the size of the reference run (default 8 times the largest N)

    Returns
    -------
    Sweep
    """
    ns = np.array(sorted({int(n) for n in ns}))
    seeds = list(seeds)
    if len(ns) < 2 or ns[0] < 1 or not seeds:
        raise InputError(f"ns: expected at least two sizes >= 1 and one seed, found {ns.tolist()}, seeds {seeds}")
    n_ref = int(n_ref or 8 * ns[-1])

    def final(n, seed):
        net, energy = build(int(n), seed)
        return flow(net, energy, t_end, dt, method=method, record_every=t_end, snapshots=0).energy[-1]

    runs = np.array([[final(n, seed) for seed in seeds] for n in ns])
    reference = float(np.mean([final(n_ref, seed) for seed in seeds]))
    energy = runs.mean(1)
    stderr = runs.std(1, ddof=1) / np.sqrt(len(seeds)) if len(seeds) > 1 else np.zeros(len(ns))
    excess = energy - reference
    positive = excess > 0
    slope = float(np.polyfit(np.log(ns[positive]), np.log(excess[positive]), 1)[0]) if positive.sum() >= 2 else float("nan")
    return Sweep(ns, energy, stderr, reference, excess, slope)
