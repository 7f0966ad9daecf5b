import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from monge.cli import _resume
from monge.cli import generate as cli
from monge.cli.main import build_parser
from monge.data import load_points
from monge.experiments import generate
from monge.training import assessment, generative
from monge.training.generative import make_loss

from .conftest import read_json

PNG = b"\x89PNG\r\n\x1a\n"
FAST = ("--steps", "12", "--batch", "32", "--widths", "32,32", "--quiet")


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def points_csv(tmp_path):
    """80 points of R^3 in a CSV file: 60 to train on, 20 held out (a fast assessment)."""
    rows = "\n".join(f"{a},{b},{c}" for a, b, c in np.random.default_rng(0).normal(size=(80, 3)))
    path = tmp_path / "points.csv"
    path.write_text("x,y,z\n" + rows + "\n")
    return path


def test_toy_run_writes_the_run_folder(monge, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = monge("generate", "--data", "gaussians8", "--steps", "12", "--batch", "32", "--widths", "32,32",
                              "--out", out)
    assert code == 0, err
    assert "modes covered" in stdout and "high-quality samples" in stdout and str(out) in stdout
    config = read_json(out / "config.json")
    assert config["command"] == "generate" and config["loss"] == "exact" and config["p"] == 1.0
    assert config["widths"] == [32, 32] and config["latent"] == 2 and config["steps"] == 12
    assert [r["step"] for r in _lines(out / "metrics.jsonl") if "loss" in r] == list(range(12))
    s = read_json(out / "summary.json")
    for key in ("w2_test", "w2_floor", "w2_ratio", "high_quality", "steps", "seconds", "cpu_seconds"):
        assert isinstance(s[key], (int, float)), key
    assert s["n_modes"] == 8 and 0 <= s["modes_covered"] <= 8 and s["steps"] == 12
    assert s["n_w2"] == 5000  # metrics.w2_points(2): the sparse matching's sample in the plane
    assert sorted(s["figures"]) == ["figures/interpolation.png", "figures/loss.png", "figures/samples.png",
                                    "figures/samples_over_data.png"]
    assert all((out / f).read_bytes()[:8] == PNG for f in s["figures"])
    samples = np.load(out / "samples.npy")
    assert samples.shape == (generate.N_SAMPLES, 2) and samples.dtype == np.float32
    state = torch.load(out / "generator.pt", weights_only=True)
    assert "layers.0.weight" in state
    assert torch.load(out / "checkpoints" / "last.pt", weights_only=True)["index"] == 12
    assert len(list((out / "snapshots").glob("step-*.npy"))) == 7  # step 0, then every ceil(12 / 8) = 2 steps
    assert not list(out.rglob("*.tmp"))


def test_a_shared_judge_is_read_back_not_retrained(monge, tmp_path):
    judge = tmp_path / "judge"
    assert monge("classify", "--data", "digits", "--epochs", "1", "--width", "4", "--out", judge, "--quiet")[0] == 0
    code, _, err = monge("generate", "--data", "digits", "--network", "conv", "--widths", "8,4", "--latent", "4",
                         "--judge", judge, "--out", tmp_path / "g", *FAST[:4], "--quiet")
    assert code == 0, err
    s = read_json(tmp_path / "g" / "summary.json")
    assert s["judge"] == str(judge.resolve()) and not (tmp_path / "g" / "classifier").exists()
    assert len(s["class_histogram"]) == 10 and sum(s["class_histogram"]) == pytest.approx(1.0)
    assert 0 <= s["class_tv"] <= 1 and 0 < s["class_confidence"] <= 1
    assert sorted(s["figures"]) == ["figures/interpolation.png", "figures/loss.png", "figures/samples.png",
                                    "figures/samples_during_training.png"]
    samples = np.load(tmp_path / "g" / "samples.npy")
    assert samples.shape == (generate.N_SAMPLES, 64) and samples.min() >= 0 and samples.max() <= 16
    assert "stages.1.weight" in torch.load(tmp_path / "g" / "generator.pt", weights_only=True)
    # the same judge, in the same process: the same histogram of the same samples
    scores = assessment.digits_classifier(judge)(torch.from_numpy(samples))
    assert np.allclose(np.bincount(scores.argmax(1).numpy(), minlength=10) / len(scores), s["class_histogram"])


@pytest.mark.parametrize("argv, match", [
    (("--data", "gaussians8"), r"judge \(--judge\): given for data 'gaussians8'"),
    (("--data", "digits"), r"judge \(--judge\): .* no finished run"),
])
def test_bad_judge(monge, tmp_path, argv, match):
    code, _, err = monge("generate", *argv, "--judge", tmp_path / "none", "--out", tmp_path / "g", *FAST)
    assert code == 2 and re.search(match, err), err
    assert not (tmp_path / "g").exists()


def test_a_judge_must_be_a_digits_convnet(monge, tmp_path):
    other = tmp_path / "other"
    assert monge("classify", "--data", "moons", "--epochs", "1", "--out", other, "--quiet")[0] == 0
    code, _, err = monge("generate", "--data", "digits", "--judge", other, "--out", tmp_path / "g", *FAST)
    assert code == 2 and "expected a finished monge classify run with data digits and model convnet" in err, err


def test_flags_map_to_the_config():
    args = build_parser().parse_args(["generate", "--loss", "sinkhorn", "--widths", "8,4", "--data-seed", "2"])
    config = _resume.settings(generate, args, cli.FLAGS, widths=cli._widths(args.widths))
    assert config == generate.Config(loss="sinkhorn", widths=(8, 4), data_seed=2)
    assert _resume.folder(args) == (None, False)
    default = generate.resolve(_resume.settings(generate, build_parser().parse_args(["generate"]), cli.FLAGS),
                               load_points("gaussians8", n_train=10, n_test=10))
    assert (default.data, default.loss, default.network, default.latent, default.p, default.batch) == \
        ("gaussians8", "exact", "mlp", 2, 1.0, 256)
    assert default.steps == 3000 and default.schedule == "cosine"
    args = build_parser().parse_args(["generate", "--resume", "runs/a", "--out", "runs/a"])
    assert _resume.folder(args) == (Path("runs/a"), True)


def test_a_csv_file_of_points(monge, tmp_path, points_csv):
    code, _, err = monge("generate", "--data", points_csv, "--out", tmp_path / "run", *FAST)
    assert code == 0, err
    s = read_json(tmp_path / "run" / "summary.json")
    assert s["data"] == "points.csv" and "modes_covered" not in s and s["n_w2"] == 20
    assert np.load(tmp_path / "run" / "samples.npy").shape[1] == 3


def test_killed_run_resumes_to_the_same_generator(monge, tmp_path, monkeypatch, points_csv):
    flags = ("--data", points_csv, "--loss", "sliced", "--steps", "25", "--batch", "32", "--widths", "16", "--quiet")
    snapshot = generate._Snapshots.__call__

    def interrupted(self, step, generator):
        if step == 16:
            raise KeyboardInterrupt
        snapshot(self, step, generator)

    assert monge("generate", *flags, "--out", tmp_path / "whole")[0] == 0
    monkeypatch.setattr(generate._Snapshots, "__call__", interrupted)
    code, _, err = monge("generate", *flags, "--out", tmp_path / "killed")
    assert code == 130, err
    monkeypatch.setattr(generate._Snapshots, "__call__", snapshot)
    code, _, err = monge("generate", "--resume", tmp_path / "killed", "--quiet")
    assert code == 0, err
    whole = torch.load(tmp_path / "whole" / "generator.pt", weights_only=True)
    resumed = torch.load(tmp_path / "killed" / "generator.pt", weights_only=True)
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
    assert np.array_equal(np.load(tmp_path / "whole" / "samples.npy"), np.load(tmp_path / "killed" / "samples.npy"))
    assert read_json(tmp_path / "killed" / "summary.json")["resumed_at_step"] == 10
    code, _, err = monge("generate", "--resume", tmp_path / "killed", "--steps", "20", "--quiet")
    assert code == 2 and "steps (--steps): 20 conflicts with the run being resumed (steps = 25" in err
    code, _, err = monge("generate", "--resume", tmp_path / "killed", "--out", tmp_path / "elsewhere", "--quiet")
    assert code == 2 and re.search(r"--out: .*elsewhere differs from --resume .*killed", err), err


@pytest.mark.parametrize("flags, message", [
    (["--data", "cats"], r"data \(--data\): 'cats' is not a data set; expected one of gaussians8"),
    (["--eps", "0", "--loss", "sinkhorn"], r"eps \(--eps\): 0.0; expected a number in \(0, inf\)"),
    (["--eps", "-0.1", "--loss", "sinkhorn"], "eps .*: -0.1"),
    (["--eps", "0.1"], r"eps \(--eps\): 0.1; only the sinkhorn loss has a temperature, not 'exact'"),
    (["--rho", "0", "--loss", "sinkhorn"], r"rho \(--rho\): 0.0; expected a number in \(0, inf\)"),
    (["--rho", "-1", "--loss", "sinkhorn"], "rho .*: -1.0"),
    (["--rho", "nan", "--loss", "sinkhorn"], "rho .*: nan"),
    (["--rho", "0.2"], "rho .*: 0.2; only the sinkhorn loss has unbalanced transport, not 'exact'"),
    (["--rho", "0.2", "--loss", "sliced"], "rho .*: 0.2; only the sinkhorn loss has unbalanced transport, not "
                                           "'sliced'"),
    (["--rho", "0.2", "--loss", "wgan"], "rho .*: 0.2; only the sinkhorn loss has unbalanced transport, not 'wgan'"),
    (["--latent", "0"], r"latent \(--latent\): 0; expected an integer >= 1"),
    (["--latent", "-2"], "latent .*: -2"),
    (["--network", "conv"], r"network \(--network\): 'conv' needs images \(C, H, W\); gaussians8 holds samples of "
                            r"shape \(2,\)"),
    (["--lr", "-1"], r"lr \(--lr\): -1.0; expected a number in \(0, inf\)"),
    (["--steps", "0"], "steps .*: 0"),
    (["--batch", "1"], "batch .*: 1"),
    (["--widths", "32,x"], r"widths \(--widths\): '32,x'; expected comma-separated integers"),
    (["--widths", "0"], r"widths \(--widths\): \(0,\); expected positive integers"),
    (["--loss", "sliced", "--p", "0.5"], r"p \(--p\): 0.5; the sliced loss needs p >= 1"),
    (["--loss", "wgan-gp", "--p", "2"], r"p \(--p\): 2.0; a setting of the transport losses, not of 'wgan-gp'"),
    (["--threads", "0"], r"threads \(--threads\): 0"),
    (["--data-seed", "-1"], r"data_seed \(--data-seed\): -1; expected an integer >= 0"),
    (["--seed", "-3"], r"seed \(--seed\): -3"),
    (["--seed", str(2**70)], r"seed \(--seed\): 1180591620717411303424; expected an integer in \[0, 2\*\*63\)"),
])
def test_bad_input_is_one_line_and_exit_2(monge, tmp_path, flags, message):
    code, stdout, err = monge("generate", *flags, "--out", tmp_path / "run", "--quiet")
    assert code == 2, err
    assert err.startswith("monge generate: error: ") and err.count("\n") == 1
    assert re.search(message, err), err
    assert not (tmp_path / "run").exists()


def test_rho_must_be_a_number(monge, tmp_path):
    code, _, err = monge("generate", "--loss", "sinkhorn", "--rho", "strong", "--out", tmp_path / "run", "--quiet")
    assert code == 2 and "argument --rho: invalid float value: 'strong'" in err
    assert not (tmp_path / "run").exists()


def test_rho_reaches_the_loss_and_stays_on_resume(monge, tmp_path, monkeypatch, points_csv):
    built = []

    def spy(*args, **kwargs):
        built.append(make_loss(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(generative, "make_loss", spy)
    out = tmp_path / "run"
    code, _, err = monge("generate", "--data", points_csv, "--loss", "sinkhorn", "--p", "2", "--rho", "0.5",
                         "--out", out, *FAST)
    assert code == 0, err
    assert [(loss.method, loss.p, loss.options["rho"]) for loss in built] == [("sinkhorn_divergence", 2.0, 0.5)]
    assert read_json(out / "config.json")["rho"] == 0.5
    code, _, err = monge("generate", "--resume", out, "--rho", "1", "--quiet")
    assert code == 2 and "rho (--rho): 1.0 conflicts with the run being resumed (rho = 0.5" in err
    code, _, err = monge("generate", "--resume", out, "--rho", "0.5", "--quiet")
    assert code == 0, err
    assert built[-1].options["rho"] == 0.5


def test_a_run_folder_from_before_rho_resumes_balanced(monge, tmp_path, points_csv):
    out = tmp_path / "run"
    assert monge("generate", "--data", points_csv, "--loss", "sinkhorn", "--out", out, *FAST)[0] == 0
    config = read_json(out / "config.json")
    assert config.pop("rho") is None
    (out / "config.json").write_text(json.dumps(config))
    code, _, err = monge("generate", "--resume", out, "--rho", "0.5", "--quiet")
    assert code == 2 and "rho (--rho): 0.5 conflicts with the run being resumed (rho = None" in err
    code, _, err = monge("generate", "--resume", out, "--quiet")
    assert code == 0, err
    assert read_json(out / "config.json")["rho"] is None and read_json(out / "summary.json")["resumed_at_step"] == 12


def test_bad_files_and_folders(monge, tmp_path):
    (tmp_path / "bad.csv").write_text("1,2\n3,oops\n")
    code, _, err = monge("generate", "--data", tmp_path / "bad.csv", "--quiet", "--out", tmp_path / "a")
    assert code == 2 and "line 2, column 2" in err and "--data" in err, err
    np.save(tmp_path / "few.npy", np.zeros((3, 2)))
    code, _, err = monge("generate", "--data", tmp_path / "few.npy", "--quiet", "--out", tmp_path / "b")
    assert code == 2 and "holds 3 points; expected at least 4" in err, err
    code, _, err = monge("generate", "--data", tmp_path / "missing.npy", "--quiet", "--out", tmp_path / "c")
    assert code == 2 and "no such file" in err
    assert not any((tmp_path / name).exists() for name in "abc")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    code, _, err = monge("generate", "--quiet", "--out", busy)
    assert code == 2 and "is not empty (notes.txt)" in err
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    code, _, err = monge("generate", "--resume", tmp_path / "nowhere", "--quiet")
    assert code == 2 and "is not a folder" in err


def test_adversarial_losses_go_to_fit_wgan(monge, tmp_path):
    out = tmp_path / "run"
    code, _, err = monge("generate", "--loss", "wgan", "--steps", "3", "--batch", "16", "--out", out, "--quiet")
    assert code == 0, err
    config = read_json(out / "config.json")
    assert config["wgan"]["mode"] == "clip" and config["p"] is None and config["steps"] == 3
    assert list(config["wgan"]) == ["critic", "output", "mode", "n_critic", "critic_lr", "optimizer", "betas",
                                    "schedule", "warmup", "clip", "lam", "exact_every"]
    records = _lines(out / "metrics.jsonl")
    assert all("critic_w1" in r for r in records if isinstance(r.get("step"), int))
    s = read_json(out / "summary.json")
    assert s["mode"] == "clip" and s["n_modes"] == 8 and "figures/loss.png" in s["figures"]


def test_an_eps_too_small_for_float32_names_the_least_eps(monge, tmp_path):
    """``--eps 1e-9`` once advised float64 points, which no flag gives: now the least eps float32 takes.

    ``monge generate --loss sinkhorn`` is the command with ``--eps`` (its networks compute in
    float32); the refusal is the transport library's (:func:`monge.transport.sinkhorn`).
    """
    code, _, err = monge("generate", "--data", "gaussians8", "--loss", "sinkhorn", "--eps", "1e-9", "--steps", "1",
                         "--out", tmp_path / "run", "--quiet")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("monge generate: error: eps: 1e-09 is too small for torch.float32"), err
    assert "float64" not in err
    least = float(err.strip().rsplit("expected eps >= ", 1)[1])
    assert 1e-9 < least < 1e-3
    assert not (tmp_path / "run").exists()  # refused settings leave no folder that could never resume
