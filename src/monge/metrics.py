r"""Figures of merit: how well a network does.

Plain functions on torch tensors (or NumPy arrays); results on the input's device.
"""

from __future__ import annotations

import numpy as np
import torch


def _as_tensor(value, name: str) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: {type(value).__name__}; expected a torch tensor or a numpy array")
    return value


def predictions(scores) -> torch.Tensor:
    r"""Predicted classes :math:`\hat y_i = \arg\max_k f_w(x_i)_k` from scores ``(n, K)``.

    Integer labels ``(n,)`` (already predicted classes) pass through.
    """
    scores = _as_tensor(scores, "scores")
    if scores.dim() == 2:
        return scores.argmax(1)
    if scores.dim() == 1 and not scores.is_floating_point():
        return scores
    raise ValueError(f"scores: shape {tuple(scores.shape)}, dtype {scores.dtype}; expected scores (n, K) or "
                     "integer labels (n,)")


def _pair(scores, y) -> tuple[torch.Tensor, torch.Tensor]:
    predicted, y = predictions(scores), _as_tensor(y, "y")
    if y.dim() != 1 or y.is_floating_point() or y.dtype == torch.bool:
        raise ValueError(f"y: shape {tuple(y.shape)}, dtype {y.dtype}; expected integer labels (n,)")
    if len(y) != len(predicted):
        raise ValueError(f"y: {len(y)} labels but {len(predicted)} predictions; expected one label per sample")
    if len(y) == 0:
        raise ValueError("y: no samples; expected at least one")
    return predicted, y.to(predicted.device)


def accuracy(scores, y) -> float:
    r"""The share of correct predictions, :math:`\frac{1}{n} \sum_i [\hat y_i = y_i]`.

    Parameters
    ----------
    scores : (n, K) Tensor of scores (the class is the arg max) or (n,) integer predicted labels
    y : (n,) integer Tensor, the true labels

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), torch.tensor([0, 1, 1]))
    0.6666666666666666
    """
    predicted, y = _pair(scores, y)
    return (predicted == y).sum().item() / len(y)


def confusion_matrix(scores, y, n_classes: int | None = None) -> torch.Tensor:
    r"""Counts :math:`M_{jk} = \#\{i : y_i = j,\ \hat y_i = k\}`: rows are true classes, columns predictions.

    The diagonal holds the correct predictions: :math:`\mathrm{accuracy} = \mathrm{tr}(M) / n`.

    Parameters
    ----------
    scores : (n, K) scores or (n,) integer predicted labels
    y : (n,) integer true labels
    n_classes : int, optional
        K (default: the number of score columns, else the largest label + 1).

    Returns
    -------
    (K, K) int64 Tensor

    Examples
    --------
    >>> confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), n_classes=2)
    tensor([[1, 1],
            [0, 1]])
    """
    predicted, y = _pair(scores, y)
    scores = _as_tensor(scores, "scores")
    if n_classes is None:
        n_classes = scores.shape[1] if scores.dim() == 2 else int(max(predicted.max(), y.max())) + 1
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError(f"n_classes: {n_classes!r}; expected a positive integer")
    for name, labels in (("y", y), ("scores", predicted)):
        if int(labels.min()) < 0 or int(labels.max()) >= n_classes:
            raise ValueError(f"{name}: labels from {int(labels.min())} to {int(labels.max())}; expected 0 to "
                             f"{n_classes - 1} (n_classes = {n_classes})")
    counts = torch.bincount(y * n_classes + predicted, minlength=n_classes * n_classes)
    return counts.view(n_classes, n_classes)
