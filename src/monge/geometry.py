r"""Exact plane geometry for Monge's remark that optimal paths do not cross (section 2.4).

For the Euclidean cost (p = 1), if the segments :math:`[x_i, z_{s_i}]` and :math:`[x_j, z_{s_j}]`
crossed at a point :math:`o`, the triangle inequality would give
:math:`\|x_i - z_{s_j}\| + \|x_j - z_{s_i}\| \le \|x_i - o\| + \|o - z_{s_j}\| + \|x_j - o\| + \|o - z_{s_i}\|`,
the cost of the crossing pair, with equality only when all four points lie on one line: swapping the
two destinations is shorter. So an optimal matching has no proper crossings.

The predicates here are exact: coordinates are converted to fractions (every float is a rational
number), so orientation signs are never wrong by rounding.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from monge.errors import InputError

Point = tuple[Fraction, Fraction]


def _array(value: Any, name: str, dtype=None) -> np.ndarray:
    """``value`` (an array, a tensor, nested sequences) as a NumPy array; an :class:`InputError` if it is none."""
    try:
        return np.asarray(value.tolist() if hasattr(value, "tolist") and not isinstance(value, np.ndarray) else value,
                          dtype=dtype)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name}: a {type(value).__name__} that is not an array of numbers ({error})") from None


def _point(p: Any, name: str) -> Point:
    coords = _array(p, name)
    if coords.shape != (2,):
        raise InputError(f"{name}: shape {coords.shape}; expected a point of the plane, shape (2,)")
    if coords.dtype.kind not in "iuf" or not np.isfinite(coords).all():
        raise InputError(f"{name}: {coords.tolist()}; expected two finite numbers")
    return Fraction(coords[0].item()), Fraction(coords[1].item())


def _orientation(a: Point, b: Point, c: Point) -> int:
    """Sign of the cross product (b - a) x (c - a): 1 left turn, -1 right turn, 0 collinear."""
    det = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (det > 0) - (det < 0)


def _on_segment(a: Point, b: Point, c: Point) -> bool:
    """For c collinear with [a, b]: whether c lies on the closed segment."""
    return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])


def segment_intersection(p1, p2, q1, q2) -> str:
    """Classify how the closed segments ``[p1, p2]`` and ``[q1, q2]`` of the plane meet, exactly.

    Parameters
    ----------
    p1, p2, q1, q2 : (2,) array-like
        The end points.

    Returns
    -------
    str
        ``"cross"``: one common point, interior to both segments (a proper crossing);
        ``"touch"``: one common point that is an end point of one of them;
        ``"overlap"``: collinear segments sharing a piece of positive length;
        ``"none"``: no common point.

    Examples
    --------
    >>> segment_intersection((0, 0), (1, 1), (0, 1), (1, 0))
    'cross'
    >>> segment_intersection((0, 0), (1, 0), (1, 0), (2, 5))
    'touch'
    """
    a, b = _point(p1, "p1"), _point(p2, "p2")
    c, d = _point(q1, "q1"), _point(q2, "q2")
    o1, o2 = _orientation(a, b, c), _orientation(a, b, d)
    o3, o4 = _orientation(c, d, a), _orientation(c, d, b)
    if o1 * o2 < 0 and o3 * o4 < 0:
        return "cross"
    if o1 == o2 == o3 == o4 == 0:
        # all four on one line: the lexicographic order of points is the order along that line
        lo = max(min(a, b), min(c, d))
        hi = min(max(a, b), max(c, d))
        if lo > hi:
            return "none"
        return "touch" if lo == hi else "overlap"
    for (s, t, u), o in (((a, b, c), o1), ((a, b, d), o2), ((c, d, a), o3), ((c, d, b), o4)):
        if o == 0 and _on_segment(s, t, u):
            return "touch"
    return "none"


def segments_cross(p1, p2, q1, q2) -> bool:
    """Whether the segments ``[p1, p2]`` and ``[q1, q2]`` cross properly, exactly.

    A proper crossing is one common point interior to both segments; segments that only touch
    (an end point on the other segment), parallel segments and collinear ones (even overlapping)
    do not cross. See :func:`segment_intersection` for the finer classification.

    Examples
    --------
    >>> segments_cross((0, 0), (2, 2), (0, 2), (2, 0))
    True
    >>> segments_cross((0, 0), (1, 0), (0, 1), (1, 1))   # parallel
    False
    """
    return segment_intersection(p1, p2, q1, q2) == "cross"


def crossings(x, z, permutation) -> int:
    """The number of pairs of paths ``x_i -> z[permutation[i]]`` that cross properly.

    O(n^2) exact tests: meant for figures and checks of small matchings.

    Parameters
    ----------
    x, z : (n, 2) array-like
        Sources and destinations in the plane.
    permutation : (n,) array-like of int
        0-based: ``z[permutation[i]]`` is the destination of ``x[i]``.

    Returns
    -------
    int
        The number of pairs ``i < j`` whose segments cross; 0 for an optimal matching with the
        Euclidean cost (Monge).

    Examples
    --------
    >>> crossings([[0, 0], [0, 1]], [[1, 0], [1, 1]], [1, 0])
    1
    """
    x, z, perm = _array(x, "x", float), _array(z, "z", float), _array(permutation, "permutation")
    n = len(x)
    if x.ndim != 2 or x.shape[1] != 2 or z.shape != x.shape:
        raise InputError(f"x, z: shapes {x.shape} and {z.shape}; expected two (n, 2) arrays of points in the plane")
    if perm.shape != (n,) or perm.dtype.kind not in "iu" or sorted(perm.tolist()) != list(range(n)):
        raise InputError(f"permutation: {perm.tolist()}; expected a 0-based permutation of range({n})")
    ends = z[perm]
    return sum(segments_cross(x[i], ends[i], x[j], ends[j]) for i in range(n) for j in range(i + 1, n))
