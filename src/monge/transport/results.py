"""OTResult: what every transport solver returns."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from monge.errors import InputError


@dataclass(frozen=True)
class OTResult:
    r"""The outcome of a transport solve, on the device and dtype of ``x``.

    Attributes
    ----------
    cost : Tensor, scalar or (B,)
        :math:`\sum_{ij} P_{ij} C_{ij}` with masses summing to 1, i.e. :math:`W_p^p`. For a matching
        of n points the Distance of section 2.3 of the text (a sum of n costs) is ``n * cost``.
    plan : (n, m) or (B, n, m) Tensor or None
        The coupling :math:`P` (rows sum to ``a``, columns to ``b``); ``None`` where it is not formed.
    permutation : (n,) or (B, n) long Tensor or None
        For matchings: ``z[permutation[i]]`` is the partner of ``x[i]``.
    f, g : Tensor or None
        Dual potentials, :math:`f_i + g_j \le C_{ij}` and :math:`\sum a f + \sum b g` = cost at the optimum.
    n_iter : int or None
        Iterations of an iterative solver.
    marginal_error : float or None
        :math:`\|P 1 - a\|_1 + \|P^T 1 - b\|_1`.
    converged : bool or None
        For iterative or certified solvers: whether the stopping or optimality test passed.
    duality_gap : float or None
        primal minus dual objective, where a solver checks it (a certificate of optimality).
    method : str
        The solver that produced the result (``"auto"`` resolved to what ran).
    entropic_cost : Tensor or None
        For entropic solvers: :math:`\mathrm{OT}_\varepsilon`, the value of the regularised problem.
    eps : float or None
        For entropic solvers: the temperature, in units of the cost.
    """

    cost: torch.Tensor
    plan: torch.Tensor | None = None
    permutation: torch.Tensor | None = None
    f: torch.Tensor | None = None
    g: torch.Tensor | None = None
    n_iter: int | None = None
    marginal_error: float | None = None
    converged: bool | None = None
    duality_gap: float | None = None
    method: str = ""
    entropic_cost: torch.Tensor | None = None
    eps: float | None = None

    @property
    def distance(self) -> torch.Tensor:
        r"""The Distance of the text for a matching: the sum of the n transport costs, ``n * cost``.

        .. math:: \mathrm{Distance} = \sum_{i=1}^n \|x_i - z_{s_i}\|^p = n \cdot \mathrm{cost}
        """
        if self.permutation is None:
            raise InputError("distance: defined for matchings (a permutation); use cost for a general plan")
        return self.cost * self.permutation.shape[-1]
