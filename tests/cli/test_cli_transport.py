import json
import math

import numpy as np
import pytest
import torch

from monge.geometry import crossings
from monge.plots.transport import euclidean_distance
from monge.transport import kantorovich, matching, sliced, transport_1d

from .conftest import read_json

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """One run of the monge6 example, shared by the tests that read it."""
    from monge.cli.main import main

    out = tmp_path_factory.mktemp("monge6") / "run"
    assert main(["transport", "--example", "monge6", "--out", str(out), "--quiet"]) == 0
    return out


def test_example_summary(example):
    s = read_json(example / "summary.json")
    assert s["n_permutations"] == 720
    assert s["text_permutation"] == [1, 5, 4, 6, 3, 2]
    assert sorted(s["optimal_permutation"]) == [1, 2, 3, 4, 5, 6]
    assert s["distance_optimal"] <= s["distance_text_permutation"]
    assert s["crossings_optimal"] == 0
    assert s["solvers_agree"] is True
    assert set(s["distances"]) == {"brute_force", "lsa", "lapjv", "network_simplex", "auction", "kantorovich"}
    for name, distance in s["distances"].items():
        assert distance == pytest.approx(s["distance_optimal"], rel=1e-9, abs=0), name
        assert s["costs"][name] * 6 == pytest.approx(distance, rel=1e-12)


def test_example_numbers_follow_from_its_points(example):
    s = read_json(example / "summary.json")
    with np.load(example / "points.npz") as data:
        x, z = data["x"], data["z"]
    assert x.shape == z.shape == (6, 2)
    text, best = np.array(s["text_permutation"]) - 1, np.array(s["optimal_permutation"]) - 1
    assert euclidean_distance(x, z, text) == pytest.approx(s["distance_text_permutation"], rel=1e-12)
    assert euclidean_distance(x, z, best) == pytest.approx(s["distance_optimal"], rel=1e-12)
    assert crossings(x, z, text) == s["crossings_text"]
    lp = kantorovich(torch.from_numpy(x), torch.from_numpy(z), p=1.0)
    assert 6 * float(lp.cost) == pytest.approx(s["distance_optimal"], rel=1e-9)


def test_example_files(example):
    config = read_json(example / "config.json")
    assert config["command"] == "transport" and config["example"] == "monge6" and config["p"] == 1.0
    assert (example / "figures" / "figure_2_2.png").read_bytes()[:8] == PNG
    solvers = [json.loads(line)["solver"] for line in (example / "metrics.jsonl").read_text().splitlines()]
    assert solvers == ["brute_force", "lsa", "lapjv", "network_simplex", "auction", "kantorovich"]
    assert not [p for p in example.rglob("*.tmp")]


def test_example_prints_both_distances(monge, tmp_path):
    code, out, err = monge("transport", "--example", "monge6", "--out", tmp_path / "run", "--seed", "3")
    assert code == 0, err
    s = read_json(tmp_path / "run" / "summary.json")
    assert f"{s['distance_text_permutation']:.6f}" in out
    assert f"{s['distance_optimal']:.6f}" in out
    assert "n * cost" in out


def test_example_depends_on_the_seed(monge, tmp_path, example):
    assert monge("transport", "--example", "monge6", "--out", tmp_path / "s1", "--seed", "1", "--quiet")[0] == 0
    with np.load(tmp_path / "s1" / "points.npz") as one, np.load(example / "points.npz") as zero:
        assert not np.allclose(one["x"], zero["x"])


def test_a_previous_run_is_never_overwritten(monge, tmp_path):
    """Two runs' files never mix: a second run into the folder of a first is refused in one line."""
    assert monge("transport", "--example", "monge6", "--out", tmp_path / "run", "--quiet")[0] == 0
    before = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()}
    code, _, err = monge("transport", "--example", "monge6", "--out", tmp_path / "run", "--seed", "1", "--quiet")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"monge transport: error: out: {tmp_path / 'run'} is not empty")
    assert {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()} == before


def test_the_command_maps_every_flag_to_the_experiment():
    from dataclasses import fields

    from monge.cli import transport as command
    from monge.experiments import transport as experiment

    assert command.FIELDS == tuple(f.name for f in fields(experiment.Config))


