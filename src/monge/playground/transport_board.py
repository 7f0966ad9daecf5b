r"""The transport board: two clouds in, monge's transport out (chapter 2).

- equal sizes, uniform masses, method ``"exact"``: Monge's problem, :func:`monge.transport.matching`
  (a permutation);
- other sizes or masses, method ``"exact"``: Kantorovich's programme, :func:`monge.transport.kantorovich`;
- method ``"sinkhorn"``: :func:`monge.transport.sinkhorn` with ``eps`` relative to the clouds' diameter
  :math:`D^p` (the diagonal of the box holding both clouds, as :func:`~monge.transport.sinkhorn` measures it).

The cost is :math:`W_p^p = \sum_{ij} P_{ij} |x_i - z_j|^p` with masses summing to 1; ``seconds`` times
the solver's call only. Figure 2.2's preset scores all 720 permutations of 6 points.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from monge.transport import brute_force, cost_matrix, kantorovich, matching, sinkhorn
from monge.transport.monge import all_permutations

from . import protocol


@dataclass(frozen=True)
class Solution:
    """A transport board's answer.

    Attributes
    ----------
    cost : float, :math:`W_p^p` (masses summing to 1)
    method : "matching" | "kantorovich" | "sinkhorn"
    seconds : float, the solver's time
    permutation : (n,) int32 ndarray for a matching, else None
    plan : (n, m) float32 ndarray otherwise, else None
    eps : float or None, Sinkhorn's eps in units of the cost; converged : bool
    """

    cost: float
    method: str
    seconds: float
    permutation: np.ndarray | None = None
    plan: np.ndarray | None = None
    eps: float | None = None
    converged: bool = True


def diameter(x: np.ndarray, z: np.ndarray) -> float:
    """The diagonal of the box holding both clouds (:func:`monge.transport.sinkhorn`'s scale :math:`D`).

    Parameters
    ----------
    x : (n, d) ndarray; z : (m, d) ndarray
    """
    both = np.concatenate([x, z])
    return float(np.linalg.norm(both.max(0) - both.min(0)))


def solve(x, z, a=None, b=None, p: int = 2, method: str = "exact", eps: float = 1e-2) -> Solution:
    r"""Transport the cloud ``x`` (masses ``a``) onto ``z`` (masses ``b``) with monge's solvers.

    Parameters
    ----------
    x : (n, 2) ndarray; z : (m, 2) ndarray
    a : (n,) ndarray or None; b : (m,) ndarray or None, masses (None: uniform), normalised to 1 here
    p : 1 or 2, the cost :math:`|x - z|^p`
    method : "exact" (matching or Kantorovich) or "sinkhorn"
    eps : Sinkhorn's eps relative to :math:`D^p` (:func:`diameter`), clamped to :data:`.protocol.EPS_RANGE`

    Returns
    -------
    Solution

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0]]); z = np.array([[1.0, 1.0], [0.0, 1.0]])
    >>> s = solve(x, z)
    >>> s.method, s.permutation.tolist(), s.cost
    ('matching', [1, 0], 1.0)
    """
    xt, zt = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(z, dtype=torch.float64)
    at = None if a is None else torch.as_tensor(a / np.sum(a), dtype=torch.float64)
    bt = None if b is None else torch.as_tensor(b / np.sum(b), dtype=torch.float64)
    if method == "sinkhorn":
        eps = min(max(float(eps), protocol.EPS_RANGE[0]), protocol.EPS_RANGE[1])
        scale = diameter(np.asarray(x), np.asarray(z)) ** p
        absolute = eps * scale if scale > 0 else 1.0  # equal points: every eps gives the same plan
        start = time.perf_counter()
        result = sinkhorn(xt, zt, at, bt, p=p, eps=absolute, warn=False)
        seconds = time.perf_counter() - start
        return Solution(float(result.cost), "sinkhorn", seconds, plan=_plan(result.plan), eps=absolute,
                        converged=bool(result.converged))
    if method != "exact":
        raise ValueError(f"method: {method!r}; expected one of {list(protocol.METHODS)}")
    if a is None and b is None and len(x) == len(z):
        start = time.perf_counter()
        result = matching(xt, zt, p=p)
        seconds = time.perf_counter() - start
        return Solution(float(result.cost), "matching", seconds,
                        permutation=result.permutation.numpy().astype(np.int32))
    start = time.perf_counter()
    result = kantorovich(xt, zt, at, bt, p=p)
    seconds = time.perf_counter() - start
    return Solution(float(result.cost), "kantorovich", seconds, plan=_plan(result.plan))


def permutations(x, z, p: int = 1) -> tuple[np.ndarray, int, np.ndarray]:
    r"""The Distance :math:`\sum_i |x_i - z_{s_i}|^p` of every permutation :math:`s` of 6 (or n <= 10) points.

    :func:`monge.transport.brute_force` returns the optimum only; the costs of all ``n!``
    permutations are read here from the same cost matrix and the same lexicographic list
    (:func:`monge.transport.monge.all_permutations`) in one vectorised gather, and the optimum is
    brute_force's.

    Parameters
    ----------
    x, z : (n, 2) ndarrays, n <= 10
    p : 1 or 2

    Returns
    -------
    costs : (n!,) float64 ndarray, in lexicographic order of the permutations
    best : int, the index of brute_force's optimal permutation in that order
    best_permutation : (n,) int64 ndarray

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0]]); z = np.array([[1.0, 0.0], [0.0, 0.0]])
    >>> costs, best, perm = permutations(x, z)
    >>> costs.tolist(), best, perm.tolist()
    ([2.0, 0.0], 1, [1, 0])
    """
    xt, zt = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(z, dtype=torch.float64)
    n = xt.shape[0]
    optimum = brute_force(xt, zt, p=p)  # checks the points and n <= 10
    table = all_permutations(n).astype(np.int64)
    costs = cost_matrix(xt, zt, p).numpy()[np.arange(n), table].sum(1)
    best_permutation = optimum.permutation.numpy()
    best = int(np.flatnonzero((table == best_permutation).all(1))[0])
    return costs, best, best_permutation


def _plan(plan: torch.Tensor) -> np.ndarray:
    return plan.detach().cpu().numpy().astype(np.float32)
