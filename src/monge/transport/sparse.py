r"""Exact matching past the dense matrix: candidates from potentials, a sparse solve, a certificate.

Monge's problem :math:`\min_s \sum_i \|x_i - z_{s_i}\|^p` between two clouds of n points, exactly,
in O(n k) memory. Once the dual potentials are known, the partner of almost every point is among
the few pairs of least reduced cost :math:`C_{ij} - f_i - g_j` of its row, and the potentials prove
optimality. So:

1. **Start potentials** ``g`` (:mod:`monge.transport._starts`): the affine map between the clouds'
   Gaussian approximations (p = 2; 0 otherwise), or from ``_starts.COARSE_FROM`` points the
   potentials of a matching of the centroids of groups of 4 nearby points, whose pairs, refined
   (each member of a group with each member of its partner), join the candidates.
2. **Candidates** (:mod:`monge.transport._candidates`): each row's ``k`` pairs of least
   :math:`C_{ij} - g_j` and each column's ``k`` rows of least :math:`C_{ij} - f_i` (for p = 2 a
   k-d tree query whose nodes tilt the potentials, :mod:`monge.transport._reduced_costs`), plus one
   perfect matching (both clouds sorted along their principal axis), so that the candidate graph
   always has one.
3. **A sparse exact solve**: an eps-scaling auction (:mod:`monge.transport._bidding`) brings the
   potentials near their optimum, then shortest augmenting paths (:mod:`monge.transport._shortest_paths`)
   make them exact on the candidates: reduced costs :math:`\ge 0` on every candidate pair and 0 on
   the matched ones.
4. **A certificate on the full problem.** ``f`` is the c-transform of the column potentials ``g``
   over *all* columns, :math:`f_i = \min_j C_{ij} - g_j`, so :math:`f_i + g_j \le C_{ij}` for every
   pair by construction, and weak duality bounds the loss of the matching ``s``:

   .. math:: \sum_i C_{i s_i} - \mathrm{OPT} \;\le\; \text{gap} = \sum_i C_{i s_i} - \sum_i f_i - \sum_j g_j.

   Rows where ``f`` is below the solve's row potential have a pair outside the candidates with a
   negative reduced cost: their best pairs join the candidates and the solve resumes from its
   potentials. This repeats until the gap is within float64 rounding (:func:`tolerance`); a result
   is never returned uncertified.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import _bidding, _reduced_costs, _shortest_paths, _starts, sparse_kantorovich
from ._candidates import CANDIDATES, Candidates, principal_matching
from . import _certificate
from ._certificate import MAX_ROUNDS, Stalled, tolerance  # noqa: F401 -- Stalled: what callers catch

# The auction's eps-scaling: from AUCTION_START x the spread of the candidate costs (then the
# largest violation of the certificate) down to AUCTION_END x a typical cost, dividing by
# AUCTION_FACTOR each phase; at most AUCTION_BIDS x n bids per round.
# AUCTION_END: each row an auction leaves is up to eps off its least reduced cost, and is matched
# again by a shortest path: at 1e-3, 81,532 rows of the blob onto the ring (n = 100,000) searched
# 113 columns each (9 s); at 1e-5 the auction's last phases take 2.7 s more and the paths 1.1 s.
AUCTION_START, AUCTION_END, AUCTION_FACTOR, AUCTION_BIDS = 0.25, 1e-5, 5.0, 200
# A certificate round repairs by the auction when more than this share of rows violate, else by
# shortest paths from the violating rows alone (n = 20000 uniform: 1.5 s against 1.9 s by the
# auction every round; a Gaussian against a uniform cloud, n = 5000, whose first rounds have most
# rows violating: 1.4 s against 3.4 s by shortest paths every round).
REPAIR_BY_AUCTION = 0.05
# Clouds with at most this share of distinct points are solved merged: each distinct point once,
# weighted by its count (:mod:`monge.transport.sparse_kantorovich`), the plan then split into a
# permutation. Ten points repeated 500 times against 5000 points of the 8 Gaussians: 2.8 s merged,
# 76 s (43 rounds) as an assignment.
MERGE_BELOW = 0.25


@dataclass(frozen=True)
class SparseOutcome:
    r"""A certified matching (what :func:`solve` returns).

    Attributes
    ----------
    permutation : (n,) int64 ndarray, ``z[permutation[i]]`` is the partner of ``x[i]``
    f : (n,) float64 ndarray, :math:`f_i = \min_j C_{ij} - g_j` over every column
    g : (n,) float64 ndarray, the column potentials; :math:`f_i + g_j \le C_{ij}` for every pair
    primal : float, :math:`\sum_i C_{i s_i}`
    gap : float, ``primal - sum(f) - sum(g)``, a bound on the matching's excess over the optimum
    tolerance : float, the certificate's bound on ``gap`` (float64 rounding only)
    rounds : int, solves made (1 + the certificate's repairs)
    pairs : int, candidate pairs at the end (the memory is O(pairs)); between distinct points where
        clouds of repeated points were merged
    """

    permutation: np.ndarray
    f: np.ndarray
    g: np.ndarray
    primal: float
    gap: float
    tolerance: float
    rounds: int
    pairs: int


class _Solver:
    """Potentials, assignment and candidates of one problem, through the rounds of :func:`_solve`."""

    def __init__(self, x: np.ndarray, z: np.ndarray, p: float, k: int, g: np.ndarray, metric: np.ndarray | None):
        n = len(x)
        self.x, self.z, self.p, self.n, self.metric = x, z, p, n, metric
        self.graph = Candidates(x, z, p, k, metric)
        self.u, self.v = np.zeros(n), g.astype(np.float64, copy=True)
        self.col4row = np.full(n, -1, dtype=np.int64)
        self.row4col = np.full(n, -1, dtype=np.int64)

    def start(self, candidates: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Each row's k best columns and each column's k best rows (or the given pairs), and a perfect matching."""
        n, graph = self.n, self.graph
        if candidates is None:
            graph.query(np.arange(n), self.v)
            f = _reduced_costs.smallest(self.x, self.z, self.v, self.p, 1, self.metric, fast=True)[1][:, 0]
            inverse = None if self.metric is None else np.linalg.inv(self.metric)
            back, _ = _reduced_costs.smallest(self.z, self.x, f, self.p, graph.width, inverse, fast=True)
            graph.add(back.ravel(), np.repeat(np.arange(n), back.shape[1]))
        else:
            graph.add(*(np.asarray(c, dtype=np.int64).ravel() for c in candidates))
        graph.add(*principal_matching(self.x, self.z))

    def bid(self, eps_start: float) -> None:
        """The auction on the candidates, from ``eps_start`` down to a small share of a typical cost."""
        graph = self.graph
        spread = float(graph.cost.max() - graph.cost.min())
        if spread == 0:
            return
        eps_end = max(AUCTION_END * graph.typical(), 1e-12 * spread)
        _bidding.auction(graph.indptr, graph.indices, graph.cost, self.v, self.col4row, self.row4col,
                         max(eps_start, eps_end), eps_end, AUCTION_FACTOR, AUCTION_BIDS * self.n)

    def free(self, rows: np.ndarray) -> None:
        """Unassign ``rows`` (their columns become free)."""
        assigned = rows[self.col4row[rows] >= 0]
        self.row4col[self.col4row[assigned]] = -1
        self.col4row[assigned] = -1

    def tighten(self) -> None:
        """Exact on the candidates: free every row off its least reduced cost, then shortest augmenting paths."""
        graph, u, v = self.graph, self.u, self.v
        u[:] = np.minimum.reduceat(graph.cost - v[graph.indices], graph.indptr[:-1])
        rows = np.flatnonzero(self.col4row >= 0)
        cols = self.col4row[rows]
        self.free(rows[_reduced_costs.pair_costs(self.x, self.z, rows, cols, self.p) - v[cols] > u[rows]])
        free = np.flatnonzero(self.col4row < 0)
        free = _shortest_paths.reduce_rows(graph.indptr, graph.indices, graph.cost, v, u, self.col4row,
                                           self.row4col, free)
        failed, _ = _shortest_paths.augment(graph.indptr, graph.indices, graph.cost, u, v, self.col4row,
                                            self.row4col, free)
        if failed >= 0:  # impossible with a perfect matching among the candidates
            raise RuntimeError(f"sparse matching: row {failed} has no augmenting path among the candidates")


def _solve(x: np.ndarray, z: np.ndarray, p: float, k: int,
           candidates: tuple[np.ndarray, np.ndarray] | None = None, max_rounds: int = MAX_ROUNDS) -> SparseOutcome:
    n, began = len(x), time.perf_counter()
    g, metric = np.zeros(n), None
    if candidates is None and p == 2 and n > 1:
        g, metric = _starts.gaussian(x, z)
    refined = None
    if candidates is None and n >= _starts.COARSE_FROM:
        g, refined = _starts.coarse(x, z, p, lambda cx, cz: _solve(cx, cz, p, k, max_rounds=max_rounds), metric)
    solver = _Solver(x, z, p, k, g, metric)
    solver.start(candidates)
    if refined is not None:
        solver.graph.add(*refined)
    eps_start = AUCTION_START * float(solver.graph.cost.max() - solver.graph.cost.min())
    violating = np.arange(n)
    for rounds in range(1, max_rounds + 1):
        if violating.size > REPAIR_BY_AUCTION * n:
            solver.bid(eps_start)
        else:  # a few rows: their shortest paths alone, without disturbing the rest
            solver.free(violating)
        solver.tighten()
        perm = solver.col4row
        primal = float(_reduced_costs.pair_costs(x, z, np.arange(n), perm, p).sum())
        best, f = (a[:, 0] for a in _reduced_costs.smallest(x, z, solver.v, p, 1))  # the certificate's query
        gap = primal - float(f.sum()) - float(solver.v.sum())
        bound = tolerance(x, z, solver.v, p, primal)
        violation = solver.u - f
        violating = np.flatnonzero(violation > bound / n)
        _certificate.report("matching", f"{n:,}", rounds, violating.size, gap, bound, time.perf_counter() - began)
        if gap <= bound or violating.size == 0:
            break
        solver.graph.add(violating, best[violating])  # each violating row's best pair, and its neighbours
        solver.graph.query(violating, solver.v)
        eps_start = float(violation.max())
    _certificate.require(gap, bound, rounds, max_rounds, "matching")
    return SparseOutcome(permutation=perm.copy(), f=f, g=solver.v, primal=primal, gap=gap, tolerance=bound,
                         rounds=rounds, pairs=len(solver.graph.keys))


def solve(x: np.ndarray, z: np.ndarray, p: float = 2.0, *, k: int = CANDIDATES,
          candidates: tuple[np.ndarray, np.ndarray] | None = None, max_rounds: int = MAX_ROUNDS) -> SparseOutcome:
    r"""A certified optimal matching of two float64 clouds of n points, in O(n k) memory.

    .. math:: \min_{s \in S_n} \sum_i \|x_i - z_{s_i}\|^p

    Parameters
    ----------
    x, z : (n, d) float64 ndarray
    p : float > 0
    k : int, candidate pairs per row and per column at the start
    candidates : (rows, cols) int arrays, optional
        The starting candidate pairs instead of those of the start potentials (for tests: a wrong
        set must be repaired by the certificate, never returned).
    max_rounds : int, optional
        Certificate rounds allowed at each level; below :data:`MAX_ROUNDS`, :class:`Stalled` is raised
        when they do not suffice (``matching(method="auto")`` then takes a dense solver).

    Returns
    -------
    SparseOutcome
    """
    x, z = np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(z, dtype=np.float64)
    if candidates is None and len(x) > 1:
        merged = _merged(x, z, float(p), int(k), int(max_rounds))
        if merged is not None:
            return merged
    return _solve(x, z, float(p), int(k), candidates=candidates, max_rounds=int(max_rounds))


def _merged(x: np.ndarray, z: np.ndarray, p: float, k: int, max_rounds: int) -> SparseOutcome | None:
    """Clouds of few distinct points: the weighted problem between distinct points (weights their counts),
    its integral optimal plan split into a permutation; None where both clouds are mostly distinct."""
    n = len(x)
    ux, inv_x, count_x = np.unique(x, axis=0, return_inverse=True, return_counts=True)
    uz, inv_z, count_z = np.unique(z, axis=0, return_inverse=True, return_counts=True)
    if min(len(ux), len(uz)) > MERGE_BELOW * n:
        return None
    plan = sparse_kantorovich.solve(ux, count_x.astype(np.float64), uz, count_z.astype(np.float64), p, k=k,
                                    max_rounds=max_rounds)
    units = np.rint(plan.mass).astype(np.int64)  # the flow of integral masses is integral
    if np.abs(plan.mass - units).max() > 0.5e-6 or \
            not (np.bincount(plan.rows, units, len(ux)) == count_x).all():
        raise RuntimeError("sparse matching: the merged plan is not integral; its split into a permutation failed")
    # The members of each distinct point, grouped; consecutive edges of one point take consecutive members.
    members_x, members_z = np.argsort(inv_x.ravel(), kind="stable"), np.argsort(inv_z.ravel(), kind="stable")
    by_row = np.argsort(plan.rows, kind="stable")
    by_col = np.argsort(plan.cols, kind="stable")
    edge_of_x = np.repeat(by_row, units[by_row])  # the edge each member of x (grouped) is sent along
    edge_of_z = np.repeat(by_col, units[by_col])
    perm = np.empty(n, dtype=np.int64)
    perm[members_x[np.argsort(edge_of_x, kind="stable")]] = members_z[np.argsort(edge_of_z, kind="stable")]
    f, g = plan.f[inv_x.ravel()], plan.g[inv_z.ravel()]
    return SparseOutcome(permutation=perm, f=f, g=g, primal=plan.primal, gap=plan.gap, tolerance=plan.tolerance,
                         rounds=plan.rounds, pairs=plan.pairs)
