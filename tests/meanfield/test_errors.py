"""Every refusal of the mean-field package is an InputError (a ValueError) or, for a wrong type, an InputTypeError."""

import pytest
import torch

from monge.errors import InputError, InputTypeError
from monge.meanfield import Energy, GaussianBump, GaussianMixture, Grid, ReLUUnit, ShallowNetwork, examples, grid_flow


def _rbf():
    return examples.rbf(n=5, seed=0)


@pytest.mark.parametrize("make, kind, words", [
    (lambda: ReLUUnit(0), InputError, "d: expected a positive integer"),
    (lambda: GaussianBump(1, variance=-1.0), InputError, "variance"),
    (lambda: ShallowNetwork(torch.zeros(3, 5), ReLUUnit(1)), InputError, "particles: width 5"),
    (lambda: ShallowNetwork([[0.0, 1.0]], ReLUUnit(1)), InputTypeError, "particles: expected a torch.Tensor"),
    (lambda: ShallowNetwork(torch.zeros(2, 2), "relu"), InputTypeError, "unit"),
    (lambda: GaussianMixture(torch.ones(2), torch.zeros(3, 1), 0.5), InputError, "y: 3 centres"),
    (lambda: Grid((0.0,), (1.0,), (1,)), InputError, r"shape\[0\]"),
    (lambda: Energy(None, (0, 1), ReLUUnit(1)), InputTypeError, "target"),
    (lambda: examples.rbf(n=0), InputError, "n: expected a positive integer"),
    (lambda: grid_flow(None, Grid((0.0, 0.0), (1.0, 1.0), (4, 4)), _rbf()[1], 1.0, 0.1), InputTypeError, "rho: NoneType"),
    (lambda: grid_flow(torch.ones(3, 3), Grid((0.0, 0.0), (1.0, 1.0), (4, 4)), _rbf()[1], 1.0, 0.1), InputError,
     "rho: shape"),
])
def test_refusals_are_input_errors(make, kind, words):
    with pytest.raises(kind, match=words) as caught:
        make()
    assert isinstance(caught.value, ValueError)
