import numpy as np
import pytest
import torch

from monge.data import toys
from monge.errors import InputError
from monge import metrics, transport
from monge.metrics import (class_histogram, high_quality, mean_confidence, modes_covered, total_variation, w2_floor,
                           w2_points, w2_test)
from monge.transport.monge import SPARSE_FROM


def test_w2_of_a_translate_is_the_shift():
    x = torch.randn(300, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    shift = torch.tensor([0.3, -0.4, 1.2], dtype=torch.float64)
    assert w2_test(x + shift, x) == pytest.approx(float(shift.norm()), rel=1e-9)
    assert w2_test(x.numpy(), x.numpy()) == 0.0


def test_w2_uses_equal_n_and_is_seeded():
    samples, test = torch.randn(5000, 2), torch.randn(400, 2)
    # 400 of each: a subset of the samples, the same for the same seed
    assert w2_test(samples, test) == w2_test(samples, test)
    assert w2_test(samples, test) != w2_test(samples, test, seed=1)
    assert w2_test(samples[:400], test, n=10_000) == w2_test(samples[:400], test)
    assert w2_floor(samples, test) == w2_test(samples, test)  # the same distance, for two data samples
    images = torch.rand(50, 1, 8, 8)
    assert w2_test(images, images.reshape(50, 64)) == 0.0  # flattened


def _subsets(x, z, n, seed):
    """The subsets that w2_test draws: the samples' first, then the held-out points', from one torch generator."""
    generator = torch.Generator().manual_seed(seed)
    return (x if len(x) == n else x[torch.randperm(len(x), generator=generator)[:n]],
            z if len(z) == n else z[torch.randperm(len(z), generator=generator)[:n]])


@pytest.mark.parametrize("d, n", [(2, 1500), (5, 700), (2, 3000)])
def test_w2_in_low_dimension_takes_the_sparse_matching_from_sparse_from(d, n, monkeypatch):
    """d <= 5 and n >= SPARSE_FROM: matching(auto), the certified sparse matching; below, the network
    simplex; the same value as the network simplex on the same subsets either way."""
    x, _ = toys.gaussians8(3500, seed=3) if d == 2 else (np.random.default_rng(3).normal(size=(3500, d)), None)
    z = np.random.default_rng(4).normal(size=(3200, d)) * 0.7
    x, z = torch.from_numpy(x), torch.from_numpy(z)
    simplex = transport.matching(*_subsets(x, z, n, 5), p=2.0, method="network_simplex")
    methods = []

    def recorded(*args, **kwargs):
        methods.append(kwargs["method"])
        return matching(*args, **kwargs)

    matching = transport.matching
    monkeypatch.setattr(transport, "matching", recorded)
    assert w2_test(x, z, n=n, seed=5) == pytest.approx(float(simplex.cost) ** 0.5, rel=1e-9)
    assert w2_floor(x[:n], z[:n]) == pytest.approx(float(matching(x[:n], z[:n], method="network_simplex").cost) ** 0.5,
                                                   rel=1e-9)
    assert methods == ["auto" if n >= SPARSE_FROM else "network_simplex"] * 2


def test_the_default_n_is_larger_where_the_sparse_matching_applies(monkeypatch):
    """n=None: w2_points(d), 5000 points a side for d <= 5 (the sparse matching), 2000 above (the network simplex)."""
    assert (w2_points(1), w2_points(2), w2_points(5), w2_points(6), w2_points(64)) == (5000, 5000, 5000, 2000, 2000)
    assert (metrics.W2_POINTS_SPARSE, metrics.W2_POINTS_DENSE, metrics.W2_SPARSE_DIM) == (5000, 2000, 5)
    calls = []

    def recorded(x, z, p, method):
        calls.append((tuple(x.shape), tuple(z.shape), method))
        return transport.OTResult(cost=torch.tensor(1.0, dtype=torch.float64))

    monkeypatch.setattr(transport, "matching", recorded)
    w2_test(torch.zeros(6000, 2), torch.zeros(7000, 2))
    w2_floor(torch.zeros(6000, 64), torch.zeros(7000, 64))
    w2_test(torch.zeros(6000, 2), torch.zeros(7000, 2), n=300)  # an explicit n, as before
    w2_test(torch.zeros(6000, 64), torch.zeros(3000, 64), n=2500)
    w2_test(torch.zeros(4000, 2), torch.zeros(400, 2))  # the smaller cloud bounds n
    # auto from SPARSE_FROM points in d <= 5: the sparse matching, with the network simplex after its
    # budget of certificate rounds (a collapsed generator's repeated points)
    assert calls == [((5000, 2), (5000, 2), "auto"), ((2000, 64), (2000, 64), "network_simplex"),
                     ((300, 2), (300, 2), "network_simplex"), ((2500, 64), (2500, 64), "network_simplex"),
                     ((400, 2), (400, 2), "network_simplex")]


def test_w2_floor_is_about_the_distance_between_two_samples_of_one_law():
    x, _ = toys.gaussians8(4000, seed=0)
    floor = w2_floor(x[:2000], x[2000:])
    assert 0 < floor < 0.2
    collapsed = np.repeat(x[:1], 300, 0)
    assert w2_test(collapsed, x[2000:]) > 5 * floor


def test_modes_and_quality_on_known_samples():
    m = toys.modes("gaussians8")
    x, y = toys.gaussians8(2000, seed=1)
    assert modes_covered(x, m.centres, m.std) == 8
    one_mode = x[y == 3]
    assert modes_covered(one_mode, m.centres, m.std) == 1
    assert high_quality(one_mode, m.centres, m.std) > 0.97
    between = (m.centres[0] + m.centres[4]) / 2 + np.zeros((100, 2))
    assert high_quality(between, m.centres, m.std) == 0.0 and modes_covered(between, m.centres, m.std) == 0
    mixed = np.concatenate([one_mode, np.repeat(between[:1], len(one_mode), 0)])
    assert high_quality(mixed, m.centres, m.std) == pytest.approx(0.5, abs=0.02)
    # a mode with fewer than 1% of the samples is not covered
    few = np.concatenate([one_mode[:200], x[y == 5][:1]])  # 1 of 201: 0.5%
    assert modes_covered(few, m.centres, m.std) == 1
    assert modes_covered(few, m.centres, m.std, share=0.004) == 2


def test_modes_of_a_curve_count_its_pieces():
    m = toys.modes("circle")
    x, y = toys.circle(4000, seed=2)
    assert modes_covered(x, m.centres, m.std, m.labels) == 8
    half = x[x[:, 1] > 0.2]
    assert modes_covered(half, m.centres, m.std, m.labels) == 4


def test_class_histogram_total_variation_confidence():
    scores = torch.tensor([[5.0, 0.0], [0.0, 5.0], [0.0, 5.0], [0.0, 5.0]])
    h = class_histogram(scores)
    assert h.dtype == torch.float64 and h.tolist() == [0.25, 0.75]
    assert total_variation(h) == pytest.approx(0.25)
    assert total_variation(h, torch.tensor([0.25, 0.75])) == 0.0
    assert total_variation(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])) == 1.0
    assert mean_confidence(scores) == pytest.approx(float(torch.softmax(torch.tensor([5.0, 0.0]), 0)[0]))
    assert mean_confidence(torch.zeros(3, 4)) == pytest.approx(0.25)
    assert class_histogram(torch.tensor([2, 2]), 4).tolist() == [0, 0, 1, 0]


