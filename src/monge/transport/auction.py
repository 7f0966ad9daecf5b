r"""Bertsekas' auction for the assignment problem, batched and vectorised in plain torch.

Objects ``j`` (the points ``z_j``) carry prices :math:`p_j`. An unassigned bidder ``i`` (a point
``x_i``) looks at :math:`C_{ij} + p_j`, takes its best object :math:`j_1` (value :math:`w_1`) and
second best (value :math:`w_2`), and bids the price :math:`p_{j_1} + (w_2 - w_1) + \varepsilon`.
Every object goes to its highest bidder; the owner it had is unassigned. All unassigned bidders of
all problems of a batch bid at once (the Jacobi auction). With eps-scaling, the auction runs in
phases of decreasing :math:`\varepsilon`; a phase keeps the prices and only releases the pairs that
violate :math:`\varepsilon`-complementary slackness at the new :math:`\varepsilon`.

Certificate. With :math:`f_i = \min_j (C_{ij} + p_j)` and :math:`g_j = -p_j`, the potentials are
dual feasible by construction (:math:`f_i + g_j \le C_{ij}` for all pairs), so weak duality gives,
for the assignment :math:`s`,

.. math:: \sum_i C_{i s_i} - \mathrm{OPT} \;\le\; \text{gap} = \sum_i C_{i s_i} - \sum_i f_i - \sum_j g_j,

computed in float64 on the full cost matrix. A problem is certified when
:math:`\text{gap} \le n \cdot 8 u \cdot \max_{ij} |C_{ij}|`, with ``u`` the unit round-off of the
working dtype: the returned assignment is then optimal up to the rounding of n costs in that dtype.
The auction stops a problem as soon as its gap passes that test (at the latest when
:math:`\varepsilon` reaches :math:`8 u \max|C|`, where :math:`\text{gap} \le n\varepsilon`).

Reference: D. P. Bertsekas, "The auction algorithm: a distributed relaxation method for the
assignment problem", Annals of Operations Research 14 (1988).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Each phase divides eps by this factor, from a quarter of the cost spread down; among 4, 7, 15, 40
# (and starting points spread/4 ... spread/256), 4 from spread/4 gave the fewest bids here.
SCALING = 4.0
# Multiples of the unit round-off: the final eps and the certificate's tolerance.
ROUNDOFF_MARGIN = 8.0


@dataclass(frozen=True)
class AuctionOutcome:
    r"""Assignment, potentials and certificate of a batch of auctions (what :func:`auction` returns).

    Attributes
    ----------
    assignment : (B, n) long Tensor, bidder ``i`` gets object ``assignment[b, i]``
    f : (B, n) Tensor, the bidders' potentials :math:`f_i = \min_j (C_{ij} + p_j)`
    g : (B, n) Tensor, the objects' potentials :math:`g_j = -p_j` (:math:`f_i + g_j \le C_{ij}`)
    gap : (B,) float64 Tensor, :math:`\sum_i C_{i s_i} - \sum_i f_i - \sum_j g_j`, in units of the cost
        summed over the n pairs
    tolerance : (B,) float64 Tensor, the certificate's bound on ``gap``, same units
    certified : (B,) bool Tensor, ``gap <= tolerance``: the assignment is optimal to round-off
    n_rounds : int, the bidding rounds made
    """

    assignment: torch.Tensor
    f: torch.Tensor
    g: torch.Tensor
    gap: torch.Tensor
    tolerance: torch.Tensor
    certified: torch.Tensor
    n_rounds: int


def _gap(cost: torch.Tensor, prices: torch.Tensor, assignment: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bidder slack ``C[i, s_i] + p[s_i] - min_j (C[i, j] + p[j])`` and the row minima, (k, n) each."""
    row_min = (cost + prices.unsqueeze(1)).amin(-1)
    assigned = cost.gather(-1, assignment.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    slack = assigned + prices.gather(-1, assignment.clamp(min=0)) - row_min
    return slack, row_min


def auction(cost: torch.Tensor, *, max_rounds: int | None = None) -> AuctionOutcome:
    r"""Solve the assignment problem for every ``b`` of a ``(B, n, n)`` cost tensor by Bertsekas' auction.

    .. math:: \min_{s \in S_n} \sum_{i=1}^n C_{b, i, s_i}

    Runs on the device and dtype of ``cost`` (float32 or float64). ``max_rounds`` bounds the bidding
    rounds (default ``200 n`` per phase); problems not certified by then are reported as such.

    Parameters
    ----------
    cost : (B, n, n) Tensor, float32 or float64
    max_rounds : int, optional; the most bidding rounds in all

    Returns
    -------
    AuctionOutcome
    """
    batch, n, _ = cost.shape
    device, dtype = cost.device, cost.dtype
    unit = torch.finfo(dtype).eps
    scale = cost.abs().flatten(1).amax(1).clamp(min=torch.finfo(dtype).tiny)  # (B,)
    eps_final = ROUNDOFF_MARGIN * unit * scale
    tolerance = (n * eps_final).double()
    prices = torch.zeros(batch, n, dtype=dtype, device=device)
    assignment = torch.full((batch, n), -1, dtype=torch.long, device=device)
    owner = torch.full((batch, n), -1, dtype=torch.long, device=device)
    if n == 1:
        assignment.zero_()
        owner.zero_()
    spread = (cost.flatten(1).amax(1) - cost.flatten(1).amin(1))
    eps = torch.maximum(spread / 4, eps_final)
    gap = torch.full((batch,), float("inf"), dtype=torch.float64, device=device)
    active = torch.ones(batch, dtype=torch.bool, device=device)
    flat_cost = cost.reshape(batch * n, n)
    phases = int(torch.log(spread.max() / eps_final.min()).clamp(min=0) / torch.log(torch.tensor(SCALING))) + 2
    limit = max_rounds if max_rounds is not None else 200 * n * phases + 100
    rounds = 0
    while rounds < limit:
        unassigned = assignment < 0
        done = active & ~unassigned.any(1)
        if bool(done.any()):
            idx = done.nonzero().squeeze(1)
            slack, _ = _gap(cost[idx], prices[idx], assignment[idx])
            gap[idx] = slack.double().sum(1)
            finished = (gap[idx] <= tolerance[idx]) | (eps[idx] <= eps_final[idx])
            active[idx[finished]] = False
            go_on = idx[~finished]
            if go_on.numel():
                eps[go_on] = torch.maximum(eps[go_on] / SCALING, eps_final[go_on])
                release = slack[~finished] > eps[go_on].unsqueeze(1)
                rows = go_on.unsqueeze(1).expand_as(release)[release]
                cols = assignment[go_on][release]
                owner[rows, cols] = -1
                sub = assignment[go_on]
                sub[release] = -1
                assignment[go_on] = sub
            if not bool(active.any()):
                break
            unassigned = assignment < 0
        bidders = (unassigned & active.unsqueeze(1)).reshape(-1).nonzero().squeeze(1)
        if bidders.numel() == 0:
            continue
        rounds += 1
        prob = bidders // n
        values = flat_cost.index_select(0, bidders).add_(prices.index_select(0, prob))
        first, target = values.min(1)
        values.scatter_(1, target.unsqueeze(1), float("inf"))
        second = values.amin(1)
        bid = prices.view(-1)[prob * n + target] + (second - first) + eps[prob]
        slot = prob * n + target
        top = torch.full((batch * n,), -float("inf"), dtype=dtype, device=device)
        top.scatter_reduce_(0, slot, bid, reduce="amax")
        winners = bid >= top[slot]
        # One winner per object: among tied top bids keep the bidder with the largest index.
        win_slot, win_bidder, win_bid = slot[winners], bidders[winners], bid[winners]
        pick = torch.full((batch * n,), -1, dtype=torch.long, device=device)
        pick.scatter_reduce_(0, win_slot, win_bidder, reduce="amax")
        keep = pick[win_slot] == win_bidder
        win_slot, win_bidder, win_bid = win_slot[keep], win_bidder[keep], win_bid[keep]
        flat_owner = owner.view(-1)
        previous = flat_owner[win_slot]
        displaced = previous[previous >= 0]
        assignment.view(-1)[displaced] = -1
        flat_owner[win_slot] = win_bidder
        assignment.view(-1)[win_bidder] = win_slot - (win_bidder // n) * n
        prices.view(-1)[win_slot] = win_bid
    certified = gap <= tolerance
    f = (cost + prices.unsqueeze(1)).amin(-1)
    return AuctionOutcome(assignment=assignment.clamp(min=0), f=f, g=-prices, gap=gap, tolerance=tolerance,
                          certified=certified & (assignment >= 0).all(1), n_rounds=rounds)
