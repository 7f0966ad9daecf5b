r"""The :class:`Dataset` of a classification task: a train and a test split, standardised.

Standardisation is fitted on the training split only and applied to both splits,
:math:`x \mapsto (x - m) / s`. For images and signals (inputs of shape ``(C, H, W)`` or
``(C, L)``), :math:`m` and :math:`s` are one mean and one standard deviation per channel, as a
convolutional network expects (every pixel on the same scale); for feature vectors (shape
``(d,)``), one per feature. A constant feature keeps :math:`s = 1`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from monge.errors import InputError, InputTypeError


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification data set, split and standardised.

    Attributes
    ----------
    name : str
        ``"digits"``, ``"mnist1d"``, a toy's name, or the user's file.
    x_train : (n_train, *shape) float32 Tensor
        Standardised training inputs.
    y_train : (n_train,) int64 Tensor
        Class labels in ``0, ..., n_classes - 1``.
    x_test, y_test : the same for the test split
    shape : tuple of int
        The shape of one input: ``(1, 8, 8)`` for an image, ``(1, 40)`` for a signal, ``(2,)`` for
        a point of the plane.
    n_classes : int
    class_names : tuple of str, one per class
    mean, std : float32 Tensor broadcastable to ``shape``
        The standardisation fitted on the training split: ``x = (raw - mean) / std``.
    description : str
        Where the data comes from and how it was split.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    shape: tuple[int, ...]
    n_classes: int
    class_names: tuple[str, ...]
    mean: torch.Tensor
    std: torch.Tensor
    description: str = ""

    def __post_init__(self):
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dtype != torch.float32 or y.dtype != torch.int64:
                raise InputTypeError(f"x_{split}, y_{split}: dtypes {x.dtype}, {y.dtype}; expected float32 and int64")
            if tuple(x.shape[1:]) != tuple(self.shape) or len(x) != len(y):
                raise InputError(f"x_{split}, y_{split}: shapes {tuple(x.shape)}, {tuple(y.shape)}; expected "
                                 f"(n, *{tuple(self.shape)}) and (n,)")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
                raise InputError(f"y_{split}: labels from {int(y.min())} to {int(y.max())}; expected 0 to "
                                 f"{self.n_classes - 1}")
        if len(self.class_names) != self.n_classes:
            raise InputError(f"class_names: {len(self.class_names)} names; expected n_classes = {self.n_classes}")

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return len(self.y_test)

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        r"""Undo the standardisation: :math:`x \mapsto m + s x` (e.g. to plot in the data's units)."""
        return x * self.std + self.mean

    def standardise(self, raw: torch.Tensor) -> torch.Tensor:
        r"""Standardise new inputs ``raw`` as the splits were: :math:`x \mapsto (x - m) / s`.

        Parameters
        ----------
        raw : (n, *shape) Tensor, inputs in the units of the original data

        Returns
        -------
        (n, *shape) Tensor, with the training split's mean :math:`m` and standard deviation :math:`s`
        """
        return (raw - self.mean) / self.std

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}: {self.n_train} train / {self.n_test} test, shape {self.shape}, "
                f"{self.n_classes} classes)")


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded, stratified train/test split (each class in the same proportion in both).

    Uses :func:`sklearn.model_selection.train_test_split`; with ``test_fraction=0.25`` and
    ``seed=0`` on scikit-learn's digits, this is the split on which an RBF SVM scores 98.7%.

    Parameters
    ----------
    y : (n,) int array, the class of each sample (every class at least twice)
    test_fraction : float in (0, 1), the share of samples held out (rounded up)
    seed : int, the shuffle

    Returns
    -------
    train, test : int arrays of indices into ``y``, disjoint, together ``0..n-1``
    """
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y)
    n_test = int(np.ceil(test_fraction * len(y)))
    present = counts[counts > 0]
    if present.min() < 2 or n_test < len(present) or len(y) - n_test < len(present):
        rare = int(np.argmin(np.where(counts > 0, counts, np.iinfo(np.int64).max)))
        raise InputError(f"labels: too few samples to split {len(y)} samples of {len(present)} classes into train and "
                         f"test with test_fraction {test_fraction:g} (class {rare} has {counts[rare]}); expected at "
                         "least 2 samples per class and one per class in each split")
    train, test = train_test_split(np.arange(len(y)), test_size=n_test, stratify=y, random_state=seed)
    return np.sort(train), np.sort(test)


def standardised(name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
                 class_names, description: str = "") -> Dataset:
    """Build a :class:`Dataset`, fitting the standardisation on the training split only.

    Every input becomes :math:`(x - m) / s`, with the mean :math:`m` and standard deviation
    :math:`s` of the training split: per channel for images and signals (a ``shape`` of length 2
    or 3), per feature for feature vectors (length 1); a constant feature keeps :math:`s = 1`.

    Parameters
    ----------
    name : str, the data set's name
    x_train, x_test : (n, *shape) and (m, *shape) arrays, the raw inputs
    y_train, y_test : (n,) and (m,) int arrays, the classes ``0..K-1``
    class_names : sequence of K names, one per class
    description : str, where the data come from and how they were split

    Returns
    -------
    Dataset, float32 inputs and int64 labels as torch tensors
    """
    x_train, x_test = np.asarray(x_train, dtype=np.float64), np.asarray(x_test, dtype=np.float64)
    shape = tuple(int(s) for s in x_train.shape[1:])
    axes = (0, *range(2, x_train.ndim)) if len(shape) >= 2 else (0,)
    mean = x_train.mean(axis=axes, keepdims=True)[0]
    std = x_train.std(axis=axes, keepdims=True)[0]
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)

    def tensor(x):
        return torch.from_numpy(((x - mean) / std).astype(np.float32))

    return Dataset(name=name, x_train=tensor(x_train), y_train=torch.from_numpy(np.asarray(y_train, dtype=np.int64)),
                   x_test=tensor(x_test), y_test=torch.from_numpy(np.asarray(y_test, dtype=np.int64)),
                   shape=shape, n_classes=len(class_names), class_names=tuple(str(c) for c in class_names),
                   mean=torch.from_numpy(mean.astype(np.float32)), std=torch.from_numpy(std.astype(np.float32)),
                   description=description)
