"""Suite ``sparse``: the certified sparse matching against the dense exact solvers, past their reach.

Cases (p = 2, points seeded):

- n = 5000, d = 2, uniform vs uniform and a standard Gaussian vs uniform in the unit square:
  ``matching(method="sparse")`` against POT's ``ot.emd``, scipy's ``linear_sum_assignment`` and
  ``lap.lapjv`` (not on the Gaussian pair, where it takes minutes), each on its ``cdist`` matrix
  (whose time is its own column);
- n = 20,000, d = 2: against ``ot.emd`` alone (pivot cap large enough for the optimum), one run each
  (ot.emd takes minutes and about 16 GB there; scipy and lap take far longer);
- n = 100,000, d = 2: the sparse solver alone (no dense solver fits: 80 GB per matrix);
- n = 10,000, d = 10: the sparse solver (its block path) against ``lap.lapjv``.

monge's time includes everything (validation, float64 copies, the candidates, the certificate, the
result). Every contender's permutation is scored with the same float64 formula and must reach the
smallest cost to a relative 1e-9; the sparse solver's certificate (gap <= tolerance) is recorded.
"""

from __future__ import annotations

import warnings

import lap
import numpy as np
import ot
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from harness import Contender, check_agreement, compare, fmt_time, measure, permutation_cost

NAME = "sparse"
ANCHORS = ["POT emd", "scipy lsa", "lap lapjv"]
# Above this size the anchors run once and only POT's emd (the fastest of them in the plane) runs.
SINGLE_RUN = 10_000


def cases(quick: bool) -> list[dict]:
    """The issue's cases; when quick, n = 2000 uniform only."""
    if quick:
        return [{"n": 2000, "d": 2, "law": "uniform"}]
    return [{"n": 5000, "d": 2, "law": "uniform"}, {"n": 5000, "d": 2, "law": "gaussian"},
            {"n": 20_000, "d": 2, "law": "uniform"}, {"n": 100_000, "d": 2, "law": "uniform"},
            {"n": 10_000, "d": 10, "law": "uniform"}]


def _clouds(n: int, d: int, law: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, n, d])
    x, z = rng.random((n, d)), rng.random((n, d))
    if law == "gaussian":
        x = rng.standard_normal((n, d))
    return x, z


def _emd(n: int, cost: np.ndarray):
    u = np.full(n, 1.0 / n)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a cap reached is a failure here, not a warning
        return ot.emd(u, u, cost, numItermax=max(100_000, 10 * n * n))


def _anchors(n: int, d: int, law: str, x: np.ndarray, z: np.ndarray, score) -> list[Contender]:
    if n > SINGLE_RUN and d <= 4:
        names = ["POT emd"]
    elif law == "gaussian":  # lap.lapjv takes minutes there (43 s on the uniform pair, 13x POT's emd)
        names = ["POT emd", "scipy lsa"]
    elif n > SINGLE_RUN or (d > 4 and n > 2000):
        names = ["lap lapjv"]
    else:
        names = ANCHORS
    cost = cdist(x, z, "sqeuclidean")  # before any timing: each anchor's time is its solve alone
    tiny = cdist(x[:8], z[:8], "sqeuclidean")
    solvers = {
        "POT emd": (lambda: _emd(n, cost), lambda plan: score(plan.argmax(1)), lambda: _emd(8, tiny)),
        "scipy lsa": (lambda: linear_sum_assignment(cost), lambda r: score(r[1]),
                      lambda: linear_sum_assignment(tiny)),
        "lap lapjv": (lambda: lap.lapjv(cost, extend_cost=False), lambda r: score(r[1]),
                      lambda: lap.lapjv(tiny, extend_cost=False)),
    }
    out = [Contender("cdist", lambda: cdist(x, z, "sqeuclidean"), None, lambda: cdist(x[:8], z[:8], "sqeuclidean"))]
    out += [Contender(name, *solvers[name]) for name in names]
    return out


def _once(contenders: list[Contender], progress) -> dict:
    """One measured run per contender (time and peak memory together): for the cases of minutes."""
    stats = {}
    for c in contenders:
        if c.warmup is not None:
            c.warmup()
        seconds, extra, out = measure(c.run, memory=True)
        stats[c.name] = {"times": [seconds], "median": seconds, "min": seconds, "max": seconds,
                         "first_call": seconds, "rss_extra_mib": extra,
                         "value": c.value(out) if c.value is not None else None}
        if c.name == "monge sparse":
            stats[c.name]["certificate"] = _certificate(out)
        del out
        if progress is not None:
            progress(f"{c.name}: {seconds:.3f} s")
    return stats


def _certificate(result) -> dict:
    return {"duality_gap_per_point": result.duality_gap, "rounds": result.n_iter}


