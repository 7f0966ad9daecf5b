r"""Kantorovich's linear programme: exact transport between weighted point clouds.

.. math::
    \min_{P \ge 0,\ P 1 = a,\ P^T 1 = b} \sum_{ij} P_{ij} C_{ij}
    \;=\; \max_{f_i + g_j \le C_{ij}} \sum_i a_i f_i + \sum_j b_j g_j

solved by the network simplex of POT (``ot.emd``), Dantzig's simplex specialised to transport
(section 2.4 of the text), on the CPU in float64.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from . import _checks, _memory
from .costs import cost_matrix, ground_cost
from .results import OTResult

# POT's default cap of 100000 pivots stops short of the optimum near n = 2000; the pivots the
# network simplex needs grow roughly like n * m, so the cap follows the size with a wide margin.
_PIVOTS_PER_ENTRY = 10
_RESULT_CODES = {0: "infeasible", 1: "optimal", 2: "unbounded", 3: "iteration limit reached"}


def network_simplex(a: np.ndarray, b: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Solve the transport LP with POT's network simplex; return the plan and dual potentials.

    .. math:: \min_{P \ge 0,\ P 1 = a,\ P^\top 1 = b} \sum_{ij} P_{ij} C_{ij}
              = \max_{f_i + g_j \le C_{ij}} \sum_i a_i f_i + \sum_j b_j g_j

    The pivot cap is sized to the problem; if it is reached all the same, the solve is repeated
    once with ten times the cap, and a non-optimal result after that raises a RuntimeError
    (never a silently sub-optimal or all-zero plan).

    Parameters
    ----------
    a : (n,) float64 ndarray, the source weights
    b : (m,) float64 ndarray, the target weights, with the same sum
    cost : (n, m) float64 ndarray, the cost matrix :math:`C`

    Returns
    -------
    plan : (n, m) ndarray, f : (n,) ndarray, g : (m,) ndarray
    """
    import ot  # here: importing POT takes 0.5-2 s, which every `monge` command would pay

    cap = max(100_000, _PIVOTS_PER_ENTRY * cost.shape[0] * cost.shape[1])
    for attempt in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # we read the result code ourselves
            plan, log = ot.emd(a, b, cost, numItermax=cap, log=True)
        code = int(log["result_code"])
        if code == 1:
            return plan, log["u"], log["v"]
        if code != 3:
            break
        cap *= 10
    raise RuntimeError(f"network simplex stopped with result code {code} ({_RESULT_CODES.get(code, 'unknown')}) "
                       f"after a cap of {cap} pivots; the plan is not optimal")


def kantorovich(x, z, a=None, b=None, p: float = 2.0) -> OTResult:
    r"""Exact optimal transport between weighted clouds: Kantorovich's linear programme.

    .. math:: W_p^p(\alpha, \beta) = \min_{P \in U(a, b)} \sum_{ij} P_{ij} \|x_i - z_j\|^p

    Weights are normalised to total mass 1. The programme is solved in float64 on the CPU (POT's
    network simplex) whatever the input dtype, so that float32 weights never give an empty plan;
    the results are returned on the device and dtype of ``x``. The cost is differentiable in ``x``
    and ``z`` by the envelope theorem: the optimal plan is held fixed.

    Parameters
    ----------
    x : (n, d) Tensor or ndarray
    z : (m, d) Tensor or ndarray
    a : (n,) weights, optional (uniform by default); non-negative, same total as ``b``
    b : (m,) weights, optional
    p : float > 0, the exponent of the ground cost ``|x - z|^p``

    Returns
    -------
    OTResult
        ``cost`` (W_p^p), ``plan`` (n, m), dual potentials ``f`` (n,), ``g`` (m,) with
        ``sum a f + sum b g = cost``, ``marginal_error``, ``duality_gap`` (relative).

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[0.0], [1.0]]); z = torch.tensor([[0.0], [3.0]])
    >>> r = kantorovich(x, z, a=torch.tensor([0.5, 0.5]), b=torch.tensor([0.5, 0.5]), p=1)
    >>> float(r.cost)
    1.0
    """
    x, z = _checks.points(x, z)
    p = _checks.exponent(p)
    n, m = x.shape[0], z.shape[0]
    a = _checks.weights(a, n, "a", x)
    b = _checks.weights(b, m, "b", x)
    _checks.equal_mass(a, b, x.dtype)
    # cost matrix and plan in float64, plus POT's working copies
    _memory.require(4 * 8 * n * m, torch.device("cpu"), f"the exact {n}x{m} linear programme",
                    "use sinkhorn or sliced transport for large weighted problems")
    a64 = (a / a.sum()).cpu().numpy()
    b64 = (b / b.sum()).cpu().numpy()
    cost = cost_matrix(x.detach().double().cpu(), z.detach().double().cpu(), p).numpy()
    plan, f, g = network_simplex(a64, b64, cost)
    total = float((plan * cost).sum())
    dual = float(a64 @ f + b64 @ g)
    gap = abs(total - dual) / max(abs(total), np.finfo(np.float64).tiny)
    marginal = float(np.abs(plan.sum(1) - a64).sum() + np.abs(plan.sum(0) - b64).sum())
    if x.requires_grad or z.requires_grad:  # the envelope: sum P_ij c(x_i, z_j) over the support of P
        rows, cols = np.nonzero(plan)
        rows_t = torch.from_numpy(rows).to(x.device)
        cols_t = torch.from_numpy(cols).to(x.device)
        mass = torch.from_numpy(plan[rows, cols]).to(device=x.device, dtype=x.dtype)
        value = (mass * ground_cost(x[rows_t], z[cols_t], p)).sum()
    else:
        value = torch.tensor(total, dtype=x.dtype, device=x.device)
    return OTResult(
        cost=value,
        plan=torch.from_numpy(plan).to(device=x.device, dtype=x.dtype),
        f=torch.from_numpy(f).to(device=x.device, dtype=x.dtype),
        g=torch.from_numpy(g).to(device=x.device, dtype=x.dtype),
        marginal_error=marginal,
        converged=True,
        duality_gap=gap,
        method="network_simplex",
    )
