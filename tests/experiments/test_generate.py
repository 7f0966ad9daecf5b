"""``monge.experiments.generate``: the library function gives what the command gives, checks its settings,
leaves a failed run's folder as it was and resumes bit-identically."""

import json

import numpy as np
import pytest
import torch

from monge import experiments
from monge.cli.main import main
from monge.errors import Diverged, InputError, InputTypeError
from monge.training import generative

from ._folders import figures, files

generate = experiments.generate
TIMES = {"seconds", "cpu_seconds", "wall_seconds"}
TINY = dict(steps=12, batch=32, widths=(16, 16))


def _metrics(folder):
    return [{k: v for k, v in json.loads(line).items() if k not in TIMES | {"time"}}
            for line in (folder / "metrics.jsonl").read_text().splitlines()]


def _same_folders(a, b):
    assert files(a) == files(b)
    summaries = [json.loads((folder / "summary.json").read_text()) for folder in (a, b)]
    assert figures(summaries[0], TIMES) == figures(summaries[1], TIMES)
    assert json.loads((a / "config.json").read_text()) == json.loads((b / "config.json").read_text())
    assert _metrics(a) == _metrics(b)
    for name in [f for f in files(a) if f.endswith(".npy")]:
        assert np.array_equal(np.load(a / name), np.load(b / name)), name
    g, h = (torch.load(folder / "generator.pt", weights_only=True) for folder in (a, b))
    assert g.keys() == h.keys() and all(torch.equal(g[k], h[k]) for k in g)


@pytest.fixture
def points(tmp_path):
    """100 points of the plane in a .npy file: 75 to train on, 25 held out (a fast assessment)."""
    path = tmp_path / "points.npy"
    np.save(path, np.random.default_rng(1).normal(size=(100, 2)) + np.array([3.0, -1.0]))
    return str(path)


def test_run_and_the_command_write_the_same_folder(tmp_path, capsys):
    config = generate.Config(data="swissroll", loss="sliced", seed=3, data_seed=1, **TINY)
    summary = generate.run(config, tmp_path / "python")
    printed = capsys.readouterr().out
    assert main(["generate", "--data", "swissroll", "--loss", "sliced", "--seed", "3", "--data-seed", "1", "--steps",
                 "12", "--batch", "32", "--widths", "16,16", "--out", str(tmp_path / "cli")]) == 0
    _same_folders(tmp_path / "python", tmp_path / "cli")
    assert figures(summary, TIMES) == figures(tmp_path / "python", TIMES)
    assert summary["n_samples"] == generate.N_SAMPLES and summary["modes_covered"] >= 0
    lines = [printed.splitlines(), capsys.readouterr().out.splitlines()]
    assert [line.split(" ...")[0] for line in lines[0]][:2] == [line.split(" ...")[0] for line in lines[1]][:2]
    assert lines[0][0].startswith("training a mlp generator (latent 2, widths [16, 16])")


@pytest.mark.parametrize("field, value, flag", [
    ("steps", 0, "--steps"), ("lr", -1.0, "--lr"), ("data_seed", -2, "--data-seed"), ("loss", "gan", "--loss"),
    ("widths", (0,), "--widths"), ("rho", 0.5, "--rho"), ("checkpoint_every", 0, "--checkpoint-every"),
])
def test_settings_are_checked_when_made(field, value, flag):
    with pytest.raises(InputError, match=rf"^{field} \({flag}\): "):
        generate.Config(**{field: value})


def test_settings_are_frozen_and_resolve_makes_a_copy(points):
    config = generate.Config(data=points, loss="sinkhorn")
    with pytest.raises(AttributeError):
        config.lr = 1.0
    resolved = generate.resolve(config, generate.load_data(config))
    assert config.lr is None and resolved.lr == 3e-3 and resolved.steps == 1000 and resolved.widths == (256, 256, 256)


def test_run_arguments_are_checked(tmp_path):
    with pytest.raises(InputError, match="^n_samples: 0; expected an integer >= 1"):
        generate.run(generate.Config(), tmp_path / "a", n_samples=0)
    with pytest.raises(InputTypeError, match="^config: dict"):
        generate.run({"steps": 3}, tmp_path / "b")
    with pytest.raises(InputError, match=r"^threads \(--threads\): 0"):
        generate.run(generate.Config(**TINY), tmp_path / "c", threads=0)
    assert not any((tmp_path / name).exists() for name in "abc")


