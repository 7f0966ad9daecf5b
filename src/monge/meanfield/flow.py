r"""The particle flow: the Wasserstein gradient flow :math:`\partial_t \mu = \nabla\cdot(\mu \nabla\psi_\mu)`
of :math:`\mu_N = \sum_i a_i \delta_{\xi_i}`,

.. math:: \frac{d\xi_i}{dt} = -\tau \nabla\psi_\mu(\xi_i) = -\frac{\tau}{a_i} \nabla_{\xi_i} F(\mu_N),

:math:`\tau = 1` in the mean-field scaling (N times the gradient of :math:`F(\mu_N)` in
:math:`\xi_i` for :math:`a_i = 1/N`) and :math:`\tau = 1/\alpha^2 = 1/N` in the lazy scaling (the
gradient flow of :math:`F/\alpha^2`, Chizat & Bach 2019: :math:`f_\mu` moves at the same speed at
:math:`t = 0`, the particles :math:`\sqrt N` times slower). Along the flow

.. math:: \frac{dF}{dt} = -\tau \sum_i a_i |\nabla\psi_\mu(\xi_i)|^2 \quad (\text{the dissipation}).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from monge.errors import Diverged, InputError, InputTypeError

from . import _checks, distributed as _dist
from .energy import Energy
from .network import ShallowNetwork


class FlowDiverged(Diverged):
    """The step ``dt`` is too large: the energy or the particles became non-finite, or the energy rose.

    The message names the time and the step where it happened, and the setting to change (the time
    step ``dt``, the ``--dt`` of ``monge flow``).
    """


#: What a diverged flow's message advises.
REDUCE_DT = "reduce the time step dt (--dt)"


# A gradient flow's energy never rises; a fixed step that raises it by more than this fraction of
# its value (plus a floor for energies near 0) overshoots the minimum along its direction.
ENERGY_RISE = 1e-3


@dataclass
class FlowResult:
    """A particle flow's record (numpy arrays, float64 except the snapshots).

    Attributes
    ----------
    times : (T,) record times
    energy : (T,) :math:`F(\\mu_t)`
    grad_max : (T,) :math:`\\max_i |\\nabla\\psi_{\\mu_t}(\\xi_i)|`
    dissipation : (T,) :math:`-dF/dt = \\tau \\sum_i a_i |\\nabla\\psi_{\\mu_t}(\\xi_i)|^2`
    snapshot_times : (S,)
    snapshots : (S, N, p) particles at ``snapshot_times`` (dtype of the particles)
    network : the final :class:`ShallowNetwork` (all particles, also after a sharded run)
    method : the integrator; n_steps : steps taken; n_rejected : rejected steps (``"adaptive"``)
    """

    times: np.ndarray
    energy: np.ndarray
    grad_max: np.ndarray
    dissipation: np.ndarray
    snapshot_times: np.ndarray
    snapshots: np.ndarray
    network: ShallowNetwork
    method: str
    n_steps: int
    n_rejected: int = 0


def flow(network: ShallowNetwork, energy: Energy, t_end: float, dt: float, method: str = "euler",
         record_every: float | None = None, snapshots: int = 21, progress: Callable[[float, float], None] | None = None,
         tol: float = 1e-4, distributed: bool | None = None) -> FlowResult:
    r"""Integrate :math:`d\xi_i/dt = -\tau\nabla\psi_\mu(\xi_i)` from 0 to ``t_end``.

    Parameters
    ----------
    network : the initial :class:`ShallowNetwork` (not modified)
    energy : the :class:`Energy` (closed-form gradients where available, else one blocked sweep over
        the quadrature points per evaluation; no autograd on the hot path)
    t_end : final time > 0
    dt : step > 0; fixed-step methods take ``ceil(t_end / dt)`` equal steps (so ``t_end`` exactly);
        for ``"adaptive"`` the first step
    method : {"euler", "rk4", "adaptive"}; ``"adaptive"`` is Bogacki-Shampine 3(2) with error
        control: the local error of the particles, in the norm ``max |err| / (tol (1 + |xi|))``, at most 1
    record_every : time between records of energy, grad_max and dissipation (default: every step)
    snapshots : number of evenly spaced particle snapshots, 0 and ``t_end`` included (1: the final
        particles only, 0: none)
    progress : called as ``progress(t, energy)`` at every record
    tol : tolerance of ``"adaptive"``
    distributed : shard the particles over the processes of ``torch.distributed`` (default: when it
        is initialised with more than one process); every process returns the same result

    Returns
    -------
    FlowResult

    Raises
    ------
    FlowDiverged
        if the energy or the particles become non-finite, or a fixed step raises the energy by more
        than :data:`ENERGY_RISE` of its value (``dt`` too large for the flow).

    Examples
    --------
    >>> from monge.meanfield import examples
    >>> net, energy = examples.rbf(n=50, seed=0)
    >>> result = flow(net, energy, t_end=1.0, dt=0.01)
    >>> bool(result.energy[-1] < result.energy[0])
    True
    """
    if not isinstance(network, ShallowNetwork):
        raise InputTypeError(f"network: expected a ShallowNetwork, found {type(network).__name__}")
    if not isinstance(energy, Energy):
        raise InputTypeError(f"energy: expected an Energy, found {type(energy).__name__}")
    energy._check(network)
    t_end = _checks.positive(t_end, "t_end")
    dt = _checks.positive(dt, "dt")
    _checks.choice(method, "method", INTEGRATORS)
    record_every = None if record_every is None else _checks.positive(record_every, "record_every")
    tol = _checks.positive(tol, "tol")
    if int(snapshots) != snapshots or snapshots < 0:
        raise InputError(f"snapshots: expected a number of snapshots >= 0, found {snapshots!r}")
    if progress is not None and not callable(progress):
        raise InputTypeError(f"progress: expected a callable (t, energy) or None, found {type(progress).__name__}")
    sharded = _dist.active() if distributed is None else bool(distributed)
    if sharded and not _dist.active():
        raise InputError("distributed=True but torch.distributed is not initialised with more than one process")
    net = _dist.shard(network) if sharded and network.group is None else network
    state = _State(net, energy, t_end, record_every, int(snapshots), progress)
    INTEGRATORS[method](state, dt, tol)
    return state.result(method)


class _State:
    """The particles, the velocity field and the records of one run."""

    def __init__(self, net, energy, t_end, record_every, snapshots, progress):
        self.net, self.energy, self.t_end = net, energy, t_end
        self.tau = 1.0 / net.alpha ** 2
        self.record_every, self.progress = record_every, progress
        self.next_record = 0.0
        self.snapshot_times = np.linspace(0.0, t_end, snapshots) if snapshots > 1 else np.full(snapshots, t_end)
        self.next_snapshot = 0
        self.rows: list[tuple[float, float, float, float]] = []
        self.snaps: list[np.ndarray] = []
        self.snap_t: list[float] = []
        self.n_steps = self.n_rejected = 0

    def velocity(self, xi: torch.Tensor, t: float) -> tuple[float, torch.Tensor, torch.Tensor]:
        """``(F, grad psi, v = -tau grad psi)`` at particles ``xi``."""
        if not bool(torch.isfinite(xi).all()):
            raise self.diverged("the particles became non-finite", t)
        value, grad = self.energy.value_and_gradient(self.net.replace(xi))
        if not np.isfinite(value):
            raise self.diverged("the energy became non-finite", t)
        return value, grad, grad.mul(-self.tau)

    def observe(self, t: float, xi: torch.Tensor, value: float, grad: torch.Tensor, force: bool = False) -> None:
        """Record at ``t`` if a record or snapshot is due (``force``: the final state)."""
        if force or self.record_every is None or t >= self.next_record - 1e-9 * self.t_end:
            sq = grad.square().sum(1)
            group = self.net.group
            dissipation = self.tau * float(_dist.reduce_sum(self.net.mass @ sq, group))
            grad_max = float(_dist.reduce_max(sq.max(), group).sqrt())
            self.rows.append((t, value, grad_max, dissipation))
            if self.record_every is not None:
                while self.next_record <= t + 1e-9 * self.t_end:
                    self.next_record += self.record_every
            if self.progress is not None:
                self.progress(t, value)
        while self.next_snapshot < len(self.snapshot_times) and \
                (force or t >= self.snapshot_times[self.next_snapshot] - 1e-9 * self.t_end):
            if not bool(torch.isfinite(xi).all()):
                raise self.diverged("the particles became non-finite", t)
            full = _dist.gather_rows(xi, self.net.group) if self.net.group is not None else xi
            self.snaps.append(full.detach().cpu().numpy().copy())
            self.snap_t.append(t)
            self.next_snapshot += 1
            if force:
                break

    def diverged(self, what: str, t: float, advice: str = REDUCE_DT) -> FlowDiverged:
        """The error for ``what`` happening at time ``t``, after the steps taken so far."""
        return FlowDiverged(f"flow: {what} at t = {t:.6g} (step {self.n_steps}): {advice}")

    def result(self, method: str) -> FlowResult:
        rows = np.array(self.rows, dtype=np.float64).reshape(-1, 4)
        final = _dist.gather(self.net) if self.net.group is not None else self.net
        p = self.net.unit.p
        snaps = np.stack(self.snaps) if self.snaps else np.zeros((0, final.n, p))
        return FlowResult(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], np.array(self.snap_t), snaps, final,
                          method, self.n_steps, self.n_rejected)


def _fixed(step):
    """A fixed-step integrator from one step function ``step(state, xi, t, h, k1) -> xi``."""

    def run(state: _State, dt: float, tol: float) -> None:
        n = max(1, int(np.ceil(state.t_end / dt - 1e-9)))
        h = state.t_end / n
        xi = state.net.particles.detach().clone()
        previous = math.inf
        for k in range(n + 1):
            t = k * h
            value, grad, v = state.velocity(xi, t)
            if value > previous + ENERGY_RISE * abs(previous) + 1e-12:
                raise state.diverged(f"the energy rose from {previous:.4g} to {value:.4g}", t,
                                     f"a gradient flow's energy never rises: steps of {h:.3g} are too long for this "
                                     f"flow; {REDUCE_DT} or use the adaptive method (--method adaptive)")
            previous = value
            state.observe(t, xi, value, grad, force=k == n)
            if k == n:
                break
            xi = step(state, xi, t, h, v)
            state.n_steps += 1
        state.net = state.net.replace(xi)

    return run


def _euler_step(state, xi, t, h, v):
    return xi.add_(v, alpha=h)


def _rk4_step(state, xi, t, h, k1):
    k2 = state.velocity(xi + 0.5 * h * k1, t + 0.5 * h)[2]
    k3 = state.velocity(xi + 0.5 * h * k2, t + 0.5 * h)[2]
    k4 = state.velocity(xi + h * k3, t + h)[2]
    return xi + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)


def _adaptive(state: _State, dt: float, tol: float) -> None:
    """Bogacki-Shampine 3(2), first same as last; steps clipped to land on snapshot times and t_end."""
    xi = state.net.particles.detach().clone()
    t, h = 0.0, dt
    value, grad, k1 = state.velocity(xi, t)
    state.observe(t, xi, value, grad)
    while t < state.t_end * (1 - 1e-12):
        pending = [s for s in state.snapshot_times if s > t + 1e-12 * state.t_end]
        h = min(h, (pending[0] if pending else state.t_end) - t)
        k2 = state.velocity(xi + 0.5 * h * k1, t)[2]
        k3 = state.velocity(xi + 0.75 * h * k2, t)[2]
        new = xi + h * (2 / 9 * k1 + 1 / 3 * k2 + 4 / 9 * k3)
        try:
            value_new, grad_new, k4 = state.velocity(new, t + h)
            err = (h * (-5 / 72 * k1 + 1 / 12 * k2 + 1 / 9 * k3 - 1 / 8 * k4)).abs()
            ratio = float(_dist.reduce_max((err / (tol * (1 + xi.abs()))).max(), state.net.group))
        except FlowDiverged:
            ratio = float("inf")
        if not np.isfinite(ratio) or ratio > 1:
            state.n_rejected += 1
            h *= 0.2 if not np.isfinite(ratio) else max(0.2, 0.9 * ratio ** (-1 / 3))
            if h < 1e-12 * state.t_end:
                raise state.diverged(f"the adaptive step fell below {h:.3g}", t,
                                     "the flow leaves the finite numbers however short the step; reduce the first "
                                     "step dt (--dt) or the final time t (--t)")
            continue
        t, xi, k1, value, grad = t + h, new, k4, value_new, grad_new
        state.n_steps += 1
        done = t >= state.t_end * (1 - 1e-12)
        state.observe(state.t_end if done else t, xi, value, grad, force=done)
        h *= min(5.0, 0.9 * max(ratio, 1e-10) ** (-1 / 3))
    state.net = state.net.replace(xi)


INTEGRATORS = {"euler": _fixed(_euler_step), "rk4": _fixed(_rk4_step), "adaptive": _adaptive}
