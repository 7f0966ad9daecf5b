r"""The k smallest :math:`\|x_i - z_j\|^2 - g_j` of each row: a k-d tree on ``z`` whose nodes tilt the potential.

A k-d tree on the lifted points :math:`(z_j, \sqrt{G - g_j})` (what ``scipy.spatial.cKDTree`` gives)
bounds a node by the distance to its box, which decouples the two terms: near an optimum
:math:`\nabla g(z) = 2 (z - T^{-1} z)` is as large as the transport's displacement, so the bound of a
box of diameter :math:`\delta` misses by about :math:`4 |z - T^{-1} z| \delta`. Where points move far
(a blob onto a ring), every query then visits a region whose area does not shrink with the spacing:
O(n^{1/2}) points a query, O(n^{3/2}) a pass (13.7 s for one certificate at n = 100,000).

Here each node B carries its own slope :math:`b_B` (the least-squares fit of ``g`` on its points)
and :math:`h_B = \max_{j \in B} g_j - b_B \cdot z_j`. Since

.. math:: \|x - z\|^2 - g(z) = \|z - (x + b/2)\|^2 - b \cdot x - |b|^2/4 - (g(z) - b \cdot z),

the node's bound :math:`\mathrm{dist}(x + b_B/2, B)^2 - b_B \cdot x - |b_B|^2/4 - h_B` holds for any
slope, and misses by a second-order term only where :math:`b_B \approx \nabla g` on B: a query
visits O(1) leaves whatever the displacement. Any ``g`` gives exact answers; a smooth one, fast ones.
Other exponents have no such identity: their nodes bound :math:`\|x - z\|^p - g(z)` by
:math:`\mathrm{dist}(x, B)^p - \max_B g`.

Rounding: a node is pruned only when its bound exceeds the k-th best value by ``margin`` plus the
bound's own rounding (a few unit round-offs of its terms' magnitudes), so a returned column is
within ``margin`` of the true k-th smallest.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

# Points per leaf (at most).
LEAF = 8
# Threads of a query (numba releases the GIL).
_THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@numba.njit(cache=True)
def _build(z, depth):
    """Order of the points and boxes of a complete tree of ``depth`` levels (heap layout), by median
    splits along each node's widest axis."""
    n, d = z.shape
    n_nodes = (1 << (depth + 1)) - 1
    start = np.empty(n_nodes, dtype=np.int64)
    end = np.empty(n_nodes, dtype=np.int64)
    order = np.arange(n)
    start[0], end[0] = 0, n
    for node in range((1 << depth) - 1):  # the internal nodes, parents before children
        s, e = start[node], end[node]
        widest, span = 0, -1.0
        for a in range(d):
            lo, hi = np.inf, -np.inf
            for t in range(s, e):
                c = z[order[t], a]
                lo, hi = min(lo, c), max(hi, c)
            if e > s and hi - lo > span:
                widest, span = a, hi - lo
        segment = order[s:e].copy()
        keys = np.empty(e - s)
        for t in range(e - s):
            keys[t] = z[segment[t], widest]
        order[s:e] = segment[np.argsort(keys, kind="mergesort")]
        mid = (s + e) // 2
        start[2 * node + 1], end[2 * node + 1] = s, mid
        start[2 * node + 2], end[2 * node + 2] = mid, e
    lo = np.full((n_nodes, d), np.inf)
    hi = np.full((n_nodes, d), -np.inf)
    for node in range(n_nodes - 1, -1, -1):  # children before parents
        if node >= (1 << depth) - 1:
            for t in range(start[node], end[node]):
                for a in range(d):
                    c = z[order[t], a]
                    lo[node, a] = min(lo[node, a], c)
                    hi[node, a] = max(hi[node, a], c)
        else:
            for a in range(d):
                lo[node, a] = min(lo[2 * node + 1, a], lo[2 * node + 2, a])
                hi[node, a] = max(hi[2 * node + 1, a], hi[2 * node + 2, a])
    return order, start, end, lo, hi


