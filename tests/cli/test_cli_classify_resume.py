"""A real ``monge classify`` process killed with SIGKILL mid-run and resumed ends as an uninterrupted one."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 12
# dropout (torch's global generator) and random shifts (the data generator) make every saved RNG matter
FLAGS = ("--data", "digits", "--model", "convnet", "--width", "4", "--epochs", str(EPOCHS), "--dropout", "0.3",
         "--shift", "1", "--seed", "7", "--quiet")


def _classify(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "monge.cli.main", "classify", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _metrics(folder):
    records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]  # wall times differ


def test_killed_and_resumed_classify_equals_an_uninterrupted_one(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    reference = _classify(*FLAGS, "--out", str(whole))
    victim = _classify(*FLAGS, "--out", str(killed))
    metrics = killed / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it once a few epochs are checkpointed, mid-run
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 3:
            break
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert reference.wait() == 0, reference.stderr.read().decode()
    assert not (killed / "summary.json").exists(), "the run finished before it was killed"
    saved = torch.load(killed / "checkpoints" / "last.pt", weights_only=True)
    assert 0 < saved["index"] < EPOCHS
    resumed = _classify("--resume", str(killed), "--quiet")
    assert resumed.wait() == 0, resumed.stderr.read().decode()
    a = torch.load(whole / "checkpoints" / "last.pt", weights_only=True)
    b = torch.load(killed / "checkpoints" / "last.pt", weights_only=True)
    assert a["index"] == b["index"] == EPOCHS
    for name, tensor in a["modules"]["model"].items():
        assert torch.equal(tensor, b["modules"]["model"][name]), name
    assert _metrics(whole) == _metrics(killed)  # no epoch logged twice, none missing, same values
    s, t = (json.loads((folder / "summary.json").read_text()) for folder in (whole, killed))
    assert (s["test_accuracy"], s["test_loss"], s["train_loss"]) == (t["test_accuracy"], t["test_loss"], t["train_loss"])
    assert t["resumed_at_epoch"] == saved["index"]
