"""The candidate pairs of the sparse matching: a CSR graph grown by rows, with the pairs' costs."""

from __future__ import annotations

import numpy as np

from . import _reduced_costs

# Candidates per row and per column (benchmarks/README.md, suite "sparse": how k was chosen).
CANDIDATES = 24


def principal_matching(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both clouds' orders along the principal axis of their union: for n = m points, a perfect matching."""
    both = np.vstack([x, z])
    centred = both - both.mean(0)
    axis = np.linalg.svd(centred[:: max(1, len(both) // 4096)], full_matrices=False)[2][0]
    return np.argsort(x @ axis, kind="stable"), np.argsort(z @ axis, kind="stable")


def principal_plan(x: np.ndarray, a: np.ndarray, z: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A feasible plan's support, ``(rows, cols)``, at most n + m - 1 pairs: the north-west corner rule
    on both clouds sorted along the principal axis of their union (the monotone coupling of the
    projections). ``a`` and ``b`` are non-negative with equal sums."""
    order_x, order_z = principal_matching(x, z)
    ca, cb = np.cumsum(a[order_x]), np.cumsum(b[order_z])
    cb *= ca[-1] / cb[-1]
    cb[-1] = ca[-1]  # the same total to the last bit: the last segment ends at both ends
    ends = np.union1d(ca, cb)
    starts = np.concatenate([[0.0], ends[:-1]])
    mid = (starts + ends)[ends > starts] / 2
    rows = np.minimum(np.searchsorted(ca, mid, side="right"), len(ca) - 1)
    cols = np.minimum(np.searchsorted(cb, mid, side="right"), len(cb) - 1)
    return order_x[rows], order_z[cols]


class Candidates:
    """Pairs ``(i, j)`` kept as sorted keys ``i m + j`` with their costs, and the CSR arrays of the solvers.

    ``carry`` (arrays of one value per pair, such as a flow) follow their pairs when pairs are added.
    """

    def __init__(self, x: np.ndarray, z: np.ndarray, p: float, width: int, metric: np.ndarray | None):
        self.x, self.z, self.p, self.n, self.m, self.metric = x, z, p, len(x), len(z), metric
        self.width = min(width, self.m)
        self.keys = np.empty(0, dtype=np.int64)
        self.cost = np.empty(0)
        self.carry: dict[str, np.ndarray] = {}

    def query(self, rows: np.ndarray, v: np.ndarray) -> None:
        """Add to each of ``rows`` its ``width`` pairs of least reduced cost ``C_ij - v_j``."""
        cols, _ = _reduced_costs.smallest(self.x[rows], self.z, v, self.p, self.width, self.metric, fast=True)
        self.add(np.repeat(rows, cols.shape[1]), cols.ravel())

    def typical(self) -> float:
        """A typical candidate cost: the median of each row's first candidate."""
        return float(np.median(self.cost[self.indptr[:-1]]))

    def add(self, rows: np.ndarray, cols: np.ndarray) -> None:
        """Add the pairs ``(rows[t], cols[t])``; a pair already there is kept once."""
        new = np.sort(np.asarray(rows * self.m + cols, dtype=np.int64))  # numpy's hashed unique is slower here
        new = new[np.concatenate([np.ones(min(len(new), 1), dtype=bool), new[1:] != new[:-1]])]
        new_rows, new_cols = np.divmod(new, self.m)
        old = self.keys
        keys = np.concatenate([self.keys, new])
        cost = np.concatenate([self.cost, _reduced_costs.pair_costs(self.x, self.z, new_rows, new_cols, self.p)])
        order = np.argsort(keys, kind="stable")  # two sorted runs: a merge
        keys, cost = keys[order], cost[order]
        keep = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=keep[1:])
        self.keys, self.cost = keys[keep], cost[keep]
        if self.carry:
            at = np.searchsorted(self.keys, old)
            for name, values in self.carry.items():
                self.carry[name] = np.zeros(len(self.keys), dtype=values.dtype)
                self.carry[name][at] = values
        rows, self.indices = np.divmod(self.keys, self.m)
        self.indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=self.n), out=self.indptr[1:])
