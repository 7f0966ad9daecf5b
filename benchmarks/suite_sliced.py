"""Suite ``sliced``: ``monge.transport.sliced`` against POT's ``ot.sliced_wasserstein_distance``.

n = m = 1e5 points in d = 10, uniform weights, 100 directions, float32 and float64: x uniform in
[0, 1]^d, z Gaussian (mean 0.5, sd 0.25) so that the distance is not just sampling noise. monge
``sliced(x, z, n_directions=100)`` (torch tensors) against POT with ``n_projections=100, p=2,
seed=0`` on numpy arrays and on torch tensors (its torch backend). POT returns SW_2, monge SW_2^2:
POT's value is squared to compare. The two draw different random directions, so their values
differ by Monte Carlo noise: the standard error of monge's mean over its directions is reported
(untimed), and, as an exact check, POT is also called once (untimed) with monge's directions
(``projections=``), and the exact SW_2^2 of monge's directions is computed in float64 (numpy): monge
must match it to rounding (POT in float32 is off by ~1e-3: its float32 sums).
"""

from __future__ import annotations

import numpy as np

from harness import Contender, compare, fmt_time, relative_error

NAME = "sliced"
DIRECTIONS = 100
MONGE, POT_NUMPY, POT_TORCH = "monge sliced", "POT numpy", "POT torch"
COLUMNS = [MONGE, POT_NUMPY, POT_TORCH]


def cases(quick: bool) -> list[dict]:
    """n = 1e5, d = 10 in float32 and float64; n = 2000 (float32) when quick."""
    if quick:
        return [{"n": 2000, "d": 10, "dtype": "float32"}]
    return [{"n": 100_000, "d": 10, "dtype": dtype} for dtype in ("float32", "float64")]


def _per_direction(x: np.ndarray, z: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """W_2^2 of each direction's projections (equal sizes, uniform weights), in float64."""
    u, v = np.sort(x @ theta.T, axis=0), np.sort(z @ theta.T, axis=0)
    return ((u - v) ** 2).mean(0)


def run_case(params: dict, repeats: int, seed: int, progress=None) -> dict:
    """Time monge and POT (numpy, torch); SW_2^2 of each, Monte Carlo standard error, exact check."""
    import torch

    from monge.transport import sliced
    from monge.transport.sliced import random_directions

    n, d, dtype = params["n"], params["d"], params["dtype"]
    rng = np.random.default_rng([seed, n, d])
    x = rng.random((n, d)).astype(dtype)
    z = (0.5 + 0.25 * rng.standard_normal((n, d))).astype(dtype)
    xt, zt = torch.from_numpy(x), torch.from_numpy(z)
    tiny = (xt[:16].clone(), zt[:16].clone())
    contenders = [Contender(MONGE, lambda: sliced(xt, zt, n_directions=DIRECTIONS), lambda r: float(r.cost),
                            lambda: sliced(*tiny, n_directions=DIRECTIONS))]
    absent = {}
    try:
        import ot

        pot = lambda a, b: ot.sliced_wasserstein_distance(a, b, n_projections=DIRECTIONS, p=2, seed=0)  # noqa: E731
        contenders.append(Contender(POT_NUMPY, lambda: pot(x, z), lambda v: float(v) ** 2, lambda: pot(x[:16], z[:16])))
        try:
            pot(*tiny)
            contenders.append(Contender(POT_TORCH, lambda: pot(xt, zt), lambda v: float(v) ** 2, lambda: pot(*tiny)))
        except Exception as err:  # noqa: BLE001 - reported, the column left empty
            absent[POT_TORCH] = f"failed: {type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''}"
    except ImportError:
        absent[POT_NUMPY] = absent[POT_TORCH] = "ot not importable"
    stats = compare(contenders, repeats, progress)
    theta = random_directions(DIRECTIONS, d, seed=0, like=torch.zeros((), dtype=torch.float64)).numpy()
    costs = _per_direction(x.astype(np.float64), z.astype(np.float64), theta)
    mine = stats[MONGE]["value"]
    record = {"suite": NAME, "params": params, "repeats": repeats, "stats": stats, "absent": absent,
              "mc_std_error": float(costs.std(ddof=1) / np.sqrt(DIRECTIONS)), "sw22_float64": float(costs.mean())}
    record["mc_rel_std_error"] = record["mc_std_error"] / record["sw22_float64"]
    record["monge_vs_float64_same_directions"] = relative_error(mine, record["sw22_float64"])
    if POT_NUMPY in stats:
        same = float(ot.sliced_wasserstein_distance(x, z, p=2, projections=theta.T.astype(dtype))) ** 2
        record["pot_same_directions_rel_diff"] = relative_error(same, mine)
    for name, s in stats.items():
        s["rel_diff_vs_monge"] = relative_error(s["value"], mine)
        if name != MONGE:
            s["speedup_of_monge"] = s["median"] / stats[MONGE]["median"]
    return record


HEADERS = ["n", "d", "dtype", *COLUMNS, "POT numpy / monge", "SW_2^2: monge; POT numpy (rel. diff.)",
           "Monte Carlo std. error", "same directions: monge vs float64; POT vs monge"]


def row(rec: dict) -> list[str]:
    """One Markdown row: times, speed-up, values and their agreement."""
    p, s = rec["params"], rec["stats"]
    cells = [("absent" if name in rec["absent"] else "not run") if name not in s else fmt_time(s[name])
             for name in COLUMNS]
    pot = s.get(POT_NUMPY)
    speed = "-" if pot is None else f"**{pot['speedup_of_monge']:.3g}x**"
    values = f"{s[MONGE]['value']:.6g}" + ("" if pot is None else f"; {pot['value']:.6g} ({pot['rel_diff_vs_monge']:.1%})")
    same = rec.get("pot_same_directions_rel_diff")
    return [str(p["n"]), str(p["d"]), p["dtype"], *cells, speed, values, f"{rec['mc_rel_std_error']:.1%}",
            f"{rec['monge_vs_float64_same_directions']:.1e}; " + ("-" if same is None else f"{same:.1e}")]


def targets(records: list[dict]) -> list[tuple[str, bool]]:
    """The issue's target: sliced >= 10x faster than POT (numpy backend) at n = 1e5, d = 10, 100 directions."""
    out = []
    for r in records:
        pot = r["stats"].get(POT_NUMPY)
        if pot is not None and r["params"]["n"] >= 100_000:
            out.append((f"sliced {r['params']['dtype']} >= 10x faster than POT: {pot['speedup_of_monge']:.1f}x",
                        pot["speedup_of_monge"] >= 10))
        mine = r["monge_vs_float64_same_directions"]
        tol = 1e-5 if r["params"]["dtype"] == "float32" else 1e-9
        out.append((f"{r['params']['dtype']} n={r['params']['n']}: monge's SW_2^2 equals the float64 value with the "
                    f"same directions (rel {mine:.1e} <= {tol:g})", mine <= tol))
    return out
