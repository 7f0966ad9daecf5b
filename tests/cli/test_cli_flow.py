import json

import numpy as np
import pytest

from .conftest import read_json

PNG, GIF = b"\x89PNG\r\n\x1a\n", b"GIF89a"


@pytest.fixture(scope="module")
def rbf_run(tmp_path_factory):
    """One small run of ``monge flow --grid``, shared by the tests that read it."""
    from monge.cli.main import main

    out = tmp_path_factory.mktemp("flow") / "run"
    assert main(["flow", "--n", "40", "--t", "1", "--dt", "0.05", "--grid", "--grid-cells", "64x32", "--frames", "5", "--out", str(out),
                 "--quiet"]) == 0
    return out


def test_run_folder(rbf_run):
    config = read_json(rbf_run / "config.json")
    assert config["command"] == "flow"
    assert (config["example"], config["n"], config["t"], config["dt"], config["grid_cells"]) == ("rbf", 40, 1.0, 0.05,
                                                                                                 [64, 32])
    for name in ("fits.png", "particles.png", "energy.png", "grid.png"):
        assert (rbf_run / "figures" / name).read_bytes()[:8] == PNG
    assert (rbf_run / "figures" / "particles.gif").read_bytes()[:6] == GIF
    assert not list(rbf_run.rglob("*.tmp*"))
    summary = read_json(rbf_run / "summary.json")
    assert all((rbf_run / name).exists() for name in summary["files"])


