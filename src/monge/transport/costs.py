"""Ground costs ``c(x, z) = |x - z|^p`` and cost matrices, whole or in row blocks."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from monge.errors import InputError

from . import _checks, _memory

# Below this many multiply-adds the cost is computed from differences (exact for equal points);
# above it, from the expansion |x|^2 + |z|^2 - 2 x.z as one product of augmented points
# [x, |x|^2, 1] . [-2 z, 1, |z|^2] (one pass over the output), clamped at 0.
_DIRECT_LIMIT = 1 << 15
# Rows per block when a caller reduces over blocks: about 64 MiB of float32 per block.
_BLOCK_ELEMENTS = 1 << 24
# Squared distances from the expansion below this many unit round-offs of |x|^2 + |z|^2 are all
# rounding (the expansion cancels there): they are computed again from differences, so that
# equal points cost exactly 0 (and |x - z| is not the square root of a rounding error).
_CANCELLATION = 64.0


def ground_cost(x: torch.Tensor, z: torch.Tensor, p: float) -> torch.Tensor:
    r"""The ground cost :math:`c(x, z) = \|x - z\|^p` of paired points ``x``, ``z``, differentiable.

    ``x`` and ``z`` broadcast over their leading dimensions (the last is d); ``p > 0``. The
    gradient at ``x == z`` is taken as 0 (the subgradient of the norm that vanishes).
    """
    diff = x - z
    if p == 2.0:
        return diff.pow(2).sum(-1)
    sq = diff.pow(2).sum(-1)
    safe = torch.where(sq > 0, sq, torch.ones_like(sq))
    return torch.where(sq > 0, safe.pow(p / 2), torch.zeros_like(sq))


def _block(x: torch.Tensor, z: torch.Tensor, p: float, out: torch.Tensor | None = None,
           z_sq: torch.Tensor | None = None) -> torch.Tensor:
    if x.numel() * z.shape[-2] <= _DIRECT_LIMIT:  # batch x n x m x d multiply-adds
        c = ground_cost(x.unsqueeze(-2), z.unsqueeze(-3), p)
        if out is not None:
            out.copy_(c)
            return out
        return c
    if z_sq is None:
        z_sq = z.pow(2).sum(-1)
    x_sq = x.pow(2).sum(-1)
    if out is None:
        out = torch.empty(*x.shape[:-1], z.shape[-2], dtype=x.dtype, device=x.device)
    rows = torch.cat([x, x_sq.unsqueeze(-1), torch.ones_like(x_sq).unsqueeze(-1)], -1)
    cols = torch.cat([-2 * z, torch.ones_like(z_sq).unsqueeze(-1), z_sq.unsqueeze(-1)], -1)
    torch.matmul(rows, cols.transpose(-1, -2), out=out)
    out.clamp_(min=0)
    floor = _CANCELLATION * torch.finfo(out.dtype).eps * (float(x_sq.max()) + float(z_sq.max()))
    if float(out.amin()) <= floor:  # one reduction; the mask only where some pair is that close
        index = (out <= floor).nonzero(as_tuple=True)
        out[index] = (x[index[:-1]] - z[(*index[:-2], index[-1])]).pow(2).sum(-1)
    if p == 1.0:
        out.sqrt_()
    elif p != 2.0:
        out.pow_(p / 2)
    return out


def check_cost_range(x, z, p: float = 2.0, *, names: tuple[str, str] = ("x", "z")) -> None:
    r"""Refuse two clouds whose costs :math:`\|x_i - z_j\|^p` overflow their dtype, as every solver does.

    Every solver of :mod:`monge.transport` makes this check at its entry and names ``x`` or ``z``;
    a caller that holds the clouds under other names (files, say) checks them here first, so that
    the error names them, before any work starts. The bound is the dtype's largest number over
    ``4 d`` for :math:`D^{\max(p, 2)}`, :math:`D` the clouds' joint extent: the cost routines form
    squared distances.

    Parameters
    ----------
    x : (n, d) or (B, n, d) Tensor or ndarray
    z : (m, d) or (B, m, d) Tensor or ndarray, same dtype and device as ``x``
    p : float > 0
    names : (str, str), what to call ``x`` and ``z`` in an error

    Raises
    ------
    monge.errors.InputError
        Naming the cloud of the largest coordinates, the span found and the largest span allowed.

    Examples
    --------
    >>> import torch
    >>> check_cost_range(torch.zeros(2, 2), torch.full((2, 2), 1e20), names=("a.npy", "b.npy"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    monge.errors.InputError: b.npy: coordinates too large for the cost |x - z|^2 in torch.float32: ...
    >>> check_cost_range(torch.zeros(2, 2), torch.full((2, 2), 1e18))  # within float32's range
    """
    x, z = _checks.points(x, z, batched=True, names=names)
    _checks.cost_range(x, z, _checks.exponent(p), names)


def cost_matrix(x, z, p: float = 2.0, *, out: torch.Tensor | None = None) -> torch.Tensor:
    r"""The matrix of ground costs between two point clouds.

    .. math:: C_{ij} = \|x_i - z_j\|^p

    ``p = 1`` is Monge's Euclidean cost (section 2.3 of the text), ``p = 2`` the squared distance.
    Small problems are computed from differences (exact, differentiable everywhere but at
    ``x_i = z_j`` for ``p <= 1``); large ones by one matrix product per block of rows into a
    single output buffer, so that no other n x m temporary is made.

    Parameters
    ----------
    x : (n, d) or (B, n, d) Tensor or ndarray
    z : (m, d) or (B, m, d) Tensor or ndarray, same dtype and device as ``x``
    p : float > 0
    out : (n, m) or (B, n, m) Tensor, optional
        A buffer to write into (reused across calls on hot paths).

    Returns
    -------
    C : (n, m) or (B, n, m) Tensor, on the device and dtype of ``x``.

    Examples
    --------
    >>> import torch
    >>> from monge.transport import cost_matrix
    >>> cost_matrix(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]]), p=1)
    tensor([[5.]])
    """
    x, z = _checks.points(x, z, batched=True)
    p = _checks.exponent(p)
    _checks.cost_range(x, z, p)
    shape = (*x.shape[:-1], z.shape[-2])
    if out is None:
        numel = 1
        for s in shape:
            numel *= s
        _memory.require(numel * x.element_size(), x.device, f"a dense {'x'.join(map(str, shape))} cost matrix",
                        "reduce over row blocks with monge.transport.costs.cost_blocks, "
                        "or use sliced or sinkhorn transport")
    elif out.shape != shape or out.dtype != x.dtype or out.device != x.device:
        raise InputError(f"out: shape {tuple(out.shape)}, {out.dtype} on {out.device}; "
                         f"expected {shape}, {x.dtype} on {x.device}")
    if x.requires_grad or z.requires_grad:
        return ground_cost(x.unsqueeze(-2), z.unsqueeze(-3), p)
    with torch.no_grad():
        x, z = _centred(x, z)
        if out is None:
            return _block(x, z, p)
        z_sq = z.pow(2).sum(-1)
        for rows, _ in _row_ranges(x.shape[-2], z.shape[-2]):
            _block(x[..., rows, :], z, p, out=out[..., rows, :], z_sq=z_sq)
        return out


def _centred(x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Translate both clouds by z's mean: the cost does not change, the expansion's rounding does."""
    centre = z.mean(-2, keepdim=True)
    return x - centre, z - centre


