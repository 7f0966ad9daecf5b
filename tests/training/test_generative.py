import itertools
import json
import math

import pytest
import torch
from torch import nn

from monge.errors import Diverged, InputError, InputTypeError
from monge.networks import ConvGenerator, MLPGenerator
from monge.runs import Run
from monge.training.generative import OTConfig, fit_generator, make_loss
from monge.training.loop import DivergedError
from monge.transport import OTLoss

DATA = torch.randn(400, 2, generator=torch.Generator().manual_seed(0)) * 0.3 + torch.tensor([2.0, -1.0])


def _generator(seed=0):
    torch.manual_seed(seed)
    return MLPGenerator(2, [32, 32], (2,))


def _run(path, resume=False):
    return Run.create("generate", {}, out=path, resume=resume, quiet=True)


def test_exact_loss_is_the_texts_distance_over_n():
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    z = torch.randn(6, 2, generator=torch.Generator().manual_seed(2))
    distance = min(sum(float((x[i] - z[s[i]]).norm()) for i in range(6)) for s in itertools.permutations(range(6)))
    assert float(make_loss("exact")(x, z)) == pytest.approx(distance / 6, rel=1e-6)
    assert float(make_loss("exact", p=2.0)(x, z)) <= float(((x - z) ** 2).sum(1).mean()) + 1e-6


@pytest.mark.parametrize("loss", ["exact", "sinkhorn", "sliced"])
def test_each_loss_moves_the_samples_onto_the_data(tmp_path, loss):
    g = _generator()
    with torch.no_grad():
        before = (g.sample(500, torch.Generator().manual_seed(3)).mean(0) - DATA.mean(0)).norm()
    summary = fit_generator(g, DATA, OTConfig(loss=loss, steps=150, batch=64, lr=1e-2), run=_run(tmp_path),
                            progress=False)
    with torch.no_grad():
        samples = g.sample(500, torch.Generator().manual_seed(3))
    assert float((samples.mean(0) - DATA.mean(0)).norm()) < min(0.15, 0.1 * float(before))
    assert summary["steps"] == 150 and summary["loss_name"] == loss and summary["p"] == 1.0
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(150))
    assert records[-1]["lr"] < 1e-4 < records[0]["lr"] == pytest.approx(1e-2)  # cosine, annealed to 0
    assert json.loads((tmp_path / "summary.json").read_text())["final_loss"] == pytest.approx(summary["final_loss"])


