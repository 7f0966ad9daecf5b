r"""The Eulerian picture: the density of neurons on a grid, moved by an upwind finite-volume scheme.

For a parameter space :math:`\Omega` of low dimension (two for the Gaussian bump
:math:`\xi = (c, y)`), the measure :math:`\mu_t` of neurons is a density :math:`\rho_t` on a
regular grid over a box, and the Wasserstein gradient flow of the text

.. math:: \partial_t \rho = \nabla \cdot (\rho \nabla \psi_\rho), \qquad
          \psi_\rho(\xi) = \frac{\delta F}{\delta \mu}(\xi)
          = \int_D \Phi(\xi, x) (f_\rho(x) - f(x)) \, dx + V(\xi)

is solved by finite volumes. The density is a weighted measure on the cell centres
:math:`\xi_k` with weights :math:`w_k = \rho_k h^p` (:math:`h^p` the cell volume), i.e. a
:class:`~monge.meanfield.ShallowNetwork` with explicit weights, so the energy and its first
variation are those of the particle flow. On the face between neighbours :math:`k` and
:math:`k + e_d` the velocity is the difference quotient
:math:`v = -(\psi_{k + e_d} - \psi_k) / h_d` (:math:`-\partial_d \psi` at the face midpoint, to
:math:`O(h^2)`), the flux is upwind, :math:`J = \rho_{\mathrm{up}} v` with
:math:`\rho_{\mathrm{up}} = \rho_k` if :math:`v > 0` and :math:`\rho_{k + e_d}` otherwise, and

.. math:: \frac{d\rho_k}{dt} = -\sum_d \frac{J_{k + e_d/2} - J_{k - e_d/2}}{h_d}.

Properties (Carrillo, Chertock & Huang, *Commun. Comput. Phys.* 17, 2015):

- **no-flux walls**: :math:`J = 0` on the faces of the box, so the mass
  :math:`\sum_k \rho_k h^p` is conserved to round-off. Mass that would leave the box piles up in
  the boundary cells instead: choose the box large enough that the density stays well inside
  (:attr:`GridResult.boundary_mass` says how much mass sits in the outer cells);
- **positivity** under the CFL condition
  :math:`\Delta t \sum_d \max |v_d| / h_d \le 1/2`: each cell then loses at most all of its mass
  in one step. A requested ``dt`` that violates it is split into sub-steps (recorded in
  :attr:`GridResult.substeps` and logged), or refused with ``substep=False``;
- **energy dissipation**: since :math:`\partial F / \partial w_k = \psi_\rho(\xi_k)`, summing by
  parts gives :math:`dF/dt = -h^p \sum_{\mathrm{faces}} \rho_{\mathrm{up}} v^2 \le 0`, the grid's
  :math:`-\int |\nabla \psi|^2 d\mu` (:attr:`GridResult.dissipation`); forward Euler keeps
  :math:`F` non-increasing for small ``dt``.

The time stepping is forward Euler, like the particles' ``method="euler"``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Grid", "GridResult", "grid_flow", "grid_wasserstein", "transport_rates"]

log = logging.getLogger(__name__)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: {value!r}; expected a positive integer")
    return int(value)


def _positive(value, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r}; expected a positive number") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: {value}; expected a positive finite number")
    return value


@dataclass(frozen=True)
class Grid:
    r"""A regular grid of ``shape`` cells over the box :math:`\prod_d [\mathrm{low}_d, \mathrm{high}_d]`.

    Cell :math:`k = (k_1, \dots, k_p)` has centre :math:`\mathrm{low}_d + (k_d + 1/2) h_d` and
    width :math:`h_d = (\mathrm{high}_d - \mathrm{low}_d) / \mathrm{shape}_d`. Axis ``d`` is the
    unit's ``d``-th parameter (``unit.names[d]``).

    Parameters
    ----------
    low, high : sequences of p floats, ``low < high``
    shape : sequence of p ints >= 2, cells per axis

    Examples
    --------
    >>> grid = Grid(low=(-1.0, 0.0), high=(1.0, 1.0), shape=(4, 2))
    >>> grid.h, grid.volume, grid.centres().shape
    ((0.5, 0.5), 0.25, torch.Size([8, 2]))
    """

    low: tuple[float, ...]
    high: tuple[float, ...]
    shape: tuple[int, ...]

    def __post_init__(self):
        try:
            low = tuple(float(v) for v in self.low)
            high = tuple(float(v) for v in self.high)
            shape = tuple(self.shape)
        except (TypeError, ValueError):
            raise ValueError(f"Grid: low={self.low!r}, high={self.high!r}, shape={self.shape!r}; expected "
                             "sequences of numbers of one length") from None
        if not (len(low) == len(high) == len(shape) >= 1):
            raise ValueError(f"Grid: low, high and shape have lengths {len(low)}, {len(high)}, {len(shape)}; "
                             "expected one length p, the dimension of the parameter space")
        for d, (a, b) in enumerate(zip(low, high)):
            if not (math.isfinite(a) and math.isfinite(b) and a < b):
                raise ValueError(f"Grid: axis {d} is [{a}, {b}]; expected finite low < high")
        for d, n in enumerate(shape):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
                raise ValueError(f"Grid: shape[{d}] = {n!r}; expected an integer >= 2 (cells per axis)")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "shape", tuple(int(n) for n in shape))

    @property
    def dim(self) -> int:
        """The dimension p of the parameter space."""
        return len(self.shape)

    @property
    def h(self) -> tuple[float, ...]:
        """Cell widths per axis."""
        return tuple((b - a) / n for a, b, n in zip(self.low, self.high, self.shape))

    @property
    def volume(self) -> float:
        """The volume :math:`h^p = \\prod_d h_d` of one cell."""
        return float(np.prod(self.h))

    @property
    def size(self) -> int:
        """The number of cells."""
        return int(np.prod(self.shape))

    def axes(self, dtype=torch.float64, device=None) -> list[torch.Tensor]:
        """The cell centres along each axis, ``shape[d]`` values each."""
        return [a + (torch.arange(n, dtype=dtype, device=device) + 0.5) * h
                for a, n, h in zip(self.low, self.shape, self.h)]

    def edges(self, dtype=torch.float64, device=None) -> list[torch.Tensor]:
        """The cell faces along each axis, ``shape[d] + 1`` values each (``low`` to ``high``)."""
        return [torch.linspace(a, b, n + 1, dtype=dtype, device=device)
                for a, b, n in zip(self.low, self.high, self.shape)]

    def centres(self, dtype=torch.float64, device=None) -> torch.Tensor:
        """All cell centres, ``(K, p)`` with ``K = prod(shape)``, in C order (last axis fastest)."""
        mesh = torch.meshgrid(*self.axes(dtype, device), indexing="ij")
        return torch.stack([m.reshape(-1) for m in mesh], dim=1)

    def weights(self, rho: torch.Tensor) -> torch.Tensor:
        r"""The cell masses :math:`w_k = \rho_k h^p`, flattened to ``(K,)`` in the order of :meth:`centres`."""
        return rho.reshape(-1) * self.volume

    def product_law(self, cdfs: Sequence[Callable], dtype=torch.float64, device=None) -> torch.Tensor:
        r"""The density of a product law, discretised by exact cell integrals.

        .. math:: \rho_k = \frac{1}{Z h^p} \prod_d \big(F_d(e_{d, k_d + 1}) - F_d(e_{d, k_d})\big)

        with :math:`F_d` the cumulative distribution function of coordinate ``d`` and :math:`Z`
        the mass of the law inside the box (renormalised to 1; the part outside is logged).

        Parameters
        ----------
        cdfs : sequence of p callables
            ``cdfs[d]`` maps a float64 ndarray of faces to :math:`F_d` there (for example
            ``scipy.stats.norm(0, 1).cdf``, ``scipy.stats.uniform(-2, 4).cdf``).

        Returns
        -------
        rho : Tensor of ``shape``, a probability density: ``rho.sum() * h^p == 1``.

        Examples
        --------
        >>> from scipy import stats
        >>> grid = Grid((-4.0, -3.0), (4.0, 3.0), (80, 60))
        >>> rho = grid.product_law([stats.norm(0, 1).cdf, stats.uniform(-2, 4).cdf])
        >>> round(float(rho.sum() * grid.volume), 12)
        1.0
        """
        if len(cdfs) != self.dim:
            raise ValueError(f"cdfs: {len(cdfs)} functions for a grid of dimension {self.dim}; expected one per axis")
        masses = []
        for d, (cdf, edges) in enumerate(zip(cdfs, self.edges())):
            values = np.asarray(cdf(edges.numpy()), dtype=np.float64)
            if values.shape != (self.shape[d] + 1,) or not np.isfinite(values).all() or (np.diff(values) < 0).any():
                raise ValueError(f"cdfs[{d}]: not a cumulative distribution function on the faces of axis {d} "
                                 "(expected finite non-decreasing values, one per face)")
            masses.append(torch.from_numpy(np.diff(values)))
        mass = masses[0]
        for m in masses[1:]:
            mass = torch.outer(mass.reshape(-1), m).reshape(*mass.shape, m.shape[0])
        inside = float(mass.sum())
        if not inside > 0:
            raise ValueError("cdfs: the law puts no mass inside the grid's box; expected a box around its support")
        if inside < 1 - 1e-9:
            log.info("product_law: %.3g of the mass lies outside the box and is dropped (renormalised)", 1 - inside)
        return (mass / (inside * self.volume)).to(dtype=dtype, device=device)

    def histogram(self, particles, weights=None) -> torch.Tensor:
        r"""The density of a weighted cloud of particles, by cloud-in-cell (multilinear) assignment.

        Each particle spreads its weight over the :math:`2^p` cell centres around it with
        multilinear weights, so the density's mean equals the cloud's mean (away from the walls);
        it is the law of the particles smoothed at the scale of a cell.

        Parameters
        ----------
        particles : (N, p) Tensor or ndarray, inside the box
        weights : (N,) non-negative, optional (uniform by default)

        Returns
        -------
        rho : Tensor of ``shape`` (dtype of the particles if floating, else float64), total mass 1.
        """
        xi = torch.as_tensor(particles)
        if not xi.is_floating_point():
            xi = xi.double()
        if xi.ndim != 2 or xi.shape[1] != self.dim or xi.shape[0] == 0:
            raise ValueError(f"particles: shape {tuple(xi.shape)}; expected (N, {self.dim}) with N >= 1")
        if not torch.isfinite(xi).all():
            raise ValueError("particles: non-finite values")
        low = xi.new_tensor(self.low)
        high = xi.new_tensor(self.high)
        if ((xi < low) | (xi > high)).any():
            raise ValueError(f"particles: some lie outside the grid's box {list(zip(self.low, self.high))}; "
                             "expected a larger box")
        w = xi.new_full((xi.shape[0],), 1.0 / xi.shape[0]) if weights is None else torch.as_tensor(weights).to(xi)
        if w.shape != (xi.shape[0],) or not torch.isfinite(w).all() or (w < 0).any() or not w.sum() > 0:
            raise ValueError(f"weights: expected ({xi.shape[0]},) non-negative finite values with a positive sum")
        w = w / w.sum()
        h = xi.new_tensor(self.h)
        size = xi.new_tensor(self.shape) - 1
        # position in units of cells from the first centre, clamped so that the 2^p stencil stays inside
        u = ((xi - low) / h - 0.5).clamp(min=0).minimum(size)
        base = u.floor().minimum(size - 1)
        frac = u - base
        base = base.long()
        rho = xi.new_zeros(self.size)
        strides = [int(np.prod(self.shape[d + 1:])) for d in range(self.dim)]
        for corner in range(2 ** self.dim):
            bits = [(corner >> d) & 1 for d in range(self.dim)]
            share = w.clone()
            index = torch.zeros_like(base[:, 0])
            for d, bit in enumerate(bits):
                share = share * (frac[:, d] if bit else 1 - frac[:, d])
                index = index + (base[:, d] + bit) * strides[d]
            rho.index_add_(0, index, share)
        return rho.reshape(self.shape) / self.volume


@dataclass(frozen=True)
class GridResult:
    r"""What :func:`grid_flow` records.

    Attributes
    ----------
    times : (T,) Tensor, 0 to ``t_end``, one per requested step
    energy : (T,) Tensor, :math:`F(\rho_t)`
    mass : (T,) Tensor, :math:`\sum_k \rho_k h^p` (1 to round-off)
    rho_min : (T,) Tensor, :math:`\min_k \rho_k` (non-negative under the CFL condition)
    dissipation : (T,) Tensor, :math:`h^p \sum_{\mathrm{faces}} \rho_{\mathrm{up}} v^2 = -dF/dt`
    grad_max : (T,) Tensor, the largest face speed :math:`\max |v|` over faces that carry mass
    cfl : (T - 1,) Tensor, :math:`\Delta t \sum_d \max |v_d| / h_d` of each requested step at its start
    substeps : (T - 1,) long Tensor, Euler sub-steps taken in each requested step (1 where ``dt`` met the CFL bound)
    boundary_mass : (T,) Tensor, mass in the outer layer of cells (should stay near 0: the walls hold it)
    snapshot_times : (S,) Tensor
    snapshots : (S, *shape) Tensor, the density at ``snapshot_times``
    density : Tensor of ``shape``, the final density
    grid : Grid
    """

    times: torch.Tensor
    energy: torch.Tensor
    mass: torch.Tensor
    rho_min: torch.Tensor
    dissipation: torch.Tensor
    grad_max: torch.Tensor
    cfl: torch.Tensor
    substeps: torch.Tensor
    boundary_mass: torch.Tensor
    snapshot_times: torch.Tensor
    snapshots: torch.Tensor
    density: torch.Tensor
    grid: Grid

    @property
    def n_substeps(self) -> int:
        """Sub-steps beyond one per requested step (0 when ``dt`` always met the CFL bound)."""
        return int((self.substeps - 1).sum())


def transport_rates(rho: torch.Tensor, psi: torch.Tensor, h: Sequence[float]):
    r"""The upwind finite-volume right-hand side of :math:`\partial_t \rho = \nabla \cdot (\rho \nabla \psi)`.

    Parameters
    ----------
    rho : Tensor of the grid's shape, the density
    psi : Tensor of the same shape, the first variation at the cell centres
    h : p floats, the cell widths

    Returns
    -------
    drho : Tensor like ``rho``, :math:`d\rho/dt` with zero flux through the walls
    dissipation : 0-d Tensor, :math:`h^p \sum_{\mathrm{faces}} \rho_{\mathrm{up}} v^2`
    speed : (p,) Tensor, :math:`\max |v_d|` over the faces of each axis
    grad_max : 0-d Tensor, :math:`\max |v|` over the faces whose upwind cell holds mass

    Examples
    --------
    A linear potential :math:`\psi = -\xi` drives mass to the right at speed 1:

    >>> rho = torch.tensor([0.0, 1.0, 0.0]); psi = -torch.tensor([0.0, 1.0, 2.0])
    >>> transport_rates(rho, psi, (1.0,))[0]
    tensor([ 0., -1.,  1.])
    """
    drho = torch.zeros_like(rho)
    dissipation = rho.new_zeros(())
    grad_max = rho.new_zeros(())
    speed = rho.new_zeros(rho.ndim)
    for d, hd in enumerate(h):
        n = rho.shape[d]
        v = (psi.narrow(d, 0, n - 1) - psi.narrow(d, 1, n - 1)) / hd
        upwind = torch.where(v > 0, rho.narrow(d, 0, n - 1), rho.narrow(d, 1, n - 1))
        flux = upwind * v
        walls = [0, 0] * (rho.ndim - 1 - d) + [1, 1]  # F.pad lists the last axis first
        drho -= torch.diff(torch.nn.functional.pad(flux, walls), dim=d) / hd
        dissipation = dissipation + (flux * v).sum()
        speed[d] = v.abs().max()
        grad_max = torch.maximum(grad_max, torch.where(upwind > 0, v.abs(), 0).max())
    return drho, dissipation * float(np.prod(h)), speed, grad_max


def _network(grid: Grid, centres: torch.Tensor, rho: torch.Tensor, unit):
    from .network import ShallowNetwork  # the grid is a weighted measure on the cell centres

    return ShallowNetwork(centres, unit, weights=grid.weights(rho))


def grid_flow(rho, grid: Grid, energy, unit, t_end: float, dt: float, *, cfl: float = 0.5, substep: bool = True,
              snapshots: int = 11, callback: Callable[[dict], None] | None = None) -> GridResult:
    r"""Solve the Wasserstein gradient flow :math:`\partial_t \rho = \nabla \cdot (\rho \nabla \psi_\rho)` on a grid.

    Forward Euler steps of ``dt`` on the upwind scheme of this module, from ``rho`` at
    :math:`t = 0` to ``t_end`` (the last step is shortened to land on it). Before each Euler
    update the CFL number :math:`\tau \sum_d \max |v_d| / h_d` of the step :math:`\tau` is checked
    against ``cfl``; where it is exceeded the step is split into as many sub-steps as needed, each
    checked again with the velocity of its own start.

    Parameters
    ----------
    rho : Tensor of ``grid.shape``, the initial density (non-negative, :math:`\sum \rho h^p = 1`),
        e.g. :meth:`Grid.product_law` or :meth:`Grid.histogram`; float64 keeps mass to round-off.
    grid : Grid, over the unit's ``p = grid.dim`` parameters, large enough that the density stays inside
    energy : Energy, with ``value(network)`` and ``first_variation(network, xi)``
    unit : the unit :math:`\Phi` of ``energy``, with ``unit.p == grid.dim``
    t_end : float > 0
    dt : float > 0, the requested step
    cfl : float in (0, 1], the bound on :math:`\Delta t \sum_d \max |v_d| / h_d` (1/2 guarantees positivity)
    substep : bool
        Split steps that violate the bound (default); ``False`` raises ``ValueError`` instead.
    snapshots : int >= 2, densities stored at evenly spaced step indices (first and last included)
    callback : callable, optional, called with a dict (``step``, ``t``, ``energy``, ``mass``, ``cfl``,
        ``substeps``) after every requested step

    Returns
    -------
    GridResult

    Raises
    ------
    ValueError
        A bad argument (named), or ``dt`` violating the CFL bound with ``substep=False``.

    References
    ----------
    Carrillo, Chertock & Huang, "A finite-volume method for nonlinear nonlocal equations with a
    gradient flow structure", Commun. Comput. Phys. 17 (2015); Rotskoff, Jelassi, Bruna &
    Vanden-Eijnden, "Neuron birth-death dynamics accelerates gradient descent" (ICML 2019).
    """
    if not isinstance(grid, Grid):
        raise TypeError(f"grid: {type(grid).__name__}; expected a monge.meanfield.grid.Grid")
    rho = torch.as_tensor(rho)
    if not rho.is_floating_point():
        raise TypeError(f"rho: dtype {rho.dtype}; expected a floating dtype (float64 keeps mass to round-off)")
    if tuple(rho.shape) != grid.shape:
        raise ValueError(f"rho: shape {tuple(rho.shape)}; expected the grid's shape {grid.shape}")
    if not torch.isfinite(rho).all() or (rho < 0).any():
        raise ValueError("rho: expected a finite non-negative density")
    mass0 = float(rho.sum()) * grid.volume
    if abs(mass0 - 1) > 1e-6:
        raise ValueError(f"rho: total mass sum(rho) h^p = {mass0:.6g}; expected 1 (a probability density)")
    if getattr(unit, "p", grid.dim) != grid.dim:
        raise ValueError(f"unit: {getattr(unit, 'p')} parameters but the grid has dimension {grid.dim}; "
                         "expected one grid axis per parameter")
    t_end = _positive(t_end, "t_end")
    dt = _positive(dt, "dt")
    cfl = _positive(cfl, "cfl")
    if cfl > 1:
        raise ValueError(f"cfl: {cfl}; expected a bound in (0, 1] (1/2 guarantees positivity)")
    snapshots = _positive_int(snapshots, "snapshots")
    if snapshots < 2:
        raise ValueError(f"snapshots: {snapshots}; expected at least 2 (the first and last densities)")

    n_steps = max(1, math.ceil(t_end / dt - 1e-9))
    keep = set(np.unique(np.round(np.linspace(0, n_steps, min(snapshots, n_steps + 1))).astype(int)).tolist())
    centres = grid.centres(rho.dtype, rho.device)
    h = grid.h
    edge = torch.ones(grid.shape, dtype=torch.bool, device=rho.device)
    edge[(slice(1, -1),) * grid.dim] = False

    def state(rho):
        network = _network(grid, centres, rho, unit)
        psi = energy.first_variation(network, centres).reshape(grid.shape).to(rho)
        return network, psi, *transport_rates(rho, psi, h)

    records = {name: [] for name in ("times", "energy", "mass", "rho_min", "dissipation", "grad_max", "boundary")}
    cfls, substeps, snaps, snap_times = [], [], [], []

    def record(t, rho, network, dissipation, grad_max):
        records["times"].append(t)
        records["energy"].append(float(energy.value(network)))
        records["mass"].append(float(rho.sum()) * grid.volume)
        records["rho_min"].append(float(rho.min()))
        records["dissipation"].append(float(dissipation))
        records["grad_max"].append(float(grad_max))
        records["boundary"].append(float(rho[edge].sum()) * grid.volume)

    t = 0.0
    network, psi, drho, dissipation, speed, grad_max = state(rho)
    record(t, rho, network, dissipation, grad_max)
    snaps.append(rho.clone()), snap_times.append(t)
    for step in range(1, n_steps + 1):
        tau_total = min(dt, t_end - t) if step == n_steps else dt
        rate = float((speed / speed.new_tensor(h)).sum())
        cfls.append(tau_total * rate)
        if not substep and tau_total * rate > cfl:
            raise ValueError(f"dt: {dt:g} violates the CFL condition at t = {t:.4g}: dt * sum_d max|v_d| / h_d = "
                             f"{tau_total * rate:.3g} > {cfl:g}; take dt <= {cfl / rate:.3g}, a coarser grid, "
                             "or substep=True")
        remaining, taken = tau_total, 0
        while remaining > 0:
            rate = float((speed / speed.new_tensor(h)).sum())
            tau = remaining if rate * remaining <= cfl else cfl / rate
            if remaining - tau < 1e-12 * tau_total:
                tau = remaining
            rho = rho + tau * drho
            remaining -= tau
            taken += 1
            network, psi, drho, dissipation, speed, grad_max = state(rho)
        substeps.append(taken)
        t = step * dt if step < n_steps else t_end
        record(t, rho, network, dissipation, grad_max)
        if step in keep:
            snaps.append(rho.clone()), snap_times.append(t)
        if callback is not None:
            callback({"step": step, "t": t, "energy": records["energy"][-1], "mass": records["mass"][-1],
                      "cfl": cfls[-1], "substeps": taken})
    extra = sum(substeps) - len(substeps)
    if extra:
        log.info("grid_flow: dt = %g exceeded the CFL bound %g on %d of %d steps (largest CFL number %.3g); "
                 "took %d extra sub-steps", dt, cfl, sum(s > 1 for s in substeps), n_steps, max(cfls), extra)

    def tensor(values):
        return torch.tensor(values, dtype=rho.dtype, device=rho.device)

    return GridResult(times=tensor(records["times"]), energy=tensor(records["energy"]), mass=tensor(records["mass"]),
                      rho_min=tensor(records["rho_min"]), dissipation=tensor(records["dissipation"]),
                      grad_max=tensor(records["grad_max"]), cfl=tensor(cfls),
                      substeps=torch.tensor(substeps, dtype=torch.long), boundary_mass=tensor(records["boundary"]),
                      snapshot_times=tensor(snap_times), snapshots=torch.stack(snaps), density=rho, grid=grid)


def grid_wasserstein(particles, rho, grid: Grid, weights=None, *, p: float = 2.0, threshold: float = 1e-12,
                     method: str = "exact", **options) -> float:
    r"""The Wasserstein distance between a cloud of particles and a grid density.

    The density is the weighted measure :math:`\sum_k \rho_k h^p \delta_{\xi_k}` on the cell
    centres; cells whose mass is below ``threshold`` times the largest are dropped and the rest
    renormalised (an error in :math:`W_p^p` of at most the dropped mass times the box's diameter
    to the ``p``). The transport problem is solved by :func:`monge.transport.wasserstein`
    (``method="exact"``: the linear programme, :math:`N \times K` costs in float64).

    Parameters
    ----------
    particles : (N, p) Tensor or ndarray
    rho : Tensor of ``grid.shape``
    grid : Grid
    weights : (N,) particle weights, optional (uniform)
    p : float, the exponent of :math:`W_p`
    threshold : float in [0, 1), relative mass below which a cell is dropped
    method, options : passed to :func:`monge.transport.wasserstein`

    Returns
    -------
    float, :math:`W_p`
    """
    from monge.transport import wasserstein

    xi = torch.as_tensor(particles).detach().to(torch.float64).cpu()
    if xi.ndim != 2 or xi.shape[1] != grid.dim:
        raise ValueError(f"particles: shape {tuple(xi.shape)}; expected (N, {grid.dim})")
    mass = grid.weights(torch.as_tensor(rho).detach().to(torch.float64).cpu())
    if mass.shape[0] != grid.size:
        raise ValueError(f"rho: {mass.shape[0]} values; expected the grid's {grid.size} cells")
    kept = mass > threshold * mass.max()
    b = mass[kept] / mass[kept].sum()
    a = None if weights is None else torch.as_tensor(weights).detach().to(torch.float64).cpu()
    if a is not None:
        a = a / a.sum()
    return float(wasserstein(xi, grid.centres()[kept], a, b, p=p, method=method, **options))
