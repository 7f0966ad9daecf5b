r"""The k smallest reduced costs of each row, :math:`C_{ij} - g_j`, without the n x m matrix.

For :math:`C_{ij} = \|x_i - z_j\|^2` the row minimum is a nearest-neighbour query in a lifted
space: with :math:`G \ge \max_j g_j`,

.. math:: \|x_i - z_j\|^2 - g_j + G = \|(x_i, 0) - (z_j, \sqrt{G - g_j})\|^2,

so a k-d tree on the lifted ``z`` (``scipy.spatial.cKDTree``) answers every row in O(log m) each.
Other exponents, and dimensions where a k-d tree no longer prunes, stream the matrix in blocks of
rows (:func:`monge.transport.costs.cost_blocks`), once per query, in bounded memory.

Every returned value is recomputed from the points by :func:`pair_costs`, so a query's rounding
only decides which columns are returned, never the values a certificate is built on.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from .costs import cost_blocks

# The lifted k-d tree for p = 2 up to this dimension; beyond, blocks of the matrix (a k-d tree in
# d + 1 = 7 dimensions already visits a large share of the points per query).
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


def lift_bound(x: np.ndarray, z: np.ndarray, g: np.ndarray) -> float:
    """The largest lifted squared distance a query may meet: its rounding bounds the query's error."""
    lo = np.minimum(x.min(0), z.min(0))
    hi = np.maximum(x.max(0), z.max(0))
    span = float(((hi - lo) ** 2).sum())
    return span + float(g.max() - g.min()) if len(g) else span


def smallest(x: np.ndarray, z: np.ndarray, g: np.ndarray, p: float, k: int,
             metric: np.ndarray | None = None, fast: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""For each row i the k columns of smallest ``|x_i - z_j|^p - g_j``, with those values (n, k), sorted.

    The values are recomputed from the points whatever the query; the query decides the columns.
    By default it runs in the clouds' own coordinates, where its rounding is that of the lifted
    squared distances (bounded by :func:`lift_bound`): what a certificate needs. With ``fast``,
    for p = 2, it may change coordinates to help the k-d tree prune, which can cost precision on
    degenerate clouds (a near-singular covariance): for choosing candidates only.

    - ``metric``, a symmetric positive definite (d, d) matrix M: since
      :math:`\langle x, zangle = \langle M x, M^{-1} zangle`, the query runs on ``x M`` and
      ``z M^{-1}`` with the column terms moved into the lift. When ``g`` is close to
      :math:`|z|^2 - z^	op M^{-2} z` (an affine transport map :math:`M^2`), the lift is nearly flat;
    - an affine part of the lift's potential is moved into the query points (a tilted lift prunes
      badly), where that flattens it.
    """
    k = min(k, len(z))
    if p == 2 and x.shape[1] <= KDTREE_MAX_DIM:
        cols = _lifted_query(x, z, g, k, metric if fast else None, fast)
    else:
        cols = _block_query(x, z, g, p, k)
    rows = np.repeat(np.arange(len(x)), k)
    values = (pair_costs(x, z, rows, cols.ravel(), p) - g[cols.ravel()]).reshape(len(x), k)
    order = np.argsort(values, axis=1, kind="stable")
    return np.take_along_axis(cols, order, 1), np.take_along_axis(values, order, 1)


def _lifted_query(x: np.ndarray, z: np.ndarray, g: np.ndarray, k: int, metric: np.ndarray | None,
                  tilt: bool) -> np.ndarray:
    # |x - z|^2 - g = |x|^2 - |xM|^2 + |xM - zM^-1|^2 - h,  h = g - |z|^2 + |zM^-1|^2
    h = g
    if metric is not None:
        x, z_new = x @ metric, z @ np.linalg.inv(metric)
        h = g - np.einsum("nd,nd->n", z, z) + np.einsum("nd,nd->n", z_new, z_new)
        z = z_new
    if tilt:  # |x - z|^2 - b.z = |x + b/2 - z|^2 - b.x - |b|^2/4: the row terms do not change the order
        centred = z - z.mean(0)
        slope = np.linalg.lstsq(centred, h - h.mean(), rcond=1e-6)[0]
        flat = h - z @ slope
        if np.isfinite(slope).all() and np.ptp(flat) < np.ptp(h):
            h, x = flat, x + slope / 2
    height = np.sqrt(np.maximum(h.max() - h, 0.0))
    tree = cKDTree(np.column_stack([z, height]), balanced_tree=False, compact_nodes=False)
    _, cols = tree.query(np.column_stack([x, np.zeros(len(x))]), k=k, workers=-1)
    return cols.reshape(len(x), k).astype(np.int64)


def _block_query(x: np.ndarray, z: np.ndarray, g: np.ndarray, p: float, k: int) -> np.ndarray:
    cols = np.empty((len(x), k), dtype=np.int64)
    shift = torch.from_numpy(g)
    with torch.no_grad():
        for rows, block in cost_blocks(torch.from_numpy(x), torch.from_numpy(z), p):
            block.sub_(shift)
            cols[rows] = torch.topk(block, k, dim=1, largest=False, sorted=False).indices.numpy()
    return cols
