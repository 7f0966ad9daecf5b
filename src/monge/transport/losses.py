r"""Differentiable transport distances and losses: ``wasserstein``, ``transport_cost``, ``OTLoss``.

Gradients follow the envelope theorem: the optimal plan (or permutation, or order) is found
without gradients and held fixed, and :math:`\sum_{ij} P_{ij} \|x_i - z_j\|^p` is differentiated
at that plan. Where the optimum is unique this is the gradient of :math:`W_p^p`.
"""

from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .divergence import sinkhorn_divergence
from .entropic import sinkhorn
from .kantorovich import kantorovich
from .monge import matching
from .results import OTResult
from .sliced import sliced


def _exact(x, z, a, b, p, **options) -> OTResult:
    x, z = _checks.points(x, z, batched=True)
    if a is None and b is None and x.shape[-2] == z.shape[-2]:
        return matching(x, z, p, **options)
    if x.ndim == 3:
        raise ValueError("x: batched input (B, n, d) is supported for equal-size uniform clouds only; "
                         "loop over the batch for weighted or unequal sets")
    return kantorovich(x, z, a, b, p)


def _divergence(x, z, a, b, p, **options) -> OTResult:
    return OTResult(cost=sinkhorn_divergence(x, z, a, b, p, **options), method="sinkhorn_divergence")


METHODS = {"exact": _exact, "sliced": sliced, "sinkhorn": sinkhorn, "sinkhorn_divergence": _divergence}


def transport_cost(x, z, a=None, b=None, p: float = 2.0, method: str = "exact", **options) -> torch.Tensor:
    r"""The optimal transport cost :math:`W_p^p`, differentiable in ``x`` and ``z``.

    ``method="exact"`` uses :func:`matching` for equal-size uniform clouds (batched input allowed)
    and :func:`kantorovich` otherwise; ``"sliced"`` the sliced cost :math:`SW_p^p`; ``"sinkhorn"``
    the transport cost :math:`\sum P_{ij} C_{ij}` of the entropic plan; ``"sinkhorn_divergence"``
    the debiased :math:`S_\varepsilon`. ``options`` go to the solver (e.g. ``n_directions`` for
    sliced, ``method`` for matching, ``eps`` for Sinkhorn).

    .. math:: W_p^p(a, b) = \min_{P \in U(a, b)} \sum_{ij} P_{ij} \|x_i - z_j\|^p

    Parameters
    ----------
    x : (n, d) or (B, n, d), z : (m, d) or (B, m, d) Tensor or ndarray
    a, b : weights, optional (uniform by default)
    p : float > 0 (>= 1 for ``"sliced"``)
    method : {"exact", "sliced", "sinkhorn", "sinkhorn_divergence"}
    **options : passed to the solver

    Returns
    -------
    Tensor, scalar (or (B,) for batched input), on the device and dtype of ``x``
    """
    _checks.method(method, METHODS)
    return METHODS[method](x, z, a, b, p, **options).cost


def wasserstein(x, z, a=None, b=None, p: float = 2.0, method: str = "exact", **options) -> torch.Tensor:
    r"""The Wasserstein distance :math:`W_p = (\min_P \sum_{ij} P_{ij} \|x_i - z_j\|^p)^{1/p}`.

    A scalar tensor (or ``(B,)`` for batched matchings) on the device and dtype of ``x``,
    differentiable in ``x`` and ``z`` by the envelope theorem. At :math:`W_p = 0` the gradient is
    taken as 0 (the p-th root is not differentiable there).

    Parameters
    ----------
    x : (n, d) or (B, n, d), z : (m, d) or (B, m, d) Tensor or ndarray
    a, b : weights, optional (uniform by default)
    p : float > 0 (>= 1 for ``"sliced"``)
    method : {"exact", "sliced", "sinkhorn"}
        ``"sinkhorn"``: the p-th root of the entropic plan's transport cost (an upper bound on
        :math:`W_p` that tends to it as eps -> 0).

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(3, 2); z = torch.tensor([[3.0, 4.0]] * 3)
    >>> float(wasserstein(x, z, p=2))
    5.0
    """
    p = _checks.exponent(p)
    cost = transport_cost(x, z, a, b, p, method, **options)
    positive = cost > 0
    safe = torch.where(positive, cost, torch.ones_like(cost))
    return torch.where(positive, safe.pow(1.0 / p), torch.zeros_like(cost))


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

    def forward(self, x, z, a=None, b=None) -> torch.Tensor:
        r"""The transport cost :math:`W_p^p = \min_{P \in U(a, b)} \sum_{ij} P_{ij} \|x_i - z_j\|^p`, reduced.

        Parameters
        ----------
        x : (n, d) or (B, n, d) Tensor, e.g. generated samples
        z : (m, d) or (B, m, d) Tensor, e.g. data
        a, b : weights, optional (uniform by default)
        """
        cost = transport_cost(x, z, a, b, self.p, self.method, **self.options)
        if self.reduction == "mean":
            return cost.mean()
        if self.reduction == "sum":
            return cost.sum()
        return cost

    def extra_repr(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"p={self.p}, method={self.method!r}, reduction={self.reduction!r}{options}"
