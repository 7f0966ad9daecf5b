"""Every value's gradient is its derivative: methods x arguments against central differences (float64).

For each method of ``transport_cost`` (and ``wasserstein``, ``OTLoss``, ``sinkhorn().cost``), the
gradient of the returned tensor in ``x``, ``z``, ``a``, ``b`` and ``cost`` is compared with the
central difference of the same function along a random direction. Balanced problems normalise
their weights to mass 1 and require equal masses, so their weights are perturbed along directions
of zero sum (the only ones allowed); unbalanced ones (``rho``) along any direction.
"""

import warnings

import numpy as np
import pytest
import torch

from monge.transport import OTLoss, sinkhorn, transport_cost, wasserstein
from tests.problems import random_weights

TIGHT = dict(eps=0.5, tol=1e-13, max_iter=100_000)


def _problem(rng, n=7, m=5, d=2):
    x = torch.tensor(rng.normal(size=(n, d)))
    z = torch.tensor(rng.normal(size=(m, d)))
    a = torch.tensor(random_weights(n, rng))
    b = torch.tensor(random_weights(m, rng))
    cost = torch.tensor(rng.uniform(-1.0, 2.0, size=(n, m)))  # any real costs, not a metric
    return dict(x=x, z=z, a=a, b=b, cost=cost)


# name -> (function of the named inputs, the inputs it is differentiated in, balanced weights?)
CASES = {
    "exact matching": (lambda x, z, **_: transport_cost(x, z, p=1.5), "x z", True),
    "exact matching, cost": (lambda cost, **_: transport_cost(cost=cost[:5, :5]), "cost", True),
    "exact weighted": (lambda x, z, a, b, **_: transport_cost(x, z, a, b, p=2.0), "x z a b", True),
    "exact weighted, cost": (lambda cost, a, b, **_: transport_cost(a=a, b=b, cost=cost), "cost a b", True),
    "sinkhorn": (lambda x, z, a, b, **_: transport_cost(x, z, a, b, p=1.5, method="sinkhorn", **TIGHT),
                 "x z a b", True),
    "sinkhorn online": (lambda x, z, a, b, **_: transport_cost(x, z, a, b, method="sinkhorn", memory="online",
                                                               **TIGHT), "x z a b", True),
    "sinkhorn, cost": (lambda cost, a, b, **_: transport_cost(a=a, b=b, cost=cost, method="sinkhorn", **TIGHT),
                       "cost a b", True),
    "sinkhorn unbalanced": (lambda x, z, a, b, **_: transport_cost(x, z, a, b, method="sinkhorn", rho=0.5,
                                                                   **TIGHT), "x z a b", False),
    "sinkhorn unbalanced, cost": (lambda cost, a, b, **_: transport_cost(a=a, b=b, cost=cost, method="sinkhorn",
                                                                         rho=0.5, **TIGHT), "cost a b", False),
    "sinkhorn_divergence": (lambda x, z, a, b, **_: transport_cost(x, z, a, b, method="sinkhorn_divergence",
                                                                   **TIGHT), "x z a b", True),
    "sinkhorn_divergence unbalanced": (lambda x, z, a, b, **_: transport_cost(
        x, z, a, b, method="sinkhorn_divergence", rho=0.5, **TIGHT), "x z a b", False),
    "sliced": (lambda x, z, a, b, **_: transport_cost(x, z, a, b, method="sliced", n_directions=9), "x z a b", True),
    "wasserstein exact": (lambda x, z, a, b, **_: wasserstein(x, z, a, b, p=1.0), "x z a b", True),
    "wasserstein sinkhorn": (lambda x, z, a, b, **_: wasserstein(x, z, a, b, method="sinkhorn", **TIGHT),
                             "x z a b", True),
    "OTLoss sinkhorn, cost": (lambda cost, **_: OTLoss(method="sinkhorn", **TIGHT)(cost=cost), "cost", True),
    # the transport cost <P_eps, C> of the entropic plan, by implicit differentiation
    "sinkhorn().cost": (lambda x, z, a, b, **_: sinkhorn(x, z, a, b, p=1.5, **TIGHT).cost, "x z a b", True),
    "sinkhorn().cost, cost": (lambda cost, a, b, **_: sinkhorn(a=a, b=b, cost=cost, **TIGHT).cost, "cost a b", True),
    "sinkhorn().cost unbalanced": (lambda x, z, a, b, **_: sinkhorn(x, z, a, b, rho=0.5, **TIGHT).cost,
                                   "x z a b", False),
}

