"""``monge.experiments.transport``: the library function gives what the command gives, and checks its settings."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from monge import experiments
from monge.cli.main import main
from monge.errors import InputError, InputTypeError
from monge.transport import matching

from ._folders import figures, files

transport = experiments.transport
TIMES = {"seconds"}


def _lines(printed, folder):
    """The run's printed lines without their timings and folder."""
    return [re.sub(r"\d+\.\d+ s\b", "T s", line) for line in printed.replace(str(folder), "FOLDER").splitlines()
            if not line.startswith("[KeOps]")]


def _same_folders(one, two):
    assert files(one) == files(two)
    for name in files(one):
        if name.endswith(".npy"):
            np.testing.assert_array_equal(np.load(one / name), np.load(two / name))
        elif name.endswith(".npz"):
            with np.load(one / name) as a, np.load(two / name) as b:
                assert sorted(a) == sorted(b)
                for key in a:
                    np.testing.assert_array_equal(a[key], b[key])
        elif name.endswith(".png"):
            assert (one / name).read_bytes() == (two / name).read_bytes(), name
    assert json.loads((one / "config.json").read_text()) == json.loads((two / "config.json").read_text())
    assert figures(one, TIMES) == figures(two, TIMES)


def _compare(tmp_path, capsys, config, argv):
    summary = transport.run(config, tmp_path / "python")
    printed = capsys.readouterr().out
    assert main(["transport", *argv, "--out", str(tmp_path / "cli")]) == 0
    assert _lines(capsys.readouterr().out, tmp_path / "cli") == _lines(printed, tmp_path / "python")
    _same_folders(tmp_path / "python", tmp_path / "cli")
    assert {k: v for k, v in summary.items() if k not in TIMES} == figures(tmp_path / "python", TIMES)
    return summary


def test_run_and_the_command_give_the_same_example(tmp_path, capsys):
    summary = _compare(tmp_path, capsys, transport.Config(example="monge6", seed=5), ["--example", "monge6",
                                                                                       "--seed", "5"])
    assert summary["solvers_agree"] and summary["n_permutations"] == 720
    config = json.loads((tmp_path / "python" / "config.json").read_text())
    assert config == {"command": "transport", "a": None, "b": None, "example": "monge6", "p": 1.0, "weights_a": None,
                      "weights_b": None, "method": None, "n_directions": 128, "seed": 5}


@pytest.mark.parametrize("method, sizes, weighted", [("auto", (12, 12), False), ("kantorovich", (9, 7), True),
                                                     ("sliced", (10, 8), False)])
def test_run_and_the_command_give_the_same_transport_offiles(tmp_path, capsys, rng, method, sizes, weighted):
    files = {"a": tmp_path / "x.npy", "b": tmp_path / "z.csv"}
    np.save(files["a"], rng.normal(size=(sizes[0], 2)))
    np.savetxt(files["b"], rng.normal(size=(sizes[1], 2)), delimiter=",")
    argv = [str(files["a"]), str(files["b"]), "--method", method, "--seed", "3", "--p", "1.5"]
    if weighted:
        files["weights_a"] = tmp_path / "wa.npy"
        np.save(files["weights_a"], rng.uniform(size=sizes[0]))
        argv += ["--weights-a", str(files["weights_a"])]
    config = transport.Config(**{k: str(v) for k, v in files.items()}, method=method, p=1.5, seed=3)
    summary = _compare(tmp_path, capsys, config, argv)
    assert summary["kind"] == {"auto": "matching"}.get(method, method)
    assert summary["A"] == str(files["a"]) and summary["p"] == 1.5


def test_the_default_is_the_example_and_paths_are_accepted(tmp_path, rng):
    assert transport.run(out=tmp_path / "default", quiet=True)["example"] == "monge6"
    np.save(tmp_path / "x.npy", rng.normal(size=(4, 2)))
    config = transport.Config(a=tmp_path / "x.npy", b=Path(tmp_path / "x.npy"))
    assert config.a == str(tmp_path / "x.npy")  # a path is kept as text, as config.json holds it
    assert transport.run(config, tmp_path / "files", quiet=True)["cost"] == 0.0


def test_resolve_fills_the_defaults_without_changing_the_config():
    files = transport.Config(a="x.npy", b="z.npy")
    assert (files.p, files.method) == (None, None)
    assert (transport.resolve(files).p, transport.resolve(files).method) == (2.0, "auto")
    example = transport.Config(example="monge6")
    assert (transport.resolve(example).p, transport.resolve(example).method) == (1.0, None)
    assert example.p is None
    with pytest.raises(AttributeError):
        example.p = 2.0  # frozen


