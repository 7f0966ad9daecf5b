import json
import math

import pytest
import torch
from torch import nn

from monge.errors import InputError, InputTypeError
from monge.networks import MLPCritic, MLPGenerator
from monge.runs import Run
from monge.training.adversarial import WGANConfig, clip_weights_, critic_step, fit_wgan, gradient_penalty
from monge.training.loop import FORMAT, DivergedError


def _lipschitz_bound(critic):
    """prod_l ||W_l||_2: a Lipschitz constant of a ReLU MLP."""
    return math.prod(torch.linalg.matrix_norm(m.weight, ord=2).item()
                     for m in critic.modules() if isinstance(m, nn.Linear))


def _trained_critic(delta, config, lr, steps=200):
    """A critic trained between N(0, I) and its translate by (delta, 0), whose W1 is delta."""
    torch.manual_seed(0)
    critic = MLPCritic(2, [32, 32])
    optimizer = torch.optim.RMSprop(critic.parameters(), lr=lr)
    rng = torch.Generator().manual_seed(1)
    shift = torch.tensor([delta, 0.0])
    for _ in range(steps):
        critic_step(critic, optimizer, torch.randn(128, 2, generator=rng) + shift, torch.randn(128, 2, generator=rng),
                    config, rng)
    real, fake = torch.randn(20000, 2, generator=rng) + shift, torch.randn(20000, 2, generator=rng)
    with torch.no_grad():
        return critic, (critic(real).mean() - critic(fake).mean()).item()


def test_clipped_critic_estimates_a_multiple_of_w1_from_below():
    config = WGANConfig(mode="clip", clip=0.05)
    ratios = []
    for delta in (0.5, 1.0, 2.0):
        critic, estimate = _trained_critic(delta, config, lr=5e-3)
        assert all(p.abs().max() <= 0.05 for p in critic.parameters())
        lipschitz = _lipschitz_bound(critic)
        # Kantorovich-Rubinstein: E f(z) - E f(x) <= Lip(f) W1, with W1 = delta for a translation
        assert 0 < estimate <= lipschitz * delta
        ratios.append(estimate / delta)
    # the clipped critic saturates at the same K whatever delta: the estimate is (nearly) K * W1
    assert max(ratios) / min(ratios) < 1.35


def test_penalised_critic_estimates_w1_itself():
    # a soft constraint: for f linear of slope s the loss -s W1 + lam (s - 1)^2 is least at s = 1 + W1 / (2 lam),
    # so the estimate may exceed W1 = 1 by a few per cent
    _, estimate = _trained_critic(1.0, WGANConfig(mode="gp"), lr=3e-3, steps=150)
    assert 0.85 < estimate < 1.2


def test_gradient_penalty_by_hand_on_a_linear_critic():
    critic = nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[1.0, 2.0, 2.0]]))  # |grad f| = 3 everywhere
    penalty, norms = gradient_penalty(lambda x: critic(x).squeeze(-1), torch.randn(5, 3), torch.randn(5, 3))
    torch.testing.assert_close(norms, torch.full((5,), 3.0))
    torch.testing.assert_close(penalty, torch.tensor(4.0))  # (3 - 1)^2


def test_gradient_penalty_matches_finite_differences_and_is_differentiable():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 1)).double()
    f = lambda x: critic(x).squeeze(-1)  # noqa: E731
    real, fake = torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    t = torch.tensor([0.0, 0.3, 0.7, 1.0], dtype=torch.float64)
    penalty, norms = gradient_penalty(f, real, fake, t)
    points = t[:, None] * real + (1 - t[:, None]) * fake
    h = 1e-6
    with torch.no_grad():
        basis = torch.eye(2, dtype=torch.float64)
        grads = torch.stack([(f(points + h * e) - f(points - h * e)) / (2 * h) for e in basis], 1)
    expected = (grads.norm(dim=1) - 1).pow(2).mean()
    torch.testing.assert_close(norms, grads.norm(dim=1), rtol=1e-7, atol=1e-8)
    torch.testing.assert_close(penalty, expected, rtol=1e-7, atol=1e-9)
    # the penalty is differentiable in the critic's weights (double back-propagation)
    weight = critic[0].weight

    def penalty_of(w):
        return gradient_penalty(lambda x: torch.tanh(x @ w.T + critic[0].bias) @ critic[2].weight.T[:, 0]
                                + critic[2].bias, real, fake, t)[0]

    assert torch.autograd.gradcheck(penalty_of, (weight.detach().clone().requires_grad_(True),))


