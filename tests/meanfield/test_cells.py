import numpy as np
import pytest
import torch
from scipy import stats

from monge.meanfield.cells import RBF_BOX, Grid, grid_wasserstein, rbf_law


def test_geometry():
    grid = Grid((-1, 0), (1, 3), (4, 3))
    assert grid.h == (0.5, 1.0) and grid.volume == 0.5 and grid.size == 12 and grid.dim == 2
    centres = grid.centres()
    assert centres.shape == (12, 2) and centres.dtype == torch.float64
    torch.testing.assert_close(centres[0], torch.tensor([-0.75, 0.5], dtype=torch.float64))
    torch.testing.assert_close(centres[1], torch.tensor([-0.75, 1.5], dtype=torch.float64))  # last axis fastest
    torch.testing.assert_close(centres[-1], torch.tensor([0.75, 2.5], dtype=torch.float64))
    edges = grid.edges()
    assert [len(e) for e in edges] == [5, 4] and edges[0][0] == -1 and edges[1][-1] == 3


def test_product_law_is_the_cell_integral_of_the_law():
    grid = Grid(*RBF_BOX, shape=(32, 16))
    rho = grid.product_law(rbf_law())
    assert rho.shape == (32, 16) and bool((rho >= 0).all())
    torch.testing.assert_close(rho.sum() * grid.volume, torch.tensor(1.0, dtype=torch.float64))
    # y ~ U[-2, 2]: cells of y inside [-2, 2] hold 1/4 of the y-mass per unit length, none outside
    y_marginal = rho.sum(0) * grid.h[0]
    inside = (grid.axes()[1].abs() < 2)
    torch.testing.assert_close(y_marginal[inside], torch.full((int(inside.sum()),), 0.25, dtype=torch.float64))
    assert float(y_marginal[~inside].abs().max()) == 0.0
    # c ~ N(0, 1): cell masses are differences of the normal CDF at the faces
    c_mass = rho.sum(1) * grid.volume
    faces = grid.edges()[0].numpy()
    expected = np.diff(stats.norm.cdf(faces))
    np.testing.assert_allclose(c_mass.numpy(), expected / expected.sum(), rtol=1e-12)


def test_product_law_bad_start_is_narrow():
    grid = Grid(*RBF_BOX, shape=(16, 160))
    rho = grid.product_law(rbf_law(bad_start=True))
    y_marginal = rho.sum(0) * grid.h[0]
    y = grid.axes()[1]
    mean = float((y_marginal * y).sum() * grid.h[1])
    spread = float((y_marginal * (y - mean).square()).sum() * grid.h[1]) ** 0.5
    assert mean == pytest.approx(-2.0, abs=1e-9) and spread == pytest.approx(0.1, rel=0.05)


def test_histogram_keeps_mass_and_mean():
    rng = np.random.default_rng(0)
    particles = torch.from_numpy(rng.uniform([-1.5, -0.5], [1.5, 2.5], size=(500, 2)))
    grid = Grid((-2, -1), (2, 3), (20, 20))
    rho = grid.histogram(particles)
    assert rho.shape == (20, 20) and bool((rho >= 0).all())
    w = grid.weights(rho)
    torch.testing.assert_close(w.sum(), torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(w @ grid.centres(), particles.mean(0))
    weights = torch.from_numpy(rng.uniform(0, 1, 500))
    w = grid.weights(grid.histogram(particles, weights))
    torch.testing.assert_close(w @ grid.centres(), weights @ particles / weights.sum())


def test_grid_wasserstein_of_a_histogram_is_within_a_cell():
    rng = np.random.default_rng(1)
    particles = rng.normal(size=(200, 2)) * 0.5
    grid = Grid((-3, -3), (3, 3), (30, 30))
    distance = grid_wasserstein(particles, grid.histogram(particles), grid)
    assert 0 < distance < max(grid.h)
    # a point at a cell centre, and one between two: W2^2 = shift^2 + the split's variance (0.1^2 per axis)
    shifted = grid.histogram(np.array([[1.1, 1.1]]))
    assert grid_wasserstein(np.array([[-1.0, -1.0]]), shifted, grid) ** 2 == pytest.approx(2 * 2.1 ** 2, rel=1e-12)
    between = grid.histogram(np.array([[1.0, 1.0]]))
    assert grid_wasserstein(np.array([[-1.0, -1.0]]), between, grid) ** 2 == pytest.approx(8 + 2 * 0.01, rel=1e-12)


@pytest.mark.parametrize("args, words", [
    (((0, 0), (1,), (2, 2)), ["lengths 2, 1, 2"]),
    (((0, 1), (1, 1), (2, 2)), ["axis 1", "low < high"]),
    (((0, 0), (1, float("inf")), (2, 2)), ["axis 1"]),
    (((0, 0), (1, 1), (2, 1)), ["shape[1] = 1", ">= 2"]),
    (((0, 0), (1, 1), (2, 2.5)), ["shape[1] = 2.5"]),
])
def test_bad_grids(args, words):
    with pytest.raises(ValueError) as error:
        Grid(*args)
    assert all(word in str(error.value) for word in words)


def test_bad_densities():
    grid = Grid((-1, -1), (1, 1), (4, 4))
    with pytest.raises(ValueError, match="cdfs: 1 functions"):
        grid.product_law([stats.norm.cdf])
    with pytest.raises(ValueError, match="no mass inside"):
        grid.product_law([stats.norm(10, 0.1).cdf, stats.norm.cdf])
    with pytest.raises(ValueError, match=r"cdfs\[0\]"):
        grid.product_law([lambda x: -x, stats.norm.cdf])
    with pytest.raises(ValueError, match="outside the grid's box"):
        grid.histogram(torch.tensor([[0.0, 2.0]]))
    with pytest.raises(ValueError, match=r"expected \(N, 2\)"):
        grid.histogram(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="weights"):
        grid.histogram(torch.zeros(3, 2), weights=torch.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="particles: shape"):
        grid_wasserstein(torch.zeros(3, 3), torch.ones(4, 4), grid)
    with pytest.raises(ValueError, match="threshold"):
        grid_wasserstein(torch.zeros(3, 2), torch.ones(4, 4), grid, threshold=1.0)
