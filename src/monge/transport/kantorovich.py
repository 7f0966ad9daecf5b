r"""Kantorovich's linear programme: exact transport between weighted point clouds.

.. math::
    \min_{P \ge 0,\ P 1 = a,\ P^T 1 = b} \sum_{ij} P_{ij} C_{ij}
    \;=\; \max_{f_i + g_j \le C_{ij}} \sum_i a_i f_i + \sum_j b_j g_j

solved by the network simplex of POT (``ot.emd``), Dantzig's simplex specialised to transport
(section 2.4 of the text), on the CPU in float64; past the dense matrix, between point clouds, by
the certified sparse solvers (:mod:`monge.transport.sparse_kantorovich`, and
:mod:`monge.transport.sparse` for two uniform clouds of n points, whose optimum is a permutation).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from monge.errors import InputError

from . import _autograd, _checks, _memory
from .costs import cost_matrix, ground_cost, penalised
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


def _solve(a64: np.ndarray, b64: np.ndarray, cost: np.ndarray):
    """Plan and potentials of one problem; +inf costs are forbidden pairs."""
    allowed = np.isfinite(cost)
    if allowed.all():
        return network_simplex(a64, b64, cost)
    finite_cost = penalised(torch.from_numpy(cost), torch.from_numpy(allowed)).numpy()
    plan, f, g = network_simplex(a64, b64, finite_cost)
    plan[~allowed] = 0.0  # rounding-level mass only: feasibility was checked before
    return plan, f, g


METHODS = ("auto", "network_simplex", "sparse")


def kantorovich(x=None, z=None, a=None, b=None, p: float = 2.0, *, cost=None, method: str = "auto") -> OTResult:
    r"""Exact optimal transport between weighted clouds: Kantorovich's linear programme.

    .. math:: W_p^p(\alpha, \beta) = \min_{P \in U(a, b)} \sum_{ij} P_{ij} C_{ij},
              \qquad C_{ij} = \|x_i - z_j\|^p \ \text{or a cost of one's own}

    Weights are normalised to total mass 1. The programme is solved in float64 on the CPU (POT's
    network simplex) whatever the input dtype, so that float32 weights never give an empty plan;
    the results are returned on the device and dtype of ``x`` (or ``cost``). The value is
    :math:`\sum_{ij} P_{ij} C_{ij}` summed over the plan's support, with the costs of those pairs
    computed from differences (so that equal clouds cost exactly 0).

    Gradients (envelope theorem, the optimal plan held fixed): in ``x`` and ``z`` through the
    ground cost of the transported pairs; in ``cost``, the plan; in ``a`` and ``b``, the dual
    potentials centred and divided by the mass, :math:`(f - \bar f) / \sum a`: the derivative along
    every direction that keeps the masses equal, and a direction on the simplex. Where the optimal
    plan or potentials are not unique these are one subgradient.

    Parameters
    ----------
    x : (n, d) or (B, n, d) Tensor or ndarray
    z : (m, d) or (B, m, d) Tensor or ndarray
    a : (n,) or (B, n) weights, optional (uniform by default; ``[]`` too); non-negative, same total as ``b``
    b : (m,) or (B, m) weights, optional
    p : float > 0, the exponent of the ground cost ``|x - z|^p``
    cost : (n, m) or (B, n, m) Tensor or ndarray, keyword-only, instead of ``x`` and ``z``
        Any real costs; ``+inf`` forbids a pair (a ``ValueError`` names ``cost`` when no coupling
        of ``a`` and ``b`` avoids the forbidden pairs).
    method : {"auto", "network_simplex", "sparse"}, keyword-only
        ``"network_simplex"``: POT's ``ot.emd`` on the dense cost matrix; ``"sparse"``: the
        certified sparse solver, from the points (O((n + m) k) memory, no cost matrix; with random
        weights in the plane 1.15x the network simplex's time at n = 2000, 0.66x at 5000 and 0.34x
        at 20,000, its cost matrix included, see ``benchmarks/README.md``); ``"auto"``: the network
        simplex where its dense matrices fit in memory (a dense plan, as before the sparse solver
        existed), else the sparse solver.

    Returns
    -------
    OTResult
        ``cost`` (W_p^p, or :math:`\min \langle P, C\rangle`), ``plan`` (n, m), dual potentials
        ``f`` (n,), ``g`` (m,) with ``sum a f + sum b g = cost``, ``marginal_error``,
        ``duality_gap`` (relative). Batched input gives a leading batch dimension on each.
        From the sparse solver, ``plan`` is a sparse COO tensor (its support: at most n + m - 1
        pairs per problem where the optimal plan is unique; ties, as on grids, may give more), ``n_iter`` the certificate's rounds, and for equal weights on two
        clouds of n points ``permutation`` the optimal matching.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[0.0], [1.0]]); z = torch.tensor([[0.0], [3.0]])
    >>> r = kantorovich(x, z, a=torch.tensor([0.5, 0.5]), b=torch.tensor([0.5, 0.5]), p=1)
    >>> float(r.cost)
    1.0
    >>> float(kantorovich(cost=torch.tensor([[0.0, float("inf")], [1.0, 2.0]])).cost)
    1.0
    """
    x, z, user_cost = _checks.problem(x, z, cost, batched=True)
    like = x if user_cost is None else user_cost
    batched = like.ndim == 3
    n, m = like.shape[-2], (z.shape[-2] if user_cost is None else user_cost.shape[-1])
    if user_cost is None:
        p = _checks.exponent(p)
        _checks.cost_range(x, z, p)
    batch = like.shape[0] if batched else 1
    a_w = _checks.batched_weights(a, batch, n, "a", like)  # their gradient is attached below: the duals
    b_w = _checks.batched_weights(b, batch, m, "b", like)
    for k in range(batch if a_w.stride(0) or b_w.stride(0) else 1):
        _checks.equal_mass(a_w[k], b_w[k], like.dtype)
    _checks.method(method, dict.fromkeys(METHODS))
    need = 4 * 8 * n * m  # cost matrix and plan in float64, plus POT's working copies
    if method == "sparse" and user_cost is not None:
        raise InputError("method='sparse' works from the points x and z (it never forms the cost matrix); "
                         "for a cost matrix of one's own use method='network_simplex'")
    if method == "sparse" or (method == "auto" and user_cost is None and
                              need > _memory.available_bytes(torch.device("cpu"))):
        return _sparse(x, z, a, b, a_w, b_w, p)
    _memory.require(need, torch.device("cpu"), f"the exact {n}x{m} linear programme",
                    "use method='sparse' (point clouds), or sinkhorn or sliced transport")
    a64 = (a_w / a_w.sum(-1, keepdim=True)).cpu().numpy()
    b64 = (b_w / b_w.sum(-1, keepdim=True)).cpu().numpy()
    if user_cost is None:
        costs = cost_matrix(x.detach().double().cpu(), z.detach().double().cpu(), p).numpy()
    else:
        costs = user_cost.detach().double().cpu().numpy()
    costs = costs.reshape(batch, n, m)
    plans, fs, gs, values, gaps, errors = [], [], [], [], [], []
    differentiable = any(t is not None and t.requires_grad for t in (x, z, user_cost))
    for k in range(batch):
        if user_cost is not None:
            _checks.feasible(torch.from_numpy(costs[k]), a_w[k], b_w[k])
        plan, f, g = _solve(a64[k], b64[k], costs[k])
        if differentiable or not np.isfinite(costs[k]).all():  # sum over the support: no 0 * inf
            rows, cols = np.divmod(np.flatnonzero(plan), m)
            values.append(_support_value(x, z, user_cost, p, k if batched else None, plan[rows, cols], rows, cols))
            total = float((plan[rows, cols] * costs[k][rows, cols]).sum())
        else:  # equal points cost exactly 0 in the matrix too: no support needed for the value
            total = float(np.vdot(plan, costs[k]))
            values.append(torch.tensor(total, dtype=like.dtype, device=like.device))
        dual = float(a64[k] @ f + b64[k] @ g)
        gaps.append(abs(total - dual) / max(abs(total), np.finfo(np.float64).tiny))
        errors.append(float(np.abs(plan.sum(1) - a64[k]).sum() + np.abs(plan.sum(0) - b64[k]).sum()))
        plans.append(plan)
        fs.append(f)
        gs.append(g)
    to = dict(device=like.device, dtype=like.dtype)
    plan_t = torch.from_numpy(plans[0][None] if batch == 1 else np.stack(plans)).to(**to)  # no 32 MB copy at n = 2000
    return _assemble(like, a, b, a_w, b_w, plan_t, fs, gs, values, errors, gaps, batched, method="network_simplex")


def _assemble(like, a, b, a_w, b_w, plan, fs, gs, values, errors, gaps, batched, **extra) -> OTResult:
    """The OTResult of B problems: potentials stacked, the value's gradient in a and b attached (the duals)."""
    to = dict(device=like.device, dtype=like.dtype)
    f_t = torch.from_numpy(np.stack(fs)).to(**to)
    g_t = torch.from_numpy(np.stack(gs)).to(**to)
    value = torch.stack(values)
    mass_a, mass_b = a_w.sum(-1).to(**to), b_w.sum(-1).to(**to)

    def rule(grad, wanted):
        scale = grad.reshape(-1, 1)
        return (_autograd.centred(f_t, mass_a) * scale if wanted[0] else None,
                _autograd.centred(g_t, mass_b) * scale if wanted[1] else None)

    value = _autograd.attach(value, rule, [_autograd.differentiable(a), _autograd.differentiable(b)])
    one = (lambda t: t) if batched else (lambda t: t[0])
    if extra.get("permutation") is not None:
        extra["permutation"] = one(extra["permutation"])
    return OTResult(
        cost=one(value), plan=one(plan), f=one(f_t), g=one(g_t),
        marginal_error=errors if batched else errors[0],
        converged=True,
        duality_gap=gaps if batched else gaps[0],
        **extra,
    )