def test_weight_clipping_clips_every_parameter():
    critic = MLPCritic(2, [8])
    with torch.no_grad():
        for p in critic.parameters():
            p.fill_(1.0)
    clip_weights_(critic, 0.01)
    assert all(torch.equal(p, torch.full_like(p, 0.01)) for p in critic.parameters())


def _networks(seed=0):
    torch.manual_seed(seed)
    return MLPGenerator(2, [16], (2,)), MLPCritic(2, [16])


DATA = torch.randn(300, 2, generator=torch.Generator().manual_seed(5)) * 0.3 + 1.0


@pytest.mark.parametrize("mode", ["clip", "gp"])
def test_short_run_logs_the_estimate_beside_the_exact_w1_and_checkpoints(tmp_path, mode):
    g, f = _networks()
    run = Run.create("generate", {}, out=tmp_path, quiet=True)
    snapshots = []
    config = WGANConfig(mode=mode, steps=6, batch=32, exact_every=3, checkpoint_every=2, lr=1e-3)
    summary = fit_wgan(g, f, DATA, config, run=run, progress=False, every=4,
                       on_snapshot=lambda step, gen: snapshots.append(step))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(6))
    keys = {"critic_loss", "generator_loss", "critic_w1", "time"}
    keys |= {"penalty", "grad_norm"} if mode == "gp" else set()
    assert all(keys <= set(r) for r in records)
    assert [r["step"] for r in records if "exact_w1" in r] == [2, 5]
    assert all(r["exact_w1"] > 0 for r in records if "exact_w1" in r)
    assert snapshots == [4, 6]
    state = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert state["format"] == FORMAT and state["index"] == 6 and set(state["modules"]) == {"generator", "critic"}
    assert set(summary) == {"mode", "steps", "seconds", "cpu_seconds", "critic_w1", "exact_w1", "resumed_at_step"}
    assert summary["exact_w1"] == records[-1]["exact_w1"] and summary["steps"] == 6
    assert json.loads((tmp_path / "summary.json").read_text())["mode"] == mode
    if mode == "clip":
        assert all(p.abs().max() <= 0.01 for p in f.parameters())


class _Stop(Exception):
    pass


def _stop_at(step):
    def snapshot(done, generator):
        if done == step:
            raise _Stop
    return snapshot


@pytest.mark.parametrize("mode, schedule", [("clip", "constant"), ("gp", "linear")])
def test_resumed_run_equals_an_uninterrupted_one(tmp_path, mode, schedule):
    config = WGANConfig(mode=mode, schedule=schedule, steps=7, batch=16, n_critic=2, lr=1e-3, exact_every=2,
                        checkpoint_every=2)
    g, f = _networks()
    whole = fit_wgan(g, f, DATA, config, run=Run.create("generate", {}, out=tmp_path / "whole", quiet=True),
                     progress=False)

    g2, f2 = _networks()
    killed = tmp_path / "killed"
    with pytest.raises(_Stop):  # stopped after step 5: the checkpoint holds 4 steps, the metrics 5
        fit_wgan(g2, f2, DATA, config, run=Run.create("generate", {}, out=killed, quiet=True), progress=False,
                 every=1, on_snapshot=_stop_at(5))
    assert torch.load(killed / "checkpoints" / "last.pt", weights_only=True)["index"] == 4
    g3, f3 = _networks(seed=1)  # other initial weights: the checkpoint must replace them
    resumed = fit_wgan(g3, f3, DATA, config, run=Run.create("generate", {}, out=killed, resume=True, quiet=True),
                       resume=True, progress=False)
    for a, b in ((g, g3), (f, f3)):
        assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))

    def metrics(folder):
        return [{k: v for k, v in json.loads(line).items() if k != "time"}
                for line in (folder / "metrics.jsonl").read_text().splitlines()]

    assert metrics(tmp_path / "whole") == metrics(killed)
    assert resumed["resumed_at_step"] == 4 and resumed["exact_w1"] == whole["exact_w1"]


