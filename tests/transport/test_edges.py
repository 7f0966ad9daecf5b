"""The edges: coincident and single-point clouds, W(y, y) = 0 exactly, overflow, scalars, POT's conventions."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from monge.errors import InputError
from monge.transport import (OTLoss, cost_matrix, kantorovich, matching, sinkhorn, sinkhorn_divergence, sliced,
                             transport_1d, transport_cost, wasserstein)

METHODS = ["exact", "sinkhorn", "sinkhorn_divergence", "sliced"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [1, 5])
def test_coincident_clouds_cost_zero_with_finite_gradients(method, n, dtype):
    """A generator whose batch collapses to one point: every loss is 0 and its gradient finite."""
    x = torch.full((n, 2), 0.3, dtype=dtype, requires_grad=True)
    z = torch.full((n, 2), 0.3, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning
        value = OTLoss(p=2.0, method=method)(x, z)
    value.backward()
    assert float(value.detach()) == 0.0
    assert torch.isfinite(x.grad).all() and float(x.grad.abs().max()) == 0.0


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
def test_single_points_and_coincident_clouds_in_every_solver(p):
    y = torch.full((4, 3), -1.25, dtype=torch.float64)
    for r in (matching(y, y, p=p), kantorovich(y, y, p=p), sinkhorn(y, y, p=p), sinkhorn(y[:1], y[:1].clone(), p=p)):
        assert float(r.cost) == 0.0
        for potential in (r.f, r.g):
            assert potential is None or bool(torch.isfinite(potential).all())
    assert float(sinkhorn_divergence(y, y.clone(), p=p)) == 0.0
    assert float(transport_1d(y[:, 0], y[:, 0], p=max(p, 1.0)).cost) == 0.0
    assert float(sliced(y, y, p=max(p, 1.0)).cost) == 0.0


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 300), st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]), st.integers(0, 2**31 - 1),
       st.sampled_from(["float32", "float64"]))
def test_distance_to_itself_is_exactly_zero(n, p, seed, dtype):
    """Costs of equal points are exactly 0, even where the cost matrix is an expanded product."""
    y = torch.from_numpy(np.random.default_rng(seed).normal(size=(n, 3)) * 10).to(getattr(torch, dtype))
    assert float(wasserstein(y, y, p=p)) == 0.0
    weights = torch.full((n,), 1.0 / n, dtype=torch.float64)
    assert float(wasserstein(y, y, weights, weights, p=p)) == 0.0
    assert float(cost_matrix(y, y, p=p).diagonal().abs().max()) == 0.0


def test_equal_points_cost_zero_in_large_cost_matrices():
    y = torch.rand(2000, 2) * 100  # the expansion path, blocks of rows
    assert float(cost_matrix(y, y, p=1).diagonal().abs().max()) == 0.0
    assert float(cost_matrix(y.double(), y.double(), p=1).diagonal().abs().max()) == 0.0


def test_float32_overflow_names_the_argument():
    far = torch.full((3, 2), 1e20)
    near = torch.zeros(3, 2)
    for solve in (lambda: cost_matrix(far, near), lambda: sinkhorn(far, near), lambda: sinkhorn(near, far),
                  lambda: wasserstein(far, near, method="sinkhorn")):
        with pytest.raises(InputError, match=r"(x|z): coordinates too large for the cost \|x - z\|\^2 in "
                                             r"torch.float32: the clouds span .* beyond torch.float32's range .*; expected clouds "
                                             r"spanning less than .*: rescale the points or use float64 points"):
            solve()
        # W_p^p itself is beyond float32: the exact solvers refuse too, rather than return inf
    for solve in (lambda: wasserstein(far, near), lambda: kantorovich(far, near), lambda: matching(far, near),
                  lambda: sliced(far, near), lambda: transport_1d(far[:, 0], near[:, 0])):
        with pytest.raises(InputError, match=r"(x|z|u|v): coordinates too large .* the clouds span .* beyond "
                                             r"torch.float32's range"):
            solve()
    # float64 takes it
    assert np.isfinite(float(sinkhorn(far.double(), near.double()).cost))
    assert float(wasserstein(far.double(), near.double())) == pytest.approx(np.sqrt(2) * 1e20)


def test_numpy_scalars_and_zero_dim_tensors():
    x, z = torch.rand(6, 2), torch.rand(6, 2)
    expected = float(transport_cost(x, z, p=2.0))
    for p in (np.float32(2), np.float64(2), np.int64(2), torch.tensor(2.0)):
        assert float(transport_cost(x, z, p=p)) == pytest.approx(expected)
    reference = float(sinkhorn(x, z, eps=0.05).cost)
    for eps in (np.float32(0.05), torch.tensor(0.05)):
        assert float(sinkhorn(x, z, eps=eps).cost) == pytest.approx(reference, rel=1e-5)
    with pytest.raises(TypeError, match="p: expected a number, found bool"):
        matching(x, z, p=True)


def test_empty_weights_mean_uniform():
    x, z = torch.rand(5, 2, dtype=torch.float64), torch.rand(7, 2, dtype=torch.float64)
    uniform = kantorovich(x, z)
    for empty in ([], np.array([]), torch.tensor([])):
        assert float(kantorovich(x, z, empty, empty).cost) == pytest.approx(float(uniform.cost))
        assert float(sinkhorn(x, z, empty, empty, eps=0.1).cost) == pytest.approx(float(sinkhorn(x, z, eps=0.1).cost))
        assert float(transport_1d(x[:, 0], z[:, 0], empty, empty).cost) == \
            pytest.approx(float(transport_1d(x[:, 0], z[:, 0]).cost))


def test_transport_1d_names_u_and_v():
    with pytest.raises(ValueError, match="v: 1 entries are NaN"):
        transport_1d(torch.rand(3), torch.tensor([0.0, float("nan")]))
    with pytest.raises(TypeError, match="u: dtype torch.int64"):
        transport_1d(torch.ones(3, dtype=torch.long), torch.rand(3))
    with pytest.raises(ValueError, match="v: a ragged nested list"):
        transport_1d([0.0, 1.0], [[0.0], [1.0, 2.0]])


@pytest.mark.parametrize("argument", ["x", "z"])
def test_ragged_lists_name_the_argument(argument):
    ragged = [[0.0, 1.0], [2.0]]
    good = [[0.0, 1.0], [2.0, 3.0]]
    inputs = {"x": good, "z": good, argument: ragged}
    with pytest.raises(ValueError, match=f"{argument}: a ragged nested list"):
        matching(inputs["x"], inputs["z"])
    with pytest.raises(ValueError, match="a: a ragged nested list"):
        kantorovich(good, good, a=[[0.5], [0.25, 0.25]])