def _sparse(x, z, a, b, a_w, b_w, p: float) -> OTResult:
    """Each problem by the certified sparse solver, without the cost matrix: the plan as a sparse COO tensor.

    Equal weights on n = m points: the optimum is a permutation (Birkhoff), found by the sparse
    matching (:mod:`monge.transport.sparse`); other weights: :mod:`monge.transport.sparse_kantorovich`.
    """
    from . import sparse, sparse_kantorovich

    batched = x.ndim == 3
    xb, zb = (x, z) if batched else (x.unsqueeze(0), z.unsqueeze(0))
    n, m = xb.shape[1], zb.shape[1]
    a64 = (a_w / a_w.sum(-1, keepdim=True)).cpu().double().numpy()
    b64 = (b_w / b_w.sum(-1, keepdim=True)).cpu().double().numpy()
    indices, masses, fs, gs, values, errors, gaps, perms, rounds = [], [], [], [], [], [], [], [], []
    for k in range(len(xb)):
        x64, z64 = (c[k].detach().cpu().double().numpy() for c in (xb, zb))
        if n == m and (a64[k] == a64[k][0]).all() and (b64[k] == b64[k][0]).all():
            out = sparse.solve(x64, z64, p)
            rows, cols, mass = np.arange(n), out.permutation, np.full(n, 1.0 / n)
            perms.append(torch.from_numpy(out.permutation))
            errors.append(0.0)
        else:
            out = sparse_kantorovich.solve(x64, a64[k], z64, b64[k], p)
            rows, cols, mass = out.rows, out.cols, out.mass
            errors.append(out.marginal_error)
        gaps.append(out.gap / max(abs(out.primal), np.finfo(np.float64).tiny))
        rounds.append(out.rounds)
        fs.append(out.f)
        gs.append(out.g)
        values.append(_support_value(x, z, None, p, k if batched else None, mass, rows, cols))
        indices.append(np.stack([np.full(len(rows), k), rows, cols]))
        masses.append(mass)
    to = dict(device=x.device, dtype=x.dtype)
    plan = torch.sparse_coo_tensor(torch.from_numpy(np.concatenate(indices, 1)),
                                   torch.from_numpy(np.concatenate(masses)), (len(xb), n, m),
                                   check_invariants=True).coalesce().to(**to)
    permutation = torch.stack(perms).to(x.device) if len(perms) == len(xb) else None
    return _assemble(x, a, b, a_w, b_w, plan, fs, gs, values, errors, gaps, batched, method="sparse",
                     n_iter=max(rounds), permutation=permutation)


def _support_value(x, z, user_cost, p, k, mass, rows, cols) -> torch.Tensor:
    r""":math:`\sum P_{ij} C_{ij}` over the plan's support (``mass`` on the pairs ``rows``, ``cols``),
    differentiable in x, z or the cost."""
    like = x if user_cost is None else user_cost
    rows_t = torch.from_numpy(rows).to(like.device)
    cols_t = torch.from_numpy(cols).to(like.device)
    mass = torch.from_numpy(mass).to(device=like.device, dtype=like.dtype)
    if user_cost is None:
        xs, zs = (x, z) if k is None else (x[k], z[k])
        return (mass * ground_cost(xs[rows_t], zs[cols_t], p)).sum()
    c = user_cost if k is None else user_cost[k]
    return (mass * c[rows_t, cols_t]).sum()
