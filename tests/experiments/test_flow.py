"""``monge.experiments.flow``: the library function gives what the command gives, and checks its settings."""

import json
import re

import numpy as np
import pytest

from monge import experiments
from monge.cli.main import main
from monge.errors import Diverged, InputError, InputTypeError
from monge.meanfield import FlowDiverged

from ._folders import figures, files

TIMES = {"seconds", "seconds_flow", "grid_seconds"}


def test_run_and_the_command_write_the_same_folder(tmp_path, capsys):
    config = experiments.flow.Config(n=20, t=0.5, dt=0.05, grid=True, grid_cells=(24, 12), frames=3, seed=4)
    summary = experiments.flow.run(config, tmp_path / "python")
    printed = capsys.readouterr().out
    assert main(["flow", "--n", "20", "--t", "0.5", "--dt", "0.05", "--grid", "--grid-cells", "24x12", "--frames",
                 "3", "--seed", "4", "--out", str(tmp_path / "cli")]) == 0
    assert _lines(capsys.readouterr().out, tmp_path / "cli") == _lines(printed, tmp_path / "python")
    assert files(tmp_path / "python") == files(tmp_path / "cli")
    assert figures(tmp_path / "python", TIMES) == figures(tmp_path / "cli", TIMES)
    assert {k: v for k, v in summary.items() if k not in TIMES} == figures(tmp_path / "python", TIMES)
    configs = [json.loads((tmp_path / name / "config.json").read_text()) for name in ("python", "cli")]
    assert configs[0] == configs[1] and configs[0]["grid_box"] == [-8.0, 8.0, -4.0, 4.0]
    assert "threads" not in configs[0] and "out" not in configs[0]
    for name in ("particles.npy", "energy.npy"):
        np.testing.assert_array_equal(np.load(tmp_path / "python" / name), np.load(tmp_path / "cli" / name))
    with np.load(tmp_path / "python" / "grid.npz") as one, np.load(tmp_path / "cli" / "grid.npz") as two:
        np.testing.assert_array_equal(one["density"], two["density"])


def _lines(printed, folder):
    """The run's printed lines (not a library's warnings) without their timings and folder."""
    lines = printed.replace(str(folder), "FOLDER").splitlines()
    lines = [line for line in lines if line.startswith(("Wasserstein", "  "))]
    return [re.sub(r"\d+\.\d s\b", "T s", line) for line in lines]


def test_resolve_fills_the_measured_defaults_without_changing_the_config():
    config = experiments.flow.Config(example="relu-teacher")
    resolved = experiments.flow.resolve(config)
    assert config.dt is None and resolved.dt == 0.05 and resolved.grid_cells is None
    grid = experiments.flow.resolve(experiments.flow.Config(grid=True))
    assert (grid.dt, grid.grid_cells, grid.grid_box) == (0.01, (160, 80), (-8.0, 8.0, -4.0, 4.0))


def test_a_file_example_takes_its_unit_and_box_from_the_samples(tmp_path):
    path = tmp_path / "samples.npy"
    np.save(path, np.stack([np.linspace(0, 2, 20), np.linspace(0, 2, 20) ** 2], 1))
    resolved = experiments.flow.resolve(experiments.flow.Config(example=path, grid=True))
    assert resolved.example == str(path) and resolved.unit == "bump"
    assert resolved.grid_box == (-8.0, 8.0, -1.0, 3.0)


@pytest.mark.parametrize("field, value, flag", [
    ("n", 0, "--n"), ("t", 0.0, "--t"), ("dt", -1.0, "--dt"), ("dt", float("nan"), "--dt"), ("lam", -1.0, "--lam"),
    ("method", "heun", "--method"), ("scaling", "ntk", "--scaling"), ("frames", 1, "--frames"),
    ("seed", -1, "--seed"), ("seed", 2**70, "--seed"), ("example", "gaussian", "--example"),
    ("unit", "relu", "--unit"), ("bad_start", 1, "--bad-start"), ("grid_cells", (1, 80), "--grid-cells"),
    ("grid_box", (0, 1, 1, 0), "--grid-box"), ("grid", "yes", "--grid"),
])
def test_settings_are_checked_when_made(field, value, flag):
    settings = {field: value}
    if field.startswith("grid_"):
        settings["grid"] = True
    with pytest.raises(InputError, match=rf"^{field} \({flag}\): "):
        experiments.flow.Config(**settings)


@pytest.mark.parametrize("settings, words", [
    ({"example": "relu-teacher", "bad_start": True}, "bad_start (--bad-start)"),
    ({"example": "relu-teacher", "grid": True}, "3 per neuron"),
    ({"grid": True, "scaling": "lazy"}, "expected --scaling mean-field"),
    ({"grid_cells": (16, 8)}, "add --grid"),
    ({"substep": False}, "add --grid"),
])
def test_settings_that_only_go_with_others(settings, words):
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        experiments.flow.Config(**settings)


def test_a_wrong_type_is_an_input_type_error():
    with pytest.raises(InputTypeError, match=r"grid \(--grid\): 'yes'"):
        experiments.flow.Config(grid="yes")


def test_settings_are_frozen_and_normalised():
    config = experiments.flow.Config(t=1, grid=True, grid_cells=[16, 8], grid_box=[-1, 1, -2, 2])
    assert config.t == 1.0 and isinstance(config.t, float)
    assert config.grid_cells == (16, 8) and config.grid_box == (-1.0, 1.0, -2.0, 2.0)
    with pytest.raises(AttributeError):
        config.n = 3


def test_a_diverged_flow_names_dt_and_leaves_out_as_it_was(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(FlowDiverged, match=r"at t = 30 \(step 1\): .*reduce the time step dt \(--dt\)") as caught:
        experiments.flow.run(experiments.flow.Config(n=20, dt=1e5, frames=2), out, quiet=True)
    assert isinstance(caught.value, Diverged)
    assert not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(Diverged):
        experiments.flow.run(experiments.flow.Config(example="relu-teacher", n=20, dt=50.0, frames=2), empty,
                             quiet=True)
    assert empty.is_dir() and not any(empty.iterdir())


def test_a_bad_grid_step_is_refused_before_the_folder_is_made(tmp_path):
    config = experiments.flow.Config(n=10, t=1.0, dt=5.0, grid=True, grid_cells=(16, 8), substep=False)
    with pytest.raises(InputError, match=r"dt \(--dt\): 5 breaks the grid's CFL condition"):
        experiments.flow.run(config, tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()


def test_resume_is_refused(tmp_path):
    with pytest.raises(InputError, match="resume"):
        experiments.flow.run(experiments.flow.Config(n=10, t=0.1, frames=2), tmp_path / "run", resume=True)
    assert not (tmp_path / "run").exists()


def test_threads_are_restored(tmp_path):
    import torch

    before = torch.get_num_threads()
    experiments.flow.run(experiments.flow.Config(n=10, t=0.1, dt=0.05, frames=2), tmp_path / "run", quiet=True,
                         threads=1)
    assert torch.get_num_threads() == before
