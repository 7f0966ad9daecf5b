r"""Sinkhorn's iterations in the log domain: alternating, symmetric, unbalanced.

Each update is a soft c-transform (:class:`~monge.transport._softmin.Softmin`), one per
annealing value of eps, then at the target eps until the L1 error of the column marginal is
below ``tol`` (the rows are exact: f is updated last).

- Alternating (the general case): :math:`g \leftarrow g + \omega (T f - g)` over-relaxed, then
  :math:`f \leftarrow T g` exactly; plain (:math:`\omega = 1`) for the first two iterations at eps
  and from the first iteration whose error grows.
- Symmetric (the same cloud and weights on both sides, as in the Sinkhorn divergence): one
  potential averaged with its transform, :math:`f \leftarrow (f + T f) / 2`, which converges in
  a few iterations where the alternating updates crawl (Feydy et al., AISTATS 2019, section 3.1).
- Unbalanced (``rho``): each transform is scaled by :math:`\tau = \rho / (\rho + \varepsilon)`,
  and the potentials are translated optimally at each iteration (:func:`translate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ._softmin import Softmin


def tau(rho: float | None, eps: float) -> float:
    r"""The factor :math:`\rho / (\rho + \varepsilon)` of an unbalanced soft c-transform (1 when balanced)."""
    return 1.0 if rho is None else rho / (rho + eps)


@dataclass
class Progress:
    """Per-problem bookkeeping of the iterations at the target eps (a batch of problems)."""

    like: torch.Tensor
    max_iter: int
    tol: float
    active: torch.Tensor = field(init=False)
    n_iter: torch.Tensor = field(init=False)
    error: torch.Tensor = field(init=False)
    halfway: torch.Tensor | None = field(init=False, default=None)
    since_halfway: int = field(init=False, default=0)

    def __post_init__(self):
        batch = self.like.shape[0]
        self.active = torch.ones(batch, dtype=torch.bool, device=self.like.device)
        self.n_iter = torch.zeros(batch, dtype=torch.long, device=self.like.device)
        self.error = torch.full((batch,), math.inf, dtype=self.like.dtype, device=self.like.device)

    def record(self, k: int, error: torch.Tensor) -> bool:
        """Record the errors of iteration ``k``; False once every problem has converged."""
        self.error = torch.where(self.active, error, self.error)
        if k == self.max_iter // 2:
            self.halfway = self.error
        self.since_halfway = k - self.max_iter // 2
        self.active &= ~(self.error <= self.tol)
        if not bool(self.active.any()):
            return False
        self.n_iter += self.active
        return True

    def keep(self, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
        """``new`` for the problems still iterating, ``old`` for those that have converged."""
        return torch.where(self.active.view(-1, 1), new, old)

    def outcome(self, annealing: int):
        """``(n_iter, error, converged, (error halfway, iterations since))`` for the warning."""
        halfway = self.halfway if self.halfway is not None else self.error
        return self.n_iter + annealing, self.error, ~self.active, (halfway, max(0, self.since_halfway))


def column_error(g, g_new, b3, t_eps: float, rho: float | None) -> torch.Tensor:
    r"""L1 error of the column marginal of the plan (f, g) against its target :math:`b e^{-g/\rho}`
    (b when balanced), where ``g_new`` is the transform of f: :math:`b e^{-g/\rho} |e^{(g -
    g_{new})/(\tau\varepsilon)} - 1|`."""
    column = torch.expm1((g - g_new) / t_eps)
    if rho is not None:
        column = column * torch.exp(-g / rho)
    return torch.where(b3 > 0, b3 * column, 0.0).abs().sum(1)


def translate(f, g, log_a, log_b, rho: float, active):
    r"""The best translation :math:`(f + \lambda, g - \lambda)` of unbalanced potentials.

    The entropic term does not see it; the marginal terms :math:`-\rho \langle a, e^{-f/\rho}\rangle
    - \rho \langle b, e^{-g/\rho}\rangle` are maximal at :math:`\lambda = \frac{\rho}{2}
    \log \frac{\langle a, e^{-f/\rho}\rangle}{\langle b, e^{-g/\rho}\rangle}`. Without it the
    constant mode decays like :math:`\tau^{2k}`: a million iterations at rho / eps = 1e6
    (Sejourne et al., "Faster unbalanced optimal transport: translation invariant Sinkhorn and 1-D
    Frank-Wolfe", AISTATS 2022).
    """
    lam = rho / 2 * (torch.logsumexp(log_a - f / rho, 1) - torch.logsumexp(log_b - g / rho, 1))
    lam = torch.where(active & torch.isfinite(lam), lam, 0.0).view(-1, 1)
    return f + lam, g - lam


def alternating(to_z: Softmin, to_x: Softmin, log_a, log_b, b3, steps: list[float], rho: float | None,
                max_iter: int, tol: float, relaxation: float):
    """Potentials ``(f, g)`` and :meth:`Progress.outcome` of the alternating iterations."""
    batch = log_a.shape[0]
    g = torch.zeros_like(log_b)
    f = tau(rho, steps[0]) * to_z(log_b, log_a.new_full((batch,), steps[0]))
    for value in steps[1:-1]:  # annealing: one iteration per eps
        e = log_a.new_full((batch,), value)
        g = tau(rho, value) * to_x(log_a + f / value, e)
        f = tau(rho, value) * to_z(log_b + g / value, e)
    eps = steps[-1]
    t, target = tau(rho, eps), log_a.new_full((batch,), eps)
    progress = Progress(log_a, max_iter, tol)
    omega = torch.full((batch, 1), float(relaxation), dtype=log_a.dtype, device=log_a.device)
    for k in range(max_iter):
        g_new = t * to_x(log_a + f / eps, target)
        previous = progress.error
        if not progress.record(k, column_error(g, g_new, b3, t * eps, rho)):
            break
        # over-relaxation of g, with plain Sinkhorn from the first iteration whose error grows
        omega = torch.where((progress.error > previous).view(-1, 1), 1.0, omega)
        step = omega if k >= 2 else 1.0  # plain while leaving the annealing's last eps
        g = progress.keep(g + step * (g_new - g), g)
        if rho is not None:
            f, g = translate(f, g, log_a, log_b, rho, progress.active)
        f = progress.keep(t * to_z(log_b + g / eps, target), f)
    return f, g, progress.outcome(len(steps) - 1)


def symmetric(softmin: Softmin, log_a, a3, steps: list[float], rho: float | None, max_iter: int, tol: float):
    """Potentials ``(f, g)`` (rows made exact: f is one transform of g) and :meth:`Progress.outcome`
    of the averaged iterations of a symmetric problem."""
    batch = log_a.shape[0]
    f = tau(rho, steps[0]) * softmin(log_a, log_a.new_full((batch,), steps[0]))
    for value in steps[1:-1]:
        f = (f + tau(rho, value) * softmin(log_a + f / value, log_a.new_full((batch,), value))) / 2
    eps = steps[-1]
    t, target = tau(rho, eps), log_a.new_full((batch,), eps)
    progress = Progress(log_a, max_iter, tol)
    for k in range(max_iter):
        f_new = t * softmin(log_a + f / eps, target)
        if not progress.record(k, column_error(f, f_new, a3, t * eps, rho)):
            break
        f = progress.keep((f + f_new) / 2, f)
    # the plan of (f, f) has equal rows and columns; make the rows exact, as the alternating updates do
    return t * softmin(log_a + f / eps, target), f, progress.outcome(len(steps) - 1)
