import numpy as np
import pytest
import torch

from monge.transport import cost_blocks, cost_matrix
from monge.transport import costs as costs_module
from tests.problems import cost64


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 2.0, 3.0])
def test_cost_matrix_matches_numpy(p, dtype, device, rng):
    x, z = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    c = cost_matrix(torch.tensor(x, dtype=dtype, device=device), torch.tensor(z, dtype=dtype, device=device), p)
    assert c.dtype == dtype and c.device.type == device.type and c.shape == (7, 5)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(c.double().cpu(), torch.from_numpy(cost64(x, z, p)), rtol=tol, atol=tol)


@pytest.mark.parametrize("p", [1.0, 2.0, 1.5])
def test_large_path_matches_direct_path(p, rng, monkeypatch):
    x, z = torch.from_numpy(rng.normal(size=(300, 4))), torch.from_numpy(rng.normal(size=(200, 4)))
    direct = cost_matrix(x, z, p)
    monkeypatch.setattr(costs_module, "_DIRECT_LIMIT", 0)
    expanded = cost_matrix(x, z, p)
    torch.testing.assert_close(expanded, direct, rtol=1e-10, atol=1e-10)
    out = torch.empty(300, 200, dtype=torch.float64)
    monkeypatch.setattr(costs_module, "_BLOCK_ELEMENTS", 200 * 64)  # 64 rows per block
    assert cost_matrix(x, z, p, out=out) is out
    torch.testing.assert_close(out, direct, rtol=1e-10, atol=1e-10)


def test_equal_points_cost_zero_on_direct_path():
    x = torch.randn(10, 3)
    assert float(cost_matrix(x, x, 2.0).diagonal().abs().max()) == 0.0


def test_batched_cost_matrix(rng):
    x, z = torch.from_numpy(rng.normal(size=(3, 6, 2))), torch.from_numpy(rng.normal(size=(3, 4, 2)))
    c = cost_matrix(x, z, 1.0)
    assert c.shape == (3, 6, 4)
    for b in range(3):
        torch.testing.assert_close(c[b], torch.from_numpy(cost64(x[b], z[b], 1.0)))


def test_cost_blocks_reduce_like_the_whole_matrix(rng):
    x, z = torch.from_numpy(rng.normal(size=(1000, 3))), torch.from_numpy(rng.normal(size=(300, 3)))
    whole = cost_matrix(x, z, 2.0)
    seen = []
    for rows, block in cost_blocks(x, z, 2.0, block_rows=128):
        assert block.shape[0] <= 128
        seen.append(block.amin(1))
    torch.testing.assert_close(torch.cat(seen), whole.amin(1), rtol=1e-10, atol=1e-10)


def test_cost_matrix_accepts_numpy():
    c = cost_matrix(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), p=1)
    assert isinstance(c, torch.Tensor) and c.dtype == torch.float64 and float(c) == 5.0


def test_cost_matrix_gradient_flows():
    x = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    z = torch.randn(3, 2, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: cost_matrix(x, z, 1.5), (x,))


def test_bad_out_buffer():
    with pytest.raises(ValueError, match="out: shape"):
        cost_matrix(torch.randn(3, 2), torch.randn(4, 2), out=torch.empty(4, 3))


def test_dense_cost_that_cannot_fit_is_refused(monkeypatch):
    from monge.transport import _memory
    monkeypatch.setattr(_memory, "available_bytes", lambda device: 1000)
    with pytest.raises(MemoryError, match="cost matrix needs .* GiB.*cost_blocks"):
        cost_matrix(torch.randn(100, 2), torch.randn(100, 2))


def test_far_from_the_origin_float32(monkeypatch):
    """The expansion is computed on centred points: no cancellation for clouds far from 0."""
    monkeypatch.setattr(costs_module, "_DIRECT_LIMIT", 0)
    x = torch.rand(50, 2) + 1000.0
    z = torch.rand(40, 2) + 1000.0
    exact = cost64(x.double().numpy(), z.double().numpy(), 2.0)
    torch.testing.assert_close(cost_matrix(x, z).double(), torch.from_numpy(exact), rtol=1e-4, atol=1e-5)