def test_a_failure_before_the_first_checkpoint_leaves_out_as_it_was(tmp_path, points, monkeypatch):
    absent, empty = tmp_path / "absent", tmp_path / "empty"
    empty.mkdir()
    for out in (absent, empty):
        with pytest.raises(InputError, match=r"network \(--network\): 'conv' needs images"):
            generate.run(generate.Config(data=points, network="conv"), out, quiet=True)
        with pytest.raises(InputError, match=r"judge \(--judge\): given for data 'points.npy'"):
            generate.run(generate.Config(data=points, **TINY), out, quiet=True, judge=tmp_path)

    def broken(self, step, generator):  # the run folder is made, no checkpoint yet
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(generate._Snapshots, "__call__", broken)
    for out in (absent, empty):
        with pytest.raises(OSError, match="No space left"):
            generate.run(generate.Config(data=points, **TINY), out, quiet=True)
    assert not absent.exists() and list(empty.iterdir()) == []


def test_a_diverged_training_names_the_step_and_keeps_its_checkpoint(tmp_path, points, monkeypatch):
    class NaN(torch.nn.Module):
        def forward(self, x, z):
            return x.sum() * float("nan")

    monkeypatch.setattr(generative, "make_loss", lambda *args, **kwargs: NaN())
    out = tmp_path / "run"
    with pytest.raises(Diverged, match=r"loss is not finite at step 0.*--lr"):
        generate.run(generate.Config(data=points, **TINY), out, quiet=True)
    assert (out / "checkpoints" / "last.pt").is_file()  # resumable, with a lower --lr after a fresh start


def test_a_killed_run_resumes_bit_identically(tmp_path, points, monkeypatch):
    config = generate.Config(data=points, loss="exact", steps=25, batch=16, widths=(16,))
    whole = generate.run(config, tmp_path / "whole", quiet=True, n_samples=300)
    snapshot = generate._Snapshots.__call__

    def interrupted(self, step, generator):
        if step == 16:
            raise KeyboardInterrupt
        snapshot(self, step, generator)

    monkeypatch.setattr(generate._Snapshots, "__call__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate.run(config, tmp_path / "killed", quiet=True, n_samples=300)
    monkeypatch.setattr(generate._Snapshots, "__call__", snapshot)
    with pytest.raises(InputError, match=r"^steps \(--steps\): 20 conflicts with the run being resumed"):
        generate.run(generate.Config(steps=20), tmp_path / "killed", resume=True, quiet=True, n_samples=300)
    resumed = generate.run(None, tmp_path / "killed", resume=True, quiet=True, n_samples=300)
    assert resumed["resumed_at_step"] == 10 and whole["resumed_at_step"] is None
    assert {k: v for k, v in figures(resumed, TIMES).items() if k != "resumed_at_step"} == \
        {k: v for k, v in figures(whole, TIMES).items() if k != "resumed_at_step"}
    g, h = (torch.load(tmp_path / name / "generator.pt", weights_only=True) for name in ("whole", "killed"))
    assert all(torch.equal(g[k], h[k]) for k in g)
    assert _metrics(tmp_path / "whole") == [r for r in _metrics(tmp_path / "killed") if r.get("step") != "resume"]


def test_a_run_killed_before_its_first_checkpoint_starts_again(tmp_path, points, capsys):
    config = generate.Config(data=points, loss="wgan-gp", steps=3, batch=16, seed=2)
    whole = generate.run(config, tmp_path / "whole", quiet=True, n_samples=200)
    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / "config.json").write_text((tmp_path / "whole" / "config.json").read_text())
    (killed / "metrics.jsonl").write_text('{"step": 0, "critic_lo')  # cut by a kill
    again = generate.run(None, killed, resume=True, n_samples=200)
    assert "has no checkpoint yet: starting the run again from step 0" in capsys.readouterr().out
    assert again["resumed_at_step"] is None and figures(again, TIMES) == figures(whole, TIMES)
    assert generate.saved_config(killed) == generate.saved_config(tmp_path / "whole")


def test_the_settings_of_the_run_and_the_threads_are_left_as_they_were(tmp_path, points):
    before = torch.get_num_threads()
    config = generate.Config(data=points, loss="wgan", steps=2, batch=8)
    summary = generate.run(config, tmp_path / "run", quiet=True, threads=2, n_samples=100)
    assert torch.get_num_threads() == before and summary["threads"] == 2 and summary["n_samples"] == 100
    assert config == generate.Config(data=points, loss="wgan", steps=2, batch=8)
    saved = generate.saved_config(tmp_path / "run")
    assert saved.wgan.mode == "clip" and saved.steps == 2 and saved.widths == (128, 128, 128)
    assert np.load(tmp_path / "run" / "samples.npy").shape == (100, 2)
