"""The tilted k-d tree against brute force: the k smallest ``|x_i - z_j|^2 - g_j`` of every row.

Oracle: the dense matrix of reduced costs, sorted by numpy. The tree's answer may differ from it only
in the order of ties, so the k smallest *values* are compared, to a few unit round-offs of the
magnitudes involved.
"""

from __future__ import annotations

import numpy as np
import pytest

from monge.transport._tilted_tree import LEAF, TiltedTree


def brute(x: np.ndarray, z: np.ndarray, g: np.ndarray, k: int, p: float = 2.0) -> np.ndarray:
    values = ((x[:, None, :] - z[None, :, :]) ** 2).sum(-1) ** (p / 2) - g[None, :]
    return np.sort(values, axis=1)[:, :k]


def tree_values(x: np.ndarray, z: np.ndarray, g: np.ndarray, k: int, margin: float = 0.0,
                p: float = 2.0) -> np.ndarray:
    cols = TiltedTree(z).smallest(x, g, k, margin, p)
    assert cols.shape == (len(x), k) and cols.min() >= 0 and cols.max() < len(z)
    for row in cols:  # k distinct columns a row
        assert len(set(row.tolist())) == k
    return np.sort(((x[:, None, :] - z[cols]) ** 2).sum(-1) ** (p / 2) - g[cols], axis=1)


def check(x: np.ndarray, z: np.ndarray, g: np.ndarray, k: int, p: float = 2.0) -> None:
    expected = brute(x, z, g, k, p)
    span = ((x.max(0) - x.min(0)) ** 2).sum() + ((z.max(0) - z.min(0)) ** 2).sum()
    scale = span ** (p / 2) + np.abs(g).max() + 1.0
    np.testing.assert_allclose(tree_values(x, z, g, k, p=p), expected, rtol=0, atol=1e-12 * scale)


def brenier(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Smooth potentials with a large displacement: the c-transform over x of f = |x|^2 - 2 phi, phi a
    radial convex function (points pushed outwards, as a blob onto a ring)."""
    r = np.linalg.norm(x, axis=1)
    f = (x ** 2).sum(1) - 2 * (r ** 2 / 2 + r)
    values = ((x[None, :, :] - z[:, None, :]) ** 2).sum(-1) - f[None, :]
    return values.min(axis=1)


@pytest.mark.parametrize("d", [1, 2, 3, 5])
@pytest.mark.parametrize("n", [1, 2, 7, LEAF, LEAF + 1, 300])
@pytest.mark.parametrize("potentials", ["zero", "random", "brenier"])
def test_k_smallest_equal_brute_force(d, n, potentials):
    rng = np.random.default_rng([d, n, len(potentials)])
    x, z = rng.normal(size=(n + 3, d)), rng.normal(size=(n, d))
    g = {"zero": np.zeros(n), "random": rng.uniform(-3, 3, size=n), "brenier": brenier(x, z)}[potentials]
    for k in sorted({1, min(5, n), n}):
        check(x, z, g, k)


@pytest.mark.parametrize("case", ["repeated", "collinear", "far_from_origin", "tiny", "ties"])
def test_degenerate_clouds(case):
    rng = np.random.default_rng(len(case))
    if case == "repeated":  # few distinct points, many copies: no axis to split
        z = np.repeat(rng.normal(size=(3, 2)), 40, axis=0)
        x = np.repeat(rng.normal(size=(4, 2)), 10, axis=0)
    elif case == "collinear":
        t = rng.uniform(size=200)
        z = np.column_stack([t, 2 * t, -t])
        x = rng.normal(size=(50, 3))
    elif case == "far_from_origin":  # the tree centres the clouds: 1e6 offsets cost no precision
        z = 1e6 + rng.uniform(size=(300, 2))
        x = 1e6 + rng.uniform(size=(100, 2))
    elif case == "tiny":
        z = 1e-150 * rng.uniform(size=(100, 2))
        x = 1e-150 * rng.uniform(size=(30, 2))
    else:  # a grid onto itself with g = 0: every row has ties at distance 1
        side = np.arange(12.0)
        z = np.stack(np.meshgrid(side, side), -1).reshape(-1, 2)
        x = z + 0.5
    g = rng.uniform(-1, 1, size=len(z)) * float(np.ptp(z) ** 2)
    for k in (1, 4, 24):
        expected = brute(x, z, g, k)
        got = tree_values(x, z, g, k)
        scale = float(np.abs(expected).max()) + float(np.abs(z - z.mean(0)).max() ** 2) + 1e-300
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * scale)


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 3.0])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_other_exponents_equal_brute_force(p, d):
    """p != 2: the nodes bound by the distance to their box to the power p, without a slope."""
    rng = np.random.default_rng([d, int(10 * p)])
    x, z = rng.normal(size=(150, d)), rng.normal(size=(400, d))
    for g in (np.zeros(400), rng.uniform(-2, 2, size=400), -np.linalg.norm(z, axis=1) ** p):
        for k in (1, 7):
            check(x, z, g, k, p)


def test_margin_prunes_only_within_it():
    """With a margin, each returned k-th value is within the margin of the true k-th smallest."""
    rng = np.random.default_rng(5)
    x, z = rng.uniform(size=(400, 2)), rng.uniform(size=(2000, 2))
    g = brenier(x, z)
    for margin in (1e-6, 1e-3, 1e-1):
        got = tree_values(x, z, g, 3, margin)
        expected = brute(x, z, g, 3)
        assert (got[:, 0] <= expected[:, 0] + margin + 1e-12).all()
        assert (got[:, 2] <= expected[:, 2] + margin + 1e-12).all()


def test_potentials_change_between_queries():
    """One tree, many potentials: each query is exact for its own g (the slopes are refitted)."""
    rng = np.random.default_rng(9)
    x, z = rng.normal(size=(200, 2)), rng.normal(size=(500, 2))
    tree = TiltedTree(z)
    for g in (np.zeros(500), brenier(x, z), rng.uniform(-5, 5, size=500)):
        cols = tree.smallest(x, g, 2)
        got = np.sort(((x[:, None, :] - z[cols]) ** 2).sum(-1) - g[cols], axis=1)
        np.testing.assert_allclose(got, brute(x, z, g, 2), rtol=0, atol=1e-11)


def test_k_out_of_range_is_refused():
    tree = TiltedTree(np.zeros((3, 2)))
    for k in (0, 4):
        with pytest.raises(ValueError, match="k: "):
            tree.smallest(np.zeros((2, 2)), np.zeros(3), k)