def _save(path, array):
    if path.suffix == ".npy":
        np.save(path, array)
    else:
        np.savetxt(path, array, delimiter=",")
    return path


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_matching_of_two_files(monge, tmp_path, rng, suffix):
    x, z = rng.normal(size=(40, 2)), rng.normal(size=(40, 2)) + 1.0
    a, b = _save(tmp_path / f"a{suffix}", x), _save(tmp_path / f"b{suffix}", z)
    code, out, err = monge("transport", a, b, "--out", tmp_path / "run")
    assert code == 0, err
    s = read_json(tmp_path / "run" / "summary.json")
    expected = matching(torch.from_numpy(x), torch.from_numpy(z), p=2.0)
    assert (s["n"], s["m"], s["d"], s["p"], s["kind"]) == (40, 40, 2, 2.0, "matching")
    assert s["cost"] == pytest.approx(float(expected.cost), rel=1e-9)
    assert s["wasserstein"] == pytest.approx(math.sqrt(s["cost"]), rel=1e-12)
    assert s["distance"] == pytest.approx(40 * s["cost"], rel=1e-12)
    perm = np.load(tmp_path / "run" / "permutation.npy")
    assert sorted(perm.tolist()) == list(range(40))
    with np.load(tmp_path / "run" / "plan.npz") as plan:
        assert plan["rows"].tolist() == list(range(40))
        assert plan["cols"].tolist() == perm.tolist()
        cost = (plan["mass"] * ((x[plan["rows"]] - z[plan["cols"]]) ** 2).sum(1)).sum()
    assert cost == pytest.approx(s["cost"], rel=1e-9)
    assert (tmp_path / "run" / "figures" / "matching.png").read_bytes()[:8] == PNG
    assert f"{s['cost']:.6g}" in out
    (line,) = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert json.loads(line)["cost"] == s["cost"]


def test_csv_with_header_and_points_on_the_line(monge, tmp_path, rng):
    u, v = rng.normal(size=30), rng.normal(size=45)
    (tmp_path / "u.csv").write_text("value\n" + "\n".join(repr(float(t)) for t in u) + "\n")
    np.save(tmp_path / "v.npy", v)
    code, _, err = monge("transport", tmp_path / "u.csv", tmp_path / "v.npy", "--p", "1", "--out", tmp_path / "run")
    assert code == 0, err
    s = read_json(tmp_path / "run" / "summary.json")
    assert (s["n"], s["m"], s["d"], s["kind"]) == (30, 45, 1, "kantorovich")
    assert s["cost"] == pytest.approx(float(transport_1d(u, v, p=1).cost), rel=1e-9)
    assert not (tmp_path / "run" / "figures" / "matching.png").exists()  # figures for d = 2 only


@pytest.mark.parametrize("weights_suffix", [".npy", ".csv"])
def test_weighted_transport(monge, tmp_path, rng, weights_suffix):
    x, z = rng.normal(size=(12, 2)), rng.normal(size=(9, 2))
    wa, wb = rng.uniform(size=12), rng.uniform(size=9)
    wb *= wa.sum() / wb.sum()
    files = [_save(tmp_path / "x.npy", x), _save(tmp_path / "z.csv", z),
             _save(tmp_path / f"wa{weights_suffix}", wa), _save(tmp_path / f"wb{weights_suffix}", wb)]
    code, _, err = monge("transport", files[0], files[1], "--weights-a", files[2], "--weights-b", files[3],
                         "--out", tmp_path / "run")
    assert code == 0, err
    s = read_json(tmp_path / "run" / "summary.json")
    expected = kantorovich(torch.from_numpy(x), torch.from_numpy(z), torch.from_numpy(wa), torch.from_numpy(wb))
    assert s["kind"] == "kantorovich"
    assert s["cost"] == pytest.approx(float(expected.cost), rel=1e-6)
    with np.load(tmp_path / "run" / "plan.npz") as plan:
        rows = np.bincount(plan["rows"], plan["mass"], minlength=12)
        cols = np.bincount(plan["cols"], plan["mass"], minlength=9)
    np.testing.assert_allclose(rows, wa / wa.sum(), atol=1e-6)
    np.testing.assert_allclose(cols, wb / wb.sum(), atol=1e-6)
    assert not (tmp_path / "run" / "permutation.npy").exists()


