"""Suite ``sinkhorn``: ``monge.transport.sinkhorn`` against GeomLoss (tensorized and KeOps) and POT.

x, z: n = m points uniform in [0, 1]^2 (float32, seeded), uniform weights. The problem is GeomLoss's
``SamplesLoss("sinkhorn", p=2, blur=0.1, scaling=0.9, debias=False)``: cost ``|x - z|^2 / 2`` and
eps = blur^p = 0.01. monge's cost is ``|x - z|^2`` (not halved), so it runs at eps = 0.02 and its
potentials and costs are halved to compare; POT's ``ot.sinkhorn(a, b, M, 0.01,
method="sinkhorn_log")`` (torch backend) gets ``M = |x - z|^2 / 2`` built inside the timed call.

Equal accuracy: monge stops at its tolerance on the L1 marginal error (default 1e-3; runs at 5e-3,
below the error GeomLoss reaches here, and at 1e-5 too); GeomLoss runs a fixed eps-scaling
schedule; POT stops when the L2 norm of its column error is below ``1e-3 / sqrt(n)`` (about 1e-3
in L1). After the timed runs, untimed, every contender's
potentials (f, g) (GeomLoss: ``potentials=True``, whose loss is <a, f> + <b, g>) are turned into
the plan ``P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)`` by blocks of rows in float64: its L1
row + column marginal error, its transport cost sum P C and OT_eps = <a, f> + <b, g> - eps (sum P - 1),
all in GeomLoss's units (cost / 2). "Same at equal accuracy" is the time of the fastest online monge
run whose marginal error is at most the fastest anchor's, over that anchor's time.

The case ``task = "grad"`` times forward + backward: ``sinkhorn(x, z, eps=0.02).entropic_cost
.backward()`` (memory "auto", which is online for p = 2) against GeomLoss's ``loss(x, z).backward()``,
x requiring gradients. Each gradient (monge's halved) is compared, untimed, with the gradient at
converged potentials (monge in float64, tol 1e-9): "grad err" is the relative L2 difference.

Contenders whose package is missing (or, for KeOps, whose formula fails to compile) are reported
absent. Sizes where a contender is not run: dense matrices (monge dense, GeomLoss tensorized) above
n = 10000 (they need > 3 GB), POT above n = 5000 (n x n temporaries at every logsumexp), monge's
5e-3 and 1e-5 runs and GeomLoss online above n = 10000 (to keep the sweep short: n = 20000 has an
absolute target). At n >= 10000 the repeats are capped at 3 (GeomLoss tensorized takes 30 s a call;
with 2, the first timed round, often slower, would weigh half the median).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from harness import Contender, _package_version, compare, fmt_time

NAME = "sinkhorn"
EPS = 0.01  # GeomLoss's units: cost |x - z|^2 / 2, eps = blur^p
BLUR, SCALING = 0.1, 0.9
TOL = 1e-3
TIGHT = 1e-5
LOOSE = 5e-3  # below GeomLoss's achieved marginal error at every size run (1.2e-2 to 5.9e-3)
SIZES = (1000, 5000, 10000, 20000)
GRAD_N = 2000
DENSE_MAX = 10000
POT_MAX = 5000
KEOPS_MAX = 10000
TIGHT_MAX = 10000
CAPPED_FROM, CAPPED_REPEATS = 10000, 3

MONGE, MONGE_TIGHT, MONGE_DENSE = "monge online", f"monge online tol={TIGHT:g}", "monge dense"
MONGE_LOOSE = f"monge online tol={LOOSE:g}"
ONLINE = [MONGE, MONGE_LOOSE, MONGE_TIGHT]
GL_TENSORIZED, GL_ONLINE, POT = "GeomLoss tensorized", "GeomLoss online", "POT sinkhorn_log"
ANCHORS = [GL_TENSORIZED, GL_ONLINE, POT]
COLUMNS = [MONGE, MONGE_LOOSE, MONGE_TIGHT, MONGE_DENSE, *ANCHORS]


def cases(quick: bool) -> list[dict]:
    """n in {1000, 5000, 10000, 20000} and forward + backward at n = 2000; n = 300 when quick."""
    if quick:
        return [{"n": 300}, {"n": 300, "task": "grad"}]
    return [{"n": n} for n in SIZES] + [{"n": GRAD_N, "task": "grad"}]


def points(n: int, seed: int):
    """x, z: (n, 2) float32 tensors, uniform in the unit square."""
    import torch

    rng = np.random.default_rng([seed, n, 2])
    x = rng.random((n, 2), dtype=np.float32)
    z = rng.random((n, 2), dtype=np.float32)
    return torch.from_numpy(x), torch.from_numpy(z)


def plan_stats(x, z, f, g, eps: float = EPS) -> dict:
    """The plan of potentials (f, g) for the cost |x - z|^2 / 2 and uniform weights, by blocks in float64.

    Returns its L1 row + column marginal error, the transport cost sum P C and OT_eps.
    """
    import torch

    x, z = x.detach().double(), z.detach().double()
    f, g = f.detach().double().reshape(-1), g.detach().double().reshape(-1)
    n, m = x.shape[0], z.shape[0]
    log_a, log_b = -math.log(n), -math.log(m)
    h = (g / eps + log_b).unsqueeze(0)
    rows = torch.empty(n, dtype=torch.float64)
    cols = torch.zeros(m, dtype=torch.float64)
    transport = 0.0
    step = max(1, (1 << 22) // m)
    for start in range(0, n, step):
        stop = min(n, start + step)
        cost = torch.cdist(x[start:stop], z).pow_(2).div_(2)
        plan = torch.exp(h - cost / eps + (f[start:stop] / eps + log_a).unsqueeze(1))
        rows[start:stop] = plan.sum(1)
        cols += plan.sum(0)
        transport += float((plan * cost).sum())
    mass = float(rows.sum())
    return {"marginal_error": float((rows - 1 / n).abs().sum() + (cols - 1 / m).abs().sum()),
            "transport_cost": transport, "mass": mass,
            "ot_eps": float(f.mean() + g.mean()) - eps * (mass - 1)}


def _available(module: str) -> str | None:
    """None if ``module`` imports, else why not."""
    try:
        __import__(module)
    except Exception as err:  # noqa: BLE001 - a broken install is as absent as a missing one
        return f"{module} not importable ({type(err).__name__})"
    return None


def _monge(x, z, grad: bool, **kw):
    from monge.transport import sinkhorn

    if not grad:
        return sinkhorn(x, z, eps=2 * EPS, **kw)
    xg = x.clone().requires_grad_()
    r = sinkhorn(xg, z, eps=2 * EPS, **kw)
    r.entropic_cost.backward()
    return float(r.entropic_cost.detach()) / 2, xg.grad / 2


def _geomloss(backend: str, grad: bool):
    from geomloss import SamplesLoss

    loss = SamplesLoss("sinkhorn", p=2, blur=BLUR, scaling=SCALING, debias=False, backend=backend,
                       potentials=not grad)
    if not grad:
        return loss

    def forward_backward(x, z):
        xg = x.clone().requires_grad_()
        value = loss(xg, z)
        value.backward()
        return float(value.detach()), xg.grad
    return forward_backward


def _pot(x, z):
    import ot
    import torch

    n, m = x.shape[0], z.shape[0]
    a, b = torch.full((n,), 1 / n), torch.full((m,), 1 / m)
    cost = torch.cdist(x, z).pow_(2).div_(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _, log = ot.sinkhorn(a, b, cost, EPS, method="sinkhorn_log", stopThr=TOL / math.sqrt(m),
                             numItermax=100_000, log=True)
    # P = exp(-M / reg + u_i + v_j) = a_i b_j exp((f_i + g_j - M_ij) / reg)
    return EPS * (log["log_u"] - a.log()), EPS * (log["log_v"] - b.log()), int(log["niter"]) + 1


def _contenders(n: int, x, z, grad: bool) -> tuple[list[Contender], dict[str, str]]:
    """The contenders of this size, warmed up (those that fail to start are returned as absent)."""
    tiny = (x[:16].clone(), z[:16].clone())
    absent: dict[str, str] = {}
    if grad:
        specs = [(MONGE, lambda: _monge(x, z, True), lambda: _monge(*tiny, True), None)]
    else:
        halve = lambda r: (r.f / 2, r.g / 2, r.n_iter, r.marginal_error, float(r.entropic_cost) / 2)  # noqa: E731
        specs = [(MONGE, lambda: _monge(x, z, False, memory="online"), lambda: _monge(*tiny, False, memory="online"),
                  halve)]
        if n <= TIGHT_MAX:
            specs.append((MONGE_LOOSE, lambda: _monge(x, z, False, memory="online", tol=LOOSE),
                          lambda: _monge(*tiny, False, memory="online", tol=LOOSE), halve))
            specs.append((MONGE_TIGHT, lambda: _monge(x, z, False, memory="online", tol=TIGHT),
                          lambda: _monge(*tiny, False, memory="online", tol=TIGHT), halve))
        if n <= DENSE_MAX:
            specs.append((MONGE_DENSE, lambda: _monge(x, z, False, memory="dense"),
                          lambda: _monge(*tiny, False, memory="dense"), halve))
    for name, backend, limit in ((GL_TENSORIZED, "tensorized", DENSE_MAX), (GL_ONLINE, "online", KEOPS_MAX)):
        if n > limit:
            continue
        why = _available("geomloss") or (_available("pykeops") if backend == "online" else None)
        if why:
            absent[name] = why
            continue
        fn = _geomloss(backend, grad)
        value = None if grad else (lambda out: (out[0], out[1], None, None, None))
        specs.append((name, lambda fn=fn: fn(x, z), lambda fn=fn: fn(*tiny), value))
    if not grad and n <= POT_MAX:
        why = _available("ot")
        if why:
            absent[POT] = why
        else:
            specs.append((POT, lambda: _pot(x, z), lambda: _pot(*tiny), lambda out: (out[0], out[1], out[2], None, None)))
    contenders = []
    for name, run, warmup, value in specs:
        try:
            warmup()  # imports, lazy initialisation, KeOps compilation (~10 s per new formula)
        except Exception as err:  # noqa: BLE001 - reported, the column left empty
            absent[name] = f"failed to start: {type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''}"
            continue
        contenders.append(Contender(name, run, value if value is not None else (lambda out: out)))
    return contenders, absent


def run_case(params: dict, repeats: int, seed: int, progress=None) -> dict:
    """Time the contenders of one size; then, untimed, the accuracy each reached."""
    import torch

    n, grad = params["n"], params.get("task") == "grad"
    if n >= CAPPED_FROM:
        repeats = min(repeats, CAPPED_REPEATS)
    x, z = points(n, seed)
    contenders, absent = _contenders(n, x, z, grad)
    stats = compare(contenders, repeats, progress)
    record = {"suite": NAME, "params": params, "repeats": repeats, "stats": stats, "absent": absent,
              "skipped": [c for c in COLUMNS if c not in stats and c not in absent],
              "versions": {k: _package_version(k) for k in ("geomloss", "pykeops", "POT")}}
    if grad:
        grads = {}
        for name, s in stats.items():
            s["loss"], grads[name] = s.pop("value")
        # the reference: the gradient at converged potentials (monge in float64, tol 1e-9), untimed
        reference = _monge(x.double(), z.double(), True, tol=1e-9, max_iter=10_000)
        record["reference_loss"] = reference[0]
        geomloss = next((grads[k] for k in (GL_TENSORIZED, GL_ONLINE) if k in grads), None)
        norm = lambda t, ref: float(torch.linalg.norm(t.double() - ref.double()) / torch.linalg.norm(ref.double()))  # noqa: E731
        for name, s in stats.items():
            s["grad_rel_diff"] = norm(grads[name], reference[1])
            if geomloss is not None:
                s["grad_rel_diff_vs_geomloss"] = norm(grads[name], geomloss)
    else:
        for name, s in stats.items():
            f, g, n_iter, own_error, own_loss = s.pop("value")
            s.update(plan_stats(x, z, f, g))
            s["n_iter"], s["own_marginal_error"], s["own_loss"] = n_iter, own_error, own_loss
            if progress is not None:
                progress(f"{name}: marginal error {s['marginal_error']:.2e}, OT_eps {s['ot_eps']:.6g}")
    anchors = {name: stats[name]["median"] for name in ANCHORS if name in stats}
    if anchors and MONGE in stats:
        fastest = min(anchors, key=anchors.get)
        record["fastest_anchor"] = fastest
        record["ratio_vs_fastest_anchor"] = stats[MONGE]["median"] / anchors[fastest]
        # equal accuracy: the fastest online monge run whose plan is at least as accurate as the anchor's
        error = stats[fastest].get("marginal_error")
        fit = [k for k in ONLINE if k in stats and error is not None and stats[k]["marginal_error"] <= error]
        if fit:
            best = min(fit, key=lambda k: stats[k]["median"])
            record["equal_accuracy"] = {"monge": best, "ratio": stats[best]["median"] / anchors[fastest]}
    return record


HEADERS = ["case", *COLUMNS, "monge online / fastest anchor", "same at equal accuracy", "OT_eps (cost/2): monge online; largest rel. diff."]


def _cell(rec: dict, name: str) -> str:
    if name in rec["absent"]:
        return "absent"
    s = rec["stats"].get(name)
    if s is None:
        return "not run"
    text = fmt_time(s)
    if "marginal_error" in s:
        extra = f"err {s['marginal_error']:.1e}"
        if s.get("n_iter") is not None:
            extra += f", {s['n_iter']} it"
        text += f" ({extra})"
    elif "grad_rel_diff" in s:
        text += f" (grad err {s['grad_rel_diff']:.1e})"
    return text


def row(rec: dict) -> list[str]:
    """One Markdown row: time median [min-max] (marginal error, iterations) per contender; ratio; OT_eps."""
    p, s = rec["params"], rec["stats"]
    case = f"n={p['n']}" + (" fwd+bwd" if p.get("task") == "grad" else "")
    ratio = rec.get("ratio_vs_fastest_anchor")
    ratio_text = "-" if ratio is None else f"**{ratio:.3g}** ({1 / ratio:.2g}x faster than {rec['fastest_anchor']})"
    equal = rec.get("equal_accuracy")
    equal_text = "-" if equal is None else f"{equal['ratio']:.3g} ({equal['monge']})"
    key = "loss" if p.get("task") == "grad" else "ot_eps"
    values = {name: st[key] for name, st in s.items() if st.get(key) is not None}
    if MONGE in values:
        ref = values[MONGE]
        spread = max(abs(v - ref) / abs(ref) for v in values.values())
        value_text = f"{ref:.6g}; {spread:.1e}"
    else:
        value_text = "-"
    return [case, *(_cell(rec, name) for name in COLUMNS), ratio_text, equal_text, value_text]


def targets(records: list[dict]) -> list[tuple[str, bool]]:
    """The issue's targets, for the sizes that were run."""
    out = []
    by_n = {r["params"]["n"]: r for r in records if r["params"].get("task") != "grad"}
    for n in (5000, 10000):
        r = by_n.get(n)
        if r is not None and "ratio_vs_fastest_anchor" in r:
            ratio = r["ratio_vs_fastest_anchor"]
            out.append((f"n={n}: monge online (tol {TOL:g}) >= 5x faster than the fastest anchor "
                        f"({r['fastest_anchor']}): {1 / ratio:.2f}x", 1 / ratio >= 5))
            equal = r.get("equal_accuracy")
            if equal is not None:
                out.append((f"n={n}, at equal accuracy ({equal['monge']}, marginal error <= the anchor's): "
                            f"{1 / equal['ratio']:.2f}x", 1 / equal["ratio"] >= 5))
    r = by_n.get(20000)
    if r is not None:
        s = r["stats"][MONGE]
        mib = s["rss_extra_mib"]
        out.append((f"n=20000 in under 60 s with < 200 MiB extra: {s['median']:.1f} s, "
                    f"{'?' if mib is None else f'{mib:.0f}'} MiB", s["median"] < 60 and mib is not None and mib < 200))
    for r in records:
        if r["params"].get("task") == "grad" and r["params"]["n"] == GRAD_N:
            s = r["stats"]
            geomloss = {k: s[k]["median"] for k in (GL_TENSORIZED, GL_ONLINE) if k in s}
            if geomloss and MONGE in s:
                best = min(geomloss, key=geomloss.get)
                out.append((f"forward+backward n={GRAD_N} no slower than GeomLoss: monge {s[MONGE]['median']:.3g} s, "
                            f"{best} {geomloss[best]:.3g} s", s[MONGE]["median"] <= geomloss[best]))
    return out
