r"""Two-dimensional toy data sets, as in TensorFlow Playground (https://playground.tensorflow.org).

Each generator is a plain seeded function ``toy(n, *, noise=..., seed=0) -> (x, y)``: ``x`` is an
``(n, 2)`` float64 array of points in the plane and ``y`` an ``(n,)`` int64 array of class labels
``0, 1, ...``, the classes as balanced as ``n`` allows, in a random order. The same ``seed`` gives
the same points. The four sets of Playground (circles, xor, blobs, spiral) live in its frame
``[-6, 6]^2``; moons in its own ``[-1, 2] x [-0.5, 1]``.

Examples
--------
>>> x, y = spiral(100, seed=0)
>>> x.shape, y.shape, sorted(set(y.tolist()))
((100, 2), (100,), [0, 1])
"""

from __future__ import annotations

import math

import numpy as np


def _check(n, noise: float, name: str, least: int = 2) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
        raise ValueError(f"n: {n!r}; expected an integer >= {least} (points of the {name} data set)")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise: {noise!r}; expected a finite number >= 0")


def _counts(n: int, k: int) -> np.ndarray:
    """Balanced class sizes: ``n // k`` each, the first classes one more for the remainder."""
    return np.array([n // k + (c < n % k) for c in range(k)])


def _shuffled(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(y))
    return np.ascontiguousarray(x[order], dtype=np.float64), np.ascontiguousarray(y[order], dtype=np.int64)


def _labels(n: int, k: int) -> np.ndarray:
    return np.repeat(np.arange(k), _counts(n, k))


def moons(n: int = 1000, *, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaved half circles.

    Class 0: :math:`(\cos t, \sin t)`; class 1: :math:`(1 - \cos t, 1/2 - \sin t)`, with
    :math:`t \sim U(0, \pi)`, plus Gaussian noise of standard deviation ``noise``.
    """
    _check(n, noise, "moons")
    rng = np.random.default_rng(seed)
    y = _labels(n, 2)
    t = rng.uniform(0.0, math.pi, n)
    x = np.where(y[:, None] == 0, np.stack([np.cos(t), np.sin(t)], 1),
                 np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], 1))
    return _shuffled(x + noise * rng.standard_normal((n, 2)), y, rng)


def circles(n: int = 1000, *, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""A disc inside a ring (Playground's "circle").

    Points are drawn uniformly in angle with radius :math:`r \sim U(0, 2.5)` (class 0) or
    :math:`r \sim U(3.5, 5)` (class 1), then moved by Gaussian noise of standard deviation
    ``5 * noise``; as in Playground, the label is then that of the moved point,
    :math:`y = 1` when :math:`|x| > 2.5`, so that the classes stay separable.
    """
    _check(n, noise, "circles")
    rng = np.random.default_rng(seed)
    component = _labels(n, 2)
    r = np.where(component == 0, rng.uniform(0.0, 2.5, n), rng.uniform(3.5, 5.0, n))
    angle = rng.uniform(0.0, 2 * math.pi, n)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], 1) + 5.0 * noise * rng.standard_normal((n, 2))
    return _shuffled(x, (np.hypot(x[:, 0], x[:, 1]) > 2.5).astype(np.int64), rng)


def xor(n: int = 1000, *, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""The exclusive or: :math:`y = 1` when :math:`x_1 x_2 \ge 0` (same sign), else 0.

    Coordinates are uniform in :math:`[-5, 5]`, pushed 0.3 away from the axes, then moved by
    Gaussian noise of standard deviation ``5 * noise``; the label is that of the moved point, as in
    Playground.
    """
    _check(n, noise, "xor")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5.0, 5.0, (n, 2))
    x += np.where(x >= 0, 0.3, -0.3)
    x += 5.0 * noise * rng.standard_normal((n, 2))
    return _shuffled(x, (x[:, 0] * x[:, 1] >= 0).astype(np.int64), rng)


def blobs(n: int = 1000, *, noise: float = 0.1, n_classes: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Gaussian blobs, one per class (Playground's "gauss" for two classes).

    Class :math:`c` is :math:`\mathcal{N}(m_c, \sigma^2 I)` with centres on the circle of radius
    :math:`2\sqrt{2}`, :math:`m_c = 2\sqrt{2}(\cos\theta_c, \sin\theta_c)`,
    :math:`\theta_c = \pi/4 + 2\pi c/K` (for two classes, :math:`(2, 2)` and :math:`(-2, -2)`), and
    :math:`\sigma = 0.5 + 3.5\,\mathrm{noise}`.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes: {n_classes!r}; expected an integer >= 2")
    _check(n, noise, "blobs", least=n_classes)
    rng = np.random.default_rng(seed)
    y = _labels(n, n_classes)
    theta = math.pi / 4 + 2 * math.pi * y / n_classes
    centres = 2 * math.sqrt(2) * np.stack([np.cos(theta), np.sin(theta)], 1)
    return _shuffled(centres + (0.5 + 3.5 * noise) * rng.standard_normal((n, 2)), y, rng)


def spiral(n: int = 1000, *, noise: float = 0.03, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaved spirals (Playground's "spiral").

    A point of class :math:`c` at fraction :math:`s \sim U(0, 1)` along its arm is
    :math:`r (\sin t, \cos t)` with :math:`r = 5 s`, :math:`t = 3.5 \pi s + c \pi`, plus Gaussian
    noise of standard deviation ``noise`` (in units of the arm's radius 5: ``5 * noise``).
    """
    _check(n, noise, "spiral")
    rng = np.random.default_rng(seed)
    y = _labels(n, 2)
    s = rng.uniform(0.0, 1.0, n)
    r, t = 5.0 * s, 3.5 * math.pi * s + math.pi * y
    x = np.stack([r * np.sin(t), r * np.cos(t)], 1) + 5.0 * noise * rng.standard_normal((n, 2))
    return _shuffled(x, y, rng)


TOYS = {"moons": moons, "circles": circles, "spiral": spiral, "xor": xor, "blobs": blobs}