@numba.njit(cache=True, nogil=True)
def _tilt(zs, gs, start, end, depth):
    """Each node's slope (least squares of g on its points; 0 where its points span no d dimensions)
    and its h_B, from moments summed up the tree."""
    n_nodes, d = len(start), zs.shape[1]
    first_leaf = (1 << depth) - 1
    count = np.zeros(n_nodes)
    first = np.zeros((n_nodes, d))  # sums of z, of z z^T, of g, of z g
    second = np.zeros((n_nodes, d, d))
    value = np.zeros(n_nodes)
    cross = np.zeros((n_nodes, d))
    for node in range(n_nodes - 1, -1, -1):
        if node >= first_leaf:
            for t in range(start[node], end[node]):
                count[node] += 1.0
                value[node] += gs[t]
                for a in range(d):
                    first[node, a] += zs[t, a]
                    cross[node, a] += zs[t, a] * gs[t]
                    for c in range(d):
                        second[node, a, c] += zs[t, a] * zs[t, c]
        else:
            for child in (2 * node + 1, 2 * node + 2):
                count[node] += count[child]
                value[node] += value[child]
                for a in range(d):
                    first[node, a] += first[child, a]
                    cross[node, a] += cross[child, a]
                    for c in range(d):
                        second[node, a, c] += second[child, a, c]
    slope = np.zeros((n_nodes, d))
    top = np.full(n_nodes, -np.inf)
    matrix = np.empty((d, d))
    rhs = np.empty(d)
    for node in range(n_nodes):
        m = count[node]
        if m > d:
            trace = 0.0
            for a in range(d):  # covariance and covariance with g, then Cholesky
                rhs[a] = cross[node, a] - first[node, a] * value[node] / m
                for c in range(d):
                    matrix[a, c] = second[node, a, c] - first[node, a] * first[node, c] / m
                trace += matrix[a, a]
            ok = trace > 0
            for a in range(d):
                matrix[a, a] += 1e-12 * trace
            for a in range(d):
                if not ok:
                    break
                for c in range(a + 1):
                    total = matrix[a, c]
                    for e in range(c):
                        total -= matrix[a, e] * matrix[c, e]
                    if a == c:
                        if not total > 0:
                            ok = False
                            break
                        matrix[a, a] = np.sqrt(total)
                    else:
                        matrix[a, c] = total / matrix[c, c]
            if ok:
                for a in range(d):  # forward, then backward substitution
                    total = rhs[a]
                    for e in range(a):
                        total -= matrix[a, e] * rhs[e]
                    rhs[a] = total / matrix[a, a]
                for a in range(d - 1, -1, -1):
                    total = rhs[a]
                    for e in range(a + 1, d):
                        total -= matrix[e, a] * rhs[e]
                    rhs[a] = total / matrix[a, a]
                finite = True
                for a in range(d):
                    finite = finite and np.isfinite(rhs[a])
                if finite:
                    for a in range(d):
                        slope[node, a] = rhs[a]
        for t in range(start[node], end[node]):
            h = gs[t]
            for a in range(d):
                h -= slope[node, a] * zs[t, a]
            top[node] = max(top[node], h)
    return slope, top


@numba.njit(cache=True, nogil=True)
def _highest(gs, start, end):
    """Each node's largest g (its bound without a slope)."""
    top = np.full(len(start), -np.inf)
    for node in range(len(start)):
        for t in range(start[node], end[node]):
            top[node] = max(top[node], gs[t])
    return top


