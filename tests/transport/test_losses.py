import pytest
import torch

from monge.transport import OTLoss, matching, transport_cost, wasserstein
from tests.problems import diracs, random_weights


def distinct(n, d, rng, scale=1.0):
    return torch.tensor(rng.normal(size=(n, d)) * scale, dtype=torch.float64)


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0])
def test_gradcheck_exact_matching(p, rng):
    x, z = distinct(6, 2, rng).requires_grad_(), distinct(6, 2, rng).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, z: wasserstein(x, z, p=p), (x, z))


def test_gradcheck_exact_weighted(rng):
    x, z = distinct(5, 2, rng).requires_grad_(), distinct(4, 2, rng).requires_grad_()
    a = torch.from_numpy(random_weights(5, rng))
    b = torch.from_numpy(random_weights(4, rng))
    assert torch.autograd.gradcheck(lambda x, z: wasserstein(x, z, a, b, p=2.0), (x, z))


def test_gradcheck_sliced(rng):
    x, z = distinct(6, 3, rng).requires_grad_(), distinct(6, 3, rng).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, z: wasserstein(x, z, method="sliced", n_directions=9), (x, z))


def test_directional_finite_difference(rng):
    x, z = distinct(40, 3, rng), distinct(40, 3, rng)
    v = distinct(40, 3, rng)
    x_ = x.clone().requires_grad_()
    transport_cost(x_, z).backward()
    h = 1e-6
    fd = (float(transport_cost(x + h * v, z)) - float(transport_cost(x - h * v, z))) / (2 * h)
    assert float((x_.grad * v).sum()) == pytest.approx(fd, rel=1e-5)


def test_diracs_for_every_p(rng):
    x, z, dist = diracs(3, rng)
    for p in (1.0, 2.0, 3.5):
        assert float(wasserstein(x, z, p=p)) == pytest.approx(dist)


def test_zero_distance_has_zero_gradient():
    x = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    w = wasserstein(x, x.detach())
    w.backward()
    assert float(w.detach()) == 0.0 and torch.isfinite(x.grad).all() and float(x.grad.abs().max()) == 0.0


def test_otloss_batched_reductions(rng):
    x = torch.tensor(rng.normal(size=(4, 10, 2)), requires_grad=True)
    z = torch.tensor(rng.normal(size=(4, 10, 2)))
    per = OTLoss(reduction="none")(x, z)
    assert per.shape == (4,)
    for b in range(4):
        assert float(per[b].detach()) == pytest.approx(float(matching(x[b], z[b]).cost.detach()))
    mean = OTLoss()(x, z)
    mean.backward()
    assert float(mean.detach()) == pytest.approx(float(per.detach().mean())) and x.grad.shape == x.shape
    assert float(OTLoss(reduction="sum")(x, z).detach()) == pytest.approx(float(per.detach().sum()))


def test_otloss_trains_points_onto_target(rng):
    """Gradient descent on the exact loss moves a cloud onto its target (the text's generator in miniature)."""
    x = distinct(32, 2, rng).requires_grad_()
    z = distinct(32, 2, rng) + 3.0
    loss = OTLoss(p=2.0)
    opt = torch.optim.SGD([x], lr=0.5 * 32 / 2)  # the gradient of the mean cost is 2 (x - z_s) / n
    start = float(loss(x, z).detach())
    for _ in range(20):
        opt.zero_grad()
        loss(x, z).backward()
        opt.step()
    assert float(loss(x, z).detach()) < 1e-6 * start


def test_otloss_repr():
    assert repr(OTLoss(p=1.0, method="sliced", n_directions=10)) == \
        "OTLoss(p=1.0, method='sliced', reduction='mean', n_directions=10)"


def test_unknown_methods():
    with pytest.raises(ValueError, match=r"method='emd'; expected one of \['exact', 'sinkhorn', 'sinkhorn_divergence', 'sliced'\]"):
        wasserstein(torch.randn(3, 2), torch.randn(3, 2), method="emd")
    with pytest.raises(ValueError, match="reduction"):
        OTLoss(reduction="max")
