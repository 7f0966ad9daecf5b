import json

import numpy as np
import pytest
import torch

from monge import experiments
from monge.cli import _resume, classify
from monge.cli.main import build_parser
from monge.data import load
from monge.training.recipes import resolve

from .conftest import read_json

PNG = b"\x89PNG\r\n\x1a\n"
FAST = ("--data", "blobs", "--n-samples", "120", "--epochs", "3", "--quiet")


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_toy_run_writes_the_run_folder(monge, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = monge("classify", "--data", "moons", "--n-samples", "200", "--epochs", "5", "--out", out)
    assert code == 0, err
    assert "test accuracy" in stdout and str(out) in stdout
    config = read_json(out / "config.json")
    assert config["command"] == "classify" and config["model"] == "two-layer" and config["epochs"] == 5
    assert config["loss"] == "cross-entropy" and config["n_samples"] == 200 and config["width"] == 64
    assert [r["epoch"] for r in _lines(out / "metrics.jsonl")] == list(range(5))
    s = read_json(out / "summary.json")
    for key in ("train_accuracy", "test_accuracy", "test_loss", "epochs", "seconds"):
        assert isinstance(s[key], (int, float)), key
    assert sorted(s["figures"]) == ["figures/confusion_matrix.png", "figures/decision_regions.png",
                                    "figures/learning_curves.png"]
    assert all((out / f).read_bytes()[:8] == PNG for f in s["figures"])
    saved = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert saved["index"] == 5 and "hidden.weight" in saved["modules"]["model"]
    assert not list(out.rglob("*.tmp"))


def test_squared_loss_on_digits(monge, tmp_path):
    out = tmp_path / "run"
    code, _, err = monge("classify", "--data", "digits", "--model", "two-layer", "--loss", "squared", "--epochs", "2",
                         "--out", out, "--quiet")
    assert code == 0, err
    assert read_json(out / "config.json")["label_smoothing"] == 0.0
    s = read_json(out / "summary.json")
    assert s["loss"] == "squared" and "E(w) / n" in s["loss_note"] and s["test_accuracy"] > 0.8
    assert sorted(s["figures"]) == ["figures/confusion_matrix.png", "figures/learning_curves.png"]


def test_the_default_run_is_the_convnet_on_digits():
    args = build_parser().parse_args(["classify"])
    out, resume = _resume.folder(args)
    config = resolve(_resume.settings(experiments.classify, args, classify.FLAGS), load("digits"))
    assert (config.data, config.model, config.loss, config.epochs, config.seed) == ("digits", "convnet",
                                                                                    "cross-entropy", 30, 0)
    assert out is None and resume is False


def test_a_csv_file_of_points(monge, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    rows = "\n".join(f"{a},{b},{int(a > 0)}" for a, b in x)
    (tmp_path / "points.csv").write_text("x1,x2,label\n" + rows + "\n")
    code, _, err = monge("classify", "--data", tmp_path / "points.csv", "--epochs", "4", "--out", tmp_path / "run",
                         "--quiet")
    assert code == 0, err
    assert (tmp_path / "run" / "figures" / "decision_regions.png").exists()
    assert read_json(tmp_path / "run" / "summary.json")["data"] == "points.csv"


@pytest.mark.parametrize("flags, message", [
    (["--width", "0"], r"width \(--width\): 0; expected an integer >= 1"),
    (["--lr", "0"], r"lr \(--lr\): 0.0; expected a number in \(0, inf\)"),
    (["--lr", "-1"], r"lr \(--lr\): -1.0"),
    (["--epochs", "0"], r"epochs \(--epochs\): 0"),
    (["--batch", "0"], r"batch \(--batch\): 0"),
    (["--dropout", "1.5"], r"dropout \(--dropout\): 1.5"),
    (["--depth", "0"], r"depth \(--depth\): 0"),
    (["--threads", "0"], r"threads \(--threads\): 0"),
    (["--data", "cifar"], "'cifar' is not a data set; expected one of digits, mnist1d, moons, circles, spiral, xor"),
    (["--data", "nowhere.csv"], "no such file"),
    (["--data", "moons", "--model", "convnet"], "convnet needs images or signals"),
    (["--data", "digits", "--noise", "0.1"], "only for the toys"),
])
def test_bad_values_are_one_line_and_write_nothing(monge, tmp_path, flags, message):
    out = tmp_path / "run"
    code, _, err = monge("classify", *flags, "--out", out, "--quiet")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("monge classify: error: ")
    assert __import__("re").search(message, err), err
    assert not out.exists()


def test_usage_errors_exit_2(monge):
    assert monge("classify", "--width", "many")[0] == 2
    assert monge("classify", "--model", "resnet")[0] == 2


def test_an_out_folder_with_files_is_refused(monge, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = monge("classify", *FAST, "--out", tmp_path)
    assert code == 2 and "is not empty (notes.txt)" in err and "expected a new or empty folder" in err
    assert (tmp_path / "notes.txt").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.fixture
def finished(monge, tmp_path):
    out = tmp_path / "run"
    assert monge("classify", *FAST, "--out", out)[0] == 0
    return out


def test_a_previous_run_is_not_overwritten(monge, finished):
    before = {p: p.read_bytes() for p in finished.rglob("*") if p.is_file()}
    code, _, err = monge("classify", *FAST, "--out", finished)
    assert code == 2 and "--resume" in err
    assert before == {p: p.read_bytes() for p in finished.rglob("*") if p.is_file()}


def test_resume_keeps_the_settings(monge, finished):
    metrics = (finished / "metrics.jsonl").read_text()
    code, _, err = monge("classify", "--resume", finished, "--lr", "0.5", "--quiet")
    assert code == 2 and "lr (--lr): 0.5 conflicts with the run being resumed (lr = 0.01 in" in err
    assert monge("classify", "--resume", finished, "--epochs", "3", "--data", "blobs", "--quiet")[0] == 0
    assert (finished / "metrics.jsonl").read_text() == metrics  # finished: nothing run again, nothing logged twice
    code, _, err = monge("classify", "--resume", finished, "--out", finished.parent / "elsewhere", "--quiet")
    assert code == 2 and "a resumed run stays in its folder" in err


def test_corrupt_or_foreign_checkpoint(monge, finished, tmp_path):
    checkpoint = finished / "checkpoints" / "last.pt"
    checkpoint.write_bytes(b"garbage")
    code, _, err = monge("classify", "--resume", finished, "--quiet")
    assert code == 2 and "not a readable checkpoint" in err and err.count("\n") == 1
    assert checkpoint.read_bytes() == b"garbage"
    other = tmp_path / "other"
    assert monge("classify", *FAST, "--width", "5", "--out", other)[0] == 0
    checkpoint.write_bytes((other / "checkpoints" / "last.pt").read_bytes())
    code, _, err = monge("classify", "--resume", finished, "--quiet")
    assert code == 2 and "does not fit this run" in err


def test_resume_needs_a_classify_run(monge, tmp_path):
    code, _, err = monge("classify", "--resume", tmp_path / "none", "--quiet")
    assert code == 2 and "is not a folder" in err
    code, _, err = monge("classify", "--resume", tmp_path, "--quiet")
    assert code == 2 and "has no config.json" in err
    (tmp_path / "config.json").write_text('{"command": "transport"}')
    code, _, err = monge("classify", "--resume", tmp_path, "--quiet")
    assert code == 2 and "holds a run of 'transport'" in err
    (tmp_path / "config.json").write_text("{not json")
    code, _, err = monge("classify", "--resume", tmp_path, "--quiet")
    assert code == 2 and "not readable JSON" in err


def test_a_run_killed_before_its_first_checkpoint_starts_again(monge, finished):
    (finished / "checkpoints" / "last.pt").unlink()
    code, out, err = monge("classify", "--resume", finished)
    assert code == 0, err
    assert "no checkpoint yet" in out
    assert [r["epoch"] for r in _lines(finished / "metrics.jsonl")] == [0, 1, 2]


def test_divergence_is_a_one_line_error_that_keeps_the_checkpoint(monge, tmp_path):
    out = tmp_path / "run"
    code, _, err = monge("classify", "--data", "blobs", "--loss", "squared", "--optimizer", "sgd", "--lr", "1e6",
                         "--epochs", "3", "--out", out, "--quiet")
    assert code == 2 and err.count("\n") == 1 and "not finite at epoch 0" in err
    assert torch.load(out / "checkpoints" / "last.pt", weights_only=True)["index"] == 0
