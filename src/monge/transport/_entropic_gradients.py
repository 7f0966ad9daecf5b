r"""Gradients of Sinkhorn's values in every argument: points, cost matrix, weights.

Two values, two rules.

- :math:`\mathrm{OT}_\varepsilon` (``entropic_cost``) is the optimum of the dual, so by the
  envelope theorem its gradient is that of the dual objective at the optimal potentials: the plan
  :math:`P` in the cost matrix (and :math:`\sum_j P_{ij} \nabla_x c(x_i, z_j)` in the points), the
  potentials in the weights. One pass, like one iteration.
- :math:`\langle P_\varepsilon, C\rangle` (``cost``) is not an optimum of anything: the plan moves
  with the data, and its derivative is implicit. Differentiating the optimality conditions
  :math:`P 1 = a e^{-f/\rho}`, :math:`P^\top 1 = b e^{-g/\rho}` (:math:`\rho = \infty` balanced)
  with :math:`P_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}` gives, with
  :math:`H = P \odot C`, :math:`\kappa = \varepsilon / \rho` and the adjoint :math:`(u, v)` solving

  .. math:: \begin{pmatrix} (1 + \kappa) D_{P1} & P \\ P^\top & (1 + \kappa) D_{P^\top 1} \end{pmatrix}
            \begin{pmatrix} u \\ v \end{pmatrix} = \begin{pmatrix} H 1 \\ H^\top 1 \end{pmatrix},

  .. math:: \nabla_C = P \odot \Big(1 + \frac{u_i + v_j - C_{ij}}{\varepsilon}\Big), \quad
            \nabla_a = \frac{H 1 - P v}{a}, \quad \nabla_b = \frac{H^\top 1 - P^\top u}{b}.

  The system is positive semi-definite (its quadratic form is :math:`\sum_{ij} P_{ij} (u_i +
  v_j)^2` plus :math:`\kappa` times a diagonal); it is solved by conjugate gradients with the
  diagonal as preconditioner, one pass over the plan per iteration (on the formed plan, or block
  by block). (Luise et al., "Differential properties of Sinkhorn approximation for learning with
  Wasserstein distance", NeurIPS 2018; Cuturi et al., OTT-JAX's implicit differentiation.)

For balanced problems the weights are normalised to mass 1, so the gradient in ``a`` is defined
along directions that keep the masses equal: it is returned centred and divided by the mass.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from ._autograd import centred
from ._softmin import Softmin

# Conjugate gradients for the adjoint: relative residual and a cap on the passes over the plan.
CG_TOL = 1e-10
CG_MAX_ITER = 2000


@dataclass
class Solution:
    """What a Sinkhorn solve leaves for the backward pass (a batch of B problems)."""

    softmin: Softmin          # rows x -> columns z, dense or online
    f: torch.Tensor           # (B, n) potentials
    g: torch.Tensor           # (B, m)
    log_a: torch.Tensor       # (B, n) log-weights used (normalised when balanced)
    log_b: torch.Tensor       # (B, m)
    eps: torch.Tensor         # (B,)
    rho: float | None
    mass_a: torch.Tensor      # (B,) the user's masses (the normalisation of a balanced problem)
    mass_b: torch.Tensor
    points: bool              # gradients in x, z (else in the cost matrix)
    plan: torch.Tensor | None = None  # (B, n, m) when formed

    @property
    def f_log(self) -> torch.Tensor:
        return self.log_a + self.f / self.eps.view(-1, 1)

    @property
    def h(self) -> torch.Tensor:
        return self.log_b + self.g / self.eps.view(-1, 1)

    def weight_gradient(self, potential: torch.Tensor, other_mass: torch.Tensor,
                        mass: torch.Tensor) -> torch.Tensor:
        r"""The envelope gradient of :math:`\mathrm{OT}_\varepsilon` in one side's weights."""
        if self.rho is None:
            return centred(potential, mass)
        # -rho (e^{-f/rho} - 1) - eps (e^{-f/rho} - m_other): the row condition holds at the optimum
        decay = torch.exp(-potential / self.rho)
        return -self.rho * torch.expm1(-potential / self.rho) - self.eps.view(-1, 1) * (decay - other_mass.view(-1, 1))


def envelope_rule(sol: Solution):
    """The backward rule of :math:`\\mathrm{OT}_\\varepsilon` for the inputs ``(x, z, cost, a, b)``."""

    def rule(grad, wanted):
        scale = grad.reshape(-1, 1, 1)
        grad_x = grad_z = grad_c = grad_a = grad_b = None
        if sol.points and (wanted[0] or wanted[1]):
            gx, gz = sol.softmin.gradients(sol.f_log, sol.h, sol.eps)
            grad_x, grad_z = gx * scale, gz * scale
        if wanted[2]:
            plan = sol.plan if sol.plan is not None else sol.softmin.plan_gradient(sol.f_log, sol.h, sol.eps)
            grad_c = plan * scale
        m_a, m_b = sol.log_a.exp().sum(-1), sol.log_b.exp().sum(-1)
        if wanted[3]:
            grad_a = sol.weight_gradient(sol.f, m_b, sol.mass_a) * scale[:, 0]
        if wanted[4]:
            grad_b = sol.weight_gradient(sol.g, m_a, sol.mass_b) * scale[:, 0]
        return grad_x, grad_z, grad_c, grad_a, grad_b

    return rule


