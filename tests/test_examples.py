"""The scripts of ``examples/`` run and measure what their docstrings say (about 20 s in all)."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = ["chapter1_networks", "chapter2_transport", "chapter3_meanfield"]


def run_example(name: str, capsys) -> tuple[dict, str]:
    """Import ``examples/<name>.py`` by path, run its ``main()``; its result and what it printed."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads, state = torch.get_num_threads(), torch.get_rng_state()
    try:
        result = module.main()
    finally:  # main() sets one thread and seeds torch, as a script may: leave the other tests as they were
        torch.set_num_threads(threads)
        torch.set_rng_state(state)
    return result, capsys.readouterr().out


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_is_a_script(name):
    source = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")
    assert source.startswith('"""') and f"python examples/{name}.py" in source
    assert "def main() -> dict:" in source and 'if __name__ == "__main__":\n    main()' in source
    assert "import monge._" not in source and "from monge._" not in source  # public API only


def test_chapter1(capsys):
    result, out = run_example("chapter1_networks", capsys)
    assert "test accuracy" in out
    assert result["test_accuracy"] >= 0.97  # README: 98.9-99.1% over seeds 0-2
    assert result["weights"] == 64 * 256 + 256 + 256 * 10 + 10  # Figure 1.1: W1, b1, W2, b2
    sup = result["sup_error"]
    assert result["widths"] == [2, 8, 32, 128]
    assert sup == sorted(sup, reverse=True) and sup[-1] < 1e-2 * sup[0]
    assert -2.3 < result["l2_slope"] < -1.5  # piecewise-linear interpolation: width^-2


def test_chapter2(capsys):
    result, out = run_example("chapter2_transport", capsys)
    assert "modes covered 8/8" in out
    monge = result["monge"]
    assert monge["same_permutation"]
    assert math.isclose(monge["brute_force_distance"], monge["matching_distance"], rel_tol=1e-12)
    assert monge["crossings"] == 0  # the optimal paths of the Euclidean cost never cross

    k = result["kantorovich"]
    assert math.isclose(k["dual_objective"], k["kantorovich_cost"], rel_tol=1e-9)  # strong duality
    costs = k["sinkhorn_costs"]
    gaps = [costs[eps] - k["kantorovich_cost"] for eps in sorted(costs, reverse=True)]
    assert all(gap > 0 for gap in gaps) and gaps == sorted(gaps, reverse=True)  # closer as eps falls
    assert gaps[-1] < 1e-3

    g = result["generator"]
    assert g["modes_covered"] == g["n_modes"] == 8
    assert g["high_quality"] >= 0.4  # measured: 58-64% over seeds 0-3
    assert g["w2_test"] < 1.5 * g["w2_floor"]


def test_chapter3(capsys):
    result, out = run_example("chapter3_meanfield", capsys)
    assert "dissipation identity" in out
    energy = result["energy"]
    assert all(later <= earlier for earlier, later in zip(energy, energy[1:]))  # the flow never raises F
    assert 0.06 < energy[0] < 0.07 and energy[-1] < 1e-3  # Rotskoff et al.: below 1e-3 by t = 30
    assert math.isclose(result["final_energy"], energy[-1], rel_tol=1e-9)
    assert result["dissipation_error"] < 1e-2
    assert result["grad_max"][-1] < 0.1 * result["grad_max"][0]

    grid_energy = result["grid_energy"]
    assert all(later <= earlier + 1e-15 for earlier, later in zip(grid_energy, grid_energy[1:]))
    assert max(abs(m - 1.0) for m in result["grid_mass"]) < 1e-12
    assert result["grid_rho_min"] >= 0
    assert abs(grid_energy[-1] - result["particle_energy_t2"]) < 0.2 * grid_energy[0]
    assert result["w2_particles_grid"] < 0.4


def test_example_runs_from_the_command_line():
    # one script as a user runs it (the quickest: the others differ only in what main() does)
    done = subprocess.run([sys.executable, "examples/chapter3_meanfield.py"], cwd=EXAMPLES.parent,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "done in" in done.stdout