def _row_ranges(n: int, m: int, block_rows: int | None = None) -> Iterator[tuple[slice, int]]:
    rows = block_rows or max(1, _BLOCK_ELEMENTS // max(m, 1))
    for start in range(0, n, rows):
        yield slice(start, min(n, start + rows)), start


def cost_blocks(x, z, p: float = 2.0, *, block_rows: int | None = None,
                buffer: torch.Tensor | None = None) -> Iterator[tuple[slice, torch.Tensor]]:
    r"""Yield ``(rows, C[rows])`` blocks of the cost matrix, for reductions in bounded memory.

    Memory is ``block_rows x m`` (default: about 16M entries), reused from block to block: a
    yielded block is overwritten by the next one, so reduce it before asking for more.

    .. math:: C_{ij} = \|x_i - z_j\|^p, \qquad i \in \texttt{rows}

    Parameters
    ----------
    x : (n, d) Tensor or ndarray
    z : (m, d) Tensor or ndarray, same dtype and device as ``x``
    p : float > 0
    block_rows : int, optional; rows per block (default: about 16M entries per block)
    buffer : (block_rows, m) Tensor, optional; the memory to reuse (allocated if not given)

    Yields
    ------
    rows : slice, the rows of ``C`` in this block
    C[rows] : (k, m) Tensor, without gradients, valid until the next block is asked for

    Examples
    --------
    >>> import torch
    >>> x, z = torch.randn(1000, 3), torch.randn(500, 3)
    >>> row_min = torch.cat([c.amin(1) for _, c in cost_blocks(x, z, block_rows=128)])
    >>> row_min.shape
    torch.Size([1000])
    """
    x, z = _checks.points(x, z)
    p = _checks.exponent(p)
    _checks.cost_range(x, z, p)
    n, m = x.shape[0], z.shape[0]
    rows = block_rows or max(1, _BLOCK_ELEMENTS // m)
    if buffer is None:
        buffer = torch.empty(min(rows, n), m, dtype=x.dtype, device=x.device)
    x, z = _centred(x.detach(), z.detach())
    z_sq = z.pow(2).sum(-1)
    with torch.no_grad():
        for sl, _ in _row_ranges(n, m, rows):
            k = sl.stop - sl.start
            yield sl, _block(x[sl], z, p, out=buffer[:k], z_sq=z_sq)


def penalised(cost: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Forbidden pairs (``allowed`` False, ``+inf`` in ``cost``) at a finite cost no optimal plan pays.

    The potentials of a transport basis are sums of at most n + m costs along a tree, so a cost
    above (n + m + 1) times the spread of the finite costs is an exact penalty: where a plan (or a
    permutation) avoiding the forbidden pairs exists, the optimum avoids them.
    """
    finite = cost[allowed]
    spread = float(finite.max() - finite.min()) + float(finite.abs().max()) + 1.0
    return torch.where(allowed, cost, float(finite.max()) + (cost.shape[-2] + cost.shape[-1] + 1) * spread)