SWEEP = [(case, arg) for case, (_, args, _) in CASES.items() for arg in args.split()]


@pytest.mark.parametrize("case, arg", SWEEP, ids=[f"{c}-{a}" for c, a in SWEEP])
def test_gradient_is_the_derivative(case, arg, rng):
    function, _, balanced = CASES[case]
    inputs = _problem(rng)
    leaf = inputs[arg].clone().requires_grad_()
    function(**{**inputs, arg: leaf}).backward()
    assert leaf.grad is not None and torch.isfinite(leaf.grad).all()
    direction = torch.tensor(rng.normal(size=leaf.shape))
    if arg in ("a", "b"):
        direction *= inputs[arg]  # keep the weights positive at the step below
        if balanced:
            direction -= inputs[arg] * direction.sum() / inputs[arg].sum()
    h = 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # every solve converged
        up = float(function(**{**inputs, arg: inputs[arg] + h * direction}))
        down = float(function(**{**inputs, arg: inputs[arg] - h * direction}))
    central = (up - down) / (2 * h)
    analytic = float((leaf.grad * direction).sum())
    assert analytic == pytest.approx(central, rel=1e-6, abs=1e-9)


def test_weight_gradients_are_centred_duals(rng):
    """a.grad is the dual potential minus its mean (over the mass): a direction on the simplex."""
    from monge.transport import kantorovich

    p = _problem(rng)
    a = (p["a"] * 3.0).requires_grad_()  # mass 3: the gradient is divided by it
    b = (p["b"] * 3.0).requires_grad_()
    r = kantorovich(p["x"], p["z"], a, b)
    r.cost.backward()
    torch.testing.assert_close(a.grad, (r.f - r.f.mean()) / 3.0)
    torch.testing.assert_close(b.grad, (r.g - r.g.mean()) / 3.0)
    assert float(a.grad.sum()) == pytest.approx(0.0, abs=1e-12)
    a2 = p["a"].clone().requires_grad_()
    s = sinkhorn(p["x"], p["z"], a2, p["b"], **TIGHT)
    s.entropic_cost.backward()
    torch.testing.assert_close(a2.grad, s.f - s.f.mean())


def test_batched_weight_gradients_equal_looped(rng):
    x = torch.tensor(rng.normal(size=(3, 6, 2)))
    z = torch.tensor(rng.normal(size=(3, 5, 2)))
    a = torch.tensor(np.stack([random_weights(6, rng) for _ in range(3)]), requires_grad=True)
    b = torch.tensor(random_weights(5, rng), requires_grad=True)  # shared by the three problems
    transport_cost(x, z, a, b, method="sinkhorn", **TIGHT).sum().backward()
    for k in range(3):
        ak = a.detach()[k].clone().requires_grad_()
        bk = b.detach().clone().requires_grad_()
        transport_cost(x[k], z[k], ak, bk, method="sinkhorn", **TIGHT).backward()
        torch.testing.assert_close(a.grad[k], ak.grad)
    looped = sum(torch.autograd.grad(transport_cost(x[k], z[k], a.detach()[k], bb := b.detach().clone().requires_grad_(),
                                                    method="sinkhorn", **TIGHT), bb)[0] for k in range(3))
    torch.testing.assert_close(b.grad, looped)
    ab = a.detach().clone().requires_grad_()
    transport_cost(x, z, ab, b.detach(), p=2.0).sum().backward()  # exact, batched, weighted
    for k in range(3):
        ak = a.detach()[k].clone().requires_grad_()
        transport_cost(x[k], z[k], ak, b.detach(), p=2.0).backward()
        torch.testing.assert_close(ab.grad[k], ak.grad)


def test_gradient_in_cost_is_the_plan(rng):
    p = _problem(rng)
    for method in ("exact", "sinkhorn"):
        cost = p["cost"].clone().requires_grad_()
        options = TIGHT if method == "sinkhorn" else {}
        transport_cost(a=p["a"], b=p["b"], cost=cost, method=method, **options).backward()
        if method == "exact":
            from monge.transport import kantorovich
            plan = kantorovich(a=p["a"], b=p["b"], cost=p["cost"]).plan
        else:
            plan = sinkhorn(a=p["a"], b=p["b"], cost=p["cost"], **TIGHT).plan
        torch.testing.assert_close(cost.grad, plan)
