"""Every documented bad input gives a ValueError or TypeError naming the argument: monge's InputError
(InputTypeError for a wrong type), which the ``monge`` command prints as one line."""

import re

import numpy as np
import pytest
import torch

from monge.errors import InputError, InputTypeError
from monge.transport import OTLoss, brute_force, cost_matrix, kantorovich, matching, sliced, transport_1d, wasserstein

SOLVERS = {
    "matching": lambda x, z, **kw: matching(x, z, **kw),
    "kantorovich": lambda x, z, **kw: kantorovich(x, z, **kw),
    "brute_force": lambda x, z, **kw: brute_force(x, z, **kw),
    "sliced": lambda x, z, **kw: sliced(x, z, **kw),
    "wasserstein": lambda x, z, **kw: wasserstein(x, z, **kw),
    "cost_matrix": lambda x, z, **kw: cost_matrix(x, z, **kw),
}


@pytest.fixture(params=sorted(SOLVERS))
def solve(request):
    return SOLVERS[request.param]


def test_wrong_rank(solve):
    with pytest.raises(ValueError, match=r"x: shape \(2, 3, 4, 5\); expected"):
        solve(torch.randn(2, 3, 4, 5), torch.randn(3, 2))


def test_different_dimensions(solve):
    with pytest.raises(ValueError, match="z: points of dimension 3 but x's are of dimension 2"):
        solve(torch.randn(4, 2), torch.randn(4, 3))


def test_empty_sets(solve):
    with pytest.raises(ValueError, match="x: empty point set"):
        solve(torch.randn(0, 2), torch.randn(4, 2))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_and_inf(solve, bad):
    z = torch.randn(4, 2)
    z[1, 0] = bad
    with pytest.raises(ValueError, match="z: 1 entries are NaN or inf"):
        solve(torch.randn(4, 2), z)


def test_integer_dtype(solve):
    with pytest.raises(TypeError, match="x: dtype torch.int64 is not a floating type"):
        solve(torch.ones(4, 2, dtype=torch.long), torch.randn(4, 2))


def test_mixed_dtypes(solve):
    with pytest.raises(TypeError, match="z: dtype torch.float64 differs from x's torch.float32"):
        solve(torch.randn(4, 2), torch.randn(4, 2, dtype=torch.float64))


def test_not_an_array(solve):
    with pytest.raises(TypeError, match="x: expected a torch.Tensor or numpy array, found str"):
        solve("points", torch.randn(4, 2))


def test_bad_p():
    for p, error in ((0, ValueError), (-1.0, ValueError), (float("nan"), ValueError), ("2", TypeError)):
        with pytest.raises(error, match="p:"):
            matching(torch.randn(3, 2), torch.randn(3, 2), p=p)


def test_different_devices():
    # the meta device stands in for a second device: the check comes before any computation
    with pytest.raises(TypeError, match="z: on device meta but x is on cpu"):
        matching(torch.randn(3, 2), torch.randn(3, 2, device="meta"))
    with pytest.raises(TypeError, match="a: on device meta but x is on cpu"):
        kantorovich(torch.randn(3, 2), torch.randn(3, 2), a=torch.ones(3, device="meta"))


def test_matching_needs_equal_sizes():
    with pytest.raises(ValueError, match="z: 5 points but x has 4; a matching needs n == m"):
        matching(torch.randn(4, 2), torch.randn(5, 2))


def test_unknown_method():
    with pytest.raises(ValueError, match=r"method='hungarian'; expected one of \['auction', 'auto'"):
        matching(torch.randn(4, 2), torch.randn(4, 2), method="hungarian")


def test_batch_mismatch():
    with pytest.raises(ValueError, match="z: batch of 3 problems but x has 2"):
        matching(torch.randn(2, 4, 2), torch.randn(3, 4, 2))


@pytest.mark.parametrize("solver", [kantorovich, sliced, transport_1d])
def test_weights(solver):
    x, z = torch.randn(4, 1), torch.randn(3, 1)
    good = torch.full((3,), 1 / 3)
    with pytest.raises(ValueError, match=r"a: 1 negative weights"):
        solver(x, z, torch.tensor([0.5, 0.5, 0.5, -0.5]), good)
    with pytest.raises(ValueError, match=r"a: shape \(3,\); expected \(4,\)"):
        solver(x, z, torch.full((3,), 1 / 3), good)
    with pytest.raises(ValueError, match="b: weights sum to 2 but a sums to 1"):
        solver(x, z, torch.full((4,), 0.25), 2 * good)
    with pytest.raises(ValueError, match="a: 1 entries are NaN or inf"):
        solver(x, z, torch.tensor([0.25, 0.25, float("nan"), 0.25]), good)
    with pytest.raises(ValueError, match="a: weights sum to 0"):
        solver(x, z, torch.zeros(4), torch.zeros(3))
    with pytest.raises(TypeError, match="a: dtype torch.bool"):
        solver(x, z, torch.ones(4, dtype=torch.bool), good)