@pytest.mark.parametrize("settings, words", [
    (dict(example="monge7"), "example (--example): 'monge7'; expected one of monge6"),
    (dict(a="x.npy", b="z.npy", method="simplex"), "method (--method): 'simplex'; expected one of auto"),
    (dict(a="x.npy", b="z.npy", p=0.0), "p (--p): 0.0; expected a finite exponent p > 0"),
    (dict(a="x.npy", b="z.npy", p=float("inf")), "p (--p): inf; expected a finite exponent p > 0"),
    (dict(a="x.npy", b="z.npy", p=True), "p (--p): True; expected a finite exponent"),
    (dict(a="x.npy", b="z.npy", p=0.5, method="sliced"), "p (--p): 0.5; expected p >= 1 with --method sliced"),
    (dict(a="x.npy", b="z.npy", n_directions=0), "n_directions (--n-directions): 0; expected an integer >= 1"),
    (dict(a="x.npy", b="z.npy", seed=-1), "seed (--seed): -1; expected an integer >= 0"),
    (dict(a="x.npy"), "a, b (A, B): expected two point files"),
    (dict(), "a, b (A, B): expected two point files"),
    (dict(example="monge6", a="x.npy"), "a, b (A, B): give either two point files or --example, not both"),
    (dict(example="monge6", p=2.0), "p (--p): 2.0; the monge6 example uses the text's Euclidean cost, expected p = 1"),
    (dict(example="monge6", weights_a="w.npy"), "method, weights_a, weights_b (--method, --weights-a, --weights-b)"),
])
def test_config_errors_name_the_field_and_its_flag(settings, words):
    with pytest.raises(InputError) as caught:
        transport.Config(**settings)
    assert str(caught.value).startswith(words), str(caught.value)


def test_wrong_types_are_input_type_errors(tmp_path):
    with pytest.raises(InputTypeError, match=r"a \(A\): 3; expected a file name"):
        transport.Config(a=3, b="z.npy")
    with pytest.raises(InputTypeError, match="config: dict; expected a monge.experiments.transport.Config"):
        transport.run({"example": "monge6"}, tmp_path / "run")
    with pytest.raises(InputError, match="resume: True; expected False"):
        transport.run(transport.Config(example="monge6"), tmp_path / "run", resume=True)
    assert not (tmp_path / "run").exists()


def test_bad_data_is_refused_before_the_folder_is_made(tmp_path, rng):
    np.save(tmp_path / "x.npy", rng.normal(size=(5, 2)))
    np.save(tmp_path / "z.npy", rng.normal(size=(6, 2)))
    np.save(tmp_path / "far.npy", rng.normal(size=(6, 2)) * 1e200)
    with pytest.raises(InputError, match=r"method \(--method\): 'lsa' solves a matching.* n = 5, m = 6"):
        transport.run(transport.Config(a=str(tmp_path / "x.npy"), b=str(tmp_path / "z.npy"), method="lsa"),
                      tmp_path / "run")
    with pytest.raises(InputError, match=r"B \(.*far.npy\): coordinates too large for the cost \|x - z\|\^2"):
        transport.run(transport.Config(a=str(tmp_path / "x.npy"), b=str(tmp_path / "far.npy")), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_non_empty_out_is_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="is not empty"):
        transport.run(transport.Config(example="monge6"), tmp_path / "run", quiet=True)
    assert main(["transport", "--example", "monge6", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("monge transport: error: out: ") and err.count("\n") == 1
    assert files(tmp_path / "run") == ["notes.txt"] and (tmp_path / "run" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("existing", [False, True])
def test_a_failure_leaves_a_new_out_as_it_was(tmp_path, rng, monkeypatch, existing):
    """A failure after the folder was made (here in the figure, once the plan is written) takes it away."""
    np.save(tmp_path / "x.npy", rng.normal(size=(5, 2)))

    def broken(*args, **kwargs):
        raise RuntimeError("the figure failed")

    monkeypatch.setattr(transport, "plot_plan", broken)
    out = tmp_path / "run"
    if existing:
        out.mkdir()
    with pytest.raises(RuntimeError, match="the figure failed"):
        transport.run(transport.Config(a=str(tmp_path / "x.npy"), b=str(tmp_path / "x.npy")), out, quiet=True)
    assert out.is_dir() == existing and (not existing or not any(out.iterdir()))



@pytest.fixture
def no_dense_matrix(monkeypatch):
    """The dense solvers' cost matrices fail the test: nothing of size n x n may be formed."""
    import importlib

    def dense(*args, **kwargs):
        raise AssertionError("a dense cost matrix was formed")

    for module in ("monge.transport.monge", "monge.transport.kantorovich"):
        monkeypatch.setattr(importlib.import_module(module), "cost_matrix", dense)


@pytest.mark.parametrize("method", ["auto", "exact", "matching", "sparse"])
def test_files_of_25000_points_go_through_the_sparse_matching(tmp_path, capsys, rng, no_dense_matrix, method):
    """Past the dense solvers' sizes: the certified sparse matching, O(n) outputs, the same from the command."""
    n = 25_000
    x, z = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2))
    np.save(tmp_path / "x.npy", x)
    np.savetxt(tmp_path / "z.csv", z, delimiter=",")  # 18 significant digits: the same float64 numbers
    config = transport.Config(a=str(tmp_path / "x.npy"), b=str(tmp_path / "z.csv"), method=method)
    summary = _compare(tmp_path, capsys, config, [config.a, config.b, "--method", method])
    assert (summary["kind"], summary["solver"], summary["n"], summary["m"]) == ("matching", "sparse", n, n)
    reference = _sparse_matching(x, z)
    assert summary["cost"] == pytest.approx(float(reference.cost), rel=1e-12)
    permutation = np.load(tmp_path / "python" / "permutation.npy")
    assert np.array_equal(np.sort(permutation), np.arange(n))
    assert summary["duality_gap"] == reference.duality_gap and summary["n_iter"] == reference.n_iter >= 1
    with np.load(tmp_path / "python" / "plan.npz") as plan:
        np.testing.assert_array_equal(plan["rows"], np.arange(n))
        np.testing.assert_array_equal(plan["cols"], permutation)
        np.testing.assert_array_equal(plan["mass"], np.full(n, 1 / n))
    assert summary["plan_entries"] == n and "figures/matching.png" in summary["files"]


def _sparse_matching(x, z):
    return matching(torch.from_numpy(x), torch.from_numpy(z), p=2.0, method="sparse")


def _known_matching(rng, n):
    """Clouds of the plane whose optimal matching for |x - z|^2 is known: the partner of x_i is x_i + c.

    x -> x + c is the gradient of the strictly convex |x|^2 / 2 + c.x, so pairing each x_i with its image
    is the unique optimum (for distinct points): any other permutation s costs
    (1/n) sum_i |x_i - x_s(i)|^2 / 2 more. The images are shuffled into z.
    """
    x = rng.uniform(size=(n, 2))
    images = x + np.array([0.5, -0.2])
    partner = rng.permutation(n)
    z = np.empty_like(images)
    z[partner] = images
    return x, z, partner, float(((x - images) ** 2).sum(1).mean())


def test_the_sparse_matching_of_12000_points_finds_a_known_optimum(tmp_path, rng, no_dense_matrix):
    """An independent check: clouds whose unique optimal matching is known in closed form (12,000 points: the
    solver takes 11 s on this problem at 25,000, against 2 s for two uniform clouds)."""
    n = 12_000
    x, z, partner, cost = _known_matching(rng, n)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "z.npy", z)
    config = transport.Config(a=str(tmp_path / "x.npy"), b=str(tmp_path / "z.npy"), method="sparse")
    summary = transport.run(config, tmp_path / "run", quiet=True)
    assert summary["solver"] == "sparse" and summary["cost"] == pytest.approx(cost, rel=1e-12)
    np.testing.assert_array_equal(np.load(tmp_path / "run" / "permutation.npy"), partner)
    assert abs(summary["duality_gap"]) <= 1e-12 * cost  # certified (a gap of rounding, either sign)

