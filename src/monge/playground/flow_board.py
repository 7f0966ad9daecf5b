r"""The flow board: one client's particle flow of chapter 3, stepped in slices of wall-clock time.

The neurons :math:`\xi_i` of a shallow network move by explicit Euler steps of the particle flow of
:mod:`monge.meanfield.flow`,

.. math:: \xi_i \leftarrow \xi_i - \tau\, dt\, \nabla\psi_{\mu}(\xi_i), \qquad
          \tau = 1 \ (\text{mean-field}), \ 1/N \ (\text{lazy}),

with :meth:`monge.meanfield.Energy.value_and_gradient` for :math:`F(\mu)` and
:math:`\nabla\psi_\mu`, and the dissipation :math:`\tau \sum_i a_i |\nabla\psi_\mu(\xi_i)|^2`. The
steps are taken here rather than by :func:`monge.meanfield.flow`, which evaluates the energy once
more at the end of every call: a frame at N = 2000 holds one or two steps, and that evaluation would
double their cost. A step is refused as :func:`~monge.meanfield.flow` refuses it (non-finite
particles or energy, or an energy rise beyond :data:`monge.meanfield.flow.ENERGY_RISE`): the board
then pauses on the last finite state with a message naming the step and ``dt``.

Targets: ``"rbf"`` (:func:`monge.meanfield.examples.rbf`, good or bad start), ``"relu-teacher"``
(:func:`~monge.meanfield.examples.relu_teacher`) and ``"drawn"``: the page's points, interpolated
to :data:`DRAWN_SAMPLES` samples ``(x, f(x))`` on their interval and fitted by Gaussian bumps (the
FILE problems of ``monge flow``, :mod:`monge.experiments._flow_problems`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable

import numpy as np
import torch

from monge.errors import InputError
from monge.experiments._flow_problems import build
from monge.meanfield import Energy, ShallowNetwork, examples
from monge.meanfield.flow import ENERGY_RISE

from . import protocol

#: Samples of a drawn target: its points, averaged where x repeats, interpolated on a uniform grid of
#: their interval (so that the energy weighs the interval evenly, not where the mouse went slowly).
DRAWN_SAMPLES = 200
#: Steps owed by ``speed`` are capped to this many seconds of wall-clock time: a board that cannot keep
#: up (N = 2000) slows down instead of racing to catch up.
BACKLOG_SECONDS = 0.25
#: Parameters whose change rebuilds the particles (from the seed); the others apply to the running flow.
RESET_PARAMS = ("n", "seed", "start", "target", "scaling", "points")


@dataclasses.dataclass
class FlowParams:
    """The flow board's settings (ranges in :mod:`.protocol`).

    Attributes
    ----------
    n : neurons; dt : Euler step; speed : simulated time per second while playing; lam : lambda of
    V = lambda/2 |xi|^2; scaling : "mean-field" | "lazy"; start : "good" | "bad" (the RBF target only:
    every bump starts near y = -2); seed : of the initial particles; target : "rbf" | "relu-teacher" |
    "drawn"; points : (k, 2) ndarray of the drawn target, or None
    """

    n: int = 200
    dt: float = 0.01
    speed: float = 1.0
    lam: float = 0.0
    scaling: str = "mean-field"
    start: str = "good"
    seed: int = 0
    target: str = "rbf"
    points: np.ndarray | None = None

    def public(self) -> dict:
        """The settings as the frame's header shows them (without the points)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "points"}


