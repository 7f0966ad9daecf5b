"""The candidate pairs of the sparse matching: a CSR graph grown by rows, with the pairs' costs."""

from __future__ import annotations

import numpy as np

from . import _reduced_costs


def principal_matching(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A perfect matching, ``(rows, cols)``: both clouds sorted along the principal axis of their union."""
    both = np.vstack([x, z])
    centred = both - both.mean(0)
    axis = np.linalg.svd(centred[:: max(1, len(both) // 4096)], full_matrices=False)[2][0]
    return np.argsort(x @ axis, kind="stable"), np.argsort(z @ axis, kind="stable")


class Candidates:
    """Pairs ``(i, j)`` kept as sorted keys ``i n + j`` with their costs, and the CSR arrays of the solvers."""

    def __init__(self, x: np.ndarray, z: np.ndarray, p: float, width: int, metric: np.ndarray | None):
        self.x, self.z, self.p, self.n, self.metric = x, z, p, len(x), metric
        self.width = min(width, self.n)
        self.keys = np.empty(0, dtype=np.int64)
        self.cost = np.empty(0)

    def query(self, rows: np.ndarray, v: np.ndarray) -> None:
        """Add to each of ``rows`` its ``width`` pairs of least reduced cost ``C_ij - v_j``."""
        cols, _ = _reduced_costs.smallest(self.x[rows], self.z, v, self.p, self.width, self.metric, fast=True)
        self.add(np.repeat(rows, cols.shape[1]), cols.ravel())

    def add(self, rows: np.ndarray, cols: np.ndarray) -> None:
        """Add the pairs ``(rows[t], cols[t])``; a pair already there is kept once."""
        new = np.sort(np.asarray(rows * self.n + cols, dtype=np.int64))  # numpy's hashed unique is slower here
        new = new[np.concatenate([np.ones(min(len(new), 1), dtype=bool), new[1:] != new[:-1]])]
        new_rows, new_cols = np.divmod(new, self.n)
        keys = np.concatenate([self.keys, new])
        cost = np.concatenate([self.cost, _reduced_costs.pair_costs(self.x, self.z, new_rows, new_cols, self.p)])
        order = np.argsort(keys, kind="stable")  # two sorted runs: a merge
        keys, cost = keys[order], cost[order]
        keep = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=keep[1:])
        self.keys, self.cost = keys[keep], cost[keep]
        rows, self.indices = np.divmod(self.keys, self.n)
        self.indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=self.n), out=self.indptr[1:])
