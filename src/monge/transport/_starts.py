r"""Approximate potentials to start the sparse matching from, and the metric of its queries.

Two sources: the Gaussian start below :data:`COARSE_FROM` points a side, the coarse start above.

- the **Gaussian start**: the optimal map between the Gaussians of the clouds' means and covariances
  is affine, :math:`T(x) = m_z + A (x - m_x)` with
  :math:`A = \Sigma_x^{-1/2} (\Sigma_x^{1/2} \Sigma_z \Sigma_x^{1/2})^{1/2} \Sigma_x^{-1/2}`. It carries
  a shift, a scaling and a rotation between the clouds (p = 2 only);
- the **coarse start**: each cloud is cut into groups of :data:`GROUP` nearby points (median splits
  along the widest axis, :func:`groups`), and the groups' centroids are matched exactly first
  (recursively: a matching of n / GROUP points, itself started the same way). Its row potentials
  ``f`` are extended to every ``z`` by the c-transform :math:`g(z_j) = \min_c C(x^c_c, z_j) - f^c_c`.
  The centroids carry the clouds' structure down to the groups' size, with no sampling noise: a
  random quarter of each cloud (the start this replaced) has potentials off by about 85 times the
  neighbours' cost at n = 25,600 (a blob onto a ring), so most rows missed their partner among their
  candidates (81% covered) and the certificate took 7 rounds; from the centroids it takes 1.
  Measured (p = 2, d = 2): the blob onto the ring at n = 100,000, 159 s -> 41 s; uniform clouds at
  n = 100,000, 30 s (5 rounds) -> 9.7 s (1 round).
"""

from __future__ import annotations

import numpy as np

from . import _reduced_costs

# The Gaussian start's map only where its matrix has at most this condition number (else a scaling).
MAX_CONDITION = 1e3
# The coarse start from this many points a side; its groups hold GROUP points each. Measured at
# n = 1000 (d = 2), from the coarse start against the Gaussian one: uniform clouds 0.039 s against
# 0.024 s, a Gaussian onto a uniform cloud 0.039 s against 0.046 s, the blob onto the ring 0.039 s
# against 0.068 s, p = 1 0.06-0.09 s against 0.07-0.29 s. Two uniform clouds, solved in 1-3 rounds
# either way, lose 10-45 ms up to n = 5000 (d = 3: 0.20 s against 0.16 s); a structured pair gains
# 2-5x (the ring at n = 5000: 0.35 s, 1 round, against 1.5 s, 9 rounds).
COARSE_FROM = 1000
GROUP = 4


def _sqrtm(s: np.ndarray, inverse: bool = False) -> np.ndarray:
    w, q = np.linalg.eigh(s)
    w = np.maximum(w, np.finfo(np.float64).tiny) ** (-0.5 if inverse else 0.5)
    return (q * w) @ q.T