def run_case(params: dict, repeats: int, seed: int, progress=None) -> dict:
    """Time the sparse matching and the anchors that fit; ratios to the fastest anchor (cdist included)."""
    import torch

    from monge.transport import matching

    n, d, law = params["n"], params["d"], params["law"]
    x, z = _clouds(n, d, law, seed)
    xt, zt = torch.from_numpy(x), torch.from_numpy(z)
    score = lambda perm: permutation_cost(x, z, perm)  # noqa: E731
    mine = Contender("monge sparse", lambda: matching(xt, zt, p=2.0, method="sparse"),
                     lambda r: score(r.permutation.numpy()),
                     lambda: matching(xt[:50].clone(), zt[:50].clone(), p=2.0, method="sparse"))
    anchors = [] if n >= 100_000 else _anchors(n, d, law, x, z, score)
    contenders = [mine, *anchors]
    if n > SINGLE_RUN:
        stats = _once(contenders, progress)
    else:
        stats = compare(contenders, repeats, progress)
        stats["monge sparse"]["certificate"] = _certificate(mine.run())
    solvers = [name for name in stats if name != "cdist"]
    check_agreement(stats, solvers)
    for s in stats.values():
        s["value"] = None if s["value"] is None else float(s["value"])
    record = {"suite": NAME, "params": params, "repeats": 1 if n > SINGLE_RUN else repeats, "stats": stats,
              "all_optimal": all(stats[name]["optimal"] for name in solvers)}
    dense = [name for name in solvers if name != "monge sparse"]
    if dense:
        best = min(dense, key=lambda a: stats[a]["median"])
        build = stats["cdist"]["median"]
        record.update(fastest_anchor=best,
                      ratio_with_cost=stats["monge sparse"]["median"] / (stats[best]["median"] + build),
                      ratio_solve=stats["monge sparse"]["median"] / stats[best]["median"])
    return record


HEADERS = ["n", "d", "law", "monge sparse", "rounds", "gap per point", "cdist", "POT emd", "scipy lsa", "lap.lapjv",
           "sparse / best anchor incl. cdist", "sparse / best anchor solve", "optimal", "sparse peak MiB"]


def row(rec: dict) -> list[str]:
    """One Markdown row: medians [min-max] in seconds, the certificate, ratios, optimality, memory."""
    s, p = rec["stats"], rec["params"]
    cert = s["monge sparse"]["certificate"]
    ratio = (f"**{rec['ratio_with_cost']:.3f}x** ({rec['fastest_anchor']})" if "ratio_with_cost" in rec else "-")
    solve = f"{rec['ratio_solve']:.3f}x" if "ratio_solve" in rec else "-"
    memory = s["monge sparse"]["rss_extra_mib"]
    return [str(p["n"]), str(p["d"]), p["law"], fmt_time(s["monge sparse"]), str(cert["rounds"]),
            f"{cert['duality_gap_per_point']:.2g}", fmt_time(s.get("cdist")),
            *(fmt_time(s.get(a)) for a in ANCHORS), ratio, solve, "yes" if rec["all_optimal"] else "NO",
            "-" if memory is None else f"{memory:.0f}"]


def targets(records: list[dict]) -> list[tuple[str, bool]]:
    """The issue's targets for the sparse matching."""
    out = []
    by = {(r["params"]["n"], r["params"]["d"], r["params"]["law"]): r for r in records}
    for law in ("uniform", "gaussian"):
        r = by.get((5000, 2, law))
        if r is not None:
            out.append((f"n = 5000, d = 2, {law}: sparse <= 0.3x the fastest dense anchor (incl. cdist): "
                        f"{r['ratio_with_cost']:.3f}x ({r['fastest_anchor']}), optimal {r['all_optimal']}",
                        r["ratio_with_cost"] <= 0.3 and r["all_optimal"]))
    r = by.get((20_000, 2, "uniform"))
    if r is not None:
        speedup = 1 / r["ratio_with_cost"]
        out.append((f"n = 20000, d = 2: equal to ot.emd's optimum ({r['all_optimal']}) and >= 5x faster: "
                    f"{speedup:.1f}x (incl. cdist), {1 / r['ratio_solve']:.1f}x (solve alone)",
                    r["all_optimal"] and speedup >= 5))
    r = by.get((100_000, 2, "uniform"))
    if r is not None:
        s = r["stats"]["monge sparse"]
        memory = s["rss_extra_mib"]
        out.append((f"n = 100000, d = 2: certified in < 60 s and < 2 GB: {s['median']:.1f} s, "
                    f"{'?' if memory is None else f'{memory:.0f}'} MiB over the baseline",
                    s["median"] < 60 and memory is not None and memory < 2048))
    r = by.get((10_000, 10, "uniform"))
    if r is not None:
        s = r["stats"]["monge sparse"]
        out.append((f"n = 10000, d = 10: certified, {s['median']:.1f} s (lap.lapjv {r['stats']['lap lapjv']['median']:.1f} s "
                    f"with its matrix), optimal {r['all_optimal']}", r["all_optimal"]))
    return out
