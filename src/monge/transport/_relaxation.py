r"""Transport with real masses on a sparse bipartite graph by eps-relaxation (push-relabel), by numba.

Kantorovich's programme restricted to candidate edges (CSR by rows: ``indptr``, ``indices``,
``cost``; by columns: ``col_edges[colptr[j]:colptr[j + 1]]``), with masses ``a`` on the rows and
``b`` on the columns. A *pseudo-flow* on the edges leaves each row an excess
:math:`a_i - \sum_j P_{ij}` still to send and each column an excess :math:`\sum_i P_{ij} - b_j`
received too much. With potentials ``u`` (rows) and ``v`` (columns) and reduced costs
:math:`r_{ij} = C_{ij} - u_i - v_j`, the pseudo-flow is *eps-optimal* when

.. math:: r_{ij} \ge -\varepsilon \ \text{on every edge}, \qquad r_{ij} \le \varepsilon \ \text{on every edge that carries mass},

and a feasible eps-optimal flow is within :math:`2 \varepsilon \sum_i a_i` of the optimum. One phase
(:func:`refine`) starts from the previous phase's flow and potentials, lowers the rows' potentials
and takes back the mass of the edges that break the conditions for the new eps, then discharges
every node with excess (A. V. Goldberg and R. E. Tarjan, "Finding minimum-cost circulations by
successive approximation", Math. Oper. Res. 15, 1990; D. P. Bertsekas, *Network Optimization:
Continuous and Discrete Models*, 1998, chapter 9, for the eps-relaxation form):

- a **row** with excess sends all of it to its column of least :math:`C_{ij} - v_j` (the edges are
  uncapacitated), first raising :math:`u_i` to that least value plus eps if no edge had
  :math:`r_{ij} < 0`: an auction's bid;
- a **column** with excess sends it back along the edges that carry mass and have
  :math:`r_{ij} > 0`, first lowering :math:`v_j` to :math:`\max_i (C_{ij} - u_i) - \varepsilon` over
  those edges if none had: it returns mass to the rows that value it least.

Masses below ``tiny`` count as zero.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _release(indptr, indices, cost, u, v, flow, excess_row, excess_col, eps):
    """Make the pseudo-flow eps-optimal: ``u_i <= min_j (C_ij - v_j) + eps``, and take back the mass of
    the edges whose reduced cost exceeds eps."""
    for i in range(len(u)):
        best = np.inf
        for e in range(indptr[i], indptr[i + 1]):
            w = cost[e] - v[indices[e]]
            if w < best:
                best = w
        if best + eps < u[i]:
            u[i] = best + eps
        for e in range(indptr[i], indptr[i + 1]):
            if flow[e] > 0 and cost[e] - u[i] - v[indices[e]] > eps:
                excess_row[i] += flow[e]
                excess_col[indices[e]] -= flow[e]
                flow[e] = 0.0


@numba.njit(cache=True, nogil=True)
def refine(indptr, indices, cost, edge_row, colptr, col_edges, u, v, flow, excess_row, excess_col, eps, tiny,
           max_discharges):
    """One phase at ``eps``: from any pseudo-flow to a feasible eps-optimal flow, in place.

    Returns the discharges made, or -1 if more than ``max_discharges`` were needed (the state is
    then eps-optimal but not feasible).
    """
    n, m = len(u), len(v)
    _release(indptr, indices, cost, u, v, flow, excess_row, excess_col, eps)
    size = n + m
    queue = np.empty(size, dtype=np.int64)
    queued = np.zeros(size, dtype=np.bool_)
    head, count = 0, 0
    for i in range(n):
        if excess_row[i] > tiny:
            queue[(head + count) % size] = i
            queued[i] = True
            count += 1
    for j in range(m):
        if excess_col[j] > tiny:
            queue[(head + count) % size] = n + j
            queued[n + j] = True
            count += 1
    discharges = 0
    while count > 0:
        node = queue[head]
        head = (head + 1) % size
        count -= 1
        queued[node] = False
        discharges += 1
        if discharges > max_discharges:
            return -1
        if node < n:
            i = node
            if excess_row[i] <= tiny:
                continue
            best, best_e = np.inf, -1
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                w = cost[e] - v[j]
                if w < best:
                    best, best_e = w, e
                if w < u[i] and excess_col[j] < -tiny:  # admissible, with room: fill it first
                    delta = min(excess_row[i], -excess_col[j])
                    flow[e] += delta
                    excess_col[j] += delta
                    excess_row[i] -= delta
                    if excess_row[i] <= tiny:
                        break
            if excess_row[i] <= tiny:
                continue
            if best - u[i] >= 0:  # no admissible edge: relabel
                u[i] = best + eps
            j = indices[best_e]
            flow[best_e] += excess_row[i]
            excess_col[j] += excess_row[i]
            excess_row[i] = 0.0
            if excess_col[j] > tiny and not queued[n + j]:
                queue[(head + count) % size] = n + j
                queued[n + j] = True
                count += 1
        else:
            j = node - n
            while excess_col[j] > tiny:
                discharges += 1  # a relabel that rounding leaves unchanged must not loop unseen
                if discharges > max_discharges:
                    return -1
                top = -np.inf
                for q in range(colptr[j], colptr[j + 1]):
                    e = col_edges[q]
                    if flow[e] <= 0:
                        continue
                    i = edge_row[e]
                    w = cost[e] - u[i]
                    if w - v[j] > 0:  # admissible: send back
                        delta = min(excess_col[j], flow[e])
                        flow[e] -= delta
                        excess_col[j] -= delta
                        excess_row[i] += delta
                        if excess_row[i] > tiny and not queued[i]:
                            queue[(head + count) % size] = i
                            queued[i] = True
                            count += 1
                        if excess_col[j] <= tiny:
                            break
                    elif w > top and flow[e] > 0:
                        top = w
                if excess_col[j] > tiny:  # relabel
                    if top == -np.inf:  # no mass left on the column's edges: nothing to send back
                        break
                    v[j] = top - eps
    return discharges


@numba.njit(cache=True, nogil=True)
def exact_potentials(indptr, indices, cost, edge_row, colptr, col_edges, u, v, flow, tiny, tol, max_passes):
    """Potentials that make a feasible flow exactly optimal on the edges, if its support allows: in place.

    On the support (edges with mass above ``tiny``), ``u_i + v_j = C_ij`` along a spanning forest,
    from each component's first node, which keeps its potential. Each component may then shift
    (``u + t``, ``v - t``) without changing that; the shifts that make every edge's reduced cost
    :math:`\\ge 0` solve difference constraints, by Bellman-Ford passes (at most ``max_passes``).
    Returns True when every edge ends with reduced cost >= -tol and every supported edge within
    ``tol`` of 0: the flow is then optimal on the edges, up to rounding. Else the potentials are
    restored and False is returned (the flow is not optimal yet: a smaller eps is needed).
    """
    n, m = len(u), len(v)
    saved_u, saved_v = u.copy(), v.copy()
    component = np.full(n + m, -1, dtype=np.int64)
    stack = np.empty(n + m, dtype=np.int64)
    n_components = 0
    for root in range(n + m):
        if component[root] >= 0:
            continue
        component[root] = n_components
        stack[0] = root
        top = 1
        while top > 0:
            top -= 1
            node = stack[top]
            if node < n:
                for e in range(indptr[node], indptr[node + 1]):
                    j = n + indices[e]
                    if flow[e] > tiny and component[j] < 0:
                        component[j] = n_components
                        v[indices[e]] = cost[e] - u[node]
                        stack[top] = j
                        top += 1
            else:
                col = node - n
                for q in range(colptr[col], colptr[col + 1]):
                    e = col_edges[q]
                    i = edge_row[e]
                    if flow[e] > tiny and component[i] < 0:
                        component[i] = n_components
                        u[i] = cost[e] - v[col]
                        stack[top] = i
                        top += 1
        n_components += 1
    shift = np.zeros(n_components)
    for _ in range(max_passes):
        changed = False
        for i in range(n):
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                k_row, k_col = component[i], component[n + j]
                if k_row == k_col:
                    continue
                r = cost[e] - u[i] - v[j]  # with the shifts: r - shift[k_row] + shift[k_col] >= 0
                if shift[k_row] > shift[k_col] + r:
                    shift[k_row] = shift[k_col] + r
                    changed = True
        if not changed:
            break
    for i in range(n):
        u[i] += shift[component[i]]
    for j in range(m):
        v[j] -= shift[component[n + j]]
    for i in range(n):
        for e in range(indptr[i], indptr[i + 1]):
            r = cost[e] - u[i] - v[indices[e]]
            if r < -tol or (flow[e] > tiny and r > tol):
                u[:] = saved_u
                v[:] = saved_v
                return False
    return True
