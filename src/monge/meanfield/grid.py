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

Cost: units are :math:`\Phi = \omega h(\theta, x)` with :math:`\omega` on axis 0, so
:math:`\psi_\rho(\omega, \theta) = \omega\, g(\theta) + V(\omega, \theta)` and :math:`f_\rho` depends on
:math:`\rho` only through each column's :math:`\sum_\omega w\, \omega`. Each step hands the energy
one particle per column of cells and asks for :math:`\psi` at one point per column: for the
Gaussian bump on a ``160 x 80`` grid, 80 particles and 80 points instead of 12,800 of each.

Examples
--------
>>> from monge.meanfield import examples
>>> from monge.meanfield.grid import RBF_BOX, Grid, grid_flow, rbf_law
>>> _, energy = examples.rbf(n=1)
>>> grid = Grid(*RBF_BOX, shape=(64, 32))
>>> result = grid_flow(grid.product_law(rbf_law()), grid, energy, t_end=1.0, dt=0.05)
>>> bool(result.energy[-1] < result.energy[0]), abs(float(result.mass[-1]) - 1) < 1e-12
(True, True)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from monge.errors import InputError, InputTypeError

from .cells import RBF_BOX, Grid, _positive, _positive_int, grid_wasserstein, rbf_law

__all__ = ["RBF_BOX", "Grid", "GridResult", "cfl_number", "grid_flow", "grid_wasserstein", "rbf_law", "transport_rates"]

log = logging.getLogger(__name__)


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


def _compress(grid: Grid, centres: torch.Tensor, rho: torch.Tensor, energy):
    r"""The grid's measure as a network with one particle per column of cells, and the potential correction.

    Units are :math:`\Phi = \omega h(\theta, x)` with :math:`\omega` on axis 0, so :math:`f_\rho`
    depends on the density only through :math:`\beta(\theta) = \sum_\omega w_{\omega, \theta} \omega`:
    the column of cells :math:`(\omega_a, \theta_k)` becomes one particle
    :math:`(\bar\omega_k, \theta_k)` of mass :math:`W_k = \sum_a w_{a k}`,
    :math:`\bar\omega_k = \sum_a w_{a k} \omega_a / W_k`, with the same :math:`f_\rho`, hence the
    same :math:`\psi_\rho` at every point; only :math:`\int V d\mu` differs, by ``correction``.
    The energy's work drops from :math:`K^2` to :math:`K \cdot K / n_\omega` kernel entries.
    """
    from .network import ShallowNetwork

    w = grid.weights(rho).reshape(grid.shape[0], -1)
    omega = centres[:, 0].reshape(grid.shape[0], -1)
    theta = centres[:, 1:].reshape(grid.shape[0], -1, grid.dim - 1)[0]
    mass = w.sum(0)
    mean = torch.where(mass > 0, (w * omega).sum(0) / torch.where(mass > 0, mass, 1), 0)
    network = ShallowNetwork(torch.cat([mean[:, None], theta], 1), energy.unit, weights=mass / mass.sum())
    correction = 0.0
    if energy.lam:  # int V dmu = lam/2 sum w |xi|^2: full grid minus the columns' particles
        correction = 0.5 * energy.lam * float((w * omega.square()).sum() - mass @ mean.square())
    return network, correction


def _field(grid: Grid, energy, like: torch.Tensor):
    """``state(rho) -> ((network, correction), psi, drho, dissipation, speed, grad_max)`` on the grid."""
    centres = grid.centres(like.dtype, like.device)
    omega = centres[:, 0].reshape(grid.shape[0], -1)
    columns = centres.reshape(grid.shape[0], -1, grid.dim)[0].clone()  # (omega_0, theta_k) per column
    columns[:, 0] = 1.0
    potential = 0.5 * energy.lam * centres.square().sum(1).reshape(omega.shape)

    def state(rho):
        network, correction = _compress(grid, centres, rho, energy)
        # psi(omega, theta) = omega * alpha g(theta) + V(omega, theta): alpha g from psi at omega = 1
        slope = energy.first_variation(network, columns).to(rho) - 0.5 * energy.lam * columns.square().sum(1)
        psi = (omega * slope + potential).reshape(grid.shape)
        return (network, correction), psi, *transport_rates(rho, psi, grid.h)

    return state


def cfl_number(rho, grid: Grid, energy, dt: float) -> float:
    r"""The CFL number :math:`\Delta t \sum_d \max |v_d| / h_d` of one step ``dt`` from the density ``rho``.

    :func:`grid_flow` keeps it at most ``cfl`` (1/2); a caller can check a ``dt`` before a run.
    :math:`v = -\nabla \psi_\rho` is the velocity on the faces of the cells of width :math:`h_d`.

    Parameters
    ----------
    rho : Tensor of ``grid.shape``, the density
    grid : Grid
    energy : Energy, whose unit has ``grid.dim`` parameters
    dt : float > 0, the step

    Returns
    -------
    float
    """
    rho = torch.as_tensor(rho)
    speed = _field(grid, energy, rho)(rho)[4]
    return _positive(dt, "dt") * float((speed / speed.new_tensor(grid.h)).sum())


