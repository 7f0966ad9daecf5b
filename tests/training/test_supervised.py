import json
import math

import pytest
import torch

from monge.data import load
from monge.training import supervised
from monge.training.loop import DivergedError
from monge.training.recipes import SupervisedConfig, resolve
from monge.runs import Run, seed_everything
from monge.training.supervised import cross_entropy, evaluate, squared_error, train


@pytest.fixture(scope="module")
def blobs():
    return load("blobs", n_samples=120)


def test_squared_error_is_the_texts_E_over_n():
    scores = torch.randn(5, 3, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 1, 0])
    E = sum(((scores[i] - torch.eye(3, dtype=torch.float64)[y[i]]) ** 2).sum() for i in range(5))
    torch.testing.assert_close(squared_error(scores, y), E / 5)
    smooth = torch.eye(3, dtype=torch.float64)[y] * 0.7 + 0.1
    torch.testing.assert_close(squared_error(scores, y, 0.3), ((scores - smooth) ** 2).sum() / 5)
    torch.testing.assert_close(cross_entropy(scores, y), -torch.log_softmax(scores, 1)[range(5), y].mean())


def _train(config, data, out, resume=False):
    seed_everything(config.seed)
    run = Run.create("classify", config, out=out, resume=resume, quiet=True)
    return train(config, data, run, resume=resume, progress=False, tensorboard=False)


def _records(folder):
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_train_writes_metrics_checkpoint_and_summary(blobs, tmp_path):
    settings = SupervisedConfig(data="blobs", model="mlp", width=16, epochs=3, dropout=0.1, lr=0.05, schedule="constant")
    config = resolve(settings, blobs)
    result = _train(config, blobs, tmp_path)
    records = _records(tmp_path)
    assert [r["epoch"] for r in records] == [0, 1, 2]
    assert set(records[0]) == {"epoch", "batch_loss", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                               "lr", "seconds"}
    s = result.summary
    assert s == json.loads((tmp_path / "summary.json").read_text())
    assert s["epochs"] == 3 and s["test_accuracy"] > 0.9 and s["seconds"] > 0
    loss, acc = evaluate(result.model, blobs.x_test, blobs.y_test, "cross-entropy")
    assert (loss, acc) == (s["test_loss"], s["test_accuracy"])
    assert not result.model.training
    saved = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert saved["index"] == 3
    for name, tensor in result.model.state_dict().items():
        assert torch.equal(saved["modules"]["model"][name], tensor)


def test_interrupted_and_resumed_in_process_equals_uninterrupted(tmp_path, monkeypatch):
    data = load("digits")
    config = resolve(SupervisedConfig(model="convnet", width=4, epochs=4, batch=256, dropout=0.2), data)
    whole = _train(config, data, tmp_path / "whole")
    real_epoch, calls = supervised.train_epoch, []

    def dies_in_the_third_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(supervised, "train_epoch", dies_in_the_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        _train(config, data, tmp_path / "killed")
    monkeypatch.setattr(supervised, "train_epoch", real_epoch)
    assert torch.load(tmp_path / "killed" / "checkpoints" / "last.pt", weights_only=True)["index"] == 2
    torch.manual_seed(123)  # the checkpoint restores every generator: what happened meanwhile does not matter
    resumed = _train(config, data, tmp_path / "killed", resume=True)
    for name, tensor in whole.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], tensor), name

    def strip(records):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    assert strip(_records(tmp_path / "whole")) == strip(_records(tmp_path / "killed"))
    assert resumed.summary["resumed_at_epoch"] == 2 and resumed.summary["test_loss"] == whole.summary["test_loss"]


def test_a_diverging_loss_stops_with_the_epoch_named(blobs, tmp_path, monkeypatch):
    config = resolve(SupervisedConfig(data="blobs", model="two-layer", epochs=3), blobs)
    monkeypatch.setitem(supervised.LOSSES, "cross-entropy", lambda s, y, a=0.0: s.sum() * math.nan)
    with pytest.raises(DivergedError, match="batch_loss is not finite at epoch 0"):
        _train(config, blobs, tmp_path)


def test_fit_loads_resolves_seeds_and_trains(tmp_path):
    a = supervised.fit(SupervisedConfig(data="blobs", n_samples=100, epochs=2, seed=3), out=tmp_path / "a")
    b = supervised.fit(SupervisedConfig(data="blobs", n_samples=100, epochs=2, seed=3), out=tmp_path / "b")
    assert a.summary["model"] == "two-layer" and a.summary["epochs"] == 2 and a.summary["n_train"] == 75
    assert a.summary["test_loss"] == b.summary["test_loss"]  # seeded
    assert json.loads((tmp_path / "a" / "config.json").read_text())["width"] == 64