def gaussian(x: np.ndarray, z: np.ndarray, a: np.ndarray | None = None,
             b: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Column potentials of the Gaussian approximation (p = 2), and :math:`A^{1/2}`, the queries' metric.

    ``T`` is the gradient of :math:`\varphi(x) = \tfrac12 (x - m_x)^\top A (x - m_x) + m_z^\top x`; the row
    potential is :math:`f = |x|^2 - 2\varphi`, and the column potentials are f's c-transform over the
    cloud ``x``. With the metric :math:`M = A^{1/2}` the queries run on ``x M`` and ``z M^{-1}``,
    where both clouds have the same spread (:func:`monge.transport._reduced_costs.smallest`).
    Weights ``a``, ``b`` (optional) weigh the means and covariances.
    """
    d = x.shape[1]
    mean_x, mean_z = np.average(x, axis=0, weights=a), np.average(z, axis=0, weights=b)
    cov_x, cov_z = (np.cov(c.T, bias=True, aweights=w).reshape(d, d) for c, w in ((x, a), (z, b)))
    ridge = 1e-12 * (np.trace(cov_x) + np.trace(cov_z)) + np.finfo(np.float64).tiny
    cov_x, cov_z = cov_x + ridge * np.eye(d), cov_z + ridge * np.eye(d)
    root, inv_root = _sqrtm(cov_x), _sqrtm(cov_x, inverse=True)
    linear = inv_root @ _sqrtm(root @ cov_z @ root) @ inv_root
    if not _conditioned(linear):  # a near-singular covariance: an isotropic scaling instead
        spread_x, spread_z = np.trace(cov_x), np.trace(cov_z)
        linear = np.sqrt(spread_z / spread_x if spread_x > 0 else 1.0) * np.eye(d)
    centred = x - mean_x
    phi = 0.5 * np.einsum("nd,de,ne->n", centred, linear, centred) + x @ mean_z
    f = np.einsum("nd,nd->n", x, x) - 2 * phi
    metric = _sqrtm(linear)
    return _reduced_costs.smallest(z, x, f, 2.0, 1, np.linalg.inv(metric), fast=True)[1][:, 0], metric


def _conditioned(a: np.ndarray) -> bool:
    """Whether the affine map's matrix is finite and its condition number at most MAX_CONDITION."""
    if not np.isfinite(a).all():
        return False
    w = np.linalg.eigvalsh((a + a.T) / 2)
    return bool(w.min() > 0 and w.max() <= MAX_CONDITION * w.min())


def groups(x: np.ndarray, size: int = GROUP) -> np.ndarray:
    """Indices (n // size, size) of disjoint groups of ``size`` nearby points of ``x``.

    Segments of the cloud are split at a multiple of ``size`` near their median along their widest
    axis, all segments of a level at once (one sort by segment, then coordinate), until each holds
    ``size`` points; the n mod size points left over (extremes of the last splits) are in no group.
    """
    n = len(x)
    order = np.arange(n)
    bounds = np.array([0, n])
    while (np.diff(bounds) > size).any():
        sizes = np.diff(bounds)
        segment = np.repeat(np.arange(len(sizes)), sizes)
        points = x[order]
        widest = np.argmax(np.maximum.reduceat(points, bounds[:-1], axis=0)
                           - np.minimum.reduceat(points, bounds[:-1], axis=0), axis=1)
        order = order[np.lexsort((points[np.arange(n), widest[segment]], segment))]
        split = np.where(sizes > size, np.maximum(size * (sizes // (2 * size)), size), sizes)
        bounds = np.unique(np.concatenate([bounds, bounds[:-1] + split]))
    full = np.flatnonzero(np.diff(bounds) == size)
    return order[bounds[full][:, None] + np.arange(size)]


def coarse(x: np.ndarray, z: np.ndarray, p: float, solve, metric: np.ndarray | None,
           a: np.ndarray | None = None, b: np.ndarray | None = None) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The coarse start: column potentials from the centroids of :func:`groups` transported by ``solve``,
    and the coarse plan refined, each member of a group paired with each member of its partner groups.

    ``solve(x, z)`` is the certified sparse matching, or with weights ``a``, ``b`` (optional)
    ``solve(x, a, z, b)`` the sparse Kantorovich solver, each group weighing the sum of its points'
    weights at their weighted mean (a group of zero weight is left out); it returns row potentials
    ``f`` and its plan. ``metric`` is the queries' metric (:func:`gaussian`), or None. The refined
    pairs carry the mass between clusters where the coarse plan does: candidates by potentials alone
    missed it (train against test samples of 25 Gaussians, n = 3000: 7 certificate rounds and 0.93 s
    without them, 5 and 0.43 s with them; no change on unclustered clouds).
    """
    of_x, of_z = groups(x), groups(z)
    if a is None or b is None:
        centroids = x[of_x].mean(axis=1)
        small = solve(centroids, z[of_z].mean(axis=1))
        partners = np.arange(len(of_x)), small.permutation
    else:
        (of_x, centroids, mass_x), (of_z, centres_z, mass_z) = (_weighted_centroids(c, w, of) for c, w, of in
                                                                ((x, a, of_x), (z, b, of_z)))
        small = solve(centroids, mass_x, centres_z, mass_z)
        partners = small.rows, small.cols
    inverse = None if metric is None else np.linalg.inv(metric)
    g = _reduced_costs.smallest(z, centroids, small.f, p, 1, inverse, fast=True)[1][:, 0]
    return g, _members(of_x[partners[0]], of_z[partners[1]])


def _members(of_x: np.ndarray, of_z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every member of the group ``of_x[t]`` with every member of ``of_z[t]``, for each t."""
    size = of_x.shape[1]
    return np.repeat(of_x, size, axis=1).ravel(), np.tile(of_z, (1, size)).ravel()


def _weighted_centroids(c: np.ndarray, w: np.ndarray, of: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The groups of positive weight, their weighted means and their total weights."""
    mass = w[of].sum(axis=1)
    kept = mass > 0
    return of[kept], (c[of[kept]] * w[of[kept]][..., None]).sum(axis=1) / mass[kept][:, None], mass[kept]
