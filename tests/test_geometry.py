import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from monge.errors import InputError
from monge.geometry import crossings, segment_intersection, segments_cross
from monge.transport import brute_force


@pytest.mark.parametrize("p1, p2, q1, q2, expected", [
    ((0, 0), (2, 2), (0, 2), (2, 0), "cross"),          # an X
    ((0, 0), (1, 0), (1, 0), (2, 5), "touch"),          # a shared end point
    ((0, 0), (2, 0), (1, 0), (1, 3), "touch"),          # a T: an end point inside the other segment
    ((0, 0), (1, 0), (0, 1), (1, 1), "none"),           # parallel
    ((0, 0), (1, 1), (2, 2), (3, 3), "none"),           # collinear, apart
    ((0, 0), (2, 2), (2, 2), (3, 3), "touch"),          # collinear, end to end
    ((0, 0), (2, 2), (1, 1), (3, 3), "overlap"),        # collinear, overlapping
    ((0, 0), (0, 2), (0, 1), (0, 3), "overlap"),        # vertical, overlapping
    ((0, 0), (1, 0), (2, -1), (2, 1), "none"),          # the lines cross outside the segments
    ((0, 0), (1, 1), (1, 0), (1, 0), "none"),           # a degenerate segment (a point) off the segment
    ((0, 0), (2, 2), (1, 1), (1, 1), "touch"),          # a degenerate segment on the segment
])
def test_classification_of_known_cases(p1, p2, q1, q2, expected):
    assert segment_intersection(p1, p2, q1, q2) == expected
    assert segment_intersection(q1, q2, p1, p2) == expected       # symmetric in the two segments
    assert segment_intersection(p2, p1, q2, q1) == expected       # and in each segment's direction
    assert segments_cross(p1, p2, q1, q2) == (expected == "cross")


def test_exact_where_floating_point_orientation_is_fooled():
    # q1 lies exactly on the line through p1, p2 (all on y = 3x with float coordinates whose ratios are
    # exact), so the segments only touch, even though a naive float determinant may round either way
    p1, p2 = (0.0, 0.0), (2.0**-30, 3 * 2.0**-30)
    q1, q2 = (2.0**-31, 3 * 2.0**-31), (1.0, -1.0)
    assert segment_intersection(p1, p2, q1, q2) == "touch"
    tiny = np.nextafter(3 * 2.0**-31, 1.0)  # one ulp above the line: now a proper crossing
    assert segment_intersection(p1, p2, (2.0**-31, tiny), (2.0**-31, -1.0)) == "cross"


def test_accepts_tensors_and_arrays():
    assert segments_cross(torch.tensor([0.0, 0.0]), np.array([2.0, 2.0]), [0, 2], (2.0, 0.0))


@pytest.mark.parametrize("bad", [(0, 0, 0), (np.nan, 0.0), ("a", "b"), (0, [1, 2])])
def test_bad_points_are_refused(bad):
    with pytest.raises(InputError, match="p1"):
        segments_cross(bad, (1, 1), (0, 1), (1, 0))


def test_crossings_counts_pairs():
    x = [[0, 0], [0, 1], [0, 2]]
    z = [[1, 0], [1, 1], [1, 2]]
    assert crossings(x, z, [0, 1, 2]) == 0
    assert crossings(x, z, [2, 1, 0]) == 3
    assert crossings(np.array(x, float), torch.tensor(z, dtype=torch.float64), torch.tensor([1, 0, 2])) == 1


@pytest.mark.parametrize("perm", [[0, 0, 1], [0, 1], [1, 2, 3]])
def test_crossings_refuses_a_non_permutation(perm):
    with pytest.raises(InputError, match="permutation"):
        crossings(np.zeros((3, 2)), np.ones((3, 2)), perm)


def test_crossings_refuses_points_outside_the_plane():
    with pytest.raises(InputError, match="plane"):
        crossings(np.zeros((3, 3)), np.ones((3, 3)), [0, 1, 2])
    with pytest.raises(InputError, match="^z: a list that is not an array of numbers"):
        crossings(np.zeros((2, 2)), [["a", "b"], [1, 1]], [1, 0])


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 7), st.integers(0, 2**32 - 1))
def test_optimal_euclidean_matchings_do_not_cross(n, seed):
    """Monge: the optimal paths for the cost |x - z| never cross (section 2.4 of the text)."""
    rng = np.random.default_rng(seed)
    x, z = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2))
    perm = brute_force(torch.from_numpy(x), torch.from_numpy(z), p=1.0).permutation.numpy()
    assert crossings(x, z, perm) == 0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_uncrossing_two_paths_shortens_them(seed):
    rng = np.random.default_rng(seed)
    a, b, c, d = rng.uniform(size=(4, 2))
    if segments_cross(a, c, b, d):
        crossed = np.linalg.norm(a - c) + np.linalg.norm(b - d)
        assert np.linalg.norm(a - d) + np.linalg.norm(b - c) < crossed
