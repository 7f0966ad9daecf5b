"""Suite ``kantorovich``: ``monge.transport.kantorovich`` against raw POT ``ot.emd``.

Random weights on n = m = 2000 uniform points in [0, 1]^2. monge includes building its cost matrix
and its float64 checks and conversions; the anchor solves a ``cdist`` matrix (its own column) with a
pivot cap large enough to be optimal. POT's default cap (100000 pivots) is timed too: it stops
before the optimum at this size, and its cost is reported against the optimum.
"""

from __future__ import annotations

import warnings

import numpy as np
import ot
from scipy.spatial.distance import cdist

from harness import Contender, check_agreement, compare, fmt_time, relative_error
from suite_matching import emd_cap

NAME = "kantorovich"
DEFAULT = "POT emd (default numItermax)"


def cases(quick: bool) -> list[dict]:
    """The issue's one case, n = m = 2000, d = 2 (the same when quick: it takes seconds)."""
    return [{"n": 2000, "m": 2000, "d": 2}]


def _emd(a, b, cost, cap=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the default cap's "numItermax reached"
        return ot.emd(a, b, cost, log=True) if cap is None else ot.emd(a, b, cost, numItermax=cap, log=True)


def run_case(params: dict, repeats: int, seed: int, progress=None) -> dict:
    """Time kantorovich, cdist, ot.emd (optimal cap) and ot.emd (default cap); overhead of monge."""
    import torch

    from monge.transport import kantorovich

    n, m, d = params["n"], params["m"], params["d"]
    rng = np.random.default_rng([seed, n, m, d])
    x, z = rng.random((n, d)), rng.random((m, d))
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    a, b = a / a.sum(), b / b.sum()
    cost = cdist(x, z, "sqeuclidean")
    cap = emd_cap(n, m)
    xt, zt, at, bt = (torch.from_numpy(v) for v in (x, z, a, b))
    tiny = (xt[:8].clone(), zt[:8].clone())
    score = lambda plan: float((np.asarray(plan) * cost).sum())  # noqa: E731
    contenders = [
        Contender("monge kantorovich", lambda: kantorovich(xt, zt, at, bt, p=2.0), lambda r: score(r.plan.numpy()),
                  lambda: kantorovich(*tiny, p=2.0)),
        Contender("cdist", lambda: cdist(x, z, "sqeuclidean"), None, lambda: cdist(x[:8], z[:8], "sqeuclidean")),
        Contender("POT emd", lambda: _emd(a, b, cost, cap), lambda out: score(out[0]),
                  lambda: _emd(np.full(8, 1 / 8), np.full(8, 1 / 8), cost[:8, :8].copy(), cap)),
        Contender(DEFAULT, lambda: _emd(a, b, cost), lambda out: (score(out[0]), int(out[1]["result_code"]))),
    ]
    stats = compare(contenders, repeats, progress)
    default_cost, default_code = stats[DEFAULT]["value"]
    stats[DEFAULT]["value"] = default_cost
    check_agreement(stats, ["monge kantorovich", "POT emd"])
    optimum = stats["POT emd"]["value"]
    mine, build, solve = (stats[k]["median"] for k in ("monge kantorovich", "cdist", "POT emd"))
    return {"suite": NAME, "params": params, "repeats": repeats, "stats": stats, "emd_numItermax": cap,
            "overhead_vs_emd_with_cost": mine / (build + solve) - 1, "overhead_vs_emd_solve": mine / solve - 1,
            "default_result_code": default_code, "default_rel_excess": relative_error(default_cost, optimum),
            "all_optimal": bool(stats["monge kantorovich"]["optimal"] and stats["POT emd"]["optimal"])}


HEADERS = ["n = m", "d", "monge kantorovich", "cdist", "POT emd (optimal cap)", "overhead incl. cdist",
           "overhead vs emd solve", "optimal", "POT emd, default cap", "default cap: cost above optimum"]


def row(rec: dict) -> list[str]:
    """One Markdown row: medians [min-max] in seconds, overheads, the default cap's shortfall."""
    s, p = rec["stats"], rec["params"]
    code = {1: "optimal", 3: "stopped at the cap"}.get(rec["default_result_code"], f"code {rec['default_result_code']}")
    return [str(p["n"]), str(p["d"]), fmt_time(s["monge kantorovich"]), fmt_time(s["cdist"]), fmt_time(s["POT emd"]),
            f"**{100 * rec['overhead_vs_emd_with_cost']:+.1f}%**", f"{100 * rec['overhead_vs_emd_solve']:+.1f}%",
            "yes" if rec["all_optimal"] else "NO", f"{fmt_time(s[DEFAULT])} ({code})",
            f"{100 * rec['default_rel_excess']:.3g}%"]


def targets(records: list[dict]) -> list[tuple[str, bool]]:
    """The issue's target: kantorovich's overhead over raw ot.emd (cdist included) <= 10%."""
    worst = max(r["overhead_vs_emd_with_cost"] for r in records)
    return [(f"kantorovich overhead over ot.emd (incl. cdist) <= 10%: {100 * worst:+.1f}%", worst <= 0.10),
            ("kantorovich and ot.emd reach the same optimum (rel 1e-9)", all(r["all_optimal"] for r in records))]
