import numpy as np
import pytest
import torch

from monge.errors import InputError, InputTypeError
from monge.metrics import accuracy, confusion_matrix, predictions


def test_accuracy_from_scores_labels_and_numpy():
    scores = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    y = torch.tensor([1, 0, 0, 0])
    assert accuracy(scores, y) == 0.75
    assert accuracy(torch.tensor([1, 0, 1, 0]), y) == 0.75
    assert accuracy(scores.numpy(), y.numpy()) == 0.75
    assert torch.equal(predictions(scores), torch.tensor([1, 0, 1, 0]))


def test_confusion_matrix_rows_are_true_classes():
    y = torch.tensor([0, 0, 1, 2, 2, 2])
    predicted = torch.tensor([0, 1, 1, 2, 0, 2])
    m = confusion_matrix(predicted, y, n_classes=4)
    expected = torch.zeros(4, 4, dtype=torch.int64)
    for true, guess in zip(y.tolist(), predicted.tolist()):
        expected[true, guess] += 1
    assert torch.equal(m, expected) and m.dtype == torch.int64
    assert int(m.trace()) / len(y) == accuracy(predicted, y)
    assert torch.equal(m.sum(1)[:3], torch.bincount(y))
    assert confusion_matrix(torch.randn(6, 5), y).shape == (5, 5)  # K from the scores
    assert confusion_matrix(predicted, y).shape == (3, 3)  # K from the labels


@pytest.mark.parametrize("call, error, message", [
    (lambda: accuracy(torch.zeros(3, 2), torch.tensor([0, 1])), InputError, "2 labels but 3 predictions"),
    (lambda: accuracy(torch.zeros(3), torch.tensor([0, 1, 1])), InputError, "expected scores"),
    (lambda: accuracy(torch.zeros(3, 2), torch.tensor([0.0, 1.0, 1.0])), InputError, "y: .* expected integer labels"),
    (lambda: accuracy([0, 1], torch.tensor([0, 1])), InputTypeError, "scores: list"),
    (lambda: accuracy(np.array(["a", "b"]), torch.tensor([0, 1])), InputTypeError, "scores: a numpy array of dtype"),
    (lambda: accuracy(torch.zeros(0, 2), torch.zeros(0, dtype=torch.int64)), InputError, "no samples"),
    (lambda: confusion_matrix(torch.tensor([0, 3]), torch.tensor([0, 1]), n_classes=2), InputError,
     "scores: labels from 0 to 3; expected 0 to 1"),
    (lambda: confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, -1]), n_classes=2), InputError, "y: labels"),
    (lambda: confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 1]), n_classes=0), InputError, "n_classes"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_numpy_labels():
    assert confusion_matrix(np.array([1, 1]), np.array([1, 0]), n_classes=2).tolist() == [[0, 1], [0, 1]]
