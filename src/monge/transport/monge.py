r"""Monge's problem: the best permutation between two clouds of n points (section 2.3 of the text).

.. math:: \min_{s \in S_n} \sum_{i=1}^n \|x_i - z_{s_i}\|^p

``brute_force`` tries all n! permutations (the text's 720 for n = 6); ``matching`` solves the same
assignment problem exactly in O(n^3) by Jonker-Volgenant, the network simplex or the auction.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import lap
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from monge.errors import InputError

from . import _checks, _memory, _reduced_costs, sparse
from .auction import auction
from .costs import cost_matrix, ground_cost, penalised
from .kantorovich import network_simplex
from .results import OTResult

BRUTE_FORCE_MAX = 10
_PERMUTATION_CHUNK = 1 << 18
# matching(auto) takes the sparse solver from SPARSE_FROM points up to KDTREE_MAX_DIM = 5 dimensions
# (its queries by a k-d tree), from SPARSE_FROM_BLOCKS points up to SPARSE_MAX_DIM (its queries by
# blocks of the matrix), any p, for one problem on the CPU. Measured by hand against auto's dense
# solver (scipy's lsa, POT's network simplex, lap's lapjv), best of two:
# - d = 2, p = 2: uniform clouds, a Gaussian onto a uniform cloud, a blob onto a ring 0.39-0.76x at
#   n = 1000, 0.17-0.24x at 2000; train against test samples of 8 and 25 Gaussians 1.29x at 1000,
#   0.52-0.54x at 2000, 0.46-0.47x at 3000 (1.02x at 3000 before the coarse plan's refined pairs
#   joined the candidates);
# - p = 1, 1.5 in d = 2, 3: 0.16-0.31x at 2000, 0.08-0.17x at 3000-5000; clustered, 0.41-0.49x at 2000;
# - d = 10: 1.27x at 2000, 0.42x at 3000, 0.33x at 5000; d = 64: 1.04x, 0.82x, 0.53x; mnist1d
#   (d = 40) at 2000, 1.13x and 0.97x. Not measured beyond 64 dimensions, where a query's blocks
#   cost about what the dense matrix does.
SPARSE_FROM, SPARSE_FROM_BLOCKS, SPARSE_MAX_DIM = 2000, 3000, 64
# ... within this many certificate rounds: beyond, auto takes the dense solver where it fits. Since
# the groups' coarse start, uniform clouds take 1 round up to n = 100,000 (3-6 before); a segment
# onto a square (a degenerate source: every column of a vertical strip nearly ties) 7, 9 and 15
# rounds at n = 3000, 5000 and 20,000, where it still beats the dense solver (43 s against ot.emd's
# 83 s with its matrix at 20,000), hence 24 rounds and not 12 as before.
AUTO_ROUNDS = 24
# A matching's dense plan is formed up to this many entries (n = 2048); beyond, `plan` is None.
_DENSE_PLAN_LIMIT = 1 << 22


@lru_cache(maxsize=4)
def all_permutations(n: int) -> np.ndarray:
    """All n! permutations of ``range(n)`` in lexicographic order, ``(n!, n)`` uint8."""
    perms = np.zeros((1, 0), dtype=np.uint8)
    for k in range(1, n + 1):
        # permutations of k elements: each first element f, then those of k-1 with values >= f shifted
        blocks = [np.hstack([np.full((len(perms), 1), f, np.uint8), perms + (perms >= f)]) for f in range(k)]
        perms = np.vstack(blocks).astype(np.uint8)
    return perms


def _result(x: torch.Tensor, z: torch.Tensor, perm: torch.Tensor, p: float, method: str, **extra) -> OTResult:
    """Cost (by the envelope theorem: the permutation held fixed) and plan of a matching."""
    partner = z.gather(-2, perm.unsqueeze(-1).expand(*perm.shape, z.shape[-1]))
    cost = ground_cost(x, partner, p).mean(-1)
    n = perm.shape[-1]
    plan = None
    if n * n <= _DENSE_PLAN_LIMIT:
        plan = torch.zeros(*perm.shape, n, dtype=x.dtype, device=x.device)
        plan.scatter_(-1, perm.unsqueeze(-1), 1.0 / n)
    return OTResult(cost=cost, plan=plan, permutation=perm, converged=True, method=method, **extra)


def brute_force(x, z, p: float = 1.0) -> OTResult:
    r"""Monge's problem by exhaustive search over all n! permutations, vectorised.

    .. math:: s^* = \arg\min_{s \in S_n} \sum_i \|x_i - z_{s_i}\|^p

    Permutations are scored in chunks of 262144 with one gather each (no Python loop per
    permutation): 10! = 3,628,800 take about a second. Among tied optima the first permutation in
    lexicographic order is returned. The default ``p = 1`` is Monge's Euclidean cost.

    Parameters
    ----------
    x, z : (n, d) Tensor or ndarray, n <= 10

    Returns
    -------
    OTResult with ``permutation``, ``plan`` and ``cost`` (the mean cost; ``result.distance`` is the
    text's Distance, the sum of the n costs).

    Examples
    --------
    >>> import torch
    >>> r = brute_force(torch.tensor([[0.0], [1.0]]), torch.tensor([[1.0], [0.0]]))
    >>> r.permutation.tolist(), float(r.distance)
    ([1, 0], 0.0)
    """
    x, z = _checks.points(x, z, same_size=True)
    p = _checks.exponent(p)
    _checks.cost_range(x, z, p)
    n = x.shape[0]
    if n > BRUTE_FORCE_MAX:
        raise InputError(f"x: {n} points means {math.factorial(n):,} permutations; brute_force takes "
                         f"n <= {BRUTE_FORCE_MAX}: use matching(x, z) for the same optimum in O(n^3)")
    cost = cost_matrix(x.detach().double().cpu(), z.detach().double().cpu(), p).numpy().ravel()
    perms = all_permutations(n)
    offsets = np.arange(n) * n
    best_value, best_index = np.inf, 0
    for start in range(0, len(perms), _PERMUTATION_CHUNK):
        chunk = perms[start:start + _PERMUTATION_CHUNK]
        totals = cost[chunk + offsets].sum(1)
        k = int(np.argmin(totals))
        if totals[k] < best_value:
            best_value, best_index = totals[k], start + k
    perm = torch.from_numpy(perms[best_index].astype(np.int64)).to(x.device)
    return _result(x, z, perm, p, "brute_force")


def _lsa(costs: np.ndarray) -> list[np.ndarray]:
    return [linear_sum_assignment(c)[1] for c in costs]


def _lapjv(costs: np.ndarray) -> list[np.ndarray]:
    return [np.asarray(lap.lapjv(c, extend_cost=False)[1], dtype=np.int64) for c in costs]


def _network_simplex(costs: np.ndarray) -> list[np.ndarray]:
    n = costs.shape[-1]
    uniform = np.full(n, 1.0 / n)
    # a vertex of the Birkhoff polytope: one entry 1/n per row
    return [network_simplex(uniform, uniform, c)[0].argmax(1) for c in costs]


def _auction(cost: torch.Tensor):
    """The batched auction on the cost's device; problems whose certificate fails go to ``lsa``."""
    if cost.dtype not in (torch.float32, torch.float64):
        cost = cost.float()
    out = auction(cost)
    perms = list(out.assignment)
    failed = (~out.certified).nonzero().squeeze(1).tolist()
    if failed:
        warnings.warn(f"auction: optimality certificate failed for problems {failed[:10]} (gap "
                      f"{out.gap[failed].max().item():.3g} > tolerance); solved them with lsa instead",
                      RuntimeWarning, stacklevel=4)
        fixed = _lsa(cost[failed].detach().double().cpu().numpy())
        for k, perm in zip(failed, fixed):
            perms[k] = torch.from_numpy(perm)
    n = cost.shape[-1]
    extra = dict(f=out.f, g=out.g, n_iter=out.n_rounds, duality_gap=float(out.gap.max()) / n)
    if failed:
        extra.update(f=None, g=None, duality_gap=None)
    return perms, extra


# Solvers on the host take the (B, n, n) float64 cost matrices as one array; the auction takes the
# cost tensor on its device.
SOLVERS = {"lsa": _lsa, "lapjv": _lapjv, "network_simplex": _network_simplex, "auction": _auction}


def choose_method(x: torch.Tensor, p: float = 2.0) -> str:
    """The rule behind ``method="auto"`` for the points ``x``, from the measurements in ``benchmarks/README.md``.

    - a CUDA device: ``auction`` (no transfer to the host; a batch in one auction);
    - on the CPU, one problem from n = SPARSE_FROM points in d <= 5 (SPARSE_FROM_BLOCKS in
      d <= SPARSE_MAX_DIM), any p: the certified ``sparse`` matching, given AUTO_ROUNDS certificate rounds before the dense solver
      below takes over (where it fits); and any single problem whose dense matrices would not fit in
      memory;
    - on the CPU, low dimension (d <= 4): POT's ``network_simplex`` for one problem of n >= 3000
      (3.1 s against scipy's 5.4 s at n = 5000, d = 2), scipy's ``lsa`` below that and for
      batches (0.38 s against 0.39 s at n = 2000; 0.017 s against 0.024 s at n = 500);
    - on the CPU, higher dimension: ``lapjv`` (3.1 s against scipy's 4.4 s and POT's 9.2 s at
      n = 5000, d = 64; 0.038 s against 0.057 s for a loop over 64 problems of n = 128).

    The auction is slower than these on the CPU (its bidding rounds cost more than the
    Jonker-Volgenant solves here), so ``auto`` takes it only on a GPU. A cost matrix of one's own
    (``matching(cost=...)``) has no dimension and no geometry: it goes to ``lapjv`` on the CPU.
    """
    if x.device.type == "cuda":
        return "auction"
    n, d = x.shape[-2], x.shape[-1]
    least = SPARSE_FROM if d <= _reduced_costs.KDTREE_MAX_DIM else SPARSE_FROM_BLOCKS
    if x.ndim == 2 and d <= SPARSE_MAX_DIM and n >= least:
        return "sparse"
    if x.ndim == 2 and not _dense_fits(n):
        return "sparse"
    return _dense_method(x)


def _dense_fits(n: int) -> bool:
    """Whether one problem's float64 cost matrix and a solver's working copies, (1 + 2) n^2 floats, fit on the host."""
    return 3 * 8 * n * n <= _memory.available_bytes(torch.device("cpu"))


def _dense_method(x: torch.Tensor) -> str:
    """The fastest dense solver on the CPU for the points ``x`` (the second half of :func:`choose_method`)."""
    n, d = x.shape[-2], x.shape[-1]
    if d <= 4:
        return "network_simplex" if x.ndim == 2 and n >= 3000 else "lsa"
    return "lapjv"


def matching(x=None, z=None, p: float = 2.0, method: str = "auto", *, cost=None) -> OTResult:
    r"""Exact optimal matching of two equal-size uniform clouds (Monge's problem).

    .. math:: \min_{s \in S_n} \frac1n \sum_i \|x_i - z_{s_i}\|^p \quad\text{or}\quad
              \min_{s \in S_n} \frac1n \sum_i C_{i s_i}

    Parameters
    ----------
    x, z : (n, d) or (B, n, d) Tensor or ndarray
    p : float > 0
    method : {"auto", "lsa", "lapjv", "network_simplex", "auction", "sparse"}
        ``"lsa"``: scipy's ``linear_sum_assignment`` (CPU, float64); ``"lapjv"``: Jonker-Volgenant of
        the ``lap`` package (CPU, float64); ``"network_simplex"``: POT's ``ot.emd``; ``"auction"``:
        the batched auction of :mod:`monge.transport.auction` on the device of ``x``, certified
        optimal by a dual bound and completed by ``lsa`` where the certificate fails; ``"sparse"``:
        the certified sparse matching of :mod:`monge.transport.sparse` (CPU, float64, O(n k) memory,
        no cost matrix: n = 100,000 in the plane in about half a minute); ``"auto"``: the fastest
        for the case, see :func:`choose_method`.
    cost : (n, n) or (B, n, n) Tensor or ndarray, keyword-only, instead of ``x`` and ``z``
        Any real costs, ``+inf`` for a forbidden pair (a ``ValueError`` names ``cost`` when every
        permutation meets one). Its gradient is the plan (1/n on the matched pairs).

    Returns
    -------
    OTResult
        ``permutation`` ((n,) or (B, n)), ``cost`` (W_p^p, differentiable by the envelope
        theorem), ``plan`` (dense up to n = 2048, else None); ``f``, ``g`` (per pair:
        :math:`f_i + g_j \le C_{ij}`), ``duality_gap`` (primal minus dual, per point) and ``n_iter``
        (auction rounds, or the sparse solver's certificate rounds) from the auction and ``sparse``. ``result.distance`` is the text's Distance, ``n * cost``.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0]]); z = torch.tensor([[1.0, 0.1], [0.0, 0.1]])
    >>> matching(x, z).permutation.tolist()
    [1, 0]
    >>> matching(cost=torch.tensor([[1.0, 0.0], [0.0, 5.0]])).permutation.tolist()
    [1, 0]
    """
    x, z, user_cost = _checks.problem(x, z, cost, batched=True, same_size=True)
    like = x if user_cost is None else user_cost
    if user_cost is None:
        p = _checks.exponent(p)
        _checks.cost_range(x, z, p)
    _checks.method(method, {"auto": None, **SOLVERS, "sparse": None})
    resolved = method
    if method == "auto":
        resolved = choose_method(x, p) if user_cost is None else ("auction" if like.device.type == "cuda" else "lapjv")
    if resolved == "sparse":
        if user_cost is not None:
            raise InputError("method='sparse' works from the points x and z (it never forms the cost matrix); "
                             "for a cost matrix of one's own use method='lapjv' or 'lsa'")
        if method == "sparse":
            return _sparse(x, z, p)
        try:  # auto: a budget of rounds, then a dense solver where it fits (clouds of repeated points)
            return _sparse(x, z, p, max_rounds=AUTO_ROUNDS)
        except sparse.Stalled:
            resolved = _dense_method(x)
            if not _dense_fits(x.shape[-2]):
                return _sparse(x, z, p)
    n = like.shape[-2]
    batch = like.shape[0] if like.ndim == 3 else 1
    if resolved == "auction":  # the whole batch's costs, values and temporaries on the device
        need, where = 3 * batch * n * n * like.element_size(), like.device
    else:  # the float64 cost matrices, plus a solver's working copy
        need, where = (batch + 2) * 8 * n * n, torch.device("cpu")
    _memory.require(need, where, f"an exact {n}x{n} matching", "use sliced transport for very large clouds")
    if user_cost is None:
        xb, zb = (x, z) if x.ndim == 3 else (x.unsqueeze(0), z.unsqueeze(0))
        with torch.no_grad():
            solve_cost = cost_matrix(xb.detach(), zb.detach(), p) if resolved == "auction" else \
                cost_matrix(xb.detach().cpu().double(), zb.detach().cpu().double(), p)
        allowed = None
    else:
        solve_cost = user_cost.detach().reshape(batch, n, n)
        if resolved != "auction":
            solve_cost = solve_cost.cpu().double()
        allowed = torch.isfinite(solve_cost)
        if bool(allowed.all()):
            allowed = None
        else:
            solve_cost = penalised(solve_cost, allowed)
    if resolved == "auction":
        perms, extra = _auction(solve_cost)
    else:
        perms, extra = [torch.from_numpy(q) for q in SOLVERS[resolved](solve_cost.numpy())], {}
    del solve_cost  # freed before the dense plan is formed: the peak stays one n x n matrix
    perm = torch.stack([q.to(device=like.device, dtype=torch.long) for q in perms])
    if not bool((perm.sort(-1).values == torch.arange(n, device=like.device)).all()):
        raise RuntimeError(f"{resolved}: returned an assignment that is not a permutation")
    if allowed is not None and not bool(allowed.to(perm.device).gather(-1, perm.unsqueeze(-1)).all()):
        raise InputError("cost: every permutation meets a forbidden pair (+inf); expected a cost matrix "
                         "with a perfect matching on the allowed pairs")
    extra = {k: (v.to(like.dtype) if isinstance(v, torch.Tensor) else v) for k, v in extra.items()}
    if like.ndim == 2:
        perm = perm[0]
        extra = {k: (v[0] if isinstance(v, torch.Tensor) else v) for k, v in extra.items()}
    if user_cost is None:
        return _result(x, z, perm, p, resolved, **extra)
    return _cost_result(user_cost, perm, resolved, **extra)


def _sparse(x: torch.Tensor, z: torch.Tensor, p: float, max_rounds: int = sparse.MAX_ROUNDS) -> OTResult:
    """The certified sparse matching of each problem (:mod:`monge.transport.sparse`), in O(n k) memory."""
    xb, zb = (x, z) if x.ndim == 3 else (x.unsqueeze(0), z.unsqueeze(0))
    outcomes = [sparse.solve(a.detach().cpu().double().numpy(), b.detach().cpu().double().numpy(), p,
                             max_rounds=max_rounds) for a, b in zip(xb, zb)]
    stack = lambda name: torch.stack([torch.from_numpy(getattr(o, name)) for o in outcomes])  # noqa: E731
    perm, f, g = stack("permutation").to(x.device), stack("f"), stack("g")
    n = x.shape[-2]
    extra = dict(f=f.to(x.device, x.dtype), g=g.to(x.device, x.dtype), n_iter=max(o.rounds for o in outcomes),
                 duality_gap=max(o.gap for o in outcomes) / n)
    if x.ndim == 2:
        perm = perm[0]
        extra.update(f=extra["f"][0], g=extra["g"][0])
    return _result(x, z, perm, p, "sparse", **extra)


def _cost_result(cost: torch.Tensor, perm: torch.Tensor, method: str, **extra) -> OTResult:
    """A matching of a cost matrix of one's own: the mean matched cost, whose gradient is the plan."""
    matched = cost.gather(-1, perm.unsqueeze(-1)).squeeze(-1)
    n = perm.shape[-1]
    plan = None
    if n * n <= _DENSE_PLAN_LIMIT:
        plan = torch.zeros(*perm.shape, n, dtype=cost.dtype, device=cost.device)
        plan.scatter_(-1, perm.unsqueeze(-1), 1.0 / n)
    return OTResult(cost=matched.mean(-1), plan=plan, permutation=perm, converged=True, method=method, **extra)