def test_one_weight_file_makes_the_other_side_uniform_with_the_same_mass(monge, tmp_path, rng):
    x, z, wa = rng.normal(size=(8, 2)), rng.normal(size=(8, 2)), 10 * rng.uniform(size=8)
    files = [_save(tmp_path / n, v) for n, v in (("x.npy", x), ("z.npy", z), ("wa.npy", wa))]
    assert monge("transport", *files[:2], "--weights-a", files[2], "--out", tmp_path / "run", "--quiet")[0] == 0
    expected = kantorovich(torch.from_numpy(x), torch.from_numpy(z), torch.from_numpy(wa / wa.sum()), None)
    assert read_json(tmp_path / "run" / "summary.json")["cost"] == pytest.approx(float(expected.cost), rel=1e-9)


@pytest.mark.parametrize("method", ["auto", "exact", "matching", "kantorovich", "lsa", "lapjv",
                                    "network_simplex", "auction", "sparse"])
def test_every_exact_method_gives_the_same_cost(monge, tmp_path, rng, method):
    x, z = rng.normal(size=(25, 3)), rng.normal(size=(25, 3))
    files = [_save(tmp_path / "x.npy", x), _save(tmp_path / "z.npy", z)]
    code, _, err = monge("transport", *files, "--method", method, "--p", "1.5", "--out", tmp_path / "run")
    assert code == 0, err
    s = read_json(tmp_path / "run" / "summary.json")
    expected = matching(torch.from_numpy(x), torch.from_numpy(z), p=1.5, method="lsa")
    assert s["cost"] == pytest.approx(float(expected.cost), rel=1e-9)
    assert s["method"] == method
    assert (tmp_path / "run" / "plan.npz").exists()


def _least_reduced_cost(x, z, f, g, rows=500):
    """min over all pairs of |x_i - z_j|^2 - f_i - g_j, a block of rows at a time (points of the unit square:
    the expansion |x|^2 + |z|^2 - 2 x.z is exact to about 1e-15)."""
    least, z2 = np.inf, (z**2).sum(1) - g
    for start in range(0, len(x), rows):
        block = x[start:start + rows]
        reduced = ((block**2).sum(1) - f[start:start + rows])[:, None] + z2[None] - 2 * block @ z.T
        least = min(least, float(reduced.min()))
    return least


def test_a_matching_of_25000_points_is_certified_over_every_pair(monge, tmp_path):
    """Past the dense solvers: the command takes the sparse matching, and its cost is proved optimal here,
    independently of the solver, by dual potentials feasible on all n^2 pairs (weak duality)."""
    n = 25_000
    rng = np.random.default_rng(7)
    x, z = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2))
    files = [_save(tmp_path / "x.npy", x), _save(tmp_path / "z.csv", z)]
    code, out, err = monge("transport", *files, "--out", tmp_path / "run")
    assert code == 0, err
    s = read_json(tmp_path / "run" / "summary.json")
    assert (s["n"], s["kind"], s["solver"], s["method"]) == (n, "matching", "sparse", "auto")
    certificate = f"certified optimal: duality gap {s['duality_gap']:.3g} per point after {s['n_iter']} certificate rounds"
    assert certificate in out
    perm = np.load(tmp_path / "run" / "permutation.npy")
    assert np.array_equal(np.sort(perm), np.arange(n))
    primal = float(((x - z[perm]) ** 2).sum(1).mean())
    assert s["cost"] == pytest.approx(primal, rel=1e-12)
    # potentials of the same problem (the solver is deterministic: the same matching)
    again = matching(torch.from_numpy(x), torch.from_numpy(z), p=2.0, method="sparse")
    assert torch.equal(again.permutation, torch.from_numpy(perm))
    f, g = again.f.numpy(), again.g.numpy()
    assert _least_reduced_cost(x, z, f, g) >= -1e-12  # f_i + g_j <= C_ij for every pair
    assert primal - (f.sum() + g.sum()) / n <= 1e-12 * primal  # so no matching costs less
    with np.load(tmp_path / "run" / "plan.npz") as plan:
        assert len(plan["mass"]) == n and plan["cols"].tolist() == perm.tolist()
    assert (tmp_path / "run" / "figures" / "matching.png").read_bytes()[:8] == PNG


