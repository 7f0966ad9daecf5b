r"""Entropic optimal transport: Sinkhorn's algorithm in the log domain, in plain torch.

.. math::
    \mathrm{OT}_\varepsilon(\alpha, \beta) = \min_{P \in U(a, b)} \sum_{ij} P_{ij} C_{ij}
        + \varepsilon\, \mathrm{KL}(P \,|\, a \otimes b)
    = \max_{f, g}\ \langle a, f\rangle + \langle b, g\rangle
        - \varepsilon \langle a \otimes b, e^{(f \oplus g - C)/\varepsilon} - 1\rangle

Sinkhorn alternates the soft c-transforms :math:`g_j = -\varepsilon \log \sum_i a_i
e^{(f_i - C_{ij})/\varepsilon}` and :math:`f_i = -\varepsilon \log \sum_j b_j e^{(g_j -
C_{ij})/\varepsilon}`; the plan is :math:`P_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}`.
References: M. Cuturi, "Sinkhorn distances", NeurIPS 2013; G. Peyre and M. Cuturi, "Computational
optimal transport" (reference [19] of the text); J. Feydy et al., "Interpolating between optimal
transport and MMD using Sinkhorn divergences", AISTATS 2019.
"""

from __future__ import annotations

import math
import warnings

import torch

from monge.errors import InputError, InputTypeError

from . import _autograd, _checks, _iterations, _memory
from ._entropic_gradients import Solution, envelope_rule, implicit_rule
from ._softmin import Geometry, Softmin
from .results import OTResult

# A plan is formed by default up to this many entries (per problem batch).
PLAN_LIMIT = 1 << 22
# Below this fraction of the cost scale, float32 cannot resolve C / eps: refuse, naming the least eps.
FLOAT32_EPS_FLOOR = 2.0 ** -20


def auto_scaling(scale: float, eps: float) -> float:
    r"""The default ratio of the eps-scaling schedule: :math:`s = 1 - 5\sqrt{\varepsilon / D^p}`, in [0.5, 0.95].

    A large eps relative to the cost's diameter :math:`D^p` converges in a few iterations at the
    end, so annealing is best fast; a small one converges slowly at the end unless the potentials
    arrive nearly optimal, so annealing is best slow. Measured here (n = 2000 uniform points of the
    unit square, p = 2, tol 1e-3; total iterations, the best fixed ratio in brackets):
    eps / D^p = 1e-2: 24 at s = 0.5 (24; 32 at 0.8, 52 at 0.9); 1e-3: 122 at s = 0.84 (122; 141
    at 0.7); 1e-4: 418 at s = 0.95 (416 at 0.97; 939 at 0.8, 1705 at 0.5).

    Parameters
    ----------
    scale : float, the cost's diameter :math:`D^p`
    eps : float, the target temperature :math:`\varepsilon`, in units of the cost
    """
    ratio = eps / max(scale, eps)
    return min(0.95, max(0.5, 1.0 - 5.0 * math.sqrt(ratio)))


def schedule(scale: float, eps: float, scaling: float) -> list[float]:
    r"""The eps-scaling schedule: :math:`\varepsilon_k = \max(\varepsilon, S s^k)`, k = 0, 1, ...

    It starts at ``scale`` :math:`S`, where the plan is nearly :math:`a \otimes b` (:func:`sinkhorn`
    passes the mean cost under :math:`a \otimes b`, at most the diameter :math:`D^p`; for a batch,
    the largest of its problems: above it the iterations change little, and starting at :math:`D^p`
    cost 10% more iterations on uniform points, 2x more for p = 3)
    and divides by ``1 / scaling`` at each iteration until it reaches ``eps``, which is the last
    entry. One Sinkhorn iteration is made at each value; the iterations then go on at ``eps``
    until the marginal error is below ``tol``.

    Parameters
    ----------
    scale : float, the first temperature :math:`S` (e.g. the cost's diameter :math:`D^p`)
    eps : float, the target temperature :math:`\varepsilon`, in units of the cost
    scaling : float in (0, 1), the ratio :math:`s` of successive values (e.g. :func:`auto_scaling`)
    """
    steps = max(0, math.ceil(math.log(max(scale, eps) / eps) / math.log(1.0 / scaling)))
    return [max(eps, scale * scaling ** k) for k in range(steps)] + [eps]


