r"""Chapter 3 of the tour: a shallow network as a measure of neurons, trained by its Wasserstein gradient flow.

The reference experiment of Rotskoff et al. (2019), run by ``monge flow --example rbf``: N Gaussian
bumps :math:`c\, \mathcal N(x; y, 0.5)` fit :math:`f = \frac13 \sum_k c_k \mathcal N(x; y_k, s_k)` on
the line by Euler steps of 0.01 of :math:`d\xi_i/dt = -\nabla\psi_\mu(\xi_i)`, beside the density of
neurons moved on a grid by :math:`\partial_t\rho = \nabla\cdot(\rho\nabla\psi_\rho)`; then the bad start
(every bump on the left mode) that stalls, and a sweep over N. Sub-runs: ``flow-rbf/``, ``flow-rbf-bad-start/``,
``flow-sweep-n<N>/``; the tour's own figures ``figures/chapter3_bad_start.png`` and ``chapter3_sweep.png``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from monge.meanfield import examples, flow
from monge.meanfield.grid import Grid, grid_wasserstein
from monge.runs import Run

from .common import ChapterResult, Section, TourConfig, figure_path, Job, run_job

NUMBER = 3
TITLE = "Shallow networks as Wasserstein gradient flows"


@dataclass(frozen=True)
class Sizes:
    """The chapter's problem sizes: neurons, final time, grid cells, snapshots, the sweep over N, seeds."""

    n: int
    t: float
    cells: tuple[int, int]
    frames: int
    sweep: tuple[int, ...]
    seeds: int
    dt: float = 0.01


#: The reference's N = 200 to t = 30 on h = 0.1 cells; quick: half the neurons to t = 15 on h = 0.2.
FULL = Sizes(n=200, t=30.0, cells=(160, 80), frames=61, sweep=(50, 200, 800), seeds=4)
QUICK = Sizes(n=100, t=15.0, cells=(80, 40), frames=11, sweep=(25, 100, 400), seeds=2)


def _flow(run: Run, folder: str, sizes: Sizes, n: int, seed: int, **extra) -> tuple[Path, dict]:
    settings = {"example": "rbf", "n": n, "t": sizes.t, "dt": sizes.dt, **extra}
    return run_job(run, folder, Job("flow", settings), seed)


def _grid(folder: Path, summary: dict) -> tuple[Grid, np.ndarray]:
    """The grid of a ``monge flow --grid`` run and its final density."""
    (l0, l1), (h0, h1) = summary["grid_box"]
    return Grid((l0, l1), (h0, h1), tuple(summary["grid_cells"])), np.load(folder / "grid.npz")["density"]