class FlowBoard:
    """One client's flow: parameters, Euler steps in time slices, frames.

    Parameters
    ----------
    params : FlowParams, optional (the defaults: N = 200 bumps on the RBF target)
    playing : bool, whether the flow runs from the start (the page may pause it)
    clock : callable returning seconds (``time.perf_counter``; tests pass their own)

    Attributes
    ----------
    params : the current FlowParams; playing : bool; t : simulated time; step : steps taken since the
    last reset; energy, dissipation : at the current particles; network, energy_fn : the current
    ShallowNetwork and Energy

    Examples
    --------
    >>> board = FlowBoard(FlowParams(n=20), playing=False)
    >>> e0 = board.energy
    >>> board.run(50)
    50
    >>> board.energy < e0
    True
    """

    def __init__(self, params: FlowParams | None = None, playing: bool = True,
                 clock: Callable[[], float] = time.perf_counter):
        self.params = params if params is not None else FlowParams()
        self.playing = bool(playing)
        self.clock = clock
        self._error: str | None = None
        self._load(self.params)

    # -- settings -------------------------------------------------------------------------------

    def update(self, changes: dict) -> bool:
        """Apply checked parameters (:func:`.protocol.parse`'s ``FlowParams.changes``); return whether
        the particles were rebuilt.

        Changing any of :data:`RESET_PARAMS` rebuilds the particles from the seed (``points`` only
        when the target is ``"drawn"``); ``dt``, ``speed`` and ``lam`` apply to the running flow.
        Nothing changes when the new settings are refused (:class:`InputError`: target ``"drawn"``
        without points).

        Parameters
        ----------
        changes : dict, any subset of the fields of :class:`FlowParams`
        """
        unknown = set(changes) - {f.name for f in dataclasses.fields(FlowParams)}
        if unknown:
            raise InputError(f"params.{sorted(unknown)[0]}: unknown; expected any of {list(protocol.PARAMS)}")
        new = dataclasses.replace(self.params, **changes)
        drawn_moved = "points" in changes and new.target == "drawn" and not _same_points(new.points, self.params.points)
        if drawn_moved or any(getattr(new, k) != getattr(self.params, k) for k in RESET_PARAMS if k != "points"):
            self._load(new)
            self.params = new
            return True
        if new.lam != self.params.lam:
            e = self.energy_fn
            self.energy_fn = Energy(e.target, e.domain, e.unit, lam=new.lam)
            self._evaluate(self.network)  # a new energy: the next step is compared with its value
        if new.dt != self.params.dt or new.speed != self.params.speed:
            self._due = min(self._due, 1.0)
        self.params = new
        return False

    def control(self, action: str) -> None:
        """Apply ``"play"``, ``"pause"``, ``"step"`` (pause, then one step) or ``"reset"`` (the same seed).

        Parameters
        ----------
        action : one of :data:`.protocol.ACTIONS`
        """
        if action == "play":
            if not self.playing:
                self.playing, self._due, self._last = True, 1.0, self.clock()
        elif action == "pause":
            self.playing = False
        elif action == "step":
            self.playing = False
            self._step()
        elif action == "reset":
            self._load(self.params)
        else:
            raise InputError(f"action: {action!r}; expected one of {list(protocol.ACTIONS)}")

    # -- stepping -------------------------------------------------------------------------------

    def advance(self, budget: float = protocol.FRAME_BUDGET) -> int:
        """Take the steps that ``speed`` makes due since the last call, until ``budget`` seconds are spent.

        At least one step is taken when one is due (so a frame always moves, however long a step);
        steps that do not fit are owed to the next call, at most :data:`BACKLOG_SECONDS` of them.
        A diverging step pauses the board (see :meth:`take_error`).

        Parameters
        ----------
        budget : float, seconds of compute

        Returns
        -------
        int, the steps taken
        """
        if not self.playing:
            return 0
        start = self.clock()
        rate = self.params.speed / self.params.dt  # steps per second of wall-clock time
        self._due = min(self._due + (start - self._last) * rate, max(1.0, BACKLOG_SECONDS * rate))
        self._last = start
        taken = 0
        while self._due >= 1 and self.playing:
            if not self._step():
                break
            self._due -= 1
            taken += 1
            if self.clock() - start >= budget:
                break
        return taken

    def seconds_until_due(self) -> float:
        """Wall-clock seconds until the next step is due (``inf`` when paused)."""
        if not self.playing:
            return math.inf
        return max(0.0, (1 - self._due) * self.params.dt / self.params.speed - (self.clock() - self._last))

    def run(self, steps: int) -> int:
        """Take ``steps`` Euler steps now, whether playing or not (tests and scripts); return how many
        were taken (fewer when one diverges).

        Parameters
        ----------
        steps : int >= 0
        """
        for k in range(int(steps)):
            if not self._step():
                return k
        return int(steps)

    def take_error(self) -> str | None:
        """The message of the last divergence, once (then ``None`` until the next)."""
        error, self._error = self._error, None
        return error

    def _step(self) -> bool:
        """One Euler step; False (and paused, the state unchanged) when it diverges."""
        dt = self.params.dt
        new = self.network.particles - (dt * self._tau) * self._grad
        previous = self.energy
        what = None
        if not bool(torch.isfinite(new).all()):
            what = "the particles became non-finite"
        else:
            value, grad = self.energy_fn.value_and_gradient(self.network.replace(new))
            if not math.isfinite(value) or not bool(torch.isfinite(grad).all()):
                what = "the energy became non-finite"
            elif value > previous + ENERGY_RISE * abs(previous) + 1e-12:  # monge.meanfield.flow's rule
                what = f"the energy rose from {previous:.4g} to {value:.4g}"
        if what is not None:
            self.playing = False
            self._error = (f"flow: {what} at step {self.step + 1} (t = {self.t + dt:.4g}) with dt = {dt:g}: a gradient "
                           "flow's energy never rises, so the step is too long; reduce dt, then press play "
                           "(the board keeps the last finite state)")
            return False
        self._accept(self.network.replace(new), value, grad)
        self.t += dt
        self.step += 1
        return True

    # -- frames ---------------------------------------------------------------------------------

    def frame(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The flow frame's header fields and arrays (:mod:`.protocol`; the session adds ``frame``).

        Returns
        -------
        header : dict with ``type``, ``t``, ``step``, ``energy``, ``dissipation``, ``n``, ``paused``,
            ``columns``, ``domain``, ``params``, ``description``
        arrays : ``particles`` (n, 2), ``x`` (G,), ``f_mu`` (G,), ``target`` (G,), float32
        """
        xi = self.network.particles
        if self.params.target == "relu-teacher":  # (omega, the angle of theta in [0, 2 pi)): the
            # direction where the unit's kink points, on the same axis as the inputs' angle
            angle = torch.atan2(xi[:, 2], xi[:, 1]).remainder(2 * math.pi)
            shown = torch.stack([xi[:, 0], angle], 1)
        else:
            shown = xi[:, :2]
        with torch.no_grad():
            f_mu = self.network.f(self._inputs)
        header = {"type": "flow", "t": self.t, "step": self.step, "energy": self.energy,
                  "dissipation": self.dissipation, "n": self.network.n, "paused": not self.playing,
                  "columns": list(self._columns), "domain": list(self._domain), "params": self.params.public(),
                  "description": self._description}
        arrays = {"particles": _float32(shown), "x": _float32(self._grid), "f_mu": _float32(f_mu),
                  "target": self._target_values}
        return header, arrays

    # -- internals ------------------------------------------------------------------------------

    def _load(self, params: FlowParams) -> None:
        """Build the particles and energy of ``params`` from its seed (t = 0); refuse without changing anything."""
        bad = params.start == "bad"
        if params.target == "drawn":
            if params.points is None:
                raise InputError("points: none; expected the drawn target's points [[x, y], ...] with target 'drawn'")
            problem = build("drawn", params.n, params.seed, params.lam, params.scaling, samples=_samples(params.points))
            lo, hi = float(problem.samples[0, 0]), float(problem.samples[-1, 0])
            # the text's energy on D = [lo, hi] with dx (Gauss-Legendre), as the RBF target's on R, rather
            # than the mean over the samples: the flow then moves (hi - lo) times faster
            problem.energy = Energy(problem.energy.target, (lo, hi), problem.network.unit, lam=params.lam)
            problem.description = problem.description.replace("(energy: mean over the samples)",
                                                              f"(energy: the integral over [{lo:.3g}, {hi:.3g}])")
            columns = ("c", "y")
        elif params.target == "relu-teacher":
            problem = build("relu-teacher", params.n, params.seed, params.lam, params.scaling)
            # in float32: the N x N arc-cosine kernel of a step costs 47 ms at N = 2000 instead of 137 ms in
            # float64 (measured), which is the board's frame rate; the picture needs no more digits
            problem.network, problem.energy = examples.relu_teacher(n=params.n, seed=params.seed, lam=params.lam,
                                                                    scaling=params.scaling, dtype=torch.float32)
            lo, hi = 0.0, 2 * math.pi
            columns = ("omega", "theta")
        else:
            problem = build("rbf", params.n, params.seed, params.lam, params.scaling, bad_start=bad)
            lo, hi = protocol.DRAW_X
            columns = ("c", "y")
        grid = np.linspace(lo, hi, protocol.GRID)
        g = torch.from_numpy(grid)
        inputs = torch.stack([g.cos(), g.sin()], 1) if params.target == "relu-teacher" else g[:, None]
        inputs = inputs.to(problem.network.particles.dtype)
        with torch.no_grad():
            target = problem.energy.target(inputs)
        self.energy_fn, self._tau = problem.energy, 1.0 / problem.network.alpha ** 2
        self._grid, self._inputs, self._domain, self._columns = grid, inputs, (lo, hi), columns
        self._target_values = _float32(target)
        self._description = problem.description
        self.t, self.step = 0.0, 0
        self._due, self._last = (1.0 if self.playing else 0.0), self.clock()
        self._evaluate(problem.network)

    def _evaluate(self, network: ShallowNetwork) -> None:
        value, grad = self.energy_fn.value_and_gradient(network)
        if not math.isfinite(value) or not bool(torch.isfinite(grad).all()):
            raise InputError(f"params: the energy of the initial particles is {value}; expected a finite energy")
        self._accept(network, value, grad)

    def _accept(self, network: ShallowNetwork, value: float, grad: torch.Tensor) -> None:
        self.network, self.energy, self._grad = network, float(value), grad
        # -dF/dt along the flow: tau sum_i a_i |grad psi(xi_i)|^2 (monge.meanfield.flow's dissipation)
        self.dissipation = self._tau * float(network.mass @ grad.square().sum(1))


def _samples(points: np.ndarray) -> np.ndarray:
    """A drawn target's ``(DRAWN_SAMPLES, 2)`` samples ``(x, f(x))``: y averaged over repeated x, then
    linearly interpolated on a uniform grid of ``[min x, max x]``."""
    xs, inverse = np.unique(points[:, 0], return_inverse=True)
    ys = np.bincount(inverse, weights=points[:, 1]) / np.bincount(inverse)
    grid = np.linspace(xs[0], xs[-1], DRAWN_SAMPLES)
    return np.stack([grid, np.interp(grid, xs, ys)], 1)


def _same_points(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _float32(values) -> np.ndarray:
    """Values as a float32 array, clipped to float32's finite range (the frames carry no inf)."""
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    limit = float(np.finfo(np.float32).max)
    return np.clip(array, -limit, limit).astype(np.float32)