def _log_weights(w: torch.Tensor) -> torch.Tensor:
    return torch.where(w > 0, w.clamp(min=torch.finfo(w.dtype).tiny).log(), torch.full_like(w, -math.inf))


def default_eps(scale: float) -> float:
    """The default temperature: 1e-2 of the cost's diameter :math:`D^p` (1 when every cost is equal,
    where any eps gives the same plan).

    Parameters
    ----------
    scale : float, the cost's diameter :math:`D^p` (or the spread of a cost matrix)
    """
    return 1e-2 * scale if scale > 0 else 1.0


def _rounded_up(value: float) -> float:
    """``value`` rounded up to two significant digits, so that the bound printed is one that passes."""
    unit = 10.0 ** (math.floor(math.log10(value)) - 1)
    shown = float(f"{math.ceil(round(value / unit, 9)) * unit:.2g}")
    return shown if shown >= value else float(f"{shown + unit:.2g}")


def _eps_value(eps, scale: torch.Tensor, dtype: torch.dtype) -> float:
    if eps is None:
        return default_eps(float(scale.max()))
    eps = _checks.real(eps, "eps")
    if not (math.isfinite(eps) and eps > 0):
        raise InputError(f"eps: {eps}; expected a finite eps > 0, in units of the cost")
    low = float(scale.max()) * FLOAT32_EPS_FLOOR
    if dtype != torch.float64 and eps < low:
        # the least eps, not "use float64": every caller can change eps, a command's user not the dtype
        raise InputError(f"eps: {eps:.3g} is too small for {dtype} points or costs: below {FLOAT32_EPS_FLOOR:.1e} "
                         f"of the cost scale ({float(scale.max()):.3g}), {dtype} cannot resolve C / eps; "
                         f"expected eps >= {_rounded_up(low):.2g}")
    return eps


def _rho_value(rho) -> float | None:
    if rho is None:
        return None
    rho = _checks.real(rho, "rho")
    if not (math.isfinite(rho) and rho > 0):
        raise InputError(f"rho: {rho}; expected a finite rho > 0 (the strength of the marginal penalties, "
                         "in units of the cost), or None for balanced transport")
    return rho


