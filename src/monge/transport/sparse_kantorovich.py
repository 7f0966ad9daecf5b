r"""Kantorovich's programme past the dense matrix: weighted clouds, a sparse exact plan, a certificate.

.. math::
    \min_{P \ge 0,\ P 1 = a,\ P^\top 1 = b} \sum_{ij} P_{ij} \|x_i - z_j\|^p
    \;=\; \max_{f_i + g_j \le C_{ij}} \sum_i a_i f_i + \sum_j b_j g_j

in O((n + m) k) memory, the weighted form of :mod:`monge.transport.sparse`:

1. **Start potentials** ``g``: the affine map between the clouds' weighted Gaussian approximations
   (p = 2), else 0; from ``_starts.COARSE_FROM`` points a side, the potentials of the weighted
   problem between the centroids of groups of 4 nearby points (solved first, recursively; its plan,
   refined to the groups' members, joins the candidates), and the eps-scaling then starts from a
   typical cost instead of the spread of the costs.
2. **Candidates**: each row's ``k`` pairs of least :math:`C_{ij} - g_j`, each column's ``k`` rows of
   least :math:`C_{ij} - f_i`, and the support of one feasible plan (the north-west corner rule
   along the principal axis, :func:`monge.transport._candidates.principal_plan`), so that the
   candidate graph always carries a plan.
3. **A sparse exact solve**: successive shortest paths with real masses
   (:mod:`monge.transport._flow`), which keep reduced costs :math:`\ge 0` on every candidate pair and
   0 on the pairs that carry mass.
4. **A certificate on the full problem**: ``f`` is the c-transform of ``g`` over every column, so
   :math:`f_i + g_j \le C_{ij}` for every pair, and

   .. math:: \sum_{ij} P_{ij} C_{ij} - \mathrm{OPT} \;\le\; \text{gap} = \sum_{ij} P_{ij} (C_{ij} - f_i - g_j)

   for the marginals the plan has (equal to ``a`` and ``b`` up to :data:`TINY`). Rows whose ``f`` is
   below their potential in the solve have a cheaper pair outside the candidates: those pairs join,
   the rows' mass is taken back, and the solve resumes from its potentials, until the gap is
   within float64 rounding (:func:`monge.transport._certificate.roundoff` per unit of mass).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import _paths, _reduced_costs, _relaxation, _starts
from ._candidates import CANDIDATES, Candidates, principal_plan
from . import _certificate
from ._certificate import MAX_ROUNDS, Stalled, roundoff  # noqa: F401 -- Stalled: what callers catch

# Masses below TINY x the total count as zero (the plan meets the marginals to this per point).
TINY = 64 * float(np.finfo(np.float64).eps)
# eps-scaling: from EPS_START x the spread of the candidate costs (from EPS_REPAIR x a typical cost
# after a coarse start, then the certificate's largest violation) down to a quarter of the
# certificate's tolerance per row, dividing by EPS_FACTOR. The coarse start, measured with random
# weights (ot.emd with cdist alongside: 4.6 s and 6.0 s): a Gaussian onto a uniform cloud at
# n = 5000, 20.2 s (6 rounds) -> 3.0 s (1 round), and 2.2-2.5 s starting from a typical cost; uniform
# clouds 4.5 s (3 rounds) -> 2.5-3.1 s; uniform clouds at n = 20,000, 150 s (4 rounds, a loaded
# machine) -> 36-46 s (1 round).
EPS_START, EPS_FACTOR = 0.25, 5.0
# From eps below EXACT_BELOW x the spread, each phase ends by trying the potentials that make its flow
# exactly optimal (its support's equations, components shifted by at most MAX_PASSES Bellman-Ford
# passes): where the flow is already optimal, the phases down to eps_end are skipped.
EXACT_BELOW, MAX_PASSES = 1e-3, 50
# A certificate round repairs by exact shortest paths from the violating rows alone when there are at
# most REPAIR_BY_PATHS of them, else by eps-scaling again from EPS_REPAIR x a typical candidate cost.
# Near the optimum a search may settle the whole support (see _paths): at n = 20,000 with random
# weights, 19 rows took 6.7 s by paths and 893 rows 323 s, where a round of eps-scaling takes about
# 40 s; restarting from the largest violation (0.5 against typical costs of 1e-4, a Gaussian against
# a uniform cloud at n = 5000) moved prices by far more than the costs and took 20% longer.
REPAIR_BY_PATHS, EPS_REPAIR = 32, 1.0
# A phase that needs more discharges than this per point is reported as an error, not looped on.
MAX_DISCHARGES = 10_000


@dataclass(frozen=True)
class SparsePlan:
    r"""A certified optimal plan (what :func:`solve` returns), by its support.

    Attributes
    ----------
    rows, cols : (s,) int64 ndarray, the pairs that carry mass (s <= n + m - 1 at a vertex)
    mass : (s,) float64 ndarray, :math:`P_{ij}` on those pairs
    f : (n,) float64 ndarray, :math:`f_i = \min_j C_{ij} - g_j` over every column
    g : (m,) float64 ndarray, the column potentials; :math:`f_i + g_j \le C_{ij}` for every pair
    primal : float, :math:`\sum P_{ij} C_{ij}`
    gap : float, :math:`\sum P_{ij} (C_{ij} - f_i - g_j)`, a bound on the plan's excess over the optimum
    tolerance : float, the certificate's bound on ``gap`` (float64 rounding only)
    marginal_error : float, :math:`\|P 1 - a\|_1 + \|P^\top 1 - b\|_1`
    rounds : int, solves made (1 + the certificate's repairs)
    pairs : int, candidate pairs at the end (the memory is O(pairs))
    """

    rows: np.ndarray
    cols: np.ndarray
    mass: np.ndarray
    f: np.ndarray
    g: np.ndarray
    primal: float
    gap: float
    tolerance: float
    marginal_error: float
    rounds: int
    pairs: int


class _Network:
    """The candidates with their flow, supplies and demands, and the potentials, through the rounds."""

    def __init__(self, x, a, z, b, p, k, g, metric):
        self.n, self.m = len(x), len(z)
        self.graph = Candidates(x, z, p, k, metric)
        self.u, self.v = np.zeros(self.n), g.astype(np.float64, copy=True)
        self.excess_row, self.excess_col = a.copy(), -b
        self.tiny = TINY * float(a.sum())
        graph = self.graph
        graph.query(np.arange(self.n), self.v)
        f = _reduced_costs.smallest(x, z, self.v, p, 1, metric, fast=True)[1][:, 0]
        inverse = None if metric is None else np.linalg.inv(metric)
        back, _ = _reduced_costs.smallest(z, x, f, p, min(k, self.n), inverse, fast=True)
        graph.add(back.ravel(), np.repeat(np.arange(self.m), back.shape[1]))
        graph.add(*principal_plan(x, a, z, b))
        graph.carry["flow"] = np.zeros(len(graph.keys))

    def _columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each edge's row, and the edges by column (``col_edges[colptr[j]:colptr[j + 1]]``)."""
        graph = self.graph
        edge_row = np.repeat(np.arange(self.n), np.diff(graph.indptr))
        col_edges = np.argsort(graph.indices, kind="stable")
        colptr = np.zeros(self.m + 1, dtype=np.int64)
        np.cumsum(np.bincount(graph.indices, minlength=self.m), out=colptr[1:])
        return edge_row, colptr, col_edges

    def repair(self, rows: np.ndarray) -> None:
        """Exact shortest paths from ``rows`` alone: their flow taken back, their potentials lowered, sent again."""
        graph = self.graph
        edge_row, colptr, col_edges = self._columns()
        flow = graph.carry["flow"]
        _paths.release(graph.indptr, graph.indices, graph.cost, self.u, self.v, flow, self.excess_row,
                       self.excess_col, rows)
        failed = _paths.send(graph.indptr, graph.indices, graph.cost, edge_row, colptr, col_edges, self.u, self.v,
                             flow, self.excess_row, self.excess_col, rows, self.tiny)
        if failed >= 0:  # impossible with a feasible plan among the candidates and equal masses
            raise RuntimeError(f"sparse transport: the mass of row {failed} found no column short of mass "
                               "among the candidates")

    def relax(self, eps_start: float, eps_end: float) -> int:
        """eps-scaling from ``eps_start`` down to ``eps_end``: a feasible eps_end-optimal flow; returns the phases."""
        graph = self.graph
        edge_row, colptr, col_edges = self._columns()
        eps, phases = max(eps_start, eps_end), 0
        spread = float(np.ptp(graph.cost))
        while True:
            done = _relaxation.refine(graph.indptr, graph.indices, graph.cost, edge_row, colptr, col_edges, self.u,
                                      self.v, graph.carry["flow"], self.excess_row, self.excess_col, eps,
                                      self.tiny, MAX_DISCHARGES * (self.n + self.m))
            phases += 1
            if done < 0:
                raise RuntimeError(f"sparse transport: the phase at eps = {eps:.3g} needed more than "
                                   f"{MAX_DISCHARGES} discharges per point")
            if eps <= eps_end:
                return phases
            if eps <= EXACT_BELOW * spread and _relaxation.exact_potentials(
                    graph.indptr, graph.indices, graph.cost, edge_row, colptr, col_edges, self.u, self.v,
                    graph.carry["flow"], self.tiny, eps_end, MAX_PASSES):
                return phases
            eps = max(eps / EPS_FACTOR, eps_end)

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The pairs ``(rows, cols)``, their costs and their flow."""
        graph = self.graph
        rows = np.repeat(np.arange(self.n), np.diff(graph.indptr))
        return rows, graph.indices, graph.cost, graph.carry["flow"]


def _checked(x: np.ndarray, z: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    x, z = (np.ascontiguousarray(c, dtype=np.float64) for c in (x, z))
    a, b = (np.ascontiguousarray(w, dtype=np.float64) for w in (a, b))
    if x.ndim != 2 or z.ndim != 2 or x.shape[1] != z.shape[1] or a.shape != (len(x),) or b.shape != (len(z),):
        raise ValueError(f"sparse transport: x {x.shape}, a {a.shape}, z {z.shape}, b {b.shape}; expected "
                         "(n, d), (n,), (m, d), (m,)")
    if not (a >= 0).all() or not (b >= 0).all() or not a.sum() > 0:
        raise ValueError("sparse transport: a and b must be non-negative with a positive total")
    return x, z, a, b * (a.sum() / b.sum())


def solve(x: np.ndarray, a: np.ndarray, z: np.ndarray, b: np.ndarray, p: float = 2.0, *, k: int = CANDIDATES,
          candidates: tuple[np.ndarray, np.ndarray] | None = None, max_rounds: int = MAX_ROUNDS) -> SparsePlan:
    r"""A certified optimal plan between weighted float64 clouds, in O((n + m) k) memory.

    Parameters
    ----------
    x : (n, d) float64 ndarray, a : (n,) non-negative weights
    z : (m, d) float64 ndarray, b : (m,) non-negative weights (rescaled to the total of ``a``)
    p : float > 0, the exponent of the cost :math:`\|x - z\|^p`
    k : int, candidate pairs per row and per column at the start
    candidates : (rows, cols) int arrays, optional
        Extra starting pairs (tests: the certificate must repair whatever is missing).
    max_rounds : int, certificate rounds allowed; below :data:`~monge.transport._certificate.MAX_ROUNDS`,
        :class:`~monge.transport._certificate.Stalled` is raised when they do not suffice

    Returns
    -------
    SparsePlan
    """
    x, z, a, b = _checked(x, z, a, b)
    p, n, began = float(p), len(x), time.perf_counter()
    g, metric = np.zeros(len(z)), None
    if p == 2 and n > 1 and len(z) > 1:
        g, metric = _starts.gaussian(x, z, a, b)
    coarse = candidates is None and min(n, len(z)) >= _starts.COARSE_FROM
    if coarse:
        g, refined = _starts.coarse(x, z, p, lambda cx, ca, cz, cb: solve(cx, ca, cz, cb, p, k=k,
                                                                          max_rounds=max_rounds), metric, a, b)
    net = _Network(x, a, z, b, p, int(k), g, metric)
    if coarse:
        net.graph.add(*refined)
    if candidates is not None:
        net.graph.add(*(np.asarray(c, dtype=np.int64).ravel() for c in candidates))
    total = float(a.sum())
    eps = EPS_REPAIR * net.graph.typical() if coarse else EPS_START * float(np.ptp(net.graph.cost))
    repair = np.arange(n)
    for rounds in range(1, int(max_rounds) + 1):
        if rounds == 1 or repair.size > REPAIR_BY_PATHS:
            # eps > 0 even where every cost is 0 (coincident clouds): a phase at eps = 0 never relabels
            eps_end = max(roundoff(x, z, net.v, p, float(np.median(net.graph.cost))) / 4, np.finfo(np.float64).tiny)
            net.relax(eps, eps_end)
        else:  # a few rows: their shortest paths alone, without disturbing the rest
            net.repair(repair)
        rows, cols, cost, flow = net.edges()
        primal = float(flow @ cost)
        best, f = (c[:, 0] for c in _reduced_costs.smallest(x, z, net.v, p, 1))  # the certificate's query
        row_mass, col_mass = np.bincount(rows, flow, n), np.bincount(cols, flow, len(z))
        gap = primal - float(row_mass @ f) - float(col_mass @ net.v)
        per_row = roundoff(x, z, net.v, p, primal / total)
        bound = per_row * total
        violation = net.u - f
        repair = np.flatnonzero(violation > per_row)
        _certificate.report("transport", f"{n:,} x {len(z):,}", rounds, repair.size, gap, bound,
                            time.perf_counter() - began)
        if gap <= bound or repair.size == 0:
            break
        net.graph.add(repair, best[repair])
        net.graph.query(repair, net.v)
        eps = EPS_REPAIR * net.graph.typical()
    _certificate.require(gap, bound, rounds, max_rounds, "transport")
    carried = flow > 0
    error = float(np.abs(row_mass - a).sum() + np.abs(col_mass - b).sum())
    return SparsePlan(rows=rows[carried], cols=cols[carried], mass=flow[carried], f=f, g=net.v.copy(),
                      primal=primal, gap=gap, tolerance=bound, marginal_error=error, rounds=rounds,
                      pairs=len(net.graph.keys))
