r"""Successive shortest paths for transport with real masses on a sparse bipartite graph, by numba.

The exact repair of :mod:`monge.transport.sparse_kantorovich`'s certificate rounds: Kantorovich's
programme restricted to candidate edges (CSR by rows: ``indptr``, ``indices``, ``cost``; by
columns: ``col_edges[colptr[j]:colptr[j + 1]]``), from a flow that is optimal for the masses it
carries. The state is warm, as in :mod:`monge.transport._shortest_paths`: potentials ``u`` (rows),
``v`` (columns) with reduced costs :math:`C_e - u_i - v_j \ge 0` on every edge and :math:`= 0` on
every edge that carries flow. Each search starts from one row with mass left to send (``excess_row``),
runs Dijkstra in the residual graph (an edge forwards from its row to its column, and back from its
column to its row while it carries flow, at reduced cost 0), stops at the first column still short
of mass (``excess_col < 0``), updates the potentials of the settled nodes so that the invariant
holds, and pushes along the path as much as the row, the column and the backward edges allow (R. K.
Ahuja, T. L. Magnanti and J. B. Orlin, *Network Flows*, 1993, section 9.7).

Each search costs what it settles. Near an optimum the edges that carry flow form a spanning tree
at reduced cost 0, which a search may settle whole: so the paths repair a few rows, and the bulk of
a solve is left to the eps-scaling of :mod:`monge.transport._relaxation`.
"""

from __future__ import annotations

import numba
import numpy as np

from ._shortest_paths import _pop, _push


@numba.njit(cache=True, nogil=True)
def release(indptr, indices, cost, u, v, flow, excess_row, excess_col, rows):
    """Take back the flow of ``rows`` and lower each one's ``u`` to its least reduced cost over its edges."""
    for t in range(len(rows)):
        i = rows[t]
        best = np.inf
        for e in range(indptr[i], indptr[i + 1]):
            if flow[e] > 0:
                excess_row[i] += flow[e]
                excess_col[indices[e]] -= flow[e]
                flow[e] = 0.0
            w = cost[e] - v[indices[e]]
            if w < best:
                best = w
        u[i] = best


@numba.njit(cache=True, nogil=True)
def send(indptr, indices, cost, edge_row, colptr, col_edges, u, v, flow, excess_row, excess_col, rows, tiny):
    """Send the excess of each row of ``rows`` by shortest paths to columns short of mass.

    Returns the first row whose excess found no such column (the masses differ, or the edges admit no
    feasible plan), or -1.
    """
    n_rows, n_cols = len(u), len(v)
    nodes = n_rows + n_cols  # rows 0 .. n_rows - 1, then columns
    distance = np.empty(nodes)
    via = np.empty(nodes, dtype=np.int64)  # the edge a node was reached by
    seen = np.zeros(nodes, dtype=np.int64)
    settled = np.zeros(nodes, dtype=np.int64)
    order = np.empty(nodes, dtype=np.int64)
    capacity = 2 * len(indices) + nodes + 1
    keys = np.empty(capacity)
    values = np.empty(capacity, dtype=np.int64)
    stamp = 0
    for t in range(len(rows)):
        start = rows[t]
        while excess_row[start] > tiny:
            stamp += 1
            seen[start] = stamp
            distance[start] = 0.0
            size = _push(keys, values, 0, 0.0, start)
            n_settled, sink, level = 0, -1, 0.0
            while size > 0:
                key, node, size = _pop(keys, values, size)
                if settled[node] == stamp or key > distance[node]:
                    continue
                settled[node] = stamp
                order[n_settled] = node
                n_settled += 1
                level = key
                if node < n_rows:  # a row: forward along its edges
                    ui = u[node]
                    for e in range(indptr[node], indptr[node + 1]):
                        j = n_rows + indices[e]
                        if settled[j] == stamp:
                            continue
                        r = key + max(cost[e] - ui - v[indices[e]], 0.0)  # >= 0 but for rounding
                        if seen[j] != stamp:
                            seen[j] = stamp
                            distance[j] = np.inf
                        if r < distance[j]:
                            distance[j] = r
                            via[j] = e
                            size = _push(keys, values, size, r, j)
                else:  # a column: the sink if short of mass, else back along the edges that carry flow
                    col = node - n_rows
                    if excess_col[col] < -tiny:
                        sink = node
                        break
                    vj = v[col]
                    for q in range(colptr[col], colptr[col + 1]):
                        e = col_edges[q]
                        if flow[e] <= tiny:
                            continue
                        i = edge_row[e]
                        if settled[i] == stamp:
                            continue
                        r = key + max(u[i] + vj - cost[e], 0.0)  # 0 but for rounding
                        if seen[i] != stamp:
                            seen[i] = stamp
                            distance[i] = np.inf
                        if r < distance[i]:
                            distance[i] = r
                            via[i] = e
                            size = _push(keys, values, size, r, i)
            if sink < 0:
                return start
            for s in range(n_settled):
                node = order[s]
                if node < n_rows:
                    u[node] += level - distance[node]
                else:
                    v[node - n_rows] -= level - distance[node]
            delta = min(excess_row[start], -excess_col[sink - n_rows])
            node = sink
            while node != start:
                e = via[node]
                if node < n_rows:
                    delta = min(delta, flow[e])
                    node = n_rows + indices[e]
                else:
                    node = edge_row[e]
            node = sink
            while node != start:
                e = via[node]
                if node < n_rows:
                    flow[e] -= delta
                    node = n_rows + indices[e]
                else:
                    flow[e] += delta
                    node = edge_row[e]
            excess_row[start] -= delta
            excess_col[sink - n_rows] += delta
    return -1