def grid_flow(rho, grid: Grid, energy, t_end: float, dt: float, *, cfl: float = 0.5, substep: bool = True,
              snapshots: int = 11, callback: Callable[[dict], None] | None = None) -> GridResult:
    r"""Solve the Wasserstein gradient flow :math:`\partial_t \rho = \nabla \cdot (\rho \nabla \psi_\rho)` on a grid.

    Forward Euler on the upwind scheme of this module, from ``rho`` at :math:`t = 0` to ``t_end``
    in ``ceil(t_end / dt)`` equal steps (as the particles' :func:`~monge.meanfield.flow`, so the
    records of both fall at the same times). Before each Euler
    update the CFL number :math:`\tau \sum_d \max |v_d| / h_d` of the step :math:`\tau` is checked
    against ``cfl``; where it is exceeded the step is split into as many sub-steps as needed, each
    checked again with the velocity of its own start.

    Parameters
    ----------
    rho : Tensor of ``grid.shape``, the initial density (non-negative, :math:`\sum \rho h^p = 1`),
        e.g. :meth:`Grid.product_law` or :meth:`Grid.histogram`; float64 keeps mass to round-off.
    grid : Grid, over the unit's ``p = grid.dim`` parameters, large enough that the density stays inside
    energy : Energy, whose unit has ``p == grid.dim`` parameters (mean-field scaling: a density has no N)
    t_end : float > 0
    dt : float > 0, the requested step
    cfl : float in (0, 1], the bound on :math:`\Delta t \sum_d \max |v_d| / h_d` (1/2 guarantees positivity)
    substep : bool
        Split steps that violate the bound (default); ``False`` raises :class:`~monge.errors.InputError` instead.
    snapshots : int >= 2, densities stored at evenly spaced step indices (first and last included)
    callback : callable, optional, called with a dict (``step``, ``t``, ``energy``, ``mass``, ``cfl``,
        ``substeps``) after every requested step

    Returns
    -------
    GridResult

    Raises
    ------
    InputError
        A bad argument (named), or ``dt`` violating the CFL bound with ``substep=False``.

    References
    ----------
    Carrillo, Chertock & Huang, "A finite-volume method for nonlinear nonlocal equations with a
    gradient flow structure", Commun. Comput. Phys. 17 (2015); Rotskoff, Jelassi, Bruna &
    Vanden-Eijnden, "Neuron birth-death dynamics accelerates gradient descent" (ICML 2019).
    """
    if not isinstance(grid, Grid):
        raise InputTypeError(f"grid: {type(grid).__name__}; expected a monge.meanfield.grid.Grid")
    if not isinstance(rho, (torch.Tensor, np.ndarray)):
        raise InputTypeError(f"rho: {type(rho).__name__}; expected a Tensor of the grid's shape {grid.shape}")
    rho = torch.as_tensor(rho)
    if not rho.is_floating_point():
        raise InputTypeError(f"rho: dtype {rho.dtype}; expected a floating dtype (float64 keeps mass to round-off)")
    if tuple(rho.shape) != grid.shape:
        raise InputError(f"rho: shape {tuple(rho.shape)}; expected the grid's shape {grid.shape}")
    if not torch.isfinite(rho).all() or (rho < 0).any():
        raise InputError("rho: expected a finite non-negative density")
    mass0 = float(rho.sum()) * grid.volume
    if abs(mass0 - 1) > 1e-6:
        raise InputError(f"rho: total mass sum(rho) h^p = {mass0:.6g}; expected 1 (a probability density)")
    unit = getattr(energy, "unit", None)
    if not (callable(getattr(energy, "first_variation", None)) and hasattr(unit, "p")):
        raise InputTypeError(f"energy: {type(energy).__name__}; expected a monge.meanfield.Energy")
    if unit.p != grid.dim:
        raise InputError(f"grid: dimension {grid.dim} but the energy's unit {unit!r} has p={unit.p} parameters "
                         f"{unit.names}; expected one grid axis per parameter")
    t_end = _positive(t_end, "t_end")
    dt = _positive(dt, "dt")
    cfl = _positive(cfl, "cfl")
    if cfl > 1:
        raise InputError(f"cfl: {cfl}; expected a bound in (0, 1] (1/2 guarantees positivity)")
    snapshots = _positive_int(snapshots, "snapshots")
    if snapshots < 2:
        raise InputError(f"snapshots: {snapshots}; expected at least 2 (the first and last densities)")

    n_steps = max(1, math.ceil(t_end / dt - 1e-9))
    step_size = t_end / n_steps
    keep = set(np.unique(np.round(np.linspace(0, n_steps, min(snapshots, n_steps + 1))).astype(int)).tolist())
    h = grid.h
    edge = torch.ones(grid.shape, dtype=torch.bool, device=rho.device)
    edge[(slice(1, -1),) * grid.dim] = False
    state = _field(grid, energy, rho)

    records = {name: [] for name in ("times", "energy", "mass", "rho_min", "dissipation", "grad_max", "boundary")}
    cfls, substeps, snaps, snap_times = [], [], [], []

    def record(t, rho, network, dissipation, grad_max):
        records["times"].append(t)
        records["energy"].append(float(energy.value(network[0])) + network[1])
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
        tau_total = step_size
        rate = float((speed / speed.new_tensor(h)).sum())
        cfls.append(tau_total * rate)
        if not substep and tau_total * rate > cfl:
            raise InputError(f"dt: {dt:g} violates the CFL condition at t = {t:.4g}: dt * sum_d max|v_d| / h_d = "
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
        t = step * step_size
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
