import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from monge.training.loop import FORMAT, DivergedError, Loop
from monge.runs import Run

SCRIPT = Path(__file__).with_name("_resumable.py")
ROOT = Path(__file__).resolve().parents[2]


def _train(out, epochs, *extra):
    return subprocess.Popen([sys.executable, str(SCRIPT), str(out), str(epochs), *extra], cwd=ROOT)


def _metrics(folder):
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_killed_and_resumed_run_equals_an_uninterrupted_one(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    reference = _train(whole, 12)
    victim = _train(killed, 12)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once a few epochs are checkpointed, mid-run
        lines = (killed / "metrics.jsonl").read_text().splitlines() if (killed / "metrics.jsonl").exists() else []
        if len(lines) >= 4:
            break
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert reference.wait() == 0
    assert not (killed / "final.pt").exists(), "the run finished before it was killed"
    saved = torch.load(killed / "checkpoints" / "last.pt", weights_only=True)
    assert 0 < saved["index"] < 12 and saved["format"] == FORMAT
    assert _train(killed, 12, "--resume").wait() == 0
    a = torch.load(whole / "final.pt", weights_only=True)
    b = torch.load(killed / "final.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _metrics(whole) == _metrics(killed)  # no epoch logged twice, none missing


def _loop(tmp_path, total=3, resume=False, **kwargs):
    run = Run.create("demo", {}, out=tmp_path, resume=resume, quiet=True)
    model = torch.nn.Linear(2, 1)
    return Loop(run, modules={"model": model}, total=total, resume=resume, progress=False, **kwargs), model


def test_watchdog_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    loop, model = _loop(tmp_path, total=5)
    with pytest.raises(DivergedError, match=r"loss is not finite at epoch 2.*\(epoch 2\)"):
        for epoch in loop:
            loop.log(loss=1.0 if epoch < 2 else math.nan)
    assert torch.load(loop.path, weights_only=True)["index"] == 2
    with pytest.raises(DivergedError, match="grad"):
        loop.check(grad=torch.tensor([1.0, math.inf]))


@pytest.mark.parametrize("content, message", [
    (b"not a checkpoint", "not a readable checkpoint"),
    (None, "not a monge training checkpoint"),
])
def test_corrupt_or_foreign_checkpoint(tmp_path, content, message):
    loop, _ = _loop(tmp_path)
    if content is None:
        torch.save({"model": {}}, loop.path)
    else:
        loop.path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        _loop(tmp_path, resume=True)


def test_checkpoint_of_another_model_or_length(tmp_path):
    loop, _ = _loop(tmp_path)
    for _ in loop:
        pass
    with pytest.raises(ValueError, match="3 epochs; this run has 4"):
        _loop(tmp_path, total=4, resume=True)
    run = Run.create("demo", {}, out=tmp_path, resume=True, quiet=True)
    with pytest.raises(ValueError, match="module 'model' does not fit"):
        Loop(run, modules={"model": torch.nn.Linear(3, 1)}, total=3, resume=True, progress=False)
    with pytest.raises(ValueError, match="holds modules"):
        Loop(run, modules={"other": torch.nn.Linear(2, 1)}, total=3, resume=True, progress=False)


def test_missing_checkpoint_and_bad_settings(tmp_path):
    Run.create("demo", {}, out=tmp_path, quiet=True)
    with pytest.raises(ValueError, match="does not exist"):
        _loop(tmp_path, resume=True)
    with pytest.raises(ValueError, match="total"):
        _loop(tmp_path / "a", total=0)
    with pytest.raises(ValueError, match="unit"):
        _loop(tmp_path / "b", unit="batch")
    with pytest.raises(ValueError, match="checkpoint_every"):
        _loop(tmp_path / "c", checkpoint_every=0)


def test_checkpoint_every_and_extra_state(tmp_path):
    loop, _ = _loop(tmp_path, total=5, checkpoint_every=2, unit="step", extra={"best": 0.0})
    seen = []
    for step in loop:
        loop.extra["best"] = float(step)
        if step == 2:
            loop.wait()  # the checkpoint of step 2 is written in the background
            seen.append(torch.load(loop.path, weights_only=True)["index"])
    assert seen == [2]
    state = torch.load(loop.path, weights_only=True)
    assert state["index"] == 5 and state["extra"] == {"best": 4.0}
    resumed, _ = _loop(tmp_path, total=5, resume=True, unit="step")
    assert resumed.extra == {"best": 4.0} and list(resumed) == []


def test_tensorboard_events_when_installed(tmp_path):
    pytest.importorskip("tensorboard")
    loop, _ = _loop(tmp_path, total=2, tensorboard=True)
    for epoch in loop:
        loop.log(loss=1.0 / (epoch + 1))
    loop.close()
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
