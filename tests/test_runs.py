import dataclasses
import json
import os
import random
import re
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from monge.errors import InputError
from monge.runs import (CHECKPOINT, Run, atomic_write, default_folder, guarded, jsonable, read_metrics, restartable,
                        save_npy, save_npz, save_torch, seed_everything, stored_config, threads, write_json)


@dataclass
class Settings:
    lr: float = 0.1
    steps: int = 3
    name: str = "demo"


def _temporaries(folder):
    return [p.name for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_default_folder_is_named_after_command_and_time(tmp_path):
    run = Run.create("transport", Settings(), root=tmp_path / "runs")
    assert run.path.parent == tmp_path / "runs"
    assert re.fullmatch(r"transport-\d{8}-\d{6}", run.path.name)
    assert (run.path / "figures").is_dir()
    config = json.loads((run.path / "config.json").read_text())
    assert config == {"command": "transport", "lr": 0.1, "steps": 3, "name": "demo"}


def test_two_runs_in_the_same_second_get_two_folders(tmp_path):
    paths = {Run.create("tour", {}, root=tmp_path).path for _ in range(3)}
    assert len(paths) == 3


def test_metrics_summary_and_figures(tmp_path):
    from matplotlib.figure import Figure

    run = Run.create("demo", {"a": 1}, tmp_path / "out", quiet=True)
    run.log(epoch=0, loss=np.float32(0.5), w=torch.tensor([1.0, 2.0]))
    run.log(epoch=1, loss=float("nan"))
    lines = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    assert lines == [{"epoch": 0, "loss": 0.5, "w": [1.0, 2.0]}, {"epoch": 1, "loss": None}]
    run.write_summary({"best": np.int64(3)})
    assert json.loads((run.path / "summary.json").read_text()) == {"best": 3}
    fig = Figure()
    fig.subplots().plot([0, 1], [1, 0])
    path = run.save_figure(fig, "line.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _temporaries(run.path) == []


def test_step_prints_and_logs(tmp_path, capsys):
    run = Run.create("demo", {}, tmp_path / "out")
    with run.step("add") as record:
        record["total"] = 2
    out = capsys.readouterr().out
    assert re.search(r"\[1\] add \.\.\. \d+\.\d\d s", out)
    line = json.loads((run.path / "metrics.jsonl").read_text())
    assert line["step"] == "add" and line["total"] == 2 and line["seconds"] >= 0


def test_quiet_run_prints_nothing(tmp_path, capsys):
    run = Run.create("demo", {}, tmp_path / "out", quiet=True)
    run.echo("hello")
    with run.step("s"):
        pass
    assert capsys.readouterr().out == ""


def test_refuses_a_folder_of_someone_elses_files(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="thesis.tex"):
        Run.create("transport", {}, out)
    assert (out / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_refuses_a_previous_run_of_any_command(tmp_path):
    Run.create("tour", {}, tmp_path / "out")
    with pytest.raises(FileExistsError, match="not empty"):
        Run.create("transport", {}, tmp_path / "out")
    with pytest.raises(FileExistsError, match="not empty") as refused:
        Run.create("tour", {}, tmp_path / "out")  # two runs' files never mix
    assert "--resume" not in str(refused.value)  # nothing to resume without a checkpoint
    Run.create("tour", {}, tmp_path / "out", resume=True).save_checkpoint({"index": 0})
    with pytest.raises(FileExistsError, match="to continue that run: --resume DIR"):
        Run.create("tour", {}, tmp_path / "out")


def test_refuses_a_file_as_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        Run.create("transport", {}, tmp_path / "file")


def test_an_empty_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    assert Run.create("demo", {}, tmp_path / "empty").path == tmp_path / "empty"


def test_resume_appends_metrics(tmp_path):
    first = Run.create("train", {}, tmp_path / "out")
    first.log(epoch=0)
    resumed = Run.create("train", {}, tmp_path / "out", resume=True)
    resumed.log(epoch=1)
    assert (tmp_path / "out" / "metrics.jsonl").read_text().count("epoch") == 2


def test_resume_needs_a_previous_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot resume"):
        Run.create("train", {}, tmp_path / "nothing", resume=True)
    Run.create("tour", {}, tmp_path / "other")
    with pytest.raises(FileNotFoundError, match="'tour'"):
        Run.create("train", {}, tmp_path / "other", resume=True)
    with pytest.raises(ValueError, match="resume"):
        Run.create("train", {}, resume=True, root=tmp_path)


@pytest.mark.parametrize("config, error", [([1, 2], TypeError), ({"command": "tour"}, ValueError)])
def test_bad_config(tmp_path, config, error):
    with pytest.raises(error, match="config"):
        Run.create("transport", config, tmp_path / "out")


def test_atomic_write_replaces_whole_files(tmp_path):
    target = tmp_path / "data.json"
    write_json(target, {"a": 1})
    write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert _temporaries(tmp_path) == []
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"old and good")
    with pytest.raises(RuntimeError, match="killed"):
        with atomic_write(target) as fh:
            fh.write(b"half of the new")
            raise RuntimeError("killed")
    assert target.read_bytes() == b"old and good"
    assert os.listdir(tmp_path) == ["checkpoint.pt"]


def test_npz_npy_and_torch_files_round_trip(tmp_path):
    save_npz(tmp_path / "plan.npz", rows=np.arange(3), mass=np.full(3, 1 / 3))
    with np.load(tmp_path / "plan.npz") as data:
        assert data["rows"].tolist() == [0, 1, 2]
    save_npy(tmp_path / "perm.npy", np.array([2, 0, 1]))
    assert np.load(tmp_path / "perm.npy").tolist() == [2, 0, 1]
    run = Run.create("train", {}, tmp_path / "run")
    path = run.save_checkpoint({"w": torch.arange(3.0), "epoch": 4})
    assert path == tmp_path / "run" / "checkpoints" / "last.pt"
    state = torch.load(path)
    assert state["epoch"] == 4
    torch.testing.assert_close(state["w"], torch.arange(3.0))
    save_torch(tmp_path / "plain.pt", [1, 2])
    assert torch.load(tmp_path / "plain.pt") == [1, 2]
    assert _temporaries(tmp_path) == []


def test_jsonable():
    assert jsonable({"a": (1, np.float64(2.5)), 3: Settings()}) == {
        "a": [1, 2.5], "3": {"lr": 0.1, "steps": 3, "name": "demo"}}
    assert jsonable([float("inf"), np.array([1.0, np.nan])]) == [None, [1.0, None]]
    with pytest.raises(TypeError, match="object"):
        jsonable(object())


def test_seed_everything_makes_draws_reproducible():
    def draws():
        rng = seed_everything(7)
        return random.random(), np.random.rand(), torch.rand(1).item(), rng.random()

    assert draws() == draws()
    first = draws()
    seed_everything(8)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) != first[:3]


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_seed_everything_refuses_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        seed_everything(seed)


def test_read_metrics_skips_a_half_written_line(tmp_path):
    run = Run.create("demo", {}, tmp_path / "out", quiet=True)
    run.log(step=0, loss=1.0)
    run.log(step=1, loss=0.5)
    with open(run.path / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 2, "lo')  # killed mid-line
    assert read_metrics(run.path) == [{"step": 0, "loss": 1.0}, {"step": 1, "loss": 0.5}]
    assert read_metrics(tmp_path / "nowhere") == []


@dataclasses.dataclass(frozen=True)
class _Settings:
    lr: float | None = None
    epochs: int = 3


def test_stored_config_refuses_a_conflicting_setting(tmp_path):
    Run.create("demo", _Settings(lr=0.1, epochs=5), tmp_path / "out", quiet=True)
    assert stored_config(tmp_path / "out", "demo", _Settings()) == _Settings(lr=0.1, epochs=5)
    assert stored_config(tmp_path / "out", "demo", _Settings(lr=0.1)) == _Settings(lr=0.1, epochs=5)
    with pytest.raises(InputError, match=r"lr \(--lr\): 0.5 conflicts with the run being resumed \(lr = 0.1"):
        stored_config(tmp_path / "out", "demo", _Settings(lr=0.5))
    with pytest.raises(InputError, match="holds a run of 'demo'; expected a monge other run"):
        stored_config(tmp_path / "out", "other", _Settings())
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        stored_config(tmp_path / "none", "demo", _Settings())


def test_restartable_empties_a_run_without_checkpoint(tmp_path):
    run = Run.create("demo", {}, tmp_path / "out", quiet=True)
    run.log(epoch=0)
    assert restartable(run.path) and list(run.path.iterdir()) == []
    run = Run.create("demo", {}, tmp_path / "out", quiet=True)
    run.save_checkpoint({"index": 1})
    assert not restartable(run.path) and (run.path / CHECKPOINT).is_file()


@pytest.mark.parametrize("existed", [False, True])
def test_guarded_leaves_a_fresh_folder_as_it_was(tmp_path, existed):
    out = tmp_path / "out"
    if existed:
        out.mkdir()
    with pytest.raises(KeyboardInterrupt), guarded(out):
        Run.create("demo", {}, out, quiet=True).log(step=0)
        raise KeyboardInterrupt
    assert out.exists() == existed and (not existed or list(out.iterdir()) == [])
    with pytest.raises(RuntimeError), guarded(out):  # a checkpoint makes the run resumable: kept
        Run.create("demo", {}, out, quiet=True).save_checkpoint({"index": 0})
        raise RuntimeError
    assert (out / CHECKPOINT).is_file()


def test_guarded_removes_a_run_whose_settings_were_refused_even_after_a_checkpoint(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(InputError), guarded(out):  # resuming it would refuse them again
        Run.create("demo", {}, out, quiet=True).save_checkpoint({"index": 0})
        raise InputError("eps: too small")
    assert not out.exists()


def test_guarded_removes_the_parents_a_failed_run_made(tmp_path):
    out = default_folder("demo", root=tmp_path / "runs")
    with pytest.raises(InputError), guarded(out):
        Run.create("demo", {}, out, quiet=True)
        raise InputError("bad")
    assert not (tmp_path / "runs").exists() and tmp_path.exists()


def test_threads_are_restored(tmp_path):
    import torch

    before = torch.get_num_threads()
    with threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(InputError, match=r"threads \(--threads\): 0"):
        with threads(0):
            pass


def test_default_folder_is_new(tmp_path):
    path = default_folder("demo", root=tmp_path)
    assert path.parent == tmp_path and path.name.startswith("demo-") and not path.exists()