def _compiled_query(squared: bool):
    """The query, compiled for p = 2 (``squared``: the tilted bound, no power) or for any other p."""

    def query(x, zs, gs, start, end, lo, hi, slope, top, depth, k, margin, p):
        n, d = x.shape
        first_leaf = (1 << depth) - 1
        cols = np.empty((n, k), dtype=np.int64)
        guard = 8.0 * (d + 4) * np.finfo(np.float64).eps
        best = np.empty(k)  # each row's k best so far, sorted, and their points
        best_at = np.empty(k, dtype=np.int64)
        stack = np.empty(depth + 2, dtype=np.int64)
        bounds = np.empty(depth + 2)
        for i in range(n):
            best[:] = np.inf
            best_at[:] = -1
            stack[0], bounds[0], size = 0, -np.inf, 1
            while size > 0:
                size -= 1
                node, bound = stack[size], bounds[size]
                if bound > best[k - 1] + margin:
                    continue
                if node >= first_leaf:
                    for t in range(start[node], end[node]):
                        square = 0.0
                        for a in range(d):
                            diff = x[i, a] - zs[t, a]
                            square += diff * diff
                        value = (square if squared else square ** (0.5 * p)) - gs[t]
                        if value < best[k - 1]:
                            at = k - 1
                            while at > 0 and best[at - 1] > value:
                                best[at] = best[at - 1]
                                best_at[at] = best_at[at - 1]
                                at -= 1
                            best[at] = value
                            best_at[at] = t
                    continue
                left, right = 2 * node + 1, 2 * node + 2
                child_bound = np.empty(2)
                for c in range(2):
                    child = left + c
                    gap, across, square, scale = 0.0, 0.0, 0.0, 0.0
                    for a in range(d):
                        b = slope[child, a]
                        q = x[i, a] + 0.5 * b
                        out = max(lo[child, a] - q, q - hi[child, a], 0.0)
                        gap += out * out
                        across += b * x[i, a]
                        square += 0.25 * b * b
                        scale += q * q + lo[child, a] ** 2 + hi[child, a] ** 2 + abs(b * x[i, a])
                    if not squared:  # no slope: the distance to the box, to the power p (monotone)
                        gap = gap ** (0.5 * p)
                        scale = gap
                    value = gap - across - square - top[child]
                    child_bound[c] = value - guard * (scale + square + abs(top[child]))
                near = 0 if child_bound[0] <= child_bound[1] else 1
                for c in (1 - near, near):  # the nearer one on top
                    if child_bound[c] <= best[k - 1] + margin:
                        stack[size], bounds[size] = left + c, child_bound[c]
                        size += 1
            for r in range(k):
                cols[i, r] = best_at[r]
        return cols

    return numba.njit(cache=True, nogil=True)(query)


# A branch on p in the inner loops cost 10-50% of a query at p = 2 (n = 100,000): one build for each.
_QUERY = {True: _compiled_query(True), False: _compiled_query(False)}


class TiltedTree:
    """The tree of one cloud ``z`` (n, d), built once; :meth:`smallest` takes any potentials ``g``."""

    def __init__(self, z: np.ndarray):
        n = len(z)
        self.depth = max(0, int(np.ceil(np.log2(max(n, 1) / LEAF))))
        self.centre = z.mean(axis=0) if n else np.zeros(z.shape[1])
        order, self.start, self.end, self.lo, self.hi = _build(np.ascontiguousarray(z - self.centre), self.depth)
        self.order = order
        self.zs = np.ascontiguousarray(z[order] - self.centre)

    def smallest(self, x: np.ndarray, g: np.ndarray, k: int, margin: float = 0.0, p: float = 2.0) -> np.ndarray:
        """Columns (n, k) of the k smallest ``|x_i - z_j|^p - g_j`` of each row (each within ``margin``
        of the true k-th; unsorted ties), k <= len(z). The nodes tilt for p = 2 only."""
        if not 1 <= k <= len(self.order):
            raise ValueError(f"k: {k}; expected 1 <= k <= {len(self.order)} (the points of the tree)")
        gs = np.ascontiguousarray(g[self.order], dtype=np.float64)
        if p == 2:
            slope, top = _tilt(self.zs, gs, self.start, self.end, self.depth)
        else:
            slope, top = np.zeros((len(self.start), self.zs.shape[1])), _highest(gs, self.start, self.end)
        xs = np.ascontiguousarray(x - self.centre, dtype=np.float64)
        chunks = np.array_split(np.arange(len(xs)), min(len(xs), _THREADS * 4) or 1)

        def rows(chunk: np.ndarray) -> np.ndarray:
            return _QUERY[p == 2](xs[chunk], self.zs, gs, self.start, self.end, self.lo, self.hi, slope, top, self.depth,
                          k, float(margin), float(p))

        if len(chunks) == 1 or _THREADS == 1:
            local = np.concatenate([rows(chunk) for chunk in chunks])
        else:  # threads, not numba's parallel layer: a process that forks afterwards stays sound
            with ThreadPoolExecutor(_THREADS) as pool:
                local = np.concatenate(list(pool.map(rows, chunks)))
        return self.order[local]