def test_an_unequal_problem_too_large_for_the_dense_programme_goes_to_the_sparse_solver(tmp_path, rng, monkeypatch,
                                                                                       capsys):
    """3000 onto 2999 weighted points with too little memory for the n x m programme (as 30,000 points
    would be on a laptop): Kantorovich's sparse solver, the same optimum as the dense programme, its
    plan's support in plan.npz, its certificate in summary.json, and its rounds printed as they end."""
    from monge.transport import _memory

    x, z = rng.uniform(size=(3000, 2)), rng.uniform(size=(2999, 2))
    weights = rng.uniform(0.5, 1.5, size=3000)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "a.npy", weights / weights.sum())
    config = transport.Config(a=str(tmp_path / "x.npy"), b=str(tmp_path / "z.npy"), weights_a=str(tmp_path / "a.npy"))
    dense = transport.run(config, tmp_path / "dense", quiet=True)
    monkeypatch.setattr(_memory, "available_bytes", lambda device: 2**20)
    capsys.readouterr()
    summary = transport.run(config, tmp_path / "sparse")
    printed = capsys.readouterr().out.splitlines()
    rounds = [line for line in printed if line.startswith("  sparse transport of 3,000 x 2,999 points: round ")]
    assert len(rounds) == summary["n_iter"] and "certified (duality gap" in rounds[-1], printed
    assert printed.index(rounds[-1]) < min(i for i, line in enumerate(printed) if line.startswith("transport of"))
    assert dense["solver"] == "network_simplex" and summary["solver"] == "sparse" and summary["kind"] == "kantorovich"
    assert summary["cost"] == pytest.approx(dense["cost"], rel=1e-9)
    assert summary["n_iter"] >= 1 and abs(summary["duality_gap"]) <= 1e-9
    plan = np.load(tmp_path / "sparse" / "plan.npz")
    assert len(plan["mass"]) <= 3000 + 2999 - 1
    np.testing.assert_allclose(np.bincount(plan["rows"], plan["mass"], 3000), weights / weights.sum(), atol=1e-12)