def test_an_unequal_problem_beyond_memory_goes_to_the_sparse_solver(monge, tmp_path, rng, monkeypatch):
    """Unequal clouds whose dense programme does not fit (3000 onto 2999 points with 1 MiB, as 30,000 would be on
    a laptop) go to Kantorovich's sparse solver: the dense programme's optimum, certified, and --method sparse
    asks for it at any size."""
    from monge.transport import _memory

    files = [_save(tmp_path / "x.npy", rng.uniform(size=(3000, 2))),
             _save(tmp_path / "z.csv", rng.uniform(size=(2999, 2)))]
    code, _, err = monge("transport", *files, "--out", tmp_path / "dense")
    assert code == 0, err
    small = [_save(tmp_path / "xs.npy", rng.uniform(size=(50, 2))), _save(tmp_path / "zs.npy", rng.uniform(size=(60, 2)))]
    code, _, err = monge("transport", *small, "--method", "sparse", "--out", tmp_path / "small")
    assert code == 0, err
    monkeypatch.setattr(_memory, "available_bytes", lambda device: 2**20)
    code, _, err = monge("transport", *files, "--out", tmp_path / "run")
    assert code == 0, err
    dense, s = read_json(tmp_path / "dense" / "summary.json"), read_json(tmp_path / "run" / "summary.json")
    assert (dense["solver"], s["solver"], s["kind"]) == ("network_simplex", "sparse", "kantorovich")
    assert s["cost"] == pytest.approx(dense["cost"], rel=1e-9) and s["n_iter"] >= 1
    assert read_json(tmp_path / "small" / "summary.json")["solver"] == "sparse"


def test_sliced(monge, tmp_path, rng):
    x, z = rng.normal(size=(50, 2)), rng.normal(size=(60, 2))
    files = [_save(tmp_path / "x.npy", x), _save(tmp_path / "z.npy", z)]
    code, _, err = monge("transport", *files, "--method", "sliced", "--out", tmp_path / "run", "--seed", "4")
    assert code == 0, err
    s = read_json(tmp_path / "run" / "summary.json")
    expected = sliced(torch.from_numpy(x), torch.from_numpy(z), p=2.0, n_directions=128, seed=4)
    assert s["cost"] == pytest.approx(float(expected.cost), rel=1e-12)
    assert s["cost"] <= float(kantorovich(torch.from_numpy(x), torch.from_numpy(z)).cost)  # a lower bound
    assert not (tmp_path / "run" / "plan.npz").exists()
    assert (tmp_path / "run" / "figures" / "matching.png").exists()