@pytest.mark.parametrize("call, message", [
    (lambda: w2_test(torch.zeros(3, 2), torch.zeros(3, 3)), "samples: samples of 2 values but test has 3"),
    (lambda: w2_test(torch.zeros(3), torch.zeros(3, 2)), r"samples: shape \(3,\)"),
    (lambda: w2_test(torch.zeros(3, 2), torch.zeros(3, 2), n=0), "n: 0"),
    (lambda: w2_test(torch.zeros(3, 2), torch.zeros(3, 2), n=2.5), "n: 2.5; expected a positive integer or None"),
    (lambda: w2_test(torch.zeros(3, 2), torch.zeros(3, 2), seed=2**70), r"seed: 1180591620717411303424; expected"),
    (lambda: w2_test(torch.zeros(3, 2), torch.zeros(3, 2), seed=-1), "seed: -1"),
    (lambda: w2_floor(torch.full((3, 2), float("nan")), torch.zeros(3, 2)), "train: holds NaN"),
    (lambda: high_quality(torch.zeros(3, 2), torch.zeros(1, 2), 0.0), "std: 0.0; expected a positive number"),
    (lambda: high_quality(torch.zeros(3, 2), torch.zeros(1, 3), 0.1), "centres: points of dimension 3"),
    (lambda: modes_covered(torch.zeros(3, 2), torch.zeros(2, 2), 0.1, labels=np.zeros(1, dtype=int)), "labels: shape"),
    (lambda: class_histogram(torch.tensor([0, 3]), 2), "scores: 2 predictions"),
    (lambda: total_variation(torch.ones(2), torch.ones(3)), "p, q: shapes"),
    (lambda: mean_confidence(torch.zeros(3)), "scores: shape"),
])
def test_bad_input(call, message):
    with pytest.raises(InputError, match=message):
        call()
