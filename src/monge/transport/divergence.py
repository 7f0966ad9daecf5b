r"""The Sinkhorn divergence: entropic transport with its bias removed.

.. math:: S_\varepsilon(\alpha, \beta) = \mathrm{OT}_\varepsilon(\alpha, \beta)
          - \tfrac12 \mathrm{OT}_\varepsilon(\alpha, \alpha) - \tfrac12 \mathrm{OT}_\varepsilon(\beta, \beta)

For the costs :math:`\|x - z\|` and :math:`\|x - z\|^2` (whose Gibbs kernels are positive
definite) it is non-negative, symmetric, zero exactly when :math:`\alpha = \beta`, and interpolates
between :math:`W_p^p` (eps -> 0) and an MMD (eps -> infinity). Feydy et al., AISTATS 2019.

Unbalanced (``rho``): the three terms are the unbalanced :math:`\mathrm{OT}_\varepsilon^\rho`, and
:math:`\tfrac{\varepsilon}{2} (m(\alpha) - m(\beta))^2` is added, which keeps the divergence
non-negative and zero exactly at :math:`\alpha = \beta` (Sejourne, Feydy, Vialard, Trouve, Peyre,
"Sinkhorn divergences for unbalanced optimal transport", 2019).
"""

from __future__ import annotations

import torch

from . import _checks
from .entropic import default_eps, sinkhorn


def sinkhorn_divergence(x, z, a=None, b=None, p: float = 2.0, *, eps: float | None = None, rho: float | None = None,
                        **options) -> torch.Tensor:
    r"""The debiased Sinkhorn divergence :math:`S_\varepsilon(\alpha, \beta)`, differentiable.

    .. math:: S_\varepsilon(\alpha, \beta) = \mathrm{OT}_\varepsilon(\alpha, \beta)
              - \tfrac12 \mathrm{OT}_\varepsilon(\alpha, \alpha) - \tfrac12 \mathrm{OT}_\varepsilon(\beta, \beta)

    Three Sinkhorn problems are solved (x to z, x to x, z to z) with the same eps (in units of
    the cost; by default 1e-2 times the diameter^p of both clouds together) and ``options`` of
    :func:`sinkhorn`. Gradients are the envelope gradients of the three entropic costs, in the
    points and in the weights (the potentials).

    Parameters
    ----------
    x : (n, d) or (B, n, d) Tensor or ndarray, the support of :math:`\alpha`
    z : (m, d) or (B, m, d) Tensor or ndarray, the support of :math:`\beta`
    a, b : (n,), (m,) (or batched) weights, optional (uniform by default)
    p : float > 0, the ground cost :math:`\|x - z\|^p`
    eps : float, optional; the temperature in units of the cost
    rho : float, optional; unbalanced transport with marginal penalties ``rho KL`` (weights then
        keep their masses; see :func:`sinkhorn`)
    **options : of :func:`sinkhorn` (``tol``, ``max_iter``, ...)

    Returns
    -------
    Tensor, scalar (or (B,) for batched input), on the device and dtype of ``x``.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(200, 2)
    >>> float(sinkhorn_divergence(x, x, eps=0.01)) == 0.0
    True
    """
    x, z = _checks.points(x, z, batched=True)
    p = _checks.exponent(p)
    if eps is None:
        both = torch.cat([x.detach(), z.detach()], -2)
        eps = default_eps(float((both.amax(-2) - both.amin(-2)).norm(dim=-1).max()) ** p)
    xz = sinkhorn(x, z, a, b, p, eps=eps, rho=rho, **options)
    xx = sinkhorn(x, x, a, a, p, eps=eps, rho=rho, **options).entropic_cost
    zz = sinkhorn(z, z, b, b, p, eps=eps, rho=rho, **options).entropic_cost
    value = xz.entropic_cost - (xx + zz) / 2
    if rho is None:
        return value
    return value + xz.eps / 2 * (_mass(a, x) - _mass(b, z)) ** 2


def _mass(w, points: torch.Tensor) -> torch.Tensor:
    """The total mass of a weight vector (or batch of them), 1 for uniform weights; differentiable."""
    if w is None or (isinstance(w, (list, tuple)) and len(w) == 0):
        return points.new_ones(points.shape[:-2])
    w = _checks.as_tensor(w, "weights", points)
    return w.sum(-1).to(points.dtype)