def test_weights_in_float32_sum_tolerance():
    """float32 weights that sum to 1 only up to float32 rounding are accepted."""
    a = torch.rand(1000)
    a = a / a.sum()
    b = torch.rand(700)
    b = b / b.sum()
    r = kantorovich(torch.randn(1000, 2), torch.randn(700, 2), a, b)
    assert float(r.plan.sum()) == pytest.approx(1.0, rel=1e-6)


def test_numpy_inputs_give_tensors():
    r = kantorovich(np.random.rand(4, 2), np.random.rand(3, 2))
    assert isinstance(r.cost, torch.Tensor) and r.cost.dtype == torch.float64


def test_matching_too_large_for_memory(monkeypatch):
    from monge.transport import _memory
    monkeypatch.setattr(_memory, "available_bytes", lambda device: 10_000)
    with pytest.raises(MemoryError, match=r"exact 100x100 matching needs .* GiB.*sliced"):
        matching(torch.randn(100, 2), torch.randn(100, 2), method="lsa")
    with pytest.raises(MemoryError, match=r"exact 8x100x100 matching|exact 100x100 matching"):
        matching(torch.randn(8, 100, 2), torch.randn(8, 100, 2))  # a batch: dense solvers only
    assert matching(torch.randn(100, 2), torch.randn(100, 2)).method == "sparse"  # auto: past memory


def test_otloss_bad_p():
    with pytest.raises(ValueError, match="p:"):
        OTLoss(p=-2)


INF = float("inf")
BAD_CALLS = {
    "ragged list": ("x", InputError, lambda: matching([[0.0, 1.0], [2.0]], torch.randn(2, 2))),
    "shape": ("x", InputError, lambda: kantorovich(torch.randn(2, 3, 4, 5), torch.randn(3, 2))),
    "not an array": ("x", InputTypeError, lambda: sliced("points", torch.randn(4, 2))),
    "integer dtype": ("x", InputTypeError, lambda: brute_force(torch.ones(4, 2, dtype=torch.long), torch.randn(4, 2))),
    "p": ("p", InputError, lambda: transport_1d(torch.randn(3), torch.randn(3), p=0.5)),
    "p type": ("p", InputTypeError, lambda: cost_matrix(torch.randn(3, 2), torch.randn(3, 2), p="2")),
    "weights": ("a", InputError, lambda: kantorovich(torch.randn(3, 2), torch.randn(3, 2), a=-torch.ones(3))),
    "method": ("method", InputError, lambda: matching(torch.randn(3, 2), torch.randn(3, 2), method="hungarian")),
    "brute force size": ("x", InputError, lambda: brute_force(torch.randn(12, 2), torch.randn(12, 2))),
    "cost out": ("out", InputError, lambda: cost_matrix(torch.randn(3, 2), torch.randn(3, 2), out=torch.empty(2, 2))),
    "cost nan": ("cost", InputError, lambda: matching(cost=torch.tensor([[0.0, float("nan")], [1.0, 0.0]]))),
    "forbidden pairs": ("cost", InputError, lambda: matching(cost=torch.tensor([[0.0, INF], [0.0, INF]]))),
    "loss cost": ("cost", InputError, lambda: wasserstein(method="sliced", cost=torch.ones(2, 2))),
    "distance of a plan": ("distance", InputError, lambda: kantorovich(torch.randn(3, 2), torch.randn(2, 2)).distance),
    "directions": ("directions", InputError,
                   lambda: sliced(torch.randn(3, 2), torch.randn(3, 2), directions=torch.ones(4, 3))),
    "overflow": ("x", InputError, lambda: matching(torch.full((2, 2), 1e20), torch.zeros(2, 2))),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_refusals_are_input_errors(case):
    """A refused input is monge's InputError (a ValueError), never a bare ValueError or TypeError."""
    name, kind, call = BAD_CALLS[case]
    with pytest.raises(kind) as caught:
        call()
    assert isinstance(caught.value, ValueError)
    assert re.match(rf"{name}[:=]", str(caught.value)), str(caught.value)  # the argument named first
