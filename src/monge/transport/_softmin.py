r"""The soft-min operator of Sinkhorn's iterations, by blocks of rows into one reused buffer.

For points ``x`` (rows), ``z`` (columns), a log-weight-plus-potential ``h`` on the columns and a
temperature :math:`\varepsilon`,

.. math:: \mathrm{softmin}(h)_i = -\varepsilon \log \sum_j \exp\big(h_j - C_{ij}/\varepsilon\big),
          \qquad C_{ij} = \|x_i - z_j\|^p .

Two ways to get :math:`C`: held whole (``dense``, computed once) or recomputed block by block from
the points (``online``: memory O((n + m) d + block x m)). For ``p = 2`` the online exponent is one
matrix product of augmented points, :math:`[x_i, 1] \cdot [2 z_j / \varepsilon,\ h_j -
|z_j|^2/\varepsilon]`, so recomputing the cost costs no more than reading it. Every block is
written into the same preallocated buffer: no n x m temporary is ever allocated (on this machine a
fresh one costs ~2 us per 4 KiB page), and a block of a few MiB stays in cache.
"""

from __future__ import annotations

import torch

# Entries per block buffer: 2^20 float32 = 4 MiB, about the L2+L3 share of one core here.
BLOCK_ELEMENTS = 1 << 20


def log_floor(dtype: torch.dtype) -> float:
    """Exponents are clamped here before ``exp``: results in the subnormal range make ``exp``
    about 14x slower on this CPU (measured), and what is cut off is below the dtype's resolution
    of a sum whose largest term is 1 (e^-87 in float32, e^-700 in float64)."""
    return -87.0 if dtype == torch.float32 else -700.0


class Geometry:
    """Points of one side of a batch of problems, centred, with what the soft-min needs of them.

    ``points`` is ``(B, n, d)``; the other side's ``Geometry`` supplies the columns.
    """

    def __init__(self, points: torch.Tensor, p: float):
        self.points = points
        self.p = p
        self.sq = points.pow(2).sum(-1)  # (B, n)
        ones = torch.ones_like(self.sq).unsqueeze(-1)
        # rows of the p = 2 product: [x, 1]; rows of the general squared distance: [x, 1, |x|^2]
        self.rows2 = torch.cat([points, ones], -1)
        self.rows_sq = torch.cat([points, ones, self.sq.unsqueeze(-1)], -1)
        self.cols_sq = torch.cat([-2 * points, self.sq.unsqueeze(-1), ones], -1)


