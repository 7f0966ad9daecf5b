r"""Differentiable transport distances and losses: ``wasserstein``, ``transport_cost``, ``OTLoss``.

Every value here is the optimum of a problem, so its gradient is given by the envelope theorem: the
optimal plan (or permutation, or order) is found without gradients and held fixed, and the
objective is differentiated at it; in the weights, the gradient is the dual potential. Where the
optimum is unique this is the derivative of the value, in ``x``, ``z``, ``a``, ``b`` and ``cost``.
For ``method="sinkhorn"`` the value is therefore :math:`\mathrm{OT}_\varepsilon`, the optimum of
the regularised problem (as GeomLoss's ``debias=False``), not the transport cost
:math:`\langle P_\varepsilon, C\rangle` of its plan, which is no optimum (its own derivative is
implicit: :attr:`OTResult.cost` of :func:`sinkhorn` has it).
"""

from __future__ import annotations

import torch
from torch import nn

from monge.errors import InputError

from . import _checks
from .divergence import sinkhorn_divergence
from .entropic import sinkhorn
from .kantorovich import kantorovich
from .monge import matching
from .results import OTResult
from .sliced import sliced


def _exact(x, z, a, b, p, cost=None, **options) -> OTResult:
    uniform = a is None and b is None
    if cost is not None:
        c = _checks.cost(cost, batched=True)
        if uniform and c.shape[-1] == c.shape[-2]:
            return matching(p=p, cost=c, **options)
        return kantorovich(a=a, b=b, cost=c)
    x, z = _checks.points(x, z, batched=True)
    if uniform and x.shape[-2] == z.shape[-2]:
        return matching(x, z, p, **options)
    return kantorovich(x, z, a, b, p)


def _sinkhorn(x, z, a, b, p, cost=None, **options) -> OTResult:
    r = sinkhorn(x, z, a, b, p, cost=cost, **options)
    return OTResult(cost=r.entropic_cost, plan=r.plan, f=r.f, g=r.g, n_iter=r.n_iter,
                    marginal_error=r.marginal_error, converged=r.converged, method="sinkhorn", eps=r.eps)


def _divergence(x, z, a, b, p, cost=None, **options) -> OTResult:
    if cost is not None:
        raise InputError("cost: the Sinkhorn divergence needs the costs within each cloud too (x to x, z to z); "
                         "pass points, or use method='sinkhorn' with cost=")
    return OTResult(cost=sinkhorn_divergence(x, z, a, b, p, **options), method="sinkhorn_divergence")


def _sliced(x, z, a, b, p, cost=None, **options) -> OTResult:
    if cost is not None:
        raise InputError("cost: sliced transport projects points on lines; pass points, or use "
                         "method='exact' or 'sinkhorn' with cost=")
    return sliced(x, z, a, b, p, **options)


METHODS = {"exact": _exact, "sliced": _sliced, "sinkhorn": _sinkhorn, "sinkhorn_divergence": _divergence}


def transport_cost(x=None, z=None, a=None, b=None, p: float = 2.0, method: str = "exact", *, cost=None,
                   **options) -> torch.Tensor:
    r"""The optimal transport cost :math:`W_p^p`, differentiable in ``x``, ``z``, ``a``, ``b`` and ``cost``.

    .. math:: W_p^p(a, b) = \min_{P \in U(a, b)} \sum_{ij} P_{ij} C_{ij}, \qquad C_{ij} = \|x_i - z_j\|^p

    Which value each method returns (each is an optimum, so its gradient is exact):

    - ``"exact"``: :math:`W_p^p`, by :func:`matching` for equal-size uniform clouds (batched input
      allowed) and :func:`kantorovich` otherwise;
    - ``"sinkhorn"``: :math:`\mathrm{OT}_\varepsilon = \min_P \langle P, C\rangle + \varepsilon
      \mathrm{KL}(P | a \otimes b)` (plus the marginal penalties with ``rho``), an upper bound on
      :math:`W_p^p` that tends to it as eps -> 0;
    - ``"sinkhorn_divergence"``: the debiased :math:`S_\varepsilon` of :func:`sinkhorn_divergence`;
    - ``"sliced"``: the sliced cost :math:`SW_p^p`.

    ``options`` go to the solver (``method`` for matching, ``eps`` and ``rho`` for Sinkhorn,
    ``n_directions`` for sliced). In the weights the gradient is the dual potential, centred (and
    divided by the mass) for balanced problems, whose weights are normalised to mass 1.

    Parameters
    ----------
    x : (n, d) or (B, n, d), z : (m, d) or (B, m, d) Tensor or ndarray
    a, b : weights, optional (uniform by default)
    p : float > 0 (>= 1 for ``"sliced"``)
    method : {"exact", "sliced", "sinkhorn", "sinkhorn_divergence"}
    cost : (n, m) or (B, n, m) Tensor, keyword-only, a cost matrix of one's own instead of ``x``
        and ``z`` (methods ``"exact"`` and ``"sinkhorn"``); its gradient is the plan
    **options : passed to the solver

    Returns
    -------
    Tensor, scalar (or (B,) for batched input), on the device and dtype of ``x`` (or ``cost``)

    Examples
    --------
    >>> import torch
    >>> C = torch.tensor([[0.0, 2.0], [2.0, 1.0]], requires_grad=True)
    >>> transport_cost(cost=C).backward()
    >>> C.grad
    tensor([[0.5000, 0.0000],
            [0.0000, 0.5000]])
    """
    _checks.method(method, METHODS)
    return METHODS[method](x, z, a, b, p, cost=cost, **options).cost


