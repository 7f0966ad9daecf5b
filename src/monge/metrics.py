r"""Figures of merit: how well a network does.

Plain functions on torch tensors (or NumPy arrays); results on the input's device. Chapter 1:
:func:`accuracy`, :func:`confusion_matrix`. Chapter 2 (generative networks): the transport distance
of generated samples to held-out data and its floor (:func:`w2_test`, :func:`w2_floor`), mode
coverage and sample quality of the 2-D toys (:func:`modes_covered`, :func:`high_quality`), and the
proportions of classes among generated images (:func:`class_histogram`, :func:`total_variation`,
:func:`mean_confidence`): "if in the database there are half images of dogs and half images of
cats, the network must also generate half of dogs and half of cats".
"""

from __future__ import annotations

import numpy as np
import torch

from monge.errors import InputError, InputTypeError


def _as_tensor(value, name: str) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise InputTypeError(f"{name}: a numpy array of dtype {value.dtype}; expected numbers")
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise InputTypeError(f"{name}: {type(value).__name__}; expected a torch tensor or a numpy array")
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
    raise InputError(f"scores: shape {tuple(scores.shape)}, dtype {scores.dtype}; expected scores (n, K) or "
                     "integer labels (n,)")


def _pair(scores, y) -> tuple[torch.Tensor, torch.Tensor]:
    predicted, y = predictions(scores), _as_tensor(y, "y")
    if y.dim() != 1 or y.is_floating_point() or y.dtype == torch.bool:
        raise InputError(f"y: shape {tuple(y.shape)}, dtype {y.dtype}; expected integer labels (n,)")
    if len(y) != len(predicted):
        raise InputError(f"y: {len(y)} labels but {len(predicted)} predictions; expected one label per sample")
    if len(y) == 0:
        raise InputError("y: no samples; expected at least one")
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
        raise InputError(f"n_classes: {n_classes!r}; expected a positive integer")
    for name, labels in (("y", y), ("scores", predicted)):
        if int(labels.min()) < 0 or int(labels.max()) >= n_classes:
            raise InputError(f"{name}: labels from {int(labels.min())} to {int(labels.max())}; expected 0 to "
                             f"{n_classes - 1} (n_classes = {n_classes})")
    counts = torch.bincount(y * n_classes + predicted, minlength=n_classes * n_classes)
    return counts.view(n_classes, n_classes)


# -- chapter 2: generative networks ----------------------------------------------------------------------------------
def _points(value, name: str) -> torch.Tensor:
    value = _as_tensor(value, name)
    if value.dim() < 2 or len(value) == 0:
        raise InputError(f"{name}: shape {tuple(value.shape)}; expected samples (n, d) or (n, *shape)")
    value = value.flatten(1).to(torch.float64)
    if not bool(torch.isfinite(value).all()):
        raise InputError(f"{name}: holds NaN or infinite values; expected finite samples")
    return value


def _subset(x: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    return x if len(x) == n else x[torch.randperm(len(x), generator=generator)[:n].to(x.device)]


# The exact W2 of w2_test and w2_floor. In low dimension (d <= W2_SPARSE_DIM: the 2-D toys) the certified
# sparse matching (monge.transport.matching(method="sparse"), no n x n matrix) on W2_POINTS_SPARSE points a
# side: on the 8 Gaussians, measured at 3 s a solve for 5000 points (1.2 s for 2000, 8 to 20 s for 10,000);
# above, POT's network simplex on the dense cost matrix, about a second for W2_POINTS_DENSE = 2000 (digits,
# d = 64; mnist1d, d = 40).
W2_SPARSE_DIM = 5
W2_POINTS_SPARSE, W2_POINTS_DENSE = 5000, 2000


def w2_points(d: int) -> int:
    """The default number of points a side of :func:`w2_test` and :func:`w2_floor` for samples of ``d`` values.

    :data:`W2_POINTS_SPARSE` (5000) for d <= :data:`W2_SPARSE_DIM` (5), where the sparse matching
    applies; :data:`W2_POINTS_DENSE` (2000) above.

    Examples
    --------
    >>> w2_points(2), w2_points(64)
    (5000, 2000)
    """
    return W2_POINTS_SPARSE if d <= W2_SPARSE_DIM else W2_POINTS_DENSE


def _w2(x, z, n: int | None, seed: int, names: tuple[str, str]) -> float:
    from monge.transport import matching  # here: importing metrics stays cheap for chapter 1
    from monge.transport.monge import SPARSE_FROM

    x, z = _points(x, names[0]), _points(z, names[1])
    if x.shape[1] != z.shape[1]:
        raise InputError(f"{names[0]}: samples of {x.shape[1]} values but {names[1]} has {z.shape[1]}; expected "
                         "the same dimension")
    if n is None:
        n = w2_points(x.shape[1])
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"n: {n!r}; expected a positive integer or None")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise InputError(f"seed: {seed!r}; expected an integer in [0, 2**64 - 1] (a torch seed)")
    n = min(n, len(x), len(z))
    generator = torch.Generator().manual_seed(seed)
    x, z = _subset(x, n, generator), _subset(z, n, generator)
    # Low dimension: the sparse matching, in O(n) memory. Above: the network simplex takes about a second
    # for n = 2000 whatever the clouds; scipy's assignment takes 10x longer when they are degenerate (a
    # collapsed or untrained generator).
    # (auto: the sparse matching with a budget of certificate rounds, the network simplex after it,
    # for a collapsed generator's repeated points)
    method = "auto" if x.shape[1] <= W2_SPARSE_DIM and n >= SPARSE_FROM else "network_simplex"
    cost = matching(x, z.to(x.device), p=2.0, method=method).cost
    return float(cost.clamp(min=0).sqrt())