def _adjoint(sol: Solution, kappa: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Solve the adjoint system by preconditioned conjugate gradients, the whole batch at once."""
    f_log, h, eps = sol.f_log, sol.h, sol.eps
    n = f_log.shape[1]
    zeros_u, zeros_v = torch.zeros_like(f_log), torch.zeros_like(h)
    if sol.plan is not None:
        plan = sol.plan
        hc = torch.nan_to_num(plan * sol.softmin.dense, nan=0.0) if sol.softmin.dense is not None else None

        def matvec(u, v):
            return torch.bmm(plan, v.unsqueeze(-1)).squeeze(-1), torch.bmm(u.unsqueeze(1), plan).squeeze(1)
        rows, cols = plan.sum(-1), plan.sum(1)
        if hc is None:
            _, _, hr, hcol = sol.softmin.contractions(f_log, h, eps, zeros_u, zeros_v, with_cost=True)
        else:
            hr, hcol = hc.sum(-1), hc.sum(1)
    else:
        def matvec(u, v):
            pv, pu, _, _ = sol.softmin.contractions(f_log, h, eps, u, v)
            return pv, pu
        ones_u, ones_v = torch.ones_like(f_log), torch.ones_like(h)
        rows, cols, hr, hcol = sol.softmin.contractions(f_log, h, eps, ones_u, ones_v, with_cost=True)
    d_u, d_v = (1 + kappa) * rows, (1 + kappa) * cols
    inv_u = torch.where(d_u > 0, 1.0 / d_u.clamp(min=torch.finfo(d_u.dtype).tiny), 0.0)
    inv_v = torch.where(d_v > 0, 1.0 / d_v.clamp(min=torch.finfo(d_v.dtype).tiny), 0.0)

    def apply(u, v):
        pv, pu = matvec(u, v)
        return d_u * u + pv, pu + d_v * v

    u, v = zeros_u.clone(), zeros_v.clone()
    r_u, r_v = hr.clone(), hcol.clone()
    z_u, z_v = inv_u * r_u, inv_v * r_v
    d_u_, d_v_ = z_u.clone(), z_v.clone()
    rz = (r_u * z_u).sum(1) + (r_v * z_v).sum(1)
    target = CG_TOL * (hr.pow(2).sum(1) + hcol.pow(2).sum(1)).sqrt()
    converged = False
    for _ in range(CG_MAX_ITER):
        residual = (r_u.pow(2).sum(1) + r_v.pow(2).sum(1)).sqrt()
        if bool((residual <= target).all()):
            converged = True
            break
        q_u, q_v = apply(d_u_, d_v_)
        curvature = (d_u_ * q_u).sum(1) + (d_v_ * q_v).sum(1)
        step = torch.where(curvature > 0, rz / curvature.clamp(min=torch.finfo(rz.dtype).tiny), 0.0).view(-1, 1)
        u, v = u + step * d_u_, v + step * d_v_
        r_u, r_v = r_u - step * q_u, r_v - step * q_v
        z_u, z_v = inv_u * r_u, inv_v * r_v
        rz_new = (r_u * z_u).sum(1) + (r_v * z_v).sum(1)
        beta = torch.where(rz > 0, rz_new / rz.clamp(min=torch.finfo(rz.dtype).tiny), 0.0).view(-1, 1)
        d_u_, d_v_ = z_u + beta * d_u_, z_v + beta * d_v_
        rz = rz_new
    if not converged:
        warnings.warn(f"sinkhorn: the implicit gradient of the transport cost did not converge in {CG_MAX_ITER} "
                      f"conjugate-gradient passes (n = {n}); the gradient of entropic_cost is exact and one pass",
                      RuntimeWarning, stacklevel=4)
    return u, v


def implicit_rule(sol: Solution):
    """The backward rule of :math:`\\langle P_\\varepsilon, C\\rangle` for the inputs ``(x, z, cost, a, b)``."""

    def rule(grad, wanted):
        if not any(wanted):
            return None, None, None, None, None
        scale = grad.reshape(-1, 1, 1)
        kappa = 0.0 if sol.rho is None else float(sol.eps.max()) / sol.rho
        u, v = _adjoint(sol, kappa)
        grad_x = grad_z = grad_c = grad_a = grad_b = None
        f_log, h, eps = sol.f_log, sol.h, sol.eps
        if sol.points and (wanted[0] or wanted[1]):
            gx, gz = sol.softmin.gradients(f_log, h, eps, u, v)
            grad_x, grad_z = gx * scale, gz * scale
        if wanted[2]:
            grad_c = sol.softmin.plan_gradient(f_log, h, eps, u, v) * scale
        zeros_u, zeros_v = torch.zeros_like(u), torch.zeros_like(v)
        if wanted[3]:  # (H 1 - P v) / a, with the plan divided by a_i (finite where a_i = 0)
            pv, _, hr, _ = sol.softmin.contractions(sol.f / eps.view(-1, 1), h, eps, zeros_u, v, with_cost=True)
            grad_a = hr - pv
            grad_a = (centred(grad_a, sol.mass_a) if sol.rho is None else grad_a) * scale[:, 0]
        if wanted[4]:
            _, pu, _, hc = sol.softmin.contractions(f_log, sol.g / eps.view(-1, 1), eps, u, zeros_v, with_cost=True)
            grad_b = hc - pu
            grad_b = (centred(grad_b, sol.mass_b) if sol.rho is None else grad_b) * scale[:, 0]
        return grad_x, grad_z, grad_c, grad_a, grad_b

    return rule
