"""``load(name)``: the built-in data sets and the user's files, split and standardised, offline.

======================  ===========  ===========================================================
name                    shape        source
======================  ===========  ===========================================================
``digits``              (1, 8, 8)    scikit-learn's ``load_digits``: 1797 images of 8x8 pixels,
                                     10 classes; stratified 75/25 split (1347 / 450), seeded
``mnist1d``             (1, 40)      MNIST-1D (Greydanus 2020), generated offline by
                                     ``mnist1d.data.make_dataset``: 4000 / 1000 signals, 10 classes
``moons`` ... ``blobs`` (2,)         the 2-D toys of :mod:`monge.data.toys`, stratified 75/25
``FILE.csv|npy|npz``    (d,) or img  the user's file (:mod:`monge.data.files`), stratified 75/25
======================  ===========  ===========================================================
"""

from __future__ import annotations

import functools
import os
import random
from pathlib import Path

import numpy as np

from monge.errors import InputError, InputTypeError

from .dataset import Dataset, standardised, stratified_split
from .files import SUFFIXES, is_file_name, read_labelled
from .toys import TOYS

BUILTIN = ("digits", "mnist1d")
DATASETS = (*BUILTIN, *TOYS)
TEST_FRACTION = 0.25
# MNIST-1D's published data set is made with the package's seed 42: our seed 0.
MNIST1D_SEED = 42


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed: {seed!r}; expected a non-negative integer")
    return int(seed)


def _split(name, x, y, seed, test_fraction, class_names, description) -> Dataset:
    train, test = stratified_split(y, test_fraction, seed)
    return standardised(name, x[train], y[train], x[test], y[test], class_names=class_names,
                        description=f"{description}; stratified split {len(train)} train / {len(test)} test "
                                    f"(test fraction {test_fraction:g}, seed {seed})")


def _digits(seed: int, test_fraction: float) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.data.reshape(-1, 1, 8, 8)
    return _split("digits", x, bunch.target.astype(np.int64), seed, test_fraction, [str(c) for c in range(10)],
                  "scikit-learn load_digits: 8x8 images of handwritten digits, grey levels 0-16")


@functools.lru_cache(maxsize=4)
def _mnist1d_arrays(seed: int) -> tuple[np.ndarray, ...]:
    """Generate MNIST-1D with the package's own code (offline), leaving the global generators as they were."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:  # make_dataset seeds and draws from NumPy's and Python's global generators
        data = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return tuple(np.asarray(data[k]) for k in ("x", "y", "x_test", "y_test"))


def _mnist1d(seed: int, test_fraction: float | None) -> Dataset:
    if test_fraction is not None:
        raise InputError(f"test_fraction: {test_fraction!r}; MNIST-1D has its own fixed 80/20 split, expected None")
    x, y, x_test, y_test = _mnist1d_arrays(MNIST1D_SEED + seed)
    return standardised("mnist1d", x[:, None, :], y.astype(np.int64), x_test[:, None, :], y_test.astype(np.int64),
                        class_names=[str(c) for c in range(10)],
                        description=f"MNIST-1D generated offline by mnist1d.data.make_dataset (seed "
                                    f"{MNIST1D_SEED + seed}{', the published data set' if seed == 0 else ''}): "
                                    f"signals of length 40; its own split {len(y)} train / {len(y_test)} test")


def load(name: str | os.PathLike, *, seed: int = 0, n_samples: int | None = None, noise: float | None = None,
         test_fraction: float | None = None) -> Dataset:
    r"""Load a data set by name, split into train and test, standardised on the training split.

    Standardisation (fitted on the training split only):
    :math:`x \mapsto (x - m_{\mathrm{train}}) / s_{\mathrm{train}}`, per channel for images and
    signals, per feature for vectors (see :mod:`monge.data.dataset`).

    Parameters
    ----------
    name : str or PathLike
        One of :data:`DATASETS` (``digits``, ``mnist1d``, ``moons``, ``circles``, ``spiral``, ``xor``,
        ``blobs``) or a ``.csv``/``.npy``/``.npz`` file (format: :mod:`monge.data.files`).
    seed : int
        The data's seed: the train/test split of digits and of files, the points of a toy, the
        generator of MNIST-1D (seed 0 is the published data set, made with mnist1d's seed 42).
    n_samples : int, optional
        Toys only: the number of points (default 1000).
    noise : float, optional
        Toys only: the noise level (each toy's default: :mod:`monge.data.toys`).
    test_fraction : float in (0, 1), optional
        The share of samples held out for testing (default 0.25; MNIST-1D keeps its own 80/20 split).

    Returns
    -------
    Dataset

    Raises
    ------
    InputError (a ValueError)
        An unknown name (the message lists the choices), options that do not apply, or a bad file.
    FileNotFoundError
        A file name that does not exist.

    Examples
    --------
    >>> data = load("moons", n_samples=200)
    >>> data
    Dataset('moons': 150 train / 50 test, shape (2,), 2 classes)
    >>> [round(float(v), 6) + 0.0 for v in data.x_train.mean(0)]
    [0.0, 0.0]
    """
    seed = _seed(seed)
    key = os.fspath(name) if isinstance(name, os.PathLike) else name
    if not isinstance(key, str):
        raise InputTypeError(f"name: {type(name).__name__}; expected a data set name or a file path")
    toy = key in TOYS
    if not toy and (n_samples is not None or noise is not None):
        raise InputError(f"n_samples, noise: only for the toys {', '.join(TOYS)}; {key!r} has a fixed size")
    number = isinstance(test_fraction, (int, float)) and not isinstance(test_fraction, bool)
    if test_fraction is not None and not (number and 0 < test_fraction < 1):
        raise InputError(f"test_fraction: {test_fraction!r}; expected a number in (0, 1)")
    if key == "mnist1d":
        return _mnist1d(seed, test_fraction)
    fraction = TEST_FRACTION if test_fraction is None else float(test_fraction)
    if key == "digits":
        return _digits(seed, fraction)
    if toy:
        n = 1000 if n_samples is None else n_samples
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise InputError(f"n_samples: {n!r}; expected an integer >= 2 (points of the {key} data set)")
        kwargs = {} if noise is None else {"noise": noise}
        x, y = TOYS[key](n, seed=seed, **kwargs)
        return _split(key, x, y, seed, fraction, ["0", "1"] if y.max() == 1 else [str(c) for c in range(y.max() + 1)],
                      f"2-D toy {key!r} (monge.data.toys), {n} points, noise "
                      f"{kwargs.get('noise', TOYS[key].__kwdefaults__['noise']):g}, seed {seed}")
    if is_file_name(key):
        x, y = read_labelled(key)
        return _split(Path(key).name, x, y, seed, fraction, [str(c) for c in range(int(y.max()) + 1)],
                      f"the file {key}: {len(y)} samples of shape {x.shape[1:]}")
    raise InputError(f"data: {key!r} is not a data set; expected one of {', '.join(DATASETS)}, or a file "
                     f"ending in {', '.join(SUFFIXES)}")