def test_rho_makes_the_sinkhorn_loss_unbalanced():
    """A generated point far from every data point: balanced transport pulls it across with the
    full gradient of its cost, unbalanced transport (rho well below that cost) leaves its mass behind."""
    assert make_loss("sinkhorn").options["rho"] is None
    z = torch.randn(32, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 0.1
    x = z.clone()
    x[0] = torch.tensor([3.0, 0.0], dtype=torch.float64)  # a squared distance of about 9 to the data
    pulls = {}
    for rho in (None, 1e-2):
        loss = make_loss("sinkhorn", p=2.0, eps=1e-2, rho=rho, max_iter=200)
        assert loss.options["rho"] == rho and loss.method == "sinkhorn_divergence"
        point = x.clone().requires_grad_(True)
        loss(point, z).backward()
        pulls[rho] = float(point.grad[0].norm())
    # 2 (x_0 - z_s) / n, the gradient of its whole cost, with z_s within 0.4 of the origin
    assert pulls[None] == pytest.approx(2 * 3.0 / 32, rel=0.15)
    assert pulls[1e-2] < 0.01 * pulls[None]


def test_an_otloss_module_and_images(tmp_path):
    torch.manual_seed(0)
    g = ConvGenerator(4, (1, 8, 8), channels=(8, 4))
    data = torch.rand(64, 64)  # flat samples of the generator's 64 values
    snapshots = []
    fit_generator(g, data, OTConfig(loss=OTLoss(p=2.0, method="exact"), steps=5, batch=8, lr=1e-3), run=_run(tmp_path),
                  progress=False, every=2, on_snapshot=lambda step, gen: snapshots.append(step))
    assert snapshots == [2, 4, 5]


class _Stop(Exception):
    pass


def _stop_at(step):
    def snapshot(done, generator):
        if done == step:
            raise _Stop
    return snapshot


@pytest.mark.parametrize("loss", ["exact", "sliced"])
def test_resumed_run_equals_an_uninterrupted_one(tmp_path, loss):
    config = OTConfig(loss=loss, steps=9, batch=16, lr=1e-2, checkpoint_every=3)
    g = _generator()
    whole = fit_generator(g, DATA, config, run=_run(tmp_path / "whole"), progress=False)
    killed = tmp_path / "killed"
    with pytest.raises(_Stop):  # stopped in step 8: the checkpoint holds 6 steps, the metrics 7
        fit_generator(_generator(), DATA, config, run=_run(killed), progress=False, every=1, on_snapshot=_stop_at(8))
    assert torch.load(killed / "checkpoints" / "last.pt", weights_only=True)["index"] == 6
    g3 = _generator(seed=1)  # other initial weights: the checkpoint must replace them
    resumed = fit_generator(g3, DATA, config, run=_run(killed, resume=True), resume=True, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(g.state_dict().values(), g3.state_dict().values()))

    def metrics(folder):
        return [{k: v for k, v in json.loads(line).items() if k != "time"}
                for line in (folder / "metrics.jsonl").read_text().splitlines()]

    assert metrics(tmp_path / "whole") == metrics(killed)
    assert resumed["resumed_at_step"] == 6 and resumed["final_loss"] == whole["final_loss"]


def test_watchdog_stops_on_nan(tmp_path):
    class NaNLoss(nn.Module):
        def forward(self, x, z):
            return x.sum() * math.nan

    with pytest.raises(DivergedError, match="loss is not finite at step 0") as error:
        fit_generator(_generator(), DATA, OTConfig(loss=NaNLoss(), steps=3, batch=8), run=_run(tmp_path),
                      progress=False)
    assert isinstance(error.value, Diverged) and "--lr" in str(error.value)


@pytest.mark.parametrize("kwargs, match", [
    (dict(loss="wasserstein"), r"loss \(--loss\): 'wasserstein'; expected one of exact, sinkhorn, sliced"),
    (dict(loss="exact", eps=0.1), r"eps \(--eps\): 0.1; only the sinkhorn loss has a temperature, not 'exact'"),
    (dict(loss="sinkhorn", eps=0.0), r"eps \(--eps\): 0.0; expected a number in \(0, inf\)"),
    (dict(loss="sinkhorn", eps=-1.0), "eps .*: -1.0"),
    (dict(loss="exact", rho=0.1), "rho .*: 0.1; only the sinkhorn loss has unbalanced transport, not 'exact'"),
    (dict(loss="sliced", rho=1.0), "rho .*: 1.0; only the sinkhorn loss"),
    (dict(loss="sinkhorn", rho=0.0), r"rho .*: 0.0; expected a number in \(0, inf\)"),
    (dict(loss="sinkhorn", rho=-1.0), "rho .*: -1.0"),
    (dict(loss="sinkhorn", rho=math.nan), "rho .*: nan"),
    (dict(loss="sinkhorn", rho="1"), "rho .*: '1'"),
    (dict(p=0.0), "p .*: 0.0"),
    (dict(loss="sliced", p=0.5), "p .*: 0.5; the sliced loss needs p >= 1"),
    (dict(loss="sinkhorn", max_iter=0), "max_iter .*: 0"),
    (dict(steps=0), "steps .*: 0"),
    (dict(batch=1), "batch .*: 1"),
    (dict(lr=float("nan")), "lr .*: nan"),
    (dict(schedule="linear"), "schedule .*: 'linear'"),
    (dict(checkpoint_every=0), "checkpoint_every .*: 0"),
    (dict(seed=-1), "seed .*: -1"),
])
def test_bad_settings_name_the_argument(kwargs, match):
    with pytest.raises(InputError, match=f"^{match}"):
        OTConfig(**kwargs)
    if set(kwargs) <= {"loss", "p", "eps", "rho", "max_iter"}:  # the loss's own settings: make_loss checks them too
        with pytest.raises(ValueError, match=f"^{match}"):  # an InputError is a ValueError
            make_loss(**kwargs)


def test_bad_arguments_of_the_trainer(tmp_path):
    run = _run(tmp_path)
    with pytest.raises(InputError, match="^every: 0; expected an integer >= 1"):
        fit_generator(_generator(), DATA, OTConfig(steps=2), run=run, progress=False, every=0)
    with pytest.raises(InputTypeError, match="^on_snapshot: int"):
        fit_generator(_generator(), DATA, OTConfig(steps=2), run=run, progress=False, every=1, on_snapshot=3)
    with pytest.raises(InputTypeError, match="^config: dict; expected an OTConfig"):
        fit_generator(_generator(), DATA, {"steps": 2}, run=run, progress=False)


def test_the_config_is_frozen_and_a_seed_past_2_64_directions_works(tmp_path):
    config = OTConfig(loss="sliced", steps=2, batch=8, seed=2**62)
    with pytest.raises(AttributeError):
        config.steps = 3
    summary = fit_generator(_generator(), DATA, config, run=_run(tmp_path), progress=False)
    assert summary["steps"] == 2 and math.isfinite(summary["final_loss"])


def test_data_that_do_not_fit_the_generator(tmp_path):
    run, config = _run(tmp_path), OTConfig(steps=2)
    with pytest.raises(InputError, match=r"data: samples of 3 values; the generator makes samples of shape \(2,\)"):
        fit_generator(_generator(), torch.randn(50, 3), config, run=run, progress=False)
    with pytest.raises(InputError, match="data: holds NaN"):
        fit_generator(_generator(), torch.full((50, 2), math.nan), config, run=run, progress=False)
    with pytest.raises(InputTypeError, match="data: list"):
        fit_generator(_generator(), [[0.0, 1.0]] * 5, config, run=run, progress=False)
