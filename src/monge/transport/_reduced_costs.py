r"""The k smallest reduced costs of each row, :math:`C_{ij} - g_j`, without the n x m matrix.

In low dimension the rows' minima are queries to a k-d tree on ``z`` (:mod:`monge.transport._tilted_tree`);
for :math:`C_{ij} = \|x_i - z_j\|^2` its nodes bound :math:`\|x - z\|^2 - g(z)` with a local slope
of ``g``: a few leaves a query, however far the transport moves the points. Other exponents bound
by the distance to a node's box (n = 20,000 in the plane, p = 1, 1.5, 3: 0.06-1.2 s a query against
1.5-2.5 s by blocks). Dimensions where a k-d tree no longer prunes stream the matrix in blocks of
rows (:func:`monge.transport.costs.cost_blocks`), once per query, in bounded memory.

Every returned value is recomputed from the points by :func:`pair_costs`, so a query's rounding
only decides which columns are returned, never the values a certificate is built on.
"""

from __future__ import annotations

import numpy as np
import torch

from ._tilted_tree import TiltedTree
from .costs import cost_blocks

# The tree up to this dimension; beyond, blocks of the matrix (a k-d tree's boxes in
# 6 dimensions and more prune a small share of the points per query).
KDTREE_MAX_DIM = 5
# Edges whose costs are formed at once by pair_costs (bounds its (chunk, d) temporaries).
_PAIR_CHUNK = 1 << 20


def pair_costs(x: np.ndarray, z: np.ndarray, rows: np.ndarray, cols: np.ndarray, p: float) -> np.ndarray:
    """``|x[rows] - z[cols]|^p`` in float64, by differences (no cancellation), in chunks."""
    out = np.empty(len(rows))
    for start in range(0, len(rows), _PAIR_CHUNK):
        sl = slice(start, start + _PAIR_CHUNK)
        diff = x[rows[sl]] - z[cols[sl]]
        sq = np.einsum("ed,ed->e", diff, diff)
        out[sl] = sq if p == 2 else sq ** (p / 2)
    return out


def query_bound(x: np.ndarray, z: np.ndarray, g: np.ndarray) -> float:
    """The largest squared distance plus the potentials' range a query may meet: its rounding bounds the
    query's error."""
    lo = np.minimum(x.min(0), z.min(0))
    hi = np.maximum(x.max(0), z.max(0))
    span = float(((hi - lo) ** 2).sum())
    return span + float(g.max() - g.min()) if len(g) else span


def smallest(x: np.ndarray, z: np.ndarray, g: np.ndarray, p: float, k: int,
             metric: np.ndarray | None = None, fast: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""For each row i the k columns of smallest ``|x_i - z_j|^p - g_j``, with those values (n, k), sorted.

    The values are recomputed from the points whatever the query; the query decides the columns.
    Up to :data:`KDTREE_MAX_DIM` dimensions it is a tree (with tilted nodes for p = 2,
    :mod:`monge.transport._tilted_tree`), in the clouds' own coordinates by default, where its
    rounding is a few unit round-offs of the costs and potentials: what a certificate needs. With
    ``fast`` and a ``metric``, a symmetric positive definite (d, d) matrix M, it runs on ``x M`` and
    ``z M^-1`` (since :math:`\langle x, z \rangle = \langle M x, M^{-1} z \rangle`, the column terms
    move into the potential), which helps the boxes fit an anisotropic affine transport map
    :math:`M^2` but can cost precision on degenerate clouds (a near-singular covariance): for
    choosing candidates only.
    """
    k = min(k, len(z))
    if x.shape[1] <= KDTREE_MAX_DIM:
        cols = _tree_query(x, z, g, p, k, metric if fast and p == 2 else None)
    else:
        cols = _block_query(x, z, g, p, k)
    rows = np.repeat(np.arange(len(x)), k)
    values = (pair_costs(x, z, rows, cols.ravel(), p) - g[cols.ravel()]).reshape(len(x), k)
    order = np.argsort(values, axis=1, kind="stable")
    return np.take_along_axis(cols, order, 1), np.take_along_axis(values, order, 1)


def _tree_query(x: np.ndarray, z: np.ndarray, g: np.ndarray, p: float, k: int,
                metric: np.ndarray | None) -> np.ndarray:
    # |x - z|^2 - g = |x|^2 - |xM|^2 + |xM - zM^-1|^2 - h,  h = g - |z|^2 + |zM^-1|^2
    h = g
    if metric is not None:
        x, z_new = x @ metric, z @ np.linalg.inv(metric)
        h = g - np.einsum("nd,nd->n", z, z) + np.einsum("nd,nd->n", z_new, z_new)
        z = z_new
    return TiltedTree(z).smallest(x, h, k, p=p)


def _block_query(x: np.ndarray, z: np.ndarray, g: np.ndarray, p: float, k: int) -> np.ndarray:
    cols = np.empty((len(x), k), dtype=np.int64)
    shift = torch.from_numpy(g)
    with torch.no_grad():
        for rows, block in cost_blocks(torch.from_numpy(x), torch.from_numpy(z), p):
            block.sub_(shift)
            cols[rows] = torch.topk(block, k, dim=1, largest=False, sorted=False).indices.numpy()
    return cols
