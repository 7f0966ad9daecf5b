"""Chapter 2: Monge's permutations, Kantorovich's programme, Sinkhorn, and a generator trained by transport.

Four steps, each printing what it measured:

1. Monge's problem on 6 + 6 points (section 2.3): the best of all 6! = 720 permutations by brute
   force, and the same optimum found by exact matching (Jonker-Volgenant), which scales to
   thousands of points. With the Euclidean cost ``|x - z|`` the optimal paths never cross.
2. Kantorovich's linear programme (section 2.4) on weighted clouds of different sizes: the optimal
   plan ``P`` and the dual potentials ``f``, ``g`` with ``sum a f + sum b g = sum P C``.
3. Entropic transport: Sinkhorn's cost ``sum P C`` approaches Kantorovich's optimum as the
   temperature ``eps`` falls.
4. A generator ``x = g_w(y)``, ``y ~ N(0, I_2)`` (Figure 2.1), trained for 600 steps on
   the 8 Gaussians with the text's Distance (exact matching of each minibatch, cost ``|x - z|``),
   then judged by the modes it covers and its W2 to held-out data.

Run it from the repository root (about 7 s on one CPU core)::

    python examples/chapter2_transport.py
"""

from __future__ import annotations

import math
import tempfile
import time

import torch

from monge.data import load_points
from monge.geometry import crossings
from monge.metrics import high_quality, modes_covered, w2_floor, w2_test
from monge.networks import MLPGenerator
from monge.runs import Run
from monge.training.generative import OTConfig, fit_generator
from monge.transport import OTLoss, brute_force, kantorovich, matching, sinkhorn


def monge_six(g: torch.Generator) -> dict:
    """Brute force over the 720 permutations of 6 points against exact matching."""
    x, z = torch.rand(6, 2, generator=g, dtype=torch.float64), torch.rand(6, 2, generator=g, dtype=torch.float64)
    best = brute_force(x, z, p=1.0)  # all 6! = 720 permutations
    fast = matching(x, z, p=1.0)  # O(n^3)
    permutation = (best.permutation + 1).tolist()  # 1-based, like the text
    print(f"Monge, 6 points: best of {math.factorial(6)} permutations {permutation}, Distance "
          f"{float(best.distance):.4f}; matching: {(fast.permutation + 1).tolist()}, {float(fast.distance):.4f}; "
          f"crossings of the optimal paths: {crossings(x, z, best.permutation)}")
    return {"brute_force_distance": float(best.distance), "matching_distance": float(fast.distance),
            "same_permutation": bool(torch.equal(best.permutation, fast.permutation)),
            "crossings": crossings(x, z, best.permutation)}


def kantorovich_and_sinkhorn(g: torch.Generator) -> dict:
    """The exact linear programme and its dual; Sinkhorn's cost as eps falls."""
    a = torch.rand(30, generator=g, dtype=torch.float64)
    b = torch.rand(40, generator=g, dtype=torch.float64)
    a, b = a / a.sum(), b / b.sum()
    x, z = torch.rand(30, 2, generator=g, dtype=torch.float64), torch.rand(40, 2, generator=g, dtype=torch.float64)
    exact = kantorovich(x, z, a, b, p=2.0)
    dual = float(a @ exact.f + b @ exact.g)
    print(f"Kantorovich, 30 x 40 weighted points: W2^2 = sum P C = {float(exact.cost):.6f}, dual "
          f"sum a f + sum b g = {dual:.6f}, marginal error {exact.marginal_error:.1e}")
    sinkhorn_costs = {}
    for eps in (1e-1, 3e-2, 1e-2, 3e-3):  # in units of the cost; the squared diameter here is about 2
        r = sinkhorn(x, z, a, b, p=2.0, eps=eps, tol=1e-4)
        sinkhorn_costs[eps] = float(r.cost)
        print(f"  Sinkhorn eps = {eps:.0e}: sum P C = {float(r.cost):.6f} (exact + {float(r.cost - exact.cost):.1e}), "
              f"{r.n_iter} iterations, marginal error {r.marginal_error:.0e}")
    return {"kantorovich_cost": float(exact.cost), "dual_objective": dual, "sinkhorn_costs": sinkhorn_costs}


def generator(steps: int = 600, seed: int = 0) -> dict:
    """A generator trained on the 8 Gaussians by minibatch optimal transport."""
    torch.manual_seed(seed)  # the generator's initial weights
    data = load_points("gaussians8", n_train=5000, n_test=1000)
    g = MLPGenerator(latent=2, widths=[128, 128, 128], shape=(2,))
    loss = OTLoss(p=1.0, method="exact")  # the text's Distance of the matched minibatches, over n
    with tempfile.TemporaryDirectory() as out:
        run = Run.create("generate", {}, out=out, quiet=True)
        summary = fit_generator(g, data.train, OTConfig(loss=loss, steps=steps, batch=128, lr=1e-2, seed=seed),
                                run=run, progress=False)
    with torch.no_grad():
        fakes = g.sample(2000, generator=torch.Generator().manual_seed(1))
    m = data.modes
    found = {"steps": steps, "final_loss": summary["final_loss"],
             "modes_covered": modes_covered(fakes, m.centres, m.std), "n_modes": m.n_modes,
             "high_quality": high_quality(fakes, m.centres, m.std),
             "w2_test": w2_test(fakes, data.test), "w2_floor": w2_floor(data.train, data.test)}
    print(f"Generator, 8 Gaussians, {steps} steps: modes covered {found['modes_covered']}/{found['n_modes']}, "
          f"{found['high_quality']:.0%} within 3 std of a mode, W2 to held-out data {found['w2_test']:.3f} "
          f"(two samples of the data: {found['w2_floor']:.3f})")
    return found


def main() -> dict:
    """Run the four steps; return their figures."""
    torch.set_num_threads(1)  # small problems: one thread is fastest on a shared CPU
    start = time.perf_counter()
    g = torch.Generator().manual_seed(0)
    result = {"monge": monge_six(g), "kantorovich": kantorovich_and_sinkhorn(g), "generator": generator()}
    result["seconds"] = time.perf_counter() - start
    print(f"done in {result['seconds']:.1f} s")
    return result


if __name__ == "__main__":
    main()
