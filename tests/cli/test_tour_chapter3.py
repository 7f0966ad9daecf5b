"""``monge tour --quick``, chapter 3 (the tour's shared run): the RBF flow, the bad start and the sweep over N, quick sizes.

Quick targets (N = 100 bumps, Euler dt = 0.01 to t = 15, grid 80 x 40 cells; measured at seed 0 in
brackets): F falls more than 20-fold (0.0886 -> 1.84e-3); the dissipation identity holds to 1e-2
(1.3e-3); the bad start ends more than 5 times higher than the good one, particles (2.5e-2) and grid
(2.1e-2); W2(particles, grid) at the end is below 0.5 (0.31) and not above its value at t = 0 (0.37);
the bad start's first variation is more than twice the good one's (0.095 vs 0.026); W2 falls with N
(0.57, 0.29, 0.20 for N = 25, 100, 400).
"""

import json
import re

import pytest

from .conftest import read_json


pytestmark = pytest.mark.xdist_group("tour")


@pytest.fixture(scope="module")
def chapter3(quick_tour):
    return quick_tour, read_json(quick_tour / "summary.json")


def test_the_flow_lowers_the_energy_and_dissipates_as_it_should(chapter3):
    _, summary = chapter3
    r = summary["chapter3"]
    assert r["rbf_n"] == 100 and r["rbf_t"] == 15
    assert r["rbf_energy_final"] < r["rbf_energy_initial"] / 20
    assert r["grid_energy_final"] < r["grid_energy_initial"] / 20
    assert 0 <= r["dissipation_error"] < 1e-2
    assert 0 <= r["bad_start_dissipation_error"] < 1e-2
    assert r["grid_mass_error"] < 1e-12


def test_the_bad_start_stalls_above_the_good_one(chapter3):
    r = chapter3[1]["chapter3"]
    assert r["bad_start_energy_final"] > 5 * r["rbf_energy_final"]
    assert r["bad_start_grid_energy_final"] > 5 * r["grid_energy_final"]
    assert r["psi_max_bad"] > 2 * r["psi_max_good"] > 0


def test_particles_stay_close_to_the_grid_density(chapter3):
    r = chapter3[1]["chapter3"]
    assert 0 < r["grid_w2_final"] < 0.5
    assert r["grid_w2_final"] <= r["grid_w2_initial"]
    w2 = [r[f"sweep_w2_n{n}"] for n in (25, 100, 400)]
    assert w2[0] > w2[1] > w2[2] > 0
    assert r["sweep_w2_slope"] < -0.25
    assert all(r[f"sweep_energy_n{n}"] < r["rbf_energy_initial"] for n in (25, 100, 400))


def test_every_figure_is_in_the_reports(chapter3):
    out, summary = chapter3
    figures = summary["figures"]
    assert len(figures) >= 8 and "figures/chapter3_sweep.png" in figures and "figures/chapter3_bad_start.png" in figures
    assert all(path.endswith(".png") and (out / path).is_file() for path in figures)
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(figures)
    md = (out / "report.md").read_text()
    assert re.findall(r"!\[[^]]*\]\(([^)]+)\)", md) == figures
    assert "flow-rbf/figures/particles.gif" in md and (out / "flow-rbf" / "figures" / "particles.gif").is_file()


def test_sub_runs_are_complete_run_folders(chapter3):
    out, _ = chapter3
    for folder, n, bad in (("flow-rbf", 100, False), ("flow-rbf-bad-start", 100, True), ("flow-sweep-n25", 25, False),
                           ("flow-sweep-n400", 400, False)):
        config = read_json(out / folder / "config.json")
        assert config["command"] == "flow" and config["n"] == n and config["bad_start"] is bad and config["t"] == 15
        assert (out / folder / "particles.npy").is_file()
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len([s for s in steps if s["step"].startswith("chapter 3")]) == 4