def test_watchdog_stops_on_nan(tmp_path):
    class NaNCritic(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(2))

        def forward(self, x):
            return x @ self.w * math.nan

    g, _ = _networks()
    run = Run.create("generate", {}, out=tmp_path, quiet=True)
    with pytest.raises(DivergedError, match="critic_loss is not finite at step 0"):
        fit_wgan(g, NaNCritic(), DATA, WGANConfig(mode="clip", steps=3, batch=8), run=run, progress=False)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_critic=0), r"n_critic \(--n-critic\): 0; expected an integer >= 1"),
    (dict(n_critic=-1), "n_critic"),
    (dict(clip=0.0), "clip"),
    (dict(lam=-1.0), "lam"),
    (dict(mode="wgan"), "mode .*: 'wgan'; expected one of clip, gp"),
    (dict(lr=0.0), "lr"),
    (dict(critic_lr=-1e-3), "critic_lr"),
    (dict(steps=0), "steps"),
    (dict(batch=0), "batch"),
    (dict(optimizer="sgd"), "optimizer"),
    (dict(betas=(0.5, 1.0)), "betas .*: 1.0"),
    (dict(betas=(0.5,)), r"betas .*: \(0.5,\); expected two numbers"),
    (dict(schedule="cosine"), "schedule"),
    (dict(warmup=-1), "warmup"),
    (dict(exact_every=0), "exact_every"),
    (dict(seed=-1), "seed"),
])
def test_bad_settings_name_the_argument(kwargs, match):
    with pytest.raises(InputError, match=f"^{match}"):
        WGANConfig(**kwargs)


def test_the_settings_are_frozen_and_bad_arguments_of_the_trainer(tmp_path):
    config = WGANConfig(steps=2, batch=8, betas=[0.0, 0.9])
    assert config.betas == (0.0, 0.9)
    with pytest.raises(AttributeError):
        config.steps = 3
    g, f = _networks()
    run = Run.create("generate", {}, out=tmp_path, quiet=True)
    with pytest.raises(InputError, match="^every: 0"):
        fit_wgan(g, f, DATA, config, run=run, progress=False, every=0)
    with pytest.raises(InputTypeError, match="^config: dict; expected a WGANConfig"):
        fit_wgan(g, f, DATA, {"steps": 2}, run=run, progress=False)


def test_data_that_do_not_fit_the_generator(tmp_path):
    g, f = _networks()
    run, config = Run.create("generate", {}, out=tmp_path, quiet=True), WGANConfig(steps=2)
    with pytest.raises(InputError, match="data: samples of shape"):
        fit_wgan(g, f, torch.randn(50, 3), config, run=run, progress=False)
    with pytest.raises(InputError, match="data: holds NaN"):
        fit_wgan(g, f, torch.full((50, 2), math.nan), config, run=run, progress=False)


def test_two_time_scales_and_paper_defaults(tmp_path):
    g, f = _networks()
    fit_wgan(g, f, DATA, WGANConfig(steps=1, batch=8, lr=1e-3, critic_lr=4e-3),
             run=Run.create("generate", {}, out=tmp_path / "a", quiet=True), progress=False)
    state = torch.load(tmp_path / "a" / "checkpoints" / "last.pt", weights_only=True)["optimizers"]
    assert state["generator"]["param_groups"][0]["lr"] == 1e-3 and state["critic"]["param_groups"][0]["lr"] == 4e-3
    assert WGANConfig(mode="clip").resolved().optimizer == "rmsprop" and WGANConfig(mode="clip").resolved().lr == 5e-5
    paper = WGANConfig(mode="gp").resolved()
    assert (paper.optimizer, paper.lr, paper.critic_lr, paper.lam, paper.n_critic) == ("adam", 1e-4, 1e-4, 10.0, 5)


def test_generator_warms_up_while_the_critic_runs_at_full_speed(tmp_path):
    g, f = _networks()
    fit_wgan(g, f, DATA, WGANConfig(steps=2, batch=8, lr=1e-3, warmup=4),
             run=Run.create("generate", {}, out=tmp_path, quiet=True), progress=False)
    state = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["optimizers"]
    # after 2 of the 4 warm-up steps the factor is (2 + 1) / (4 + 1)
    assert state["generator"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * 3 / 5)
    assert state["critic"]["param_groups"][0]["lr"] == 1e-3


def test_a_run_resumed_at_its_end_reports_its_last_step(tmp_path):
    config = WGANConfig(mode="clip", steps=3, batch=8, exact_every=1)
    g, f = _networks()
    whole = fit_wgan(g, f, DATA, config, run=Run.create("generate", {}, out=tmp_path, quiet=True), progress=False)
    g, f = _networks(seed=1)
    again = fit_wgan(g, f, DATA, config, run=Run.create("generate", {}, out=tmp_path, resume=True, quiet=True),
                     resume=True, progress=False)
    assert again["resumed_at_step"] == 3 and again["exact_w1"] == whole["exact_w1"] is not None
    assert again["critic_w1"] == whole["critic_w1"] is not None
