"""Suite ``sparse_weighted``: exact transport between weighted clouds without the dense matrix.

``kantorovich(method="sparse")`` (:mod:`monge.transport.sparse_kantorovich`) against POT's ``ot.emd``
on its ``cdist`` matrix (whose time is its own column), p = 2, random weights in [0.1, 1.1]:

- n = m = 2000 and 5000, d = 2, uniform against uniform, and a standard Gaussian against uniform;
- n = m = 20,000, d = 2, uniform, one run each (ot.emd needs about 13 GB there);
- clouds of repeated points, as a matching (``matching(method="sparse")`` merges them into weighted
  distinct points): 10 points repeated 500 times against 5000 points of 8 Gaussians, against
  ``ot.emd`` and scipy's ``linear_sum_assignment``.

monge's time includes everything (validation, float64 copies, candidates, certificate, result);
every contender's plan is scored with the same float64 formula and must reach the smallest cost to
a relative 1e-9.
"""

from __future__ import annotations

import warnings

import numpy as np
import ot
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from harness import Contender, check_agreement, compare, fmt_time, measure, permutation_cost

NAME = "sparse_weighted"
SINGLE_RUN = 10_000


def cases(quick: bool) -> list[dict]:
    if quick:
        return [{"n": 2000, "law": "uniform"}]
    return [{"n": 2000, "law": "uniform"}, {"n": 5000, "law": "uniform"}, {"n": 5000, "law": "gaussian"},
            {"n": 5000, "law": "repeated"}, {"n": 20_000, "law": "uniform"}]


def _problem(n: int, law: str, seed: int):
    rng = np.random.default_rng([seed, n, len(law)])
    if law == "repeated":
        centres = 2 * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], 1)
        z = centres[rng.integers(0, 8, n)] + 0.05 * rng.standard_normal((n, 2))
        x = rng.standard_normal((10, 2))[rng.integers(0, 10, n)]
        return x, z, None, None
    x, z = rng.random((n, 2)), rng.random((n, 2))
    if law == "gaussian":
        x = rng.standard_normal((n, 2))
    a, b = rng.random(n) + 0.1, rng.random(n) + 0.1
    return x, z, a / a.sum(), b / b.sum()


def _emd(a, b, cost):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a cap reached is a failure here
        return ot.emd(a, b, cost, numItermax=max(100_000, 10 * cost.size))


def _once(contenders, progress) -> dict:
    stats = {}
    for c in contenders:
        if c.warmup is not None:
            c.warmup()
        seconds, extra, out = measure(c.run, memory=True)
        stats[c.name] = {"times": [seconds], "median": seconds, "min": seconds, "max": seconds, "first_call": seconds,
                         "rss_extra_mib": extra, "value": c.value(out) if c.value is not None else None}
        if c.name == "monge sparse":
            stats[c.name]["rounds"] = out.n_iter
        del out
        if progress is not None:
            progress(f"{c.name}: {seconds:.3f} s")
    return stats


def run_case(params: dict, repeats: int, seed: int, progress=None) -> dict:
    """Time the sparse solver and ot.emd (and scipy for the matching); ratios to the fastest anchor with cdist."""
    import torch

    from monge.transport import kantorovich, matching

    n, law = params["n"], params["law"]
    x, z, a, b = _problem(n, law, seed)
    xt, zt = torch.from_numpy(x), torch.from_numpy(z)
    cost = cdist(x, z, "sqeuclidean")
    tiny = cost[:8, :8].copy()
    uniform = np.full(n, 1.0 / n)
    if law == "repeated":
        score = lambda perm: permutation_cost(x, z, perm)  # noqa: E731
        mine = Contender("monge sparse", lambda: matching(xt, zt, method="sparse"),
                         lambda r: score(r.permutation.numpy()),
                         lambda: matching(xt[:50].clone(), zt[:50].clone(), method="sparse"))
        anchors = [Contender("POT emd", lambda: _emd(uniform, uniform, cost), lambda plan: score(plan.argmax(1)),
                             lambda: _emd(np.full(8, 0.125), np.full(8, 0.125), tiny)),
                   Contender("scipy lsa", lambda: linear_sum_assignment(cost), lambda r: score(r[1]),
                             lambda: linear_sum_assignment(tiny))]
    else:
        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        mine = Contender("monge sparse", lambda: kantorovich(xt, zt, at, bt, method="sparse"),
                         lambda r: float(r.cost),
                         lambda: kantorovich(xt[:50].clone(), zt[:60].clone(), method="sparse"))
        anchors = [Contender("POT emd", lambda: _emd(a, b, cost), lambda plan: float((plan * cost).sum()),
                             lambda: _emd(np.full(8, 0.125), np.full(8, 0.125), tiny))]
    contenders = [mine, Contender("cdist", lambda: cdist(x, z, "sqeuclidean"), None,
                                  lambda: cdist(x[:8], z[:8], "sqeuclidean")), *anchors]
    if n > SINGLE_RUN:
        stats = _once(contenders, progress)
    else:
        stats = compare(contenders, repeats, progress)
        stats["monge sparse"]["rounds"] = mine.run().n_iter
    solvers = [c.name for c in contenders if c.name != "cdist"]
    check_agreement(stats, solvers)
    for s in stats.values():
        s["value"] = None if s["value"] is None else float(s["value"])
    best = min((c.name for c in anchors), key=lambda name: stats[name]["median"])
    return {"suite": NAME, "params": params, "repeats": 1 if n > SINGLE_RUN else repeats, "stats": stats,
            "fastest_anchor": best,
            "ratio_with_cost": stats["monge sparse"]["median"] / (stats[best]["median"] + stats["cdist"]["median"]),
            "all_optimal": all(stats[name]["optimal"] for name in solvers)}


HEADERS = ["n = m", "law", "monge sparse", "rounds", "cdist", "POT emd", "scipy lsa",
           "sparse / fastest anchor incl. cdist", "optimal", "sparse peak MiB", "emd peak MiB"]


def row(rec: dict) -> list[str]:
    s, p = rec["stats"], rec["params"]
    mib = lambda name: "-" if name not in s or s[name]["rss_extra_mib"] is None else f"{s[name]['rss_extra_mib']:.0f}"  # noqa: E731
    return [str(p["n"]), p["law"], fmt_time(s["monge sparse"]), str(s["monge sparse"]["rounds"]), fmt_time(s["cdist"]),
            fmt_time(s.get("POT emd")), fmt_time(s.get("scipy lsa")),
            f"**{rec['ratio_with_cost']:.2f}x** ({rec['fastest_anchor']})", "yes" if rec["all_optimal"] else "NO",
            mib("monge sparse"), mib("POT emd")]


def targets(records: list[dict]) -> list[tuple[str, bool]]:
    """No target was set for weighted problems: the optimum must be reached, the ratios are reported."""
    return [(f"{r['params']['law']} n = {r['params']['n']}: the sparse solver reaches the optimum "
             f"({r['ratio_with_cost']:.2f}x {r['fastest_anchor']} incl. cdist)", r["all_optimal"]) for r in records]