def _first_variation(folder: Path, n: int, seed: int, bad_start: bool,
                     y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\psi_\mu(1, y) = \int \mathcal N(x; y, 0.5) (f_\mu - f)\, dx` at a run's end, and its neurons' ``y``."""
    net, energy = examples.rbf(n=n, seed=seed, bad_start=bad_start)
    final = torch.from_numpy(np.load(folder / "particles.npy")).to(net.particles)
    psi = energy.first_variation(net.replace(final), torch.stack([torch.ones_like(y), y], 1))
    return psi.numpy(), final[:, 1].numpy()


def _c_mass(folder: Path) -> tuple[float, float, float]:
    r""":math:`\frac1N \sum_i c_i` over the neurons with :math:`y_i < -1`, :math:`|y_i| \le 1`, :math:`y_i > 1`."""
    c, y = np.load(folder / "particles.npy").T
    return tuple(float(c[part].sum() / len(c)) for part in (y < -1, np.abs(y) <= 1, y > 1))


def chapter(run: Run, config: TourConfig) -> ChapterResult:
    """Chapter 3: the RBF flow (particles, energy, grid), the bad start that stalls, and a sweep over N."""
    sizes = QUICK if config.quick else FULL
    grid_options = {"grid": True, "grid_cells": sizes.cells, "frames": sizes.frames}
    with run.step(f"chapter 3: monge flow --example rbf --grid, N = {sizes.n} to t = {sizes.t:g}") as record:
        good, s = _flow(run, "flow-rbf", sizes, sizes.n, config.seed, **grid_options)
        record.update({k: s[k] for k in ("energy_initial", "energy_final", "dissipation_error", "grid_energy_final",
                                         "grid_w2_initial", "grid_w2_final", "seconds_flow", "grid_seconds")})
    with run.step(f"chapter 3: the bad start, N = {sizes.n} to t = {sizes.t:g}") as record:
        bad, b = _flow(run, "flow-rbf-bad-start", sizes, sizes.n, config.seed, bad_start=True, **grid_options)
        record.update({k: b[k] for k in ("energy_initial", "energy_final", "grid_energy_final", "grid_w2_final")})
    with run.step("chapter 3: the first variation of the good and the bad start") as record:
        stall = _bad_start_figure(run, sizes, config.seed, good, bad)
        record.update(psi_max_good=stall["psi_max_good"], psi_max_bad=stall["psi_max_bad"])
    with run.step(f"chapter 3: sweep over N = {', '.join(map(str, sizes.sweep))}, {sizes.seeds} seeds") as record:
        table = _sweep(run, sizes, config.seed, good, s)
        record["table"] = table
    sections = [*_flow_sections(run, sizes, good, s), _bad_start_section(run, sizes, s, bad, b, stall),
                _sweep_section(sizes, config.seed, s, table)]
    results = {
        "rbf_n": s["n"], "rbf_t": s["t"], "rbf_energy_initial": s["energy_initial"],
        "rbf_energy_final": s["energy_final"], "rbf_grad_max_final": s["grad_max_final"],
        "dissipation_error": s["dissipation_error"], "grid_energy_initial": s["grid_energy_initial"],
        "grid_energy_final": s["grid_energy_final"], "grid_mass_error": s["grid_mass_error"],
        "grid_w2_initial": s["grid_w2_initial"], "grid_w2_final": s["grid_w2_final"],
        "bad_start_energy_final": b["energy_final"], "bad_start_grid_energy_final": b["grid_energy_final"],
        "bad_start_dissipation_error": b["dissipation_error"],
        "psi_max_good": stall["psi_max_good"], "psi_max_bad": stall["psi_max_bad"],
        **{f"sweep_energy_n{row['N']}": row["F mean"] for row in table},
        **{f"sweep_w2_n{row['N']}": row["W2 mean"] for row in table},
        "sweep_w2_slope": _slope(table),
    }
    return ChapterResult(sections, results)


def _flow_sections(run: Run, sizes: Sizes, good: Path, s: dict) -> list[Section]:
    low, middle, high = _c_mass(good)
    t = f"{s['t']:g}"
    fits = Section(
        f"The network as a measure of {s['n']} neurons",
        ["The text writes a one-hidden-layer network as f_mu(x) = int Phi(xi, x) dmu(xi), a measure mu of neurons "
         "xi = (omega, theta), trained on F(mu) = 1/2 int (f - f_mu)^2 dx + int V dmu (here V = 0). Here the neurons "
         f"are Gaussian bumps Phi((c, y), x) = c N(x; y, 0.5) and mu = 1/N sum_i delta_(c_i, y_i), N = {s['n']}, "
         "c_i ~ N(0, 1), y_i ~ U[-2, 2]; the target is f = 1/3 [N(x; -2, 0.5) - 2 N(x; 0, 1) + N(x; 2, 0.5)] "
         "(Rotskoff et al. 2019).",
         f"Each neuron follows d xi_i/dt = -grad psi_mu(xi_i) by Euler steps of {s['dt']:g} ({s['n_steps']} steps): "
         f"F falls from {s['energy_initial']:.3e} to {s['energy_final']:.3e} at t = {t}, "
         f"{'at every step' if s['energy_non_increasing'] else 'though NOT at every step'}, and f_mu takes the "
         "target's shape."],
        [(figure_path(good, run, "fits.png"), f"The target f (black) and the network f_mu at four times to t = {t}.")])
    particles = Section(
        "Neurons moving in parameter space",
        ["The particles are the neurons (c_i, y_i): the flow of the measure is the motion of its atoms. Bumps with "
         "c > 0 travel to the target's positive modes at y = -2 and y = 2, bumps with c < 0 gather around y = 0. "
         f"At t = {t} the output mass 1/N sum c_i is {low:+.3f} over y < -1, {middle:+.3f} over |y| <= 1 and "
         f"{high:+.3f} over y > 1, approaching the target's +1/3, -2/3, +1/3.",
         f"The animation of the {sizes.frames} snapshots is `{good.name}/figures/particles.gif` (the report "
         "embeds PNG figures only)."],
        [(figure_path(good, run, "particles.png"), f"The {s['n']} neurons at t = 0 (circles) and t = {t} (dots), "
                                                   "with their trajectories.")])
    energy = Section(
        "Energy and dissipation",
        ["Along a Wasserstein gradient flow the energy falls at the rate dF/dt = -int |grad psi_mu|^2 dmu, the "
         "squared norm of the velocity field: the dissipation D. The recorded D (right, red) and the finite "
         "differences of the energy (black dots) lie on one curve, and the integral form F(t) - F(0) = "
         f"-int_0^t D holds to {s['dissipation_error']:.1e} of the drop F(0) - F({t}) (Euler's first-order error).",
         f"At t = {t} the largest velocity |grad psi_mu(xi_i)| is {s['grad_max_final']:.2e} and D = "
         f"{s['dissipation_final']:.2e}: the flow is slowing down towards a stationary point. The grid's energy "
         f"(green, dashed) ends at {s['grid_energy_final']:.3e}, {abs(s['grid_energy_final'] / s['energy_final'] - 1):.1%} "
         f"from the particles' {s['energy_final']:.3e}."],
        [(figure_path(good, run, "energy.png"), "Left: F(mu_t) of the particles and F(rho_t) of the grid. Right: "
                                                "the dissipation D against -dF/dt.")])
    (l0, l1), (h0, h1) = s["grid_box"]
    grid = Section(
        "Particles against the grid density",
        ["For infinitely many neurons mu is a density rho, and the flow is the text's partial differential equation "
         "d rho/dt = div(rho grad psi_rho), with psi the first variation int Phi(xi, x)(f_rho - f)(x) dx + V. "
         f"monge solves it by upwind finite volumes on {s['grid_cells'][0]} x {s['grid_cells'][1]} cells over "
         f"c in [{l0:g}, {h0:g}], y in [{l1:g}, {h1:g}] (h = {s['grid_h'][0]:g}), no-flux walls, from the "
         f"particles' initial law: mass is kept to {s['grid_mass_error']:.0e} and F(rho) falls from "
         f"{s['grid_energy_initial']:.3e} to {s['grid_energy_final']:.3e} (particles: {s['energy_final']:.3e}).",
         f"The particles stay a sample of the density: W_2(particles, grid) is {s['grid_w2_initial']:.3f} at t = 0 "
         f"(the sampling error of {s['n']} points, and the cells') and {s['grid_w2_final']:.3f} at t = {t}: "
         + ("the flow carries this error along without amplifying it."
            if s["grid_w2_final"] <= 1.2 * s["grid_w2_initial"] else "the flow has amplified it.")],
        [(figure_path(good, run, "grid.png"), "The grid density (grey) and the particles (red) at three times.")])
    return [fits, particles, energy, grid]


def _bad_start_figure(run: Run, sizes: Sizes, seed: int, good: Path, bad: Path) -> dict:
    """Energies of both starts (particles and grid) and their first variations at the end: figure and figures."""
    from matplotlib.figure import Figure

    y = torch.linspace(-4, 4, 321, dtype=torch.float64)
    fig = Figure(figsize=(10.0, 4.0), layout="constrained")
    left, right = fig.subplots(1, 2)
    out = {}
    for name, folder, bad_start, colour in (("good", good, False, "#1f77b4"), ("bad", bad, True, "#d62728")):
        label = "bad start y ~ -2 + 0.1 N(0, 1)" if bad_start else "good start y ~ U[-2, 2]"
        times, energy = np.load(folder / "energy.npy").T
        left.semilogy(times, energy, color=colour, label=f"{label}: particles")
        grid = np.load(folder / "grid.npz")
        left.semilogy(grid["times"], grid["energy"], color=colour, ls="--", lw=1, label="grid density")
        psi, neurons = _first_variation(folder, sizes.n, seed, bad_start, y)
        right.plot(y.numpy(), psi, color=colour, label=label.split(" y")[0])
        right.plot(neurons, np.full_like(neurons, 0.03 if bad_start else 0.08), "|", color=colour, ms=8, alpha=0.5,
                   transform=right.get_xaxis_transform())
        top = int(np.abs(psi).argmax())
        out[f"psi_max_{name}"], out[f"psi_argmax_{name}"] = float(np.abs(psi[top])), float(y[top])
        out[f"y_max_{name}"] = float(neurons.max())
        out[f"psi_gap_{name}"] = float(np.abs(neurons - float(y[top])).min())  # to the nearest neuron
    left.set_xlabel("t")
    left.set_ylabel("F")
    left.set_title("Energy of the two starts")
    left.legend(fontsize=8)
    right.axhline(0, color="0.6", lw=0.8)
    right.set_xlabel("y")
    right.set_ylabel(r"$\psi_\mu(1, y)$")
    right.set_title(rf"First variation $\int \mathcal{{N}}(x; y, 0.5)(f_\mu - f)\,dx$ at t = {sizes.t:g} "
                    "(ticks: neurons' y)", fontsize=10)
    right.legend(fontsize=8)
    run.save_figure(fig, "chapter3_bad_start.png")
    return out


def _bad_start_section(run: Run, sizes: Sizes, s: dict, bad: Path, b: dict, stall: dict) -> Section:
    t = f"{b['t']:g}"
    reference = " (Rotskoff et al.: about 1.5e-2, and below 1e-3 from the good start)" if sizes == FULL else ""
    return Section(
        "A bad start stalls",
        ["F is convex along linear interpolations of measures (the text), yet its Wasserstein gradient flow can "
         "stall: it moves mass and never creates any. Started with every bump on the left mode, "
         f"y_i ~ -2 + 0.1 N(0, 1), the flow fits the left and middle modes, but no neuron reaches the right one "
         f"(largest y_i at t = {t}: {stall['y_max_bad']:.2f}). F is {b['energy_final']:.3e} at t = {t}{reference}, "
         f"{b['energy_final'] / s['energy_final']:.0f} times the good start's {s['energy_final']:.3e}; the grid "
         f"density is held up too, at {b['grid_energy_final']:.3e}, so it is the flow from that start, not the "
         "finite N.",
         "The first variation certifies it. For this convex F, mu is a minimiser exactly when psi_mu(xi) >= "
         "int psi_mu dmu for every xi (no mass gains by moving anywhere); here psi_mu(c, y) = c int N(x; y, 0.5)"
         "(f_mu - f) dx is linear in c, so that asks int N(x; y, 0.5)(f_mu - f) dx = 0 for every y. Its largest "
         f"size is {stall['psi_max_bad']:.3f} for the bad start, at y = {stall['psi_argmax_bad']:.2f}, "
         f"{stall['psi_gap_bad']:.2f} from the nearest neuron (good start: {stall['psi_max_good']:.4f} at y = "
         f"{stall['psi_argmax_good']:.2f}, {stall['psi_gap_good']:.2f} from the nearest). A bump placed there "
         "would lower F, but transport can only bring one from nearby."],
        [(figure_path(bad, run, "fits.png"), f"The bad start: f_mu to t = {t} never fits the right mode."),
         (figure_path(bad, run, "grid.png"), "The bad start's particles (red) over its grid density (grey)."),
         ("figures/chapter3_bad_start.png", "Left: F(t) of both starts, particles (solid) and grid (dashed). Right: "
                                            "the first variation at the end, and each neuron's y (ticks).")],
        [{"start": "good, y ~ U[-2, 2]", "F(0)": s["energy_initial"], f"F({t})": s["energy_final"],
          f"grid F({t})": s["grid_energy_final"], "max abs psi(1, y)": stall["psi_max_good"]},
         {"start": "bad, y ~ -2 + 0.1 N(0, 1)", "F(0)": b["energy_initial"], f"F({t})": b["energy_final"],
          f"grid F({t})": b["grid_energy_final"], "max abs psi(1, y)": stall["psi_max_bad"]}])


def _sweep(run: Run, sizes: Sizes, seed: int, good: Path, s: dict) -> list[dict]:
    """F(t) and W2(particles, grid density) for each N and seed; seed ``seed`` by ``monge flow``, others in-process."""
    grid, density = _grid(good, s)
    density = torch.from_numpy(density)
    rows = []
    for n in sizes.sweep:
        if n == sizes.n:
            folder, first = good, s
        else:
            folder, first = _flow(run, f"flow-sweep-n{n}", sizes, n, seed, frames=6)
        energies = [first["energy_final"]]
        w2 = [first["grid_w2_final"] if "grid_w2_final" in first and first["grid_cells"] == list(grid.shape)
              else grid_wasserstein(np.load(folder / "particles.npy"), density, grid)]
        for other in range(seed + 1, seed + sizes.seeds):
            net, energy = examples.rbf(n=n, seed=other)
            result = flow(net, energy, sizes.t, sizes.dt, record_every=sizes.t, snapshots=0)
            energies.append(float(result.energy[-1]))
            w2.append(grid_wasserstein(result.network.particles, density, grid))
        energies, w2 = np.array(energies), np.array(w2)
        spread = energies.std(ddof=1) / np.sqrt(len(energies)) if len(energies) > 1 else 0.0
        rows.append({"N": n, f"F (seed {seed})": float(energies[0]), "F mean": float(energies.mean()),
                     "F stderr": float(spread), f"W2 (seed {seed})": float(w2[0]), "W2 mean": float(w2.mean()),
                     f"seconds (seed {seed})": first["seconds_flow"], "energies": energies.tolist(), "w2": w2.tolist()})
    _sweep_figure(run, sizes, s, rows)
    return [{k: v for k, v in row.items() if k not in ("energies", "w2")} for row in rows]


def _slope(table: list[dict]) -> float:
    """The fitted log-log slope of the mean W2 against N."""
    return float(np.polyfit(np.log([r["N"] for r in table]), np.log([r["W2 mean"] for r in table]), 1)[0])


def _sweep_figure(run: Run, sizes: Sizes, s: dict, rows: list[dict]) -> None:
    from matplotlib.figure import Figure

    ns = np.array([r["N"] for r in rows])
    fig = Figure(figsize=(10.0, 4.0), layout="constrained")
    left, right = fig.subplots(1, 2)
    for ax, key, mean in ((left, "energies", "F mean"), (right, "w2", "W2 mean")):
        for r in rows:
            ax.plot(np.full(len(r[key]), r["N"]), r[key], "o", color="0.6", ms=4, mfc="none")
        ax.plot(ns, [r[mean] for r in rows], "s-", color="#1f77b4", label=f"mean over {sizes.seeds} seeds")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.set_xticks([], minor=True)
        ax.set_xlabel("N (neurons)")
    left.axhline(s["grid_energy_final"], color="#2ca02c", ls="--", label=r"grid $F(\rho_t)$")
    left.set_ylabel(f"F at t = {sizes.t:g}")
    left.set_title("Energy at the end against N (grey: each seed)")
    slope = _slope(rows)
    fit = np.exp(np.polyval(np.polyfit(np.log(ns), np.log([r["W2 mean"] for r in rows]), 1), np.log(ns)))
    right.plot(ns, fit, ":", color="black", label=f"fit: slope {slope:.2f}")
    right.set_ylabel(f"$W_2$(particles, grid density) at t = {sizes.t:g}")
    right.set_title("Particles against the grid density")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    run.save_figure(fig, "chapter3_sweep.png")


def _sweep_section(sizes: Sizes, seed: int, s: dict, table: list[dict]) -> Section:
    t = f"{sizes.t:g}"
    first, last = table[0], table[-1]
    means, w2 = ([r[k] for r in table] for k in ("F mean", "W2 mean"))
    root = np.sqrt(sizes.seeds)
    listed = ", ".join(f"{r['F mean']:.3e} (N = {r['N']})" for r in table)
    return Section(
        "More neurons: the sweep over N",
        ["The particle flow is the mean-field flow of the empirical measure mu_N = 1/N sum_i delta_xi_i: as N grows "
         f"it approaches the flow of the density. F at t = {t}, mean over {sizes.seeds} seeds: {listed}: "
         + ("it falls with N" if all(np.diff(means) < 0) else "it does not fall steadily with N at these sizes")
         + f". The seeds spread (standard deviation {first['F stderr'] * root:.1e} at N = {first['N']}, "
         f"{last['F stderr'] * root:.1e} at N = {last['N']}): one seed per N can "
         f"misorder the sizes. The limit itself is not known exactly: the grid's F(rho_{t}) = "
         f"{s['grid_energy_final']:.3e} carries the error of its cells (the upwind scheme's numerical diffusion).",
         f"W_2 between the particles at t = {t} and the grid density "
         + ("falls" if all(np.diff(w2) < 0) else "goes")
         + f" from {first['W2 mean']:.3f} (N = {first['N']}) to {last['W2 mean']:.3f} (N = {last['N']}), a fitted "
         f"slope of {_slope(table):.2f} in log-log: the sampling error of N points in the plane, about N^(-1/2), "
         f"until the grid's own error of the cells shows. Seed {seed} of each N is a run folder flow-sweep-n<N>/ "
         f"({s['n']}: flow-rbf/), the others ran in-process; seconds are the flow's own on this machine (each step costs "
         "N^2 kernel evaluations)."],
        [("figures/chapter3_sweep.png", f"F at t = {t} (left) and W_2 to the grid density (right) against N, "
                                        "log-log: each seed (grey) and the mean.")],
        table)