def w2_test(samples, test, *, n: int | None = None, seed: int = 0) -> float:
    r"""The exact Wasserstein distance :math:`W_2` between generated samples and held-out data.

    .. math:: W_2 = \Big(\min_{s} \frac1n \sum_{i=1}^n \|x_i - z_{s_i}\|^2\Big)^{1/2}

    over the permutations :math:`s` (Monge's problem, solved exactly), with
    :math:`n = \min(` ``n``, the number of samples, the number of held-out points :math:`)`: random
    subsets (seeded) where there are more. Compare it with :func:`w2_floor`, the same distance
    between two samples of the data itself, at the same ``n``.

    In dimension d <= 5 (the 2-D toys) the matching is the certified sparse one of
    :func:`monge.transport.matching` (``method="sparse"``: no n x n matrix; about 3 s for 5000
    points a side of the 8 Gaussians); above (digits, d = 64), POT's network simplex on the dense
    cost matrix (about a second for 2000).

    Parameters
    ----------
    samples : (N, d) or (N, *shape) Tensor or ndarray, generated samples
    test : (M, d) or (M, *shape), held-out data, in the same units
    n : int, optional
        At most this many of each; default (None) :func:`w2_points` of the dimension: 5000 for
        d <= 5, 2000 above.
    seed : int in [0, 2**64), of the subsets (a torch seed)

    Returns
    -------
    float

    Examples
    --------
    >>> w2_test(torch.zeros(5, 2), torch.full((3, 2), 1.0))
    1.4142135623730951
    """
    return _w2(samples, test, n, seed, ("samples", "test"))


def w2_floor(train, test, *, n: int | None = None, seed: int = 0) -> float:
    r"""The floor of :func:`w2_test`: the exact :math:`W_2` between training and held-out data, at equal n.

    Two finite samples of the same law are not at distance 0: a generator that reproduced the data
    law perfectly would score about this, so ``w2_test / w2_floor`` near 1 is as good as it gets.
    :math:`n = \min(` ``n``, the training points, the held-out points :math:`)`; the solver is
    that of :func:`w2_test`. Both fall as n grows (two finite samples of one law are closer when
    larger), so compare them at the same ``n``.

    Parameters
    ----------
    train : (N, d) or (N, *shape) Tensor or ndarray, the training data
    test : (M, d) or (M, *shape), held-out data, in the same units
    n : int, optional
        At most this many of each; default (None) :func:`w2_points` of the dimension: 5000 for
        d <= 5, 2000 above.
    seed : int in [0, 2**64), of the subsets (a torch seed)

    Returns
    -------
    float
    """
    return _w2(train, test, n, seed, ("train", "test"))


