r"""Shortest augmenting paths on a sparse bipartite graph, compiled by numba.

The assignment problem :math:`\min_s \sum_i C_{i s_i}` restricted to a candidate set of edges,
stored by rows (CSR: ``indptr``, ``indices``, ``cost``), solved by successive shortest augmenting
paths in the form of Jonker-Volgenant and of scipy's ``linear_sum_assignment`` (D. F. Crouse, "On
implementing 2D rectangular assignment algorithms", IEEE TAES 52, 2016), with two changes that make
it sparse: Dijkstra's search visits a row's candidate edges only and keeps its frontier in a binary
heap, and every per-column array is marked with the number of the search instead of being cleared,
so a search costs what it visits, not n.

The state is warm: potentials ``u`` (rows) and ``v`` (columns) with reduced costs
:math:`C_{ij} - u_i - v_j \ge 0` on every candidate edge and :math:`= 0` on every matched one. Each
search from a free row finds the shortest path to a free column in reduced costs, updates the
potentials so that the invariant holds, and augments along the path. A caller may free rows, lower
their ``u`` and add edges between solves: the matching that remains keeps its potentials.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _push(keys, values, size, key, value):
    """Insert ``(key, value)`` into the binary min-heap ``keys[:size]``; return the new size."""
    at = size
    while at > 0:
        parent = (at - 1) >> 1
        if keys[parent] <= key:
            break
        keys[at] = keys[parent]
        values[at] = values[parent]
        at = parent
    keys[at] = key
    values[at] = value
    return size + 1


@numba.njit(cache=True, nogil=True)
def _pop(keys, values, size):
    """Remove the heap's least entry; return ``(key, value, new size)``."""
    key, value = keys[0], values[0]
    size -= 1
    last_key, last_value = keys[size], values[size]
    at = 0
    while True:
        child = 2 * at + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= last_key:
            break
        keys[at] = keys[child]
        values[at] = values[child]
        at = child
    if size > 0:
        keys[at] = last_key
        values[at] = last_value
    return key, value, size


@numba.njit(cache=True, nogil=True)
def reduce_rows(indptr, indices, cost, v, u, col4row, row4col, rows):
    """For each row of ``rows`` (free rows): ``u_i = min_j (C_ij - v_j)`` over its edges, and take that
    column when it is free (the greedy start of Jonker-Volgenant). Return the rows left free."""
    left = np.empty(len(rows), dtype=np.int64)
    n_left = 0
    for t in range(len(rows)):
        i = rows[t]
        best, best_j = np.inf, -1
        for e in range(indptr[i], indptr[i + 1]):
            r = cost[e] - v[indices[e]]
            if r < best:
                best, best_j = r, indices[e]
        u[i] = best
        if best_j >= 0 and row4col[best_j] < 0:
            row4col[best_j] = i
            col4row[i] = best_j
        else:
            left[n_left] = i
            n_left += 1
    return left[:n_left]


@numba.njit(cache=True, nogil=True)
def augment(indptr, indices, cost, u, v, col4row, row4col, rows):
    """Match every row of ``rows`` (all free) by one shortest augmenting path each.

    Returns ``(failed_row, visited)``: the first row with no path to a free column (the candidate
    graph has no matching that covers it), or -1; and the number of columns the searches settled.
    """
    n_cols = len(v)
    n_rows = len(u)
    distance = np.empty(n_cols)
    path = np.empty(n_cols, dtype=np.int64)
    seen = np.zeros(n_cols, dtype=np.int64)
    settled = np.zeros(n_cols, dtype=np.int64)
    capacity = len(indices) + 1
    keys = np.empty(capacity)
    values = np.empty(capacity, dtype=np.int64)
    scanned_rows = np.empty(n_rows, dtype=np.int64)
    settled_cols = np.empty(n_cols, dtype=np.int64)
    visited = 0
    for t in range(len(rows)):
        start = rows[t]
        stamp = t + 1
        size = 0
        n_scanned, n_settled = 0, 0
        level = 0.0
        i = start
        sink = -1
        while sink < 0:
            scanned_rows[n_scanned] = i
            n_scanned += 1
            ui = u[i]
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                if settled[j] == stamp:
                    continue
                r = level + cost[e] - ui - v[j]
                if seen[j] != stamp:
                    seen[j] = stamp
                    distance[j] = np.inf
                if r < distance[j]:
                    distance[j] = r
                    path[j] = i
                    size = _push(keys, values, size, r, j)
            j = -1
            while size > 0:
                key, candidate, size = _pop(keys, values, size)
                if settled[candidate] != stamp and key <= distance[candidate]:
                    j = candidate
                    level = key
                    break
            if j < 0:
                return start, visited
            settled[j] = stamp
            settled_cols[n_settled] = j
            n_settled += 1
            if row4col[j] < 0:
                sink = j
            else:
                i = row4col[j]
        visited += n_settled
        u[start] += level
        for s in range(1, n_scanned):
            i = scanned_rows[s]
            u[i] += level - distance[col4row[i]]
        for s in range(n_settled):
            j = settled_cols[s]
            v[j] -= level - distance[j]
        j = sink
        while True:
            i = path[j]
            row4col[j] = i
            previous = col4row[i]
            col4row[i] = j
            j = previous
            if i == start:
                break
    return -1, visited
