import json

import numpy as np
import pytest

from .conftest import read_json

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """One small run of ``monge approximate``, shared by the tests that read it."""
    from monge.cli.main import main

    out = tmp_path_factory.mktemp("approximate") / "run"
    assert main(["approximate", "--widths", "1,4,16", "--steps", "40", "--out", str(out), "--quiet"]) == 0
    return out


def test_run_folder(sweep):
    config = read_json(sweep / "config.json")
    assert config["command"] == "approximate"
    assert (config["target"], config["widths"], config["steps"], config["n_train"]) == ("sine", [1, 4, 16], 40, 4096)
    for name in ("errors.png", "fits.png"):
        assert (sweep / "figures" / name).read_bytes()[:8] == PNG
    lines = [json.loads(line) for line in (sweep / "metrics.jsonl").read_text().splitlines()]
    assert [line["width"] for line in lines] == [1, 4, 16]
    assert not list(sweep.rglob("*.tmp"))


def test_summary(sweep):
    s = read_json(sweep / "summary.json")
    assert s["widths"] == [1, 4, 16]
    assert len(s["sup_error"]) == len(s["l2_error"]) == 3
    assert s["sup_error"][0] > s["sup_error"][1] > s["sup_error"][2]
    assert s["l2_error"][0] > s["l2_error"][1] > s["l2_error"][2]
    expected = np.polyfit(np.log([4, 16]), np.log(s["l2_error"][1:]), 1)[0]
    assert s["l2_slope"] == pytest.approx(expected) and s["slope_widths"] == [4, 16]
    assert s["sup_slope"] < 0 and s["reference_rate"] == 2.0
    lines = [json.loads(line) for line in (sweep / "metrics.jsonl").read_text().splitlines()]
    assert [line["sup_error"] for line in lines] == s["sup_error"]
    with np.load(sweep / "fits.npz") as data:
        assert data["fits"].shape == (3, s["n_eval"]) and data["grid"].shape == (s["n_eval"], 1)
        gap = data["fits"] - data["target"]
        np.testing.assert_allclose(np.abs(gap).max(1), s["sup_error"], rtol=1e-12)
        assert not np.isin(data["grid"], data["train_points"]).any()


def test_prints_one_line_per_width_and_the_slopes(monge, tmp_path):
    code, out, err = monge("approximate", "--widths", "2,8", "--steps", "10", "--out", tmp_path / "run")
    assert code == 0, err
    s = read_json(tmp_path / "run" / "summary.json")
    assert f"{s['sup_error'][1]:.3e}" in out and "width     8" in out
    assert "fitted slopes" in out and "sin(2 pi x)" in out


def test_a_target_of_the_plane(monge, tmp_path):
    code, _, err = monge("approximate", "--target", "bump", "--widths", "2,16", "--steps", "10", "--n-train", "1024",
                         "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    s = read_json(tmp_path / "run" / "summary.json")
    assert s["dim"] == 2 and s["n_train"] == 1024 and s["n_eval"] == 201 * 201
    assert s["l2_error"][1] < s["l2_error"][0]
    assert (tmp_path / "run" / "figures" / "fits.png").read_bytes()[:8] == PNG


@pytest.mark.parametrize("args, words", [
    (["--target", "cosine"], ["target (--target): 'cosine'", "sine, abs, bump"]),
    (["--widths", "0,2"], ["widths (--widths): (0, 2)", "positive integers"]),
    (["--widths", "-4"], ["widths (--widths)", "-4"]),
    (["--widths", "1,x"], ["widths (--widths): '1,x'", "'x'", "positive integers"]),
    (["--widths", "1.5,3"], ["widths (--widths)", "'1.5'"]),
    (["--widths", "8,4"], ["widths (--widths): (8, 4)", "increasing"]),
    (["--steps", "0"], ["steps (--steps): 0", "an integer >= 1"]),
    (["--steps", "-3"], ["steps (--steps): -3"]),
    (["--steps", "many"], ["steps (--steps): 'many'", "an integer"]),
    (["--lr", "0"], ["lr (--lr): 0.0", "(0, inf)"]),
    (["--lr", "inf"], ["lr (--lr): inf"]),
    (["--starts", "0"], ["starts (--starts): 0"]),
    (["--n-train", "x"], ["n_train (--n-train): 'x'"]),
    (["--n-grid", "1"], ["n_grid (--n-grid): 1", ">= 2"]),
    (["--threads", "0"], ["threads (--threads): 0", "positive integer"]),
])
def test_bad_input_is_one_line(monge, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    code, _, err = monge("approximate", *args)
    assert code == 2
    assert err.startswith("monge approximate: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)
    assert not (tmp_path / "runs").exists()  # bad input writes no run folder


def test_divergence_is_one_line_naming_lr_and_leaves_no_folder(monge, tmp_path):
    code, _, err = monge("approximate", "--widths", "8", "--steps", "5", "--lr", "1e30", "--out", tmp_path / "run")
    assert code == 2
    assert err.startswith("monge approximate: error: lr (--lr): 1e+30 is too large") and err.count("\n") == 1
    assert "width 8" in err
    assert not (tmp_path / "run").exists()


def test_a_reused_out_is_refused_in_one_line(monge, tmp_path):
    out = tmp_path / "run"
    assert monge("approximate", "--widths", "2", "--steps", "2", "--n-grid", "11", "--out", out, "--quiet")[0] == 0
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    code, _, err = monge("approximate", "--widths", "4", "--steps", "2", "--out", out, "--quiet")
    assert code == 2 and err.count("\n") == 1 and "is not empty" in err, err
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before
