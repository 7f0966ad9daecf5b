import numpy as np
import pytest
import torch

from monge.data import random_shift
from monge.errors import InputError, InputTypeError


def test_shifted_signals_are_translated_copies():
    x = torch.arange(40.0).view(4, 1, 10)
    out = random_shift(x, 2, torch.Generator().manual_seed(0), mode="constant")
    assert out.shape == x.shape
    for row, original in zip(out[:, 0], x[:, 0]):
        matches = [s for s in range(-2, 3)
                   if torch.equal(row, torch.nn.functional.pad(original, (2, 2))[2 + s:12 + s])]
        assert len(matches) == 1


def test_shifted_images_move_rows_and_columns_together():
    x = torch.zeros(50, 2, 6, 6)
    x[:, :, 2, 3] = 1.0
    out = random_shift(x, 1, torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    where = out[:, 0].flatten(1).argmax(1)
    rows, cols = where // 6, where % 6
    assert set(rows.tolist()) == {1, 2, 3} and set(cols.tolist()) == {2, 3, 4}
    assert torch.equal(out[:, 0], out[:, 1])  # every channel moves by the same offset
    assert torch.equal(out.sum((1, 2, 3)), torch.full((50,), 2.0))


def test_reproducible_and_zero_is_identity():
    x = torch.randn(8, 1, 8, 8)
    a = random_shift(x, 1, torch.Generator().manual_seed(5))
    assert torch.equal(a, random_shift(x, 1, torch.Generator().manual_seed(5)))
    assert random_shift(x, 0) is x


@pytest.mark.parametrize("x, k, message", [(torch.zeros(2, 3), 1, "expected signals"),
                                           (torch.zeros(2, 1, 4), -1, "max_shift")])
def test_bad_input(x, k, message):
    with pytest.raises(InputError, match=message):
        random_shift(x, k)
    with pytest.raises(InputTypeError, match="x: ndarray; expected a torch tensor"):
        random_shift(np.zeros((2, 1, 4)), 1)
