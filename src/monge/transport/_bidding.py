r"""Bertsekas' auction with eps-scaling on a sparse bipartite graph, compiled by numba.

The first stage of the sparse matching (:mod:`monge.transport.sparse`): in a few passes over the
candidate pairs it brings the column potentials ``v`` (minus the auction's prices) close to their
optimum, so that the exact stage (shortest augmenting paths, :mod:`monge.transport._shortest_paths`)
has only short paths left to find.

A free row ``i`` looks at :math:`w_j = C_{ij} - v_j` over its pairs, takes its best column
:math:`j_1` (:math:`w_1`) and second best (:math:`w_2`), lowers :math:`v_{j_1}` by
:math:`w_2 - w_1 + \varepsilon` and takes :math:`j_1` from its owner, who becomes free. Rows bid one
at a time (Gauss-Seidel, the last freed first). Each phase divides :math:`\varepsilon` by
``factor`` and frees only the rows that violate :math:`\varepsilon`-complementary slackness,
:math:`C_{i s_i} - v_{s_i} \le \min_j (C_{ij} - v_j) + \varepsilon`. The potentials only decrease.

Reference: D. P. Bertsekas, "The auction algorithm: a distributed relaxation method for the
assignment problem", Annals of Operations Research 14 (1988).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _row_best(indptr, indices, cost, v, i):
    """The best and second best ``C_ij - v_j`` of row ``i``, and the best one's edge."""
    first, second, edge = np.inf, np.inf, -1
    for e in range(indptr[i], indptr[i + 1]):
        w = cost[e] - v[indices[e]]
        if w < first:
            second = first
            first, edge = w, e
        elif w < second:
            second = w
    return first, second, edge


@numba.njit(cache=True, nogil=True)
def auction(indptr, indices, cost, v, col4row, row4col, eps_start, eps_end, factor, max_bids):
    """Assign every row by eps-scaling phases from ``eps_start`` down to ``eps_end``; return the bids made.

    ``v`` is lowered in place; ``col4row`` and ``row4col`` (-1 for free) hold the assignment, which
    satisfies eps_end-complementary slackness at the end. After ``max_bids`` bids it stops and
    returns -1: the caller goes on from the assignment and potentials reached (rows may be free).
    """
    n = len(col4row)
    matched = np.empty(n)  # C[i, col4row[i]]
    for i in range(n):
        j = col4row[i]
        if j >= 0:
            for e in range(indptr[i], indptr[i + 1]):
                if indices[e] == j:
                    matched[i] = cost[e]
    stack = np.empty(n, dtype=np.int64)
    eps = eps_start
    bids = 0
    while True:
        top = 0
        for i in range(n):
            j = col4row[i]
            if j >= 0:
                first, _, _ = _row_best(indptr, indices, cost, v, i)
                if matched[i] - v[j] <= first + eps:
                    continue
                row4col[j] = -1
                col4row[i] = -1
            stack[top] = i
            top += 1
        while top > 0:
            top -= 1
            i = stack[top]
            first, second, edge = _row_best(indptr, indices, cost, v, i)
            if second == np.inf:  # a single pair: the column is this row's at any price
                second = first + eps_start
            j = indices[edge]
            v[j] -= second - first + eps
            matched[i] = cost[edge]
            owner = row4col[j]
            row4col[j] = i
            col4row[i] = j
            if owner >= 0:
                col4row[owner] = -1
                stack[top] = owner
                top += 1
            bids += 1
            if bids >= max_bids:
                return -1
        if eps <= eps_end:
            return bids
        eps = max(eps / factor, eps_end)
