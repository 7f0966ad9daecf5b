"""Suite ``batched``: one batched ``matching`` call against Python loops of scipy and lap.

B = 64 problems of n = 128 uniform points in [0, 1]^d. The loops build each problem's cost with
``cdist`` inside the timed call, as monge does. ``monge auction`` runs in float64 like the anchors;
``monge auction float32`` is the same call on float32 points (its certificate holds to float32
rounding, so it may pick a different near-optimal permutation: the optimality column says so).
"""

from __future__ import annotations

import lap
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from harness import Contender, check_agreement, compare, fmt_time, permutation_cost

NAME = "batched"
CONTENDERS = ["monge auction", "monge auction float32", "monge auto", "scipy lsa loop", "lap lapjv loop"]


def cases(quick: bool) -> list[dict]:
    """B = 64, n = 128, d in {2, 64} (the same when quick: it takes seconds)."""
    return [{"batch": 64, "n": 128, "d": d} for d in (2, 64)]


def _scipy_loop(x, z):
    return [linear_sum_assignment(cdist(xb, zb, "sqeuclidean"))[1] for xb, zb in zip(x, z)]


def _lap_loop(x, z):
    return [lap.lapjv(cdist(xb, zb, "sqeuclidean"), extend_cost=False)[1] for xb, zb in zip(x, z)]


def run_case(params: dict, repeats: int, seed: int, progress=None) -> dict:
    """Time the batched auction, auto and the two loops; speed-ups of the auction and auto."""
    from monge.transport import matching
    from monge.transport.monge import choose_method

    batch, n, d = params["batch"], params["n"], params["d"]
    rng = np.random.default_rng([seed, batch, n, d])
    x, z = rng.random((batch, n, d)), rng.random((batch, n, d))
    xt, zt = torch.from_numpy(x), torch.from_numpy(z)
    x32, z32 = xt.float(), zt.float()
    tiny = (xt[:2, :8].clone(), zt[:2, :8].clone())
    score = lambda perm: permutation_cost(x, z, np.asarray(perm))  # noqa: E731
    contenders = [
        Contender("monge auction", lambda: matching(xt, zt, method="auction"), lambda r: score(r.permutation),
                  lambda: matching(*tiny, method="auction")),
        Contender("monge auction float32", lambda: matching(x32, z32, method="auction"),
                  lambda r: score(r.permutation), lambda: matching(tiny[0].float(), tiny[1].float(), method="auction")),
        Contender("monge auto", lambda: matching(xt, zt), lambda r: score(r.permutation), lambda: matching(*tiny)),
        Contender("scipy lsa loop", lambda: _scipy_loop(x, z), score, lambda: _scipy_loop(x[:2, :8], z[:2, :8])),
        Contender("lap lapjv loop", lambda: _lap_loop(x, z), score, lambda: _lap_loop(x[:2, :8], z[:2, :8])),
    ]
    stats = compare(contenders, repeats, progress)
    check_agreement(stats, CONTENDERS)
    for s in stats.values():
        s["value"] = float(np.mean(s["value"]))  # the figures agree per problem; keep their mean
    t = {name: stats[name]["median"] for name in CONTENDERS}
    return {"suite": NAME, "params": params, "repeats": repeats, "stats": stats, "auto_method": choose_method(xt),
            "speedup_auction_vs_scipy": t["scipy lsa loop"] / t["monge auction"],
            "speedup_auction_vs_lap": t["lap lapjv loop"] / t["monge auction"],
            "speedup_auction32_vs_scipy": t["scipy lsa loop"] / t["monge auction float32"],
            "speedup_auto_vs_scipy": t["scipy lsa loop"] / t["monge auto"],
            "all_optimal": all(stats[name]["optimal"] for name in CONTENDERS if "float32" not in name)}


HEADERS = ["B x n", "d", "auction (f64)", "auction (f32)", "auto (runs)", "scipy lsa loop", "lap.lapjv loop",
           "scipy loop / auction", "scipy loop / auction f32", "lap loop / auction", "scipy loop / auto", "optimal"]


def row(rec: dict) -> list[str]:
    """One Markdown row: medians [min-max] in seconds and speed-ups (> 1: monge is faster)."""
    s, p = rec["stats"], rec["params"]
    wrong = [name for name in CONTENDERS if not s[name]["optimal"]]
    return [f"{p['batch']} x {p['n']}", str(p["d"]), *(fmt_time(s[name]) for name in CONTENDERS[:2]),
            f"{fmt_time(s['monge auto'])} ({rec['auto_method']})", *(fmt_time(s[name]) for name in CONTENDERS[3:]),
            f"**{rec['speedup_auction_vs_scipy']:.2g}x**", f"{rec['speedup_auction32_vs_scipy']:.2g}x",
            f"{rec['speedup_auction_vs_lap']:.2g}x", f"{rec['speedup_auto_vs_scipy']:.2g}x",
            "all" if not wrong else "NOT: " + ", ".join(wrong)]


def targets(records: list[dict]) -> list[tuple[str, bool]]:
    """The issue's target: the batched auction at least 2x faster than the scipy loop."""
    worst = min(r["speedup_auction_vs_scipy"] for r in records)
    return [(f"batched auction >= 2x faster than the scipy loop: worst {worst:.2g}x (< 1 means slower)",
             worst >= 2.0),
            ("float64 contenders reach the optimal cost (rel 1e-9)", all(r["all_optimal"] for r in records))]
