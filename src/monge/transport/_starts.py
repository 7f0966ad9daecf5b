r"""Approximate potentials to start the sparse matching from, and the metric of its queries.

Two sources, chosen by measurement of the instance:

- the **Gaussian start**: the optimal map between the Gaussians of the clouds' means and covariances
  is affine, :math:`T(x) = m_z + A (x - m_x)` with
  :math:`A = \Sigma_x^{-1/2} (\Sigma_x^{1/2} \Sigma_z \Sigma_x^{1/2})^{1/2} \Sigma_x^{-1/2}`. It carries
  a shift, a scaling and a rotation between the clouds (p = 2 only);
- the **coarse start**: a random quarter of each cloud is matched exactly first (recursively), and
  its row potentials ``f`` are extended to every ``z`` by the c-transform
  :math:`g(z_j) = \min_i C(x^c_i, z_j) - f^c_i`. It carries any large-scale structure, but also the
  coarse sample's own noise: taken only where the coarse transport cost is far above the sampling's
  resolution (:data:`LARGE_SCALE` times the mean nearest-neighbour cost within each cloud).
  Between two samples of one law the optimum is all noise (cost / resolution about 2-4 measured
  at n = 5000 and 20000 uniform in the square), and the coarse noise then misleads more than it
  helps (0.29 s against 0.50 s at n = 5000); a Gaussian and a uniform law give 127-500.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from . import _reduced_costs

# The Gaussian start's map only where its matrix has at most this condition number (else a scaling).
MAX_CONDITION = 1e3
# The coarse start from this many points; each level matches 1 / COARSENING of the points.
COARSE_FROM = 2000
COARSENING = 4
# Coarse transport cost over the sampling's resolution above which the coarse potentials are used,
# measured first on PROBE points of each cloud (solved in about 0.05 s).
LARGE_SCALE = 20.0
PROBE = 1000


def _sqrtm(s: np.ndarray, inverse: bool = False) -> np.ndarray:
    w, q = np.linalg.eigh(s)
    w = np.maximum(w, np.finfo(np.float64).tiny) ** (-0.5 if inverse else 0.5)
    return (q * w) @ q.T


def gaussian(x: np.ndarray, z: np.ndarray, a: np.ndarray | None = None,
             b: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Column potentials of the Gaussian approximation (p = 2), and :math:`A^{1/2}`, the queries' metric.

    ``T`` is the gradient of :math:`\varphi(x) = \tfrac12 (x - m_x)^\top A (x - m_x) + m_z^\top x`; the row
    potential is :math:`f = |x|^2 - 2\varphi`, and the column potentials are f's c-transform over the
    cloud ``x``. With the metric :math:`M = A^{1/2}` the lifted queries run on ``x M`` and ``z M^{-1}``,
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


def spacing(x: np.ndarray, p: float) -> float:
    """The mean cost from a point to its nearest neighbour in its own cloud: the sampling's resolution."""
    distance, _ = cKDTree(x).query(x, k=2, workers=-1)
    return float((distance[:, 1] ** p).mean())


def _large_scale(x: np.ndarray, z: np.ndarray, p: float, solve, rng: np.random.Generator) -> bool:
    """Whether a PROBE-point subsample's optimal cost is far above its sampling resolution."""
    ix, iz = (rng.choice(len(x), PROBE, replace=False) for _ in range(2))
    small = solve(x[ix], z[iz])
    return small.primal / PROBE > LARGE_SCALE * (spacing(x[ix], p) + spacing(z[iz], p))


def coarse(x: np.ndarray, z: np.ndarray, p: float, solve, metric: np.ndarray | None) -> np.ndarray | None:
    """The coarse start's column potentials, or None where the coarse optimum is mostly sampling noise.

    ``solve(x, z)`` is the certified sparse matching, which returns row potentials ``f``.
    """
    n = len(x)
    rng = np.random.default_rng(n)
    if not _large_scale(x, z, p, solve, rng):
        return None
    m = n // COARSENING
    ix, iz = rng.choice(n, m, replace=False), rng.choice(n, m, replace=False)
    small = solve(x[ix], z[iz])
    inverse = None if metric is None else np.linalg.inv(metric)
    return _reduced_costs.smallest(z, x[ix], small.f, p, 1, inverse, fast=True)[1][:, 0]