def _bad_inputs(tmp, rng):
    """(arguments, words the one-line error must contain), for every kind of bad input."""
    good = _save(tmp / "good.npy", rng.normal(size=(5, 2)))
    other = _save(tmp / "other.npy", rng.normal(size=(6, 2)))
    _save(tmp / "w5.npy", np.full(5, 0.2))
    (tmp / "text.npy").write_text("not an array")
    (tmp / "letters.csv").write_text("1,2\n3,x\n")
    (tmp / "ragged.csv").write_text("1,2\n3,4,5\n")
    (tmp / "empty.csv").write_text("")
    (tmp / "points.txt").write_text("1,2\n")
    np.save(tmp / "nan.npy", np.array([[0.0, 1.0], [np.nan, 2.0]]))
    np.save(tmp / "cube.npy", np.zeros((2, 2, 2)))
    np.save(tmp / "d3.npy", np.zeros((5, 3)))
    np.save(tmp / "strings.npy", np.array(["a", "b"]))
    np.save(tmp / "w4.npy", np.full(4, 0.25))
    np.save(tmp / "wneg.npy", np.array([0.5, 0.5, 0.5, -0.5, 0.0]))
    np.save(tmp / "wzero.npy", np.zeros(5))
    np.save(tmp / "w2d.npy", np.ones((5, 2)))
    np.save(tmp / "wbig.npy", np.full(5, 2.0))
    (tmp / "far.csv").write_text("1e200,0\n0,1e200\n-1e200,3\n4,5\n6,7\n")  # |x - z|^2 beyond float64
    (tmp / "full").mkdir()
    (tmp / "full" / "notes.txt").write_text("mine")
    return [
        ([tmp / "missing.npy", good], ["A", "no such file", "missing.npy"]),
        ([good, tmp / "missing.csv"], ["B", "no such file"]),
        ([tmp / "text.npy", good], ["A", "text.npy", "not a .npy file"]),
        ([tmp / "letters.csv", good], ["A", "line 2, column 2", "'x'", "expected a number"]),
        ([tmp / "ragged.csv", good], ["A", "line 2", "3 values"]),
        ([tmp / "empty.csv", good], ["A", "no rows"]),
        ([tmp / "points.txt", good], ["A", ".txt", "expected .npy or .csv"]),
        ([tmp / "nan.npy", good], ["A", "NaN", "(1, 0)"]),
        ([tmp / "cube.npy", good], ["A", "(2, 2, 2)", "expected (n, d)"]),
        ([tmp / "strings.npy", good], ["A", "dtype", "real numbers"]),
        ([good, tmp / "d3.npy"], ["B", "dimension 3", "dimension 2"]),
        ([good, good, "--weights-a", tmp / "w4.npy"], ["--weights-a", "4 weights", "5 points"]),
        ([good, good, "--weights-b", tmp / "wneg.npy"], ["--weights-b", "negative"]),
        ([good, good, "--weights-a", tmp / "wzero.npy"], ["--weights-a", "sum to 0"]),
        ([good, good, "--weights-a", tmp / "w2d.npy"], ["--weights-a", "(5, 2)"]),
        ([good, good, "--weights-a", tmp / "w5.npy", "--weights-b", tmp / "wbig.npy"], ["--weights-b", "sum to 10"]),
        ([good, other, "--method", "lsa"], ["method (--method): 'lsa'", "n = 5, m = 6", "kantorovich"]),
        ([good, good, "--weights-a", tmp / "w5.npy", "--method", "auction"],
         ["method (--method): 'auction'", "weights"]),
        ([good, good, "--p", "-1"], ["p (--p): -1.0", "p > 0"]),
        ([good, good, "--p", "nan"], ["p (--p): nan", "finite"]),
        ([good, good, "--p", "0.5", "--method", "sliced"], ["p (--p): 0.5", "p >= 1"]),
        ([good, good, "--method", "sliced", "--n-directions", "0"], ["n_directions (--n-directions): 0", ">= 1"]),
        ([good, tmp / "far.csv"], ["B (", "far.csv): coordinates too large for the cost |x - z|^2 in torch.float64",
                                   "expected clouds spanning less than", "rescale"]),
        ([tmp / "far.csv", good, "--p", "1"], ["A (", "coordinates too large for the cost |x - z|^1"]),
        ([good], ["A, B", "two point files"]),
        ([good, good, "--example", "monge6"], ["not both"]),
        (["--example", "monge6", "--p", "2"], ["--p", "p = 1"]),
        (["--example", "monge6", "--method", "lsa"], ["--method"]),
        ([good, good, "--out", tmp / "full"], ["out", "not empty", "notes.txt"]),
        ([good, good, "--out", tmp / "full" / "notes.txt"], ["out", "is a file"]),
    ]


def test_every_bad_input_is_one_clear_line(monge, tmp_path, rng, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args, words in _bad_inputs(tmp_path, rng):
        code, out, err = monge("transport", *args, "--quiet")
        assert code == 2, (args, err)
        assert err.startswith("monge transport: error: "), (args, err)
        assert err.count("\n") == 1, (args, err)
        for word in words:
            assert word in err, (args, word, err)
    assert not (tmp_path / "runs").exists()  # bad input writes no run folder
    assert (tmp_path / "full" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("args", [["--method", "simplex"], ["--example", "monge7"]])
def test_unknown_choices_are_usage_errors(monge, args):
    code, _, err = monge("transport", *args)
    assert code == 2
    assert "invalid choice" in err


def test_default_run_folder_is_under_runs(monge, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert monge("transport", "--example", "monge6", "--quiet")[0] == 0
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("transport-")
    assert (folder / "summary.json").exists()


def test_coordinates_beyond_the_range_of_the_cost_name_the_file(monge, tmp_path, rng):
    """Coordinates of 1e200 once gave scipy's 'cost matrix is infeasible': now one line naming the file."""
    far = _save(tmp_path / "far.npy", rng.normal(size=(20, 2)) * 1e200)
    near = _save(tmp_path / "near.npy", rng.normal(size=(20, 2)))
    for method in ("auto", "kantorovich", "sliced", "auction"):
        code, _, err = monge("transport", near, far, "--method", method, "--out", tmp_path / method)
        assert code == 2 and err.count("\n") == 1, err
        assert err.startswith(f"monge transport: error: B ({far}): coordinates too large for the cost |x - z|^2 "
                              "in torch.float64: the clouds span"), err
        assert "expected clouds spanning less than" in err and "infeasible" not in err
        assert not (tmp_path / method).exists()
