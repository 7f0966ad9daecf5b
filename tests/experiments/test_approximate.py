"""``monge.experiments.approximate``: the library function gives what the command gives, and checks its settings."""

import json

import numpy as np
import pytest

from monge import experiments
from monge.cli.main import main
from monge.errors import Diverged, InputError

from ._folders import figures, files

TIMES = {"seconds", "seconds_per_width"}


def test_run_and_the_command_write_the_same_folder(tmp_path):
    config = experiments.approximate.Config(widths=(2, 8), steps=10, starts=2, n_train=256, n_grid=101, seed=5)
    summary = experiments.approximate.run(config, tmp_path / "python", quiet=True)
    assert main(["approximate", "--widths", "2,8", "--steps", "10", "--starts", "2", "--n-train", "256",
                 "--n-grid", "101", "--seed", "5", "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    assert files(tmp_path / "python") == files(tmp_path / "cli")
    assert figures(tmp_path / "python", TIMES) == figures(tmp_path / "cli", TIMES)
    assert {k: v for k, v in summary.items() if k not in TIMES} == figures(tmp_path / "python", TIMES)
    configs = [json.loads((tmp_path / name / "config.json").read_text()) for name in ("python", "cli")]
    assert configs[0] == configs[1] and configs[0]["widths"] == [2, 8] and configs[0]["n_grid"] == 101
    assert "threads" not in configs[0] and "out" not in configs[0]
    with np.load(tmp_path / "python" / "fits.npz") as one, np.load(tmp_path / "cli" / "fits.npz") as two:
        np.testing.assert_array_equal(one["fits"], two["fits"])
    drop = lambda line: {k: v for k, v in json.loads(line).items() if k != "seconds"}  # noqa: E731
    metrics = [(tmp_path / name / "metrics.jsonl").read_text().splitlines() for name in ("python", "cli")]
    assert [drop(line) for line in metrics[0]] == [drop(line) for line in metrics[1]]


def test_resolve_fills_the_measured_defaults_of_the_dimension():
    config = experiments.approximate.Config(target="bump")
    resolved = experiments.approximate.resolve(config)
    assert (config.n_train, config.n_grid) == (None, None)
    assert (resolved.n_train, resolved.n_grid) == (16384, 201)
    assert experiments.approximate.resolve(experiments.approximate.Config(n_train=100)).n_train == 100


@pytest.mark.parametrize("field, value, flag", [
    ("target", "cosine", "--target"), ("widths", (), "--widths"), ("widths", (0, 2), "--widths"),
    ("widths", (8, 4), "--widths"), ("widths", (1.5, 3), "--widths"), ("widths", "1,2", "--widths"),
    ("steps", 0, "--steps"), ("lr", 0.0, "--lr"), ("lr", float("inf"), "--lr"), ("starts", 0, "--starts"),
    ("n_train", 0, "--n-train"), ("n_grid", 1, "--n-grid"), ("seed", -1, "--seed"), ("seed", 2**64, "--seed"),
])
def test_settings_are_checked_when_made(field, value, flag):
    with pytest.raises(InputError, match=rf"^{field} \({flag}\): "):
        experiments.approximate.Config(**{field: value})


def test_settings_are_frozen_and_widths_a_tuple():
    config = experiments.approximate.Config(widths=[1, 2, 4])
    assert config.widths == (1, 2, 4)
    with pytest.raises(AttributeError):
        config.steps = 3


def test_a_diverged_fit_names_lr_and_leaves_out_as_it_was(tmp_path):
    out = tmp_path / "run"
    config = experiments.approximate.Config(widths=(8,), steps=5, lr=1e30, n_grid=11)
    with pytest.raises(Diverged, match=r"^lr \(--lr\): 1e\+30 is too large: width 8"):
        experiments.approximate.run(config, out, quiet=True)
    assert not out.exists()


def test_resume_is_refused(tmp_path):
    with pytest.raises(InputError, match="resume"):
        experiments.approximate.run(None, tmp_path / "run", resume=True)
    assert not (tmp_path / "run").exists()