def test_particles_energy_and_metrics(rbf_run):
    s = read_json(rbf_run / "summary.json")
    particles = np.load(rbf_run / "particles.npy")
    assert particles.shape == (40, 2) and s["particle_columns"] == ["c", "y"]
    energy = np.load(rbf_run / "energy.npy")
    assert energy.shape == (21, 2) and energy[0, 0] == 0 and energy[-1, 0] == pytest.approx(1.0)
    assert energy[0, 1] == s["energy_initial"] and energy[-1, 1] == s["energy_final"]
    assert s["energy_final"] < s["energy_initial"] and s["energy_non_increasing"]
    assert s["grad_max_final"] > 0 and 0 <= s["dissipation_error"] < 0.05
    lines = [json.loads(line) for line in (rbf_run / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 21 and [line["energy"] for line in lines] == energy[:, 1].tolist()
    assert {"t", "energy", "grad_max", "dissipation", "grid_energy", "grid_mass"} <= set(lines[0])
    with np.load(rbf_run / "snapshots.npz") as data:
        assert data["particles"].shape[1:] == (40, 2) and data["times"][-1] == pytest.approx(1.0)
        np.testing.assert_array_equal(data["particles"][-1], particles)


def test_grid_summary(rbf_run):
    s = read_json(rbf_run / "summary.json")
    assert s["grid_cells"] == [64, 32] and s["grid_box"] == [[-8.0, -4.0], [8.0, 4.0]]
    assert s["grid_mass_error"] < 1e-13 and s["grid_rho_min"] >= 0 and s["grid_energy_non_increasing"]
    assert s["grid_energy_initial"] == pytest.approx(0.0688683, abs=1e-7)
    assert s["grid_energy_final"] < s["grid_energy_initial"]
    assert 0 < s["grid_w2_initial"] < 1 and 0 < s["grid_w2_final"] < 1
    assert s["grid_boundary_mass"] < 1e-6 and s["grid_extra_substeps"] == 0
    with np.load(rbf_run / "grid.npz") as data:
        assert data["density"].shape == (64, 32) and data["edges_0"].shape == (65,)
        assert data["energy"][-1] == s["grid_energy_final"]


def test_prints_progress_and_the_grid(monge, tmp_path):
    code, out, err = monge("flow", "--n", "20", "--t", "0.5", "--dt", "0.25", "--grid", "--grid-cells", "48x24",
                           "--frames", "3", "--out", tmp_path / "run")
    assert code == 0, err
    assert "t =    0.500" in out and "W2(particles, grid)" in out
    assert "broke the CFL condition" in out and "extra sub-steps" in out  # dt = 0.25 needs sub-steps here
    s = read_json(tmp_path / "run" / "summary.json")
    assert s["grid_extra_substeps"] > 0 and s["grid_rho_min"] >= 0 and s["grid_cfl_max"] > 0.5


def test_relu_teacher_and_lazy_scaling(monge, tmp_path):
    code, _, err = monge("flow", "--example", "relu-teacher", "--n", "20", "--t", "0.5", "--scaling", "lazy", "--frames", "3",
                         "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    s = read_json(tmp_path / "run" / "summary.json")
    assert s["particle_columns"] == ["omega", "theta_1", "theta_2"] and s["dt"] == 0.05 and s["scaling"] == "lazy"
    assert np.load(tmp_path / "run" / "particles.npy").shape == (20, 3)
    assert s["energy_final"] < s["energy_initial"]


def test_a_file_of_samples(monge, tmp_path):
    """A .csv fitted with bumps (and the grid), a .npy with ReLU neurons."""
    x = np.linspace(0, 2, 50)
    rows = np.stack([x, np.sin(np.pi * x)], 1)
    csv, npy = tmp_path / "samples.csv", tmp_path / "samples.npy"
    csv.write_text("x,f\n" + "\n".join(f"{a},{b}" for a, b in rows))
    np.save(npy, rows)
    code, _, err = monge("flow", "--example", csv, "--n", "30", "--t", "0.5", "--dt", "0.01", "--grid",
                         "--grid-cells", "40x40", "--frames", "3", "--out", tmp_path / "bumps", "--quiet")
    assert code == 0, err
    s = read_json(tmp_path / "bumps" / "summary.json")
    assert s["example"] == "samples.csv" and s["unit"] == "GaussianBump(d=1, variance=0.04)"
    assert s["energy_final"] < s["energy_initial"]
    assert s["grid_box"] == [[-8.0, -1.0], [8.0, 3.0]] and s["grid_mass_error"] < 1e-13
    code, _, err = monge("flow", "--example", npy, "--unit", "relu", "--n", "30", "--t", "0.5", "--frames", "3",
                         "--out", tmp_path / "relu", "--quiet")
    assert code == 0, err
    s = read_json(tmp_path / "relu" / "summary.json")
    assert s["particle_columns"] == ["omega", "theta_1", "theta_b"] and s["energy_final"] < s["energy_initial"]


@pytest.mark.parametrize("args, words", [
    (["--example", "gaussian"], ["example (--example): 'gaussian'", "rbf, relu-teacher", ".npy/.csv"]),
    (["--dt", "0"], ["dt (--dt): 0.0", "(0, inf)"]),
    (["--dt", "-0.1"], ["dt (--dt): -0.1"]),
    (["--dt", "fast"], ["dt (--dt): 'fast'", "a number"]),
    (["--t", "0"], ["t (--t): 0.0", "(0, inf)"]),
    (["--t", "nan"], ["t (--t): nan"]),
    (["--n", "0"], ["n (--n): 0", "an integer >= 1"]),
    (["--n", "2.5"], ["n (--n): '2.5'", "an integer"]),
    (["--particles", "x"], ["n (--n): 'x'"]),
    (["--lam", "-1"], ["lam (--lam): -1.0", "[0, inf)"]),
    (["--method", "heun"], ["method (--method): 'heun'", "euler, rk4, adaptive"]),
    (["--scaling", "ntk"], ["scaling (--scaling): 'ntk'", "mean-field, lazy"]),
    (["--unit", "relu"], ["unit (--unit): 'relu'", "FILE"]),
    (["--example", "relu-teacher", "--bad-start"], ["bad_start (--bad-start)", "rbf"]),
    (["--example", "relu-teacher", "--grid"], ["grid (--grid)", "3 per neuron"]),
    (["--grid", "--scaling", "lazy"], ["grid (--grid)", "mean-field"]),
    (["--grid-cells", "10x10"], ["add --grid"]),
    (["--no-substep"], ["add --grid"]),
    (["--grid", "--grid-cells", "10"], ["grid_cells (--grid-cells): '10'", "NCxNY"]),
    (["--grid", "--grid-cells", "1x10"], ["grid_cells (--grid-cells): (1, 10)", ">= 2"]),
    (["--grid", "--grid-box", "1,0,0,1"], ["grid_box (--grid-box): (1.0, 0.0, 0.0, 1.0)", "LO < HI"]),
    (["--grid", "--grid-box", "20,30,20,30"], ["grid_box (--grid-box)", "no mass inside"]),
    (["--grid", "--no-substep", "--dt", "5"], ["dt (--dt): 5", "CFL", "take --dt <="]),
    (["--threads", "0"], ["threads (--threads): 0"]),
    (["--threads", "two"], ["threads (--threads): 'two'"]),
    (["--frames", "1"], ["frames (--frames): 1", ">= 2"]),
])
def test_bad_input_is_one_line_and_writes_nothing(monge, tmp_path, args, words):
    code, out, err = monge("flow", *args, "--out", tmp_path / "run")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("monge flow: error: ")
    assert all(word in err for word in words), err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("content, words", [
    ("1,2,3\n4,5,6\n", ["shape (2, 3)", "(x, f(x))"]),
    ("1,2\n", ["spanning no interval"]),
    ("1,2\n1,3\n", ["spanning no interval"]),
    ("0,1\n1,nan\n", ["NaN"]),
])
def test_bad_files(monge, tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, _, err = monge("flow", "--example", path, "--out", tmp_path / "run")
    assert code == 2 and len(err.strip().splitlines()) == 1 and all(word in err for word in words), err
    code, _, err = monge("flow", "--example", tmp_path / "missing.npy", "--out", tmp_path / "run")
    assert code == 2 and "missing.npy" in err


def test_torchrun_two_processes_write_the_one_process_run(monge, tmp_path):
    """``torchrun --nproc_per_node 2 -m monge flow``: the particles are sharded, the run folder is the same."""
    import os
    import subprocess
    import sys

    argv = ["--t", "1", "--dt", "0.05", "--frames", "3"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "monge", "flow", "--particles", "30", *argv, "--out", str(tmp_path / "two")],
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shared by 2 processes" in done.stdout
    code, _, err = monge("flow", "--n", "30", *argv, "--out", tmp_path / "one", "--quiet")
    assert code == 0, err
    two, one = read_json(tmp_path / "two" / "summary.json"), read_json(tmp_path / "one" / "summary.json")
    assert two["processes"] == 2 and one["processes"] == 1
    np.testing.assert_allclose(np.load(tmp_path / "two" / "particles.npy"), np.load(tmp_path / "one" / "particles.npy"),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.load(tmp_path / "two" / "energy.npy"), np.load(tmp_path / "one" / "energy.npy"),
                               rtol=1e-12)
    assert two["energy_final"] == pytest.approx(one["energy_final"], rel=1e-12)


@pytest.mark.parametrize("args", [["--dt", "1e5"], ["--example", "relu-teacher", "--dt", "50"]])
def test_a_step_too_long_is_one_line_naming_dt_and_leaves_no_folder(monge, tmp_path, args):
    """The energy of a gradient flow never rises: a step that raises it stops the run, naming --dt."""
    code, _, err = monge("flow", *args, "--n", "20", "--frames", "3", "--out", tmp_path / "run", "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("monge flow: error: flow: the energy rose from ")
    assert "(step 1)" in err and "reduce the time step dt (--dt)" in err
    assert not (tmp_path / "run").exists()


def test_a_reused_out_is_refused_in_one_line_and_keeps_the_first_run(monge, tmp_path):
    """Two runs' files never mix: a second run into the folder of a first (with its grid.npz) is refused."""
    out = tmp_path / "run"
    code, _, err = monge("flow", "--n", "10", "--t", "0.1", "--dt", "0.05", "--grid", "--grid-cells", "16x8",
                         "--frames", "2", "--out", out, "--quiet")
    assert code == 0, err
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    code, out_text, err = monge("flow", "--n", "10", "--t", "0.1", "--frames", "2", "--out", out)
    assert code == 2 and out_text == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("monge flow: error: out: ") and "is not empty" in err
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before
