"""``monge.experiments.classify``: the library function gives what the command gives, and checks its settings."""

import json

import pytest

from monge import experiments
from monge.cli.main import main
from monge.errors import InputError

from ._folders import figures, files

TIMES = {"seconds", "wall_seconds"}


def test_run_and_the_command_write_the_same_folder(tmp_path, capsys):
    config = experiments.classify.Config(data="moons", n_samples=200, epochs=4, width=8, seed=3)
    summary = experiments.classify.run(config, tmp_path / "python", quiet=True)
    assert main(["classify", "--data", "moons", "--n-samples", "200", "--epochs", "4", "--width", "8", "--seed", "3",
                 "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    assert files(tmp_path / "python") == files(tmp_path / "cli")
    assert figures(tmp_path / "python", TIMES) == figures(tmp_path / "cli", TIMES)
    assert {k: v for k, v in summary.items() if k not in TIMES} == figures(tmp_path / "python", TIMES)
    metrics = [(tmp_path / name / "metrics.jsonl").read_text().splitlines() for name in ("python", "cli")]
    drop = lambda line: {k: v for k, v in json.loads(line).items() if k != "seconds"}  # noqa: E731
    assert [drop(line) for line in metrics[0]] == [drop(line) for line in metrics[1]]


@pytest.mark.parametrize("field, value, flag", [("epochs", 0, "--epochs"), ("lr", -1.0, "--lr"),
                                                ("data_seed", -2, "--data-seed"), ("model", "resnet", "--model")])
def test_settings_are_checked_when_made(field, value, flag):
    with pytest.raises(InputError, match=rf"{field} \({flag}\): "):
        experiments.classify.Config(**{field: value})


def test_settings_are_frozen():
    config = experiments.classify.Config()
    with pytest.raises(AttributeError):
        config.lr = 1.0


def test_a_failure_before_the_first_checkpoint_leaves_out_as_it_was(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(InputError, match="convnet needs images or signals"):
        experiments.classify.run(experiments.classify.Config(data="moons", model="convnet"), out, quiet=True)
    assert not out.exists()


def test_resume_takes_the_saved_settings(tmp_path):
    out = tmp_path / "run"
    first = experiments.classify.run(experiments.classify.Config(data="blobs", n_samples=100, epochs=2), out,
                                     quiet=True)
    again = experiments.classify.run(None, out, resume=True, quiet=True)
    assert again["test_accuracy"] == first["test_accuracy"] and again["epochs"] == 2
    with pytest.raises(InputError, match=r"epochs \(--epochs\): 5 conflicts"):
        experiments.classify.run(experiments.classify.Config(epochs=5), out, resume=True, quiet=True)