def _mode(memory: str, batch: int, n: int, m: int, p: float, like: torch.Tensor) -> bool:
    """Whether to hold the cost matrix whole (dense) or recompute it block by block (online)."""
    _checks.method(memory, {"auto", "dense", "online"}, "memory")
    need = 2 * batch * n * m * like.element_size()  # C and its transpose
    if memory == "dense":
        _memory.require(need, like.device, f"dense Sinkhorn on {batch}x{n}x{m}", "use memory='online'")
        return True
    if memory == "online" or p == 2.0:  # for p = 2 the online exponent is one product: as fast as reading C
        return False
    return need <= min(1 << 30, _memory.available_bytes(like.device) // 4)


def sinkhorn(x=None, z=None, a=None, b=None, p: float = 2.0, *, cost=None, eps: float | None = None,
             rho: float | None = None, max_iter: int = 1000, tol: float = 1e-3, scaling: float | None = None,
             anneal: bool = True, relaxation: float = 1.8, memory: str = "auto", plan: bool | None = None,
             block_rows: int | None = None, warn: bool = True) -> OTResult:
    r"""Entropic optimal transport by Sinkhorn's iterations in the log domain.

    .. math:: \min_{P \in U(a, b)} \sum_{ij} P_{ij} C_{ij} + \varepsilon\, \mathrm{KL}(P \,|\, a \otimes b),
              \qquad C_{ij} = \|x_i - z_j\|^p \ \text{or a cost of one's own}

    Unbalanced (``rho``): the constraint :math:`P \in U(a, b)` becomes a penalty,

    .. math:: \min_{P \ge 0} \langle P, C\rangle + \varepsilon\, \mathrm{KL}(P \,|\, a \otimes b)
              + \rho\, \mathrm{KL}(P 1 \,|\, a) + \rho\, \mathrm{KL}(P^\top 1 \,|\, b)

    (generalised KL, :math:`\sum p \log(p/q) - p + q`), solved by the same iterations with each
    soft c-transform scaled by :math:`\rho / (\rho + \varepsilon)` and the potentials translated
    optimally at each iteration; the weights then keep their masses (Chizat, Peyre, Schmitzer,
    Vialard, "Scaling algorithms for unbalanced optimal transport problems", 2018; Sejourne et
    al., 2022). Its plan is POT's ``ot.unbalanced.sinkhorn_unbalanced(a, b, C, eps, rho,
    reg_type="kl")``.

    The updates are soft c-transforms computed with a log-sum-exp (max first), stable down to eps of
    1e-4 of the cost scale in float32 (and far below in float64); no NaN or inf where the problem is
    well posed. With ``anneal`` (default), eps starts at the mean cost under a (x) b (at most the
    cost's diameter) and falls by
    ``scaling`` per iteration down to ``eps`` (see :func:`schedule`; by default the ratio follows
    :func:`auto_scaling`, from 0.5 for eps near the diameter to 0.95 for eps of 1e-4 of it); the iterations then continue
    at ``eps`` until the L1 error of the unconstrained marginal is below ``tol`` or ``max_iter``
    iterations are made (a warning then, and ``converged=False``).

    Parameters
    ----------
    x : (n, d) or (B, n, d) Tensor or ndarray
    z : (m, d) or (B, m, d) Tensor or ndarray
    a, b : (n,), (m,) or (B, n), (B, m) weights, optional (uniform by default; ``[]`` too);
        normalised to mass 1 (balanced) or kept (unbalanced)
    p : float > 0, the ground cost :math:`\|x - z\|^p`
    cost : (n, m) or (B, n, m) Tensor or ndarray, keyword-only, instead of ``x`` and ``z``
        Any real costs, ``+inf`` for a forbidden pair (it carries no mass; a ``ValueError`` names
        ``cost`` when a balanced problem has no coupling that avoids them). Held whole (dense).
    eps : float, the temperature in units of the cost (default: 1e-2 times the diameter^p, or
        of the spread of ``cost``; 1 when every cost is equal)
    rho : float > 0, optional; the strength of the marginal penalties, in units of the cost
        (``None``: balanced transport)
    max_iter : int, iterations at the target eps after annealing
    tol : float, target L1 marginal error
    scaling : float in (0, 1), optional; ratio of successive eps while annealing (default:
        :func:`auto_scaling` of eps / D^p)
    anneal : bool, eps-scaling on (default) or off
    relaxation : float in [1, 2), the over-relaxation :math:`\omega` of the iterations at ``eps``:
        :math:`g \leftarrow g + \omega\,(T_\varepsilon f - g)`, then :math:`f \leftarrow
        T_\varepsilon g` exactly (so the rows of the plan stay exact and the stopping test is the
        plain one). 1 is plain Sinkhorn. The first two iterations at ``eps`` are plain, and a
        problem whose marginal error grows from one iteration to the next goes on with 1. Measured
        here (tol 1e-3; total iterations, plain -> 1.8): n = 2000 uniform points of the unit
        square, p = 2, eps / D^p = 1e-1: 6 -> 6; 1e-2: 24 -> 17; 1e-3: 122 -> 87; 1e-4: 420 ->
        317; Gaussian clouds in 3-D with random weights, eps / D^p = 1e-3: p = 1: 198 -> 129,
        p = 1.5: 93 -> 70, p = 3: 45 -> 44. A factor from the observed rate of plain Sinkhorn,
        2 / (1 + sqrt(1 - rate)), did worse than 1.8 in all these cases. (Thibault et al., "Overrelaxed Sinkhorn-Knopp
        algorithm for regularized optimal transport", 2017; Lehmann et al., 2021.)
    memory : {"auto", "dense", "online"}
        ``"dense"`` holds the n x m cost matrix; ``"online"`` recomputes it by blocks of rows into
        one buffer: memory O((n + m) d + block x m). ``"auto"``: online for p = 2 (just as fast)
        and when the dense matrices would exceed 1 GiB or a quarter of the free memory.
    plan : bool, optional; form the (n, m) plan (default: when it has at most 4M entries)
    block_rows : int, optional; rows per block (default: 1M entries per block)
    warn : bool; warn when not converged

    Returns
    -------
    OTResult
        ``entropic_cost``: :math:`\mathrm{OT}_\varepsilon`, the optimal value (the dual
        objective at the potentials; with ``rho`` the unbalanced one), differentiable in ``x``,
        ``z``, ``cost``, ``a`` and ``b`` by the envelope theorem: the plan in the cost, the
        potentials in the weights (centred and divided by the mass when balanced), one pass like an
        iteration. ``cost``: :math:`\sum_{ij} P_{ij} C_{ij}`, the transport cost of the entropic
        plan (>= the exact W_p^p when balanced), differentiable in the same arguments by implicit
        differentiation of the optimality conditions (see
        :mod:`monge.transport._entropic_gradients`; a conjugate-gradient solve in the backward
        pass). ``f``, ``g`` (potentials, :math:`P_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/
        \varepsilon}`), ``plan``, ``n_iter``, ``marginal_error`` (row plus column L1 error of the
        returned plan; with ``rho``, against the relaxed marginals :math:`a e^{-f/\rho}`,
        :math:`b e^{-g/\rho}` of the optimum), ``converged``, ``eps``. For batched input,
        ``n_iter``, ``marginal_error`` and ``converged`` are per problem.

    Examples
    --------
    >>> import torch
    >>> x, z = torch.rand(300, 2), torch.rand(400, 2)
    >>> r = sinkhorn(x, z, eps=1e-3)
    >>> bool(r.converged), r.marginal_error < 1e-3
    (True, True)
    """
    # OT(alpha, alpha), as in the Sinkhorn divergence: one potential, averaged updates
    symmetric = x is z and a is b and x is not None
    x, z, user_cost = _checks.problem(x, z, cost, batched=True)
    like = x if user_cost is None else user_cost
    if user_cost is None:
        p = _checks.exponent(p)
        _checks.cost_range(x, z, p)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise InputError(f"max_iter: {max_iter!r}; expected a positive integer")
    tol = _checks.real(tol, "tol")
    if not tol > 0:
        raise InputError(f"tol: {tol!r}; expected a positive number")
    relaxation = _checks.real(relaxation, "relaxation")
    if not 1 <= relaxation < 2:
        raise InputError(f"relaxation: {relaxation!r}; expected an over-relaxation factor in [1, 2)")
    if scaling is not None:
        scaling = _checks.real(scaling, "scaling")
        if not 0 < scaling < 1:
            raise InputError(f"scaling: {scaling!r}; expected a ratio in (0, 1)")
    rho = _rho_value(rho)
    batched = like.ndim == 3
    if user_cost is None:
        x3, z3 = (x, z) if batched else (x.unsqueeze(0), z.unsqueeze(0))
        batch, n, m = x3.shape[0], x3.shape[1], z3.shape[1]
        c3 = None
    else:
        c3 = user_cost if batched else user_cost.unsqueeze(0)
        batch, n, m = c3.shape
        if memory == "online":
            raise InputError("memory: 'online' recomputes the cost from points; with cost= the matrix is held whole "
                             "(use memory='auto' or 'dense')")
    if like.dtype not in (torch.float32, torch.float64):
        raise InputTypeError(f"{'x' if user_cost is None else 'cost'}: dtype {like.dtype}; sinkhorn computes in float32 or float64")
    a_raw = _checks.batched_weights(a, batch, n, "a", like)
    b_raw = _checks.batched_weights(b, batch, m, "b", like)
    if rho is None:
        for k in range(batch if a_raw.stride(0) or b_raw.stride(0) else 1):
            _checks.equal_mass(a_raw[k], b_raw[k], like.dtype)
        a3, b3 = a_raw / a_raw.sum(-1, keepdim=True), b_raw / b_raw.sum(-1, keepdim=True)
    else:
        a3, b3 = a_raw, b_raw
    if c3 is not None and rho is None:  # unbalanced transport may leave mass behind instead
        for k in range(batch):
            _checks.feasible(c3[k], a3[k], b3[k])
    a3, b3 = a3.to(like.dtype), b3.to(like.dtype)
    with torch.no_grad():
        if c3 is None:
            xc, zc = x3.detach(), z3.detach()
            centre = (xc.mean(1, keepdim=True) + zc.mean(1, keepdim=True)) / 2
            xc, zc = xc - centre, zc - centre
            both = torch.cat([xc, zc], 1)
            scale = (both.amax(1) - both.amin(1)).norm(dim=-1).pow(p)  # D^p
            dense = _mode(memory, batch, n, m, p, x3)
            gx, gz = Geometry(xc, p), Geometry(zc, p)
            matrix = None
            if dense:
                from .costs import cost_matrix
                matrix = cost_matrix(xc, zc, p)
        else:
            _mode("dense", batch, n, m, 2.0, c3)  # the memory check
            matrix = c3.detach()
            finite = torch.where(torch.isfinite(matrix), matrix, float("nan"))
            scale = _nanmax(finite) - _nanmin(finite)  # the spread of the allowed costs
            gx = Geometry(matrix.new_zeros(batch, n, 0), 2.0)  # no points: the soft-min reads the matrix
            gz = Geometry(matrix.new_zeros(batch, m, 0), 2.0)
        eps = _eps_value(eps, scale, like.dtype)
        to_z = Softmin(gx, gz, matrix, block_rows)  # f_i from g
        if symmetric:
            to_x = to_z
        else:
            to_x = Softmin(gz, gx, None if matrix is None else matrix.transpose(1, 2).contiguous(), block_rows)
        log_a, log_b = _log_weights(a3), _log_weights(b3)
        if scaling is None:
            scaling = auto_scaling(float(scale.max()), eps)
        start = _mean_cost(a3, b3, (xc, zc) if c3 is None else None, p, matrix, scale)  # where annealing starts
        steps = schedule(float(start.max()), eps, scaling) if anneal else [eps]
        if symmetric:
            f, g, outcome = _iterations.symmetric(to_z, log_a, b3, steps, rho, max_iter, tol)
        else:
            f, g, outcome = _iterations.alternating(to_z, to_x, log_a, log_b, b3, steps, rho, max_iter, tol,
                                                    relaxation)
        n_iter, error, converged, mark = outcome
        form_plan = plan if plan is not None else batch * n * m <= PLAN_LIMIT
        plan_out = torch.empty(batch, n, m, dtype=like.dtype, device=like.device) if form_plan else None
        target = like.new_full((batch,), eps)
        e = target.view(-1, 1)
        f_log, h = log_a + f / e, log_b + g / e
        rows, cols, transport = to_z.reductions(f_log, h, target, plan=plan_out)
        if rho is None:
            marginal = (rows - a3).abs().sum(1) + (cols - b3).abs().sum(1)
            # the dual's mass term eps (sum P - 1) vanishes: the rows are exact (f is updated last)
            entropic = (a3 * f).sum(1) + (b3 * g).sum(1)
        else:  # distance to the relaxed marginals a e^{-f/rho}, b e^{-g/rho} of the optimum
            marginal = (rows - a3 * torch.exp(-f / rho)).abs().sum(1) + (cols - b3 * torch.exp(-g / rho)).abs().sum(1)
            entropic = (-rho * (a3 * torch.expm1(-f / rho)).sum(1) - rho * (b3 * torch.expm1(-g / rho)).sum(1)
                        - eps * (rows.sum(1) - a3.sum(1) * b3.sum(1)))
    solution = Solution(softmin=to_z, f=f, g=g, log_a=log_a, log_b=log_b, eps=target, rho=rho,
                        mass_a=a_raw.sum(-1).to(like.dtype), mass_b=b_raw.sum(-1).to(like.dtype),
                        points=c3 is None, plan=plan_out)
    inputs = [x3 if c3 is None else None, z3 if c3 is None else None, c3,
              _autograd.differentiable(a), _autograd.differentiable(b)]
    transport = _autograd.attach(transport, implicit_rule(solution), inputs)
    entropic = _autograd.attach(entropic, envelope_rule(solution), inputs)
    if warn and not bool(converged.all()):
        warnings.warn(_not_converged(max_iter, eps, tol, error, mark, float(scale.max())), RuntimeWarning,
                      stacklevel=2)
    one = (lambda t: t) if batched else (lambda t: None if t is None else t[0])
    return OTResult(
        cost=one(transport), plan=one(plan_out), f=one(f), g=one(g),
        n_iter=n_iter if batched else int(n_iter[0]),
        marginal_error=marginal if batched else float(marginal[0]),
        converged=converged if batched else bool(converged[0]),
        method="sinkhorn", entropic_cost=one(entropic), eps=eps,
    )


def _mean_cost(a3, b3, points, p: float, matrix, scale: torch.Tensor) -> torch.Tensor:
    """The mean cost under a (x) b, at most ``scale`` (D^p), per problem: where annealing starts. For points,
    (E|x - z|^2)^(p/2) in closed form (no pass over the cost); for a cost matrix, over its finite
    entries and less its smallest (a constant added to the cost changes no plan)."""
    wa, wb = a3 / a3.sum(-1, keepdim=True), b3 / b3.sum(-1, keepdim=True)
    if points is not None:
        xc, zc = points
        mx, mz = (wa.unsqueeze(-1) * xc).sum(1), (wb.unsqueeze(-1) * zc).sum(1)
        second = (wa * xc.pow(2).sum(-1)).sum(1) + (wb * zc.pow(2).sum(-1)).sum(1) - 2 * (mx * mz).sum(-1)
        mean = second.clamp(min=0).pow(p / 2)
    else:
        finite = torch.isfinite(matrix)
        w = wa.unsqueeze(-1) * wb.unsqueeze(1) * finite
        mean = ((w * matrix.masked_fill(~finite, 0)).sum((1, 2)) / w.sum((1, 2))
                - _nanmin(matrix.masked_fill(~finite, math.nan)))
    return torch.minimum(scale, mean.nan_to_num(nan=math.inf))


def _not_converged(max_iter: int, eps: float, tol: float, error: torch.Tensor, mark, scale: float) -> str:
    """The warning when some problem has not converged: its error, and how fast it was falling
    (over the second half of the iterations at eps) with how many more iterations that rate needs."""
    worst = int(error.argmax())
    now, then, span = float(error[worst]), float(mark[0][worst]), mark[1]
    text = (f"sinkhorn: not converged after max_iter={max_iter} iterations at eps={eps:.3g} "
            f"(marginal error {now:.3g} > tol={tol:g})")
    if span < 10 or not math.isfinite(then):
        return text + "; raise max_iter or eps"
    if now < then:
        more = span * math.log(now / tol) / math.log(then / now)
        text += f"; it fell from {then:.3g} over the last {span} iterations: about {more:.2g} more at that rate"
    else:
        more = math.inf
        text += f"; it has not fallen over the last {span} iterations (from {then:.3g})"
    if more <= 10 * max_iter:
        return text + f": raise max_iter (to about {max_iter + more:.2g}) or eps"
    return text + (f". Sinkhorn's iterations crawl when eps (here {eps / max(scale, eps):.1e} of the diameter^p) "
                   "is far below the cost differences between neighbouring points (e.g. histograms on a grid): "
                   "each iteration moves the potentials by about eps times the error. Raise eps or tol")


def _nanmax(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).nan_to_num(nan=-math.inf).amax(1)


def _nanmin(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).nan_to_num(nan=math.inf).amin(1)
