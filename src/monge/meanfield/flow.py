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

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .energy import Energy
from .network import ShallowNetwork


class FlowDiverged(FloatingPointError):
    """The energy or the particles became non-finite (the step ``dt`` is too large)."""


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
    network : the initial :class:`ShallowNetwork`
    energy : the :class:`Energy` (closed-form gradients where available, else blocked quadrature;
        no autograd on the hot path)
    t_end : final time > 0
    dt : step > 0 (the first step for ``"adaptive"``)
    method : {"euler", "rk4", "adaptive"}; ``"adaptive"`` is Bogacki-Shampine 3(2) with error
        control at tolerance ``tol`` on the particles
    record_every : time between records of energy, grad_max and dissipation (default: every step)
    snapshots : number of evenly spaced particle snapshots, 0 and ``t_end`` included
    progress : called as ``progress(t, energy)`` at every record
    distributed : shard the particles over the processes of ``torch.distributed`` (default: when it
        is initialised with more than one process); see :mod:`.distributed`
    """
    raise NotImplementedError