def _nearest(samples, centres) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance to the nearest centre and its index, by blocks of samples (bounded memory)."""
    x, c = _points(samples, "samples"), _points(centres, "centres")
    if x.shape[1] != c.shape[1]:
        raise InputError(f"centres: points of dimension {c.shape[1]}; the samples have {x.shape[1]}")
    c = c.to(x.device)
    distances, indices = [], []
    for block in x.split(max(1, 2**22 // len(c))):
        d = torch.cdist(block, c)
        value, index = d.min(1)
        distances.append(value)
        indices.append(index)
    return torch.cat(distances), torch.cat(indices)


def _std(std) -> float:
    if isinstance(std, bool) or not isinstance(std, (int, float, np.floating)) or not (np.isfinite(std) and std > 0):
        raise InputError(f"std: {std!r}; expected a positive number (the standard deviation of a mode)")
    return float(std)


def high_quality(samples, centres, std: float, *, radius: float = 3.0) -> float:
    r"""The share of samples within ``radius`` standard deviations of a mode: :math:`\frac1n \#\{i : \min_k \|x_i - m_k\| \le 3\sigma\}`.

    As in the unrolled-GAN and PacGAN papers (Metz et al. 2017, Lin et al. 2018) for the 2-D
    Gaussian mixtures; for a curve (swiss roll, circle), ``centres`` are points along it and the
    criterion is the distance to the curve.

    Parameters
    ----------
    samples : (n, d) Tensor or ndarray
    centres : (M, d), the modes' centres :math:`m_k` (:func:`monge.data.toys.modes`)
    std : float, their standard deviation :math:`\sigma`
    radius : float, in standard deviations (3)

    Examples
    --------
    >>> high_quality(torch.tensor([[0.0, 0.01], [0.5, 0.5]]), torch.zeros(1, 2), 0.01)
    0.5
    """
    distance, _ = _nearest(samples, centres)
    return float((distance <= radius * _std(std)).double().mean())


def modes_covered(samples, centres, std: float, labels=None, *, radius: float = 3.0, share: float = 0.01) -> int:
    r"""The number of modes that hold at least ``share`` (1%) of the samples within ``radius`` std of them.

    A sample counts for the mode of its nearest centre, if it is within :math:`3\sigma` of it;
    mode :math:`k` is covered when at least 1% of all samples count for it (Metz et al. 2017;
    Srivastava et al. 2017).

    Parameters
    ----------
    samples : (n, d)
    centres : (M, d)
    std : float
    labels : (M,) integer, optional
        The mode of each centre (several centres per mode, e.g. points along a piece of a curve);
        by default each centre is its own mode.

    Examples
    --------
    >>> centres = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    >>> modes_covered(torch.zeros(50, 2), centres, 0.1)
    1
    """
    distance, index = _nearest(samples, centres)
    n_centres = len(_as_tensor(centres, "centres"))
    labels = torch.arange(n_centres) if labels is None else _as_tensor(labels, "labels").to(torch.int64)
    if labels.shape != (n_centres,) or int(labels.min()) < 0:
        raise InputError(f"labels: shape {tuple(labels.shape)}; expected one non-negative mode label per centre "
                         f"({n_centres})")
    mode = labels.to(index.device)[index][distance <= radius * _std(std)]
    counts = torch.bincount(mode, minlength=int(labels.max()) + 1)
    return int((counts >= share * len(distance)).sum())


def class_histogram(scores, n_classes: int | None = None) -> torch.Tensor:
    r"""The proportions of the predicted classes, :math:`h_k = \frac1n \#\{i : \hat y_i = k\}`.

    Parameters
    ----------
    scores : (n, K) scores of a classifier (the class is the arg max) or (n,) predicted labels
    n_classes : int, optional; K (default: the number of score columns)

    Returns
    -------
    (K,) float64 Tensor, summing to 1

    Examples
    --------
    >>> class_histogram(torch.tensor([0, 1, 1, 1]), 2).tolist()
    [0.25, 0.75]
    """
    predicted = predictions(scores)
    scores = _as_tensor(scores, "scores")
    if n_classes is None:
        n_classes = scores.shape[1] if scores.dim() == 2 else int(predicted.max()) + 1
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise InputError(f"n_classes: {n_classes!r}; expected a positive integer")
    if len(predicted) == 0 or int(predicted.min()) < 0 or int(predicted.max()) >= n_classes:
        raise InputError(f"scores: {len(predicted)} predictions; expected at least one, with labels 0 to "
                         f"{n_classes - 1}")
    return torch.bincount(predicted, minlength=n_classes).to(torch.float64) / len(predicted)


def total_variation(p, q=None) -> float:
    r"""The total-variation distance :math:`\mathrm{TV}(p, q) = \frac12 \sum_k |p_k - q_k|` (q uniform by default).

    0 for equal proportions, 1 for disjoint ones; e.g. a generator that makes only cats out of
    half cats and half dogs is at 0.5.

    Examples
    --------
    >>> total_variation(torch.tensor([1.0, 0.0]))
    0.5
    """
    p = _as_tensor(p, "p").to(torch.float64)
    q = torch.full_like(p, 1.0 / len(p)) if q is None else _as_tensor(q, "q").to(p)
    if p.dim() != 1 or p.shape != q.shape:
        raise InputError(f"p, q: shapes {tuple(p.shape)}, {tuple(q.shape)}; expected two histograms (K,) of the "
                         "same length")
    return float(0.5 * (p - q).abs().sum())


def mean_confidence(scores) -> float:
    r"""The mean probability of the predicted class, :math:`\frac1n \sum_i \max_k \mathrm{softmax}(f(x_i))_k`.

    Near 1 when the classifier recognises the images without doubt; blurred or mixed images (half
    a 3, half an 8) score lower.

    Parameters
    ----------
    scores : (n, K) Tensor or ndarray, a classifier's scores :math:`f(x_i)` (logits)

    Returns
    -------
    float in [1/K, 1]
    """
    scores = _as_tensor(scores, "scores")
    if scores.dim() != 2 or len(scores) == 0:
        raise InputError(f"scores: shape {tuple(scores.shape)}; expected scores (n, K) of a classifier")
    return float(torch.softmax(scores.to(torch.float64), 1).max(1).values.mean())