class Softmin:
    """Blockwise soft-min from the rows of ``x`` to the columns of ``z`` (a batch of problems).

    Parameters
    ----------
    x, z : Geometry of the rows and of the columns
    dense : (B, n, m) Tensor or None
        The cost matrix, when held whole; otherwise it is recomputed per block.
    """

    def __init__(self, x: Geometry, z: Geometry, dense: torch.Tensor | None = None, block_rows: int | None = None):
        self.x, self.z, self.dense = x, z, dense
        batch, n, m = x.points.shape[0], x.points.shape[1], z.points.shape[1]
        self.rows = block_rows or max(1, min(n, BLOCK_ELEMENTS // max(1, batch * m)))
        self.buffer = torch.empty(batch, min(self.rows, n), m, dtype=x.points.dtype, device=x.points.device)

    def blocks(self):
        n = self.x.points.shape[1]
        for start in range(0, n, self.rows):
            stop = min(n, start + self.rows)
            yield slice(start, stop), self.buffer[:, : stop - start]

    def exponent(self, rows: slice, out: torch.Tensor, h: torch.Tensor, eps: torch.Tensor,
                 row_shift: bool = True) -> torch.Tensor:
        """Write ``h_j - C_ij / eps`` for the rows ``rows`` into ``out`` (B, k, m); eps is (B,).

        With ``row_shift=False`` and p = 2, the term ``-|x_i|^2 / eps``, constant along a row, is
        left out (the soft-min adds it back after the reduction: one pass fewer).
        """
        inv = (1.0 / eps).view(-1, 1, 1)
        if self.dense is not None:
            torch.mul(self.dense[:, rows], -inv, out=out)
            return out.add_(h.unsqueeze(1))
        if self.x.p == 2.0:
            cols = torch.cat([2 * self.z.points * inv, (h - self.z.sq * inv.view(-1, 1)).unsqueeze(-1)], -1)
            torch.bmm(self.x.rows2[:, rows], cols.transpose(1, 2), out=out)
            if not row_shift:
                return out
            return out.sub_((self.x.sq[:, rows] * inv.view(-1, 1)).unsqueeze(-1))
        torch.bmm(self.x.rows_sq[:, rows], self.z.cols_sq.transpose(1, 2), out=out)
        out.clamp_(min=0)
        if self.x.p == 1.0:
            out.sqrt_()
        else:
            out.pow_(self.x.p / 2)
        return out.mul_(-inv).add_(h.unsqueeze(1))

    def __call__(self, h: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """``-eps * logsumexp_j (h_j - C_ij / eps)`` for every row i: (B, n)."""
        out = torch.empty_like(self.x.sq)
        shifted = self.dense is None and self.x.p == 2.0
        floor = log_floor(out.dtype)
        for rows, buf in self.blocks():
            self.exponent(rows, buf, h, eps, row_shift=not shifted)
            top = buf.amax(-1, keepdim=True)
            top.nan_to_num_(neginf=0.0)  # a row whose columns all have zero weight
            buf.sub_(top).clamp_(min=floor).exp_()
            out[:, rows] = top.squeeze(-1) + buf.sum(-1).log()
        out.mul_(-eps.view(-1, 1))
        return out.add_(self.x.sq) if shifted else out

    def _cost_buffer(self) -> torch.Tensor:
        if getattr(self, "_second", None) is None:
            self._second = torch.empty_like(self.buffer)
        return self._second

    def _plan_block(self, rows: slice, buf: torch.Tensor, f_log, h, eps, cost_out: torch.Tensor | None):
        """Fill ``buf`` with the plan's rows ``P[rows]``; with ``cost_out``, also return ``C[rows]``
        (read from the dense matrix, else recovered from the exponent into ``cost_out``)."""
        self.exponent(rows, buf, h, eps)  # h_j - C_ij / eps
        cost = None
        if cost_out is not None:
            if self.dense is not None:
                cost = self.dense[:, rows]
            else:
                cost = torch.sub(h.unsqueeze(1), buf, out=cost_out).mul_(eps.view(-1, 1, 1))
        buf.add_(f_log[:, rows].unsqueeze(-1)).clamp_(min=log_floor(f_log.dtype)).exp_()
        if self.has_inf:  # the floor above lifts a forbidden pair's -inf: it carries no mass at all
            buf.masked_fill_(torch.isinf(self.dense[:, rows]), 0.0)
        return cost

    def _times_plan(self, cost: torch.Tensor, plan: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """``C * P`` into ``out``, 0 where a forbidden pair (C = +inf) carries no mass."""
        torch.mul(cost, plan, out=out)
        return out.nan_to_num_(nan=0.0) if self.has_inf else out

    @property
    def has_inf(self) -> bool:
        if getattr(self, "_has_inf", None) is None:
            self._has_inf = self.dense is not None and bool(torch.isinf(self.dense).any())
        return self._has_inf

    def reductions(self, f_log: torch.Tensor, h: torch.Tensor, eps: torch.Tensor,
                   plan: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r"""One pass over :math:`P_{ij} = \exp(f^{log}_i + h_j - C_{ij}/\varepsilon)`.

        Returns the row sums (B, n), the column sums (B, m) and :math:`\sum_{ij} P_{ij} C_{ij}` (B,);
        fills ``plan`` (B, n, m) when given.
        """
        row_sums = torch.empty_like(f_log)
        col_sums = torch.zeros_like(h)
        total = torch.zeros_like(eps)
        second = self._cost_buffer()
        for rows, buf in self.blocks():
            cost = self._plan_block(rows, buf, f_log, h, eps, second[:, : buf.shape[1]])
            row_sums[:, rows] = buf.sum(-1)
            col_sums += buf.sum(1)
            total += self._times_plan(cost, buf, second[:, : buf.shape[1]]).sum((1, 2))
            if plan is not None:
                plan[:, rows] = buf
        return row_sums, col_sums, total

    def contractions(self, f_log: torch.Tensor, h: torch.Tensor, eps: torch.Tensor, u: torch.Tensor,
                     v: torch.Tensor, with_cost: bool = False):
        r"""One pass: :math:`P v` (B, n) and :math:`P^\top u` (B, m); with ``with_cost``, also the
        row and column sums of :math:`P \odot C` (the right-hand side of the implicit derivative)."""
        pv = torch.empty_like(f_log)
        pu = torch.zeros_like(h)
        hc_rows, hc_cols = (torch.empty_like(f_log), torch.zeros_like(h)) if with_cost else (None, None)
        second = self._cost_buffer()
        for rows, buf in self.blocks():
            k = buf.shape[1]
            cost = self._plan_block(rows, buf, f_log, h, eps, second[:, :k] if with_cost else None)
            pv[:, rows] = torch.bmm(buf, v.unsqueeze(-1)).squeeze(-1)
            pu += torch.bmm(u[:, rows].unsqueeze(1), buf).squeeze(1)
            if with_cost:
                weighted = self._times_plan(cost, buf, second[:, :k])
                hc_rows[:, rows] = weighted.sum(-1)
                hc_cols += weighted.sum(1)
        return pv, pu, hc_rows, hc_cols

    def _weights(self, rows, buf, f_log, h, eps, u, v, cost_out):
        r"""``buf`` <- the weights of the gradient: :math:`P` (envelope), or with the adjoint
        ``(u, v)`` of the implicit derivative :math:`P \odot (1 + (u_i + v_j - C_{ij})/\varepsilon)`;
        returns the cost block (or None when not needed)."""
        need_cost = u is not None or self.x.p != 2.0
        cost = self._plan_block(rows, buf, f_log, h, eps, cost_out if need_cost else None)
        if u is not None:
            shift = (u[:, rows].unsqueeze(-1) + v.unsqueeze(1)) / eps.view(-1, 1, 1) + 1.0
            factor = torch.sub(shift, cost / eps.view(-1, 1, 1))
            buf.mul_(factor)
            if self.has_inf:
                buf.nan_to_num_(nan=0.0)
        return cost

    def plan_gradient(self, f_log: torch.Tensor, h: torch.Tensor, eps: torch.Tensor,
                      u: torch.Tensor | None = None, v: torch.Tensor | None = None) -> torch.Tensor:
        r"""The gradient in the cost matrix, (B, n, m): the plan (envelope), or with the adjoint ``(u, v)``
        :math:`P \odot (1 + (u_i + v_j - C_{ij})/\varepsilon)` (implicit derivative of :math:`\langle P, C\rangle`)."""
        out = torch.empty(*f_log.shape, h.shape[-1], dtype=f_log.dtype, device=f_log.device)
        second = self._cost_buffer()
        for rows, buf in self.blocks():
            self._weights(rows, buf, f_log, h, eps, u, v, second[:, : buf.shape[1]])
            out[:, rows] = buf
        return out

    def gradients(self, f_log: torch.Tensor, h: torch.Tensor, eps: torch.Tensor,
                  u: torch.Tensor | None = None, v: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Gradients in x and z of :math:`\sum_{ij} W_{ij} \|x_i - z_j\|^p`, W the weights of :meth:`_weights`.

        With :math:`K_{ij} = p \|x_i - z_j\|^{p-2}` (0 where the points coincide):
        :math:`\nabla_{x_i} = \sum_j W_{ij} K_{ij} (x_i - z_j)`, :math:`\nabla_{z_j} = -\sum_i W_{ij} K_{ij} (x_i - z_j)`.
        One pass over the blocks, like one iteration.
        """
        x, z, p = self.x.points, self.z.points, self.x.p
        grad_x = torch.empty_like(x)
        grad_z = torch.zeros_like(z)
        weight_z = torch.zeros_like(h)
        second = self._cost_buffer()
        for rows, buf in self.blocks():
            cost = self._weights(rows, buf, f_log, h, eps, u, v, second[:, : buf.shape[1]])
            if p == 2.0:
                buf.mul_(2.0)
            else:  # p C^{(p-2)/p}, and 0 where C = 0
                kernel = second[:, : buf.shape[1]]
                if kernel.data_ptr() != cost.data_ptr():
                    kernel.copy_(cost)
                kernel.clamp_(min=0)
                positive = kernel > 0
                kernel.masked_fill_(~positive, 1.0).pow_((p - 2.0) / p).mul_(p).masked_fill_(~positive, 0.0)
                buf.mul_(kernel)
            grad_x[:, rows] = buf.sum(-1, keepdim=True) * x[:, rows] - torch.bmm(buf, z)
            weight_z += buf.sum(1)
            grad_z -= torch.bmm(buf.transpose(1, 2), x[:, rows])
        grad_z += weight_z.unsqueeze(-1) * z
        return grad_x, grad_z
