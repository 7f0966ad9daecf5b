r"""Data for generative networks (chapter 2): clouds of samples :math:`\{z_1, \dots, z_n\}` in their own units.

A generator is trained to match the training cloud and judged against the held-out one, so unlike
:func:`monge.data.load` nothing is standardised: the toys stay in the units of their recipes (the
modes' centres and standard deviations of :func:`monge.data.toys.modes` hold), digits stay 8x8
grey levels in [0, 16].

======================  =========  ============================================================
name                    sample     source
======================  =========  ============================================================
``gaussians8`` ...      (2,)       the generative toys of :data:`monge.data.toys.GENERATIVE_TOYS`:
                                   20000 training and 10000 held-out points by default
``digits``              (1, 8, 8)  scikit-learn's ``load_digits`` (1797 images, grey levels
                                   0-16), the stratified 75/25 split of :func:`monge.data.load`
an array                (d,)       the user's points (:func:`from_array`), a seeded 75/25 split
======================  =========  ============================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from monge.errors import InputError, InputTypeError

from .dataset import stratified_split
from .toys import GENERATIVE_TOYS, Modes, modes

TEST_FRACTION = 0.25
TOY_TRAIN, TOY_TEST = 20000, 10000
# A toy's training points and its first JOINT_TEST held-out points are one seeded draw; further held-out
# points (TOY_TEST = 10,000 by default: room for the exact W2 of monge.metrics on 5000 points a side, or
# 10,000 when asked) come from a second stream of the same seed, so that the training points stay those
# drawn with 2000 held out.
JOINT_TEST = 2000
DIGITS_MAX = 16.0
POINT_SETS = (*GENERATIVE_TOYS, "digits")


@dataclass(frozen=True, eq=False)
class Points:
    """A training and a held-out cloud of samples, in data units.

    Attributes
    ----------
    name : str
    train : (n, *shape) float32 Tensor, the samples :math:`z_i` the generator is trained on
    test : (m, *shape) float32 Tensor, held out for :func:`monge.metrics.w2_test`
    shape : tuple of int, one sample: ``(2,)`` for the toys, ``(1, 8, 8)`` for digits, ``(d,)``
    modes : Modes or None, where a toy's mass lies (for mode coverage and sample quality)
    scale : float or None
        For images, the largest grey level: a generator with a sigmoid output makes
        ``sample / scale`` in (0, 1); ``None`` for points (identity output).
    description : str, where the data come from and how they were split
    """

    name: str
    train: torch.Tensor
    test: torch.Tensor
    shape: tuple[int, ...]
    modes: Modes | None = None
    scale: float | None = None
    description: str = ""

    @property
    def dim(self) -> int:
        """The number of values of one sample, ``prod(shape)``."""
        return math.prod(self.shape)

    @property
    def is_image(self) -> bool:
        """Whether one sample is an image ``(C, H, W)``."""
        return len(self.shape) == 3

    def __repr__(self) -> str:
        return f"Points({self.name!r}: {len(self.train)} train / {len(self.test)} test, shape {self.shape})"


def _count(value, name: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise InputError(f"{name}: {value!r}; expected an integer >= {least}")
    return int(value)


def _tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def _held_out_seed(seed: int) -> int:
    """The seed of a toy's held-out points beyond :data:`JOINT_TEST`: a child of ``seed`` (NumPy's SeedSequence)."""
    return int(np.random.SeedSequence(seed).spawn(1)[0].generate_state(1, np.uint64)[0])


def _toy(name: str, seed: int, n_train: int | None, n_test: int | None, noise: float | None) -> Points:
    n_train = TOY_TRAIN if n_train is None else _count(n_train, "n_train", 2)
    n_test = TOY_TEST if n_test is None else _count(n_test, "n_test", 2)
    make = GENERATIVE_TOYS[name]
    noise = make.__kwdefaults__["noise"] if noise is None else noise
    joint = min(n_test, JOINT_TEST)
    x, _ = make(n_train + joint, noise=noise, seed=seed)
    train, test = x[:n_train], x[n_train:]
    if n_test > joint:  # the second stream: independent of the first, fixed by the seed
        more, _ = make(max(n_test - joint, 2), noise=noise, seed=_held_out_seed(seed))  # a toy draws 2 at least
        test = np.concatenate([test, more[:n_test - joint]])
    return Points(name, _tensor(train), _tensor(test), (2,), modes(name, noise), None,
                  f"2-D toy {name!r} (monge.data.toys, noise {noise:g}, seed {seed}): {n_train} train / "
                  f"{n_test} held-out points")


def _digits(seed: int) -> Points:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    train, test = stratified_split(bunch.target.astype(np.int64), TEST_FRACTION, seed)
    x = bunch.data.reshape(-1, 1, 8, 8)
    return Points("digits", _tensor(x[train]), _tensor(x[test]), (1, 8, 8), None, DIGITS_MAX,
                  f"scikit-learn load_digits: 8x8 images, grey levels 0-16; stratified split {len(train)} train / "
                  f"{len(test)} held out (seed {seed}, the split of monge classify)")


def load_points(name: str, *, seed: int = 0, n_train: int | None = None, n_test: int | None = None,
                noise: float | None = None) -> Points:
    """Load a data set for a generative network, split into training and held-out samples.

    Parameters
    ----------
    name : str, one of :data:`POINT_SETS` (``gaussians8``, ``gaussians25``, ``swissroll``, ``circle``,
        ``moons``, ``digits``); the user's points go through :func:`from_array`
    seed : int, the points of a toy, the split of digits
    n_train, n_test : int, optional; toys only (20000 and 10000: the training points and the first
        2000 held-out points are one draw, further held-out points a second one of the same seed)
    noise : float, optional; toys only (each toy's default)

    Returns
    -------
    Points

    Examples
    --------
    >>> data = load_points("gaussians8", n_train=1000, n_test=200)
    >>> data, data.modes.n_modes
    (Points('gaussians8': 1000 train / 200 test, shape (2,)), 8)
    """
    _count(seed, "seed", 0)
    if not isinstance(name, str):
        raise InputTypeError(f"data: {type(name).__name__}; expected a data set name: {', '.join(POINT_SETS)}")
    if name in GENERATIVE_TOYS:
        return _toy(name, int(seed), n_train, n_test, noise)
    if name == "digits":
        if n_train is not None or n_test is not None or noise is not None:
            raise InputError("n_train, n_test, noise: only for the toys; digits has a fixed size")
        return _digits(int(seed))
    raise InputError(f"data: {name!r}; expected one of {', '.join(POINT_SETS)} (or an array of points for from_array)")


def from_array(name: str, array, *, seed: int = 0, test_fraction: float = TEST_FRACTION) -> Points:
    """The user's points ``(n, d)``, split at random (seeded) into training and held-out samples.

    Parameters
    ----------
    name : str, where the points come from (a file name), for messages and the description
    array : (n, d) array-like of finite numbers, n >= 4
    seed : int >= 0, the random split
    test_fraction : float in (0, 1), the share held out (at least one point)

    Returns
    -------
    Points, float32, without modes or scale

    Raises
    ------
    InputError (a ValueError)
        Not a finite 2-D array of numbers, or too few points to hold some out (at least 4).
    """
    try:
        x = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"data: {name} cannot be read as numbers ({error}); expected points (n, d)") from None
    if x.ndim != 2 or x.shape[1] < 1:
        raise InputError(f"data: {name} holds an array of shape {x.shape}; expected points (n, d)")
    if len(x) < 4:
        raise InputError(f"data: {name} holds {len(x)} points; expected at least 4 (some are held out for testing)")
    if not np.isfinite(x).all():
        raise InputError(f"data: {name} holds NaN or infinite values; expected finite numbers")
    _count(seed, "seed", 0)
    if not (isinstance(test_fraction, float) and 0 < test_fraction < 1):
        raise InputError(f"test_fraction: {test_fraction!r}; expected a number in (0, 1)")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, int(round(test_fraction * len(x))))
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    return Points(name, _tensor(x[train]), _tensor(x[test]), (x.shape[1],), None, None,
                  f"the file {name}: {len(x)} points of dimension {x.shape[1]}; random split {len(train)} train / "
                  f"{len(test)} held out (seed {seed})")