def wasserstein(x=None, z=None, a=None, b=None, p: float = 2.0, method: str = "exact", *, cost=None,
                **options) -> torch.Tensor:
    r"""The Wasserstein distance :math:`W_p = (\min_P \sum_{ij} P_{ij} \|x_i - z_j\|^p)^{1/p}`.

    A scalar tensor (or ``(B,)`` for batched input) on the device and dtype of ``x``,
    differentiable in ``x``, ``z``, ``a``, ``b`` and ``cost`` by the envelope theorem (see
    :func:`transport_cost`). At :math:`W_p = 0` the gradient is taken as 0 (the p-th root is not
    differentiable there). With ``cost=``, the p-th root of the optimal cost of that matrix.

    Parameters
    ----------
    x : (n, d) or (B, n, d), z : (m, d) or (B, m, d) Tensor or ndarray
    a, b : weights, optional (uniform by default)
    p : float > 0 (>= 1 for ``"sliced"``)
    method : {"exact", "sliced", "sinkhorn"}
        ``"sinkhorn"``: :math:`\mathrm{OT}_\varepsilon^{1/p}` (an upper bound on :math:`W_p` that
        tends to it as eps -> 0).
    cost : (n, m) or (B, n, m) Tensor, keyword-only, instead of ``x`` and ``z``

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(3, 2); z = torch.tensor([[3.0, 4.0]] * 3)
    >>> float(wasserstein(x, z, p=2))
    5.0
    """
    p = _checks.exponent(p)
    value = transport_cost(x, z, a, b, p, method, cost=cost, **options)
    positive = value > 0
    safe = torch.where(positive, value, torch.ones_like(value))
    return torch.where(positive, safe.pow(1.0 / p), torch.zeros_like(value))


class OTLoss(nn.Module):
    r"""A transport loss for training: ``forward(x, z)`` returns the cost :math:`W_p^p`.

    Holds the hyperparameters and calls :func:`transport_cost`. For a batch ``(B, n, d)`` of
    matchings the per-problem costs are reduced by ``reduction`` (``"mean"``, ``"sum"`` or ``"none"``).

    Parameters
    ----------
    p : float > 0, the ground cost :math:`\|x - z\|^p`
    method : {"exact", "sliced", "sinkhorn", "sinkhorn_divergence"}, as :func:`transport_cost`
    reduction : {"mean", "sum", "none"}, over a batch of problems
    **options : passed to the solver (e.g. ``eps``, ``n_directions``)

    Examples
    --------
    >>> import torch
    >>> loss = OTLoss(p=2.0, method="exact")
    >>> x = torch.randn(64, 2, requires_grad=True)
    >>> loss(x, torch.randn(64, 2)).backward()
    >>> x.grad.shape
    torch.Size([64, 2])
    """

    def __init__(self, p: float = 2.0, method: str = "exact", reduction: str = "mean", **options):
        super().__init__()
        self.p = _checks.exponent(p)
        self.method = _checks.method(method, METHODS)
        self.reduction = _checks.method(reduction, {"mean", "sum", "none"}, "reduction")
        self.options = options

    def forward(self, x=None, z=None, a=None, b=None, *, cost=None) -> torch.Tensor:
        r"""The transport cost :math:`W_p^p = \min_{P \in U(a, b)} \sum_{ij} P_{ij} \|x_i - z_j\|^p`, reduced.

        Parameters
        ----------
        x : (n, d) or (B, n, d) Tensor, e.g. generated samples
        z : (m, d) or (B, m, d) Tensor, e.g. data
        a, b : weights, optional (uniform by default)
        cost : (n, m) or (B, n, m) Tensor, keyword-only, a cost matrix instead of ``x`` and ``z``
        """
        cost = transport_cost(x, z, a, b, self.p, self.method, cost=cost, **self.options)
        if self.reduction == "mean":
            return cost.mean()
        if self.reduction == "sum":
            return cost.sum()
        return cost

    def extra_repr(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"p={self.p}, method={self.method!r}, reduction={self.reduction!r}{options}"
