r"""Adversarial networks of chapter 2 (section 2.5): a critic learns the transport cost (WGAN).

The generator :math:`g_w` is trained to minimise the Wasserstein distance :math:`W_1` between its
samples :math:`x = g_w(y)` and the data :math:`z`. Kantorovich's dual (Kantorovich-Rubinstein) writes
it as a supremum over potentials,

.. math:: W_1 = \sup_{\mathrm{Lip}(f) \le 1} \ \mathbb E_z f(z) - \mathbb E_y f(g_w(y)),

and a second network, the critic :math:`f` (:mod:`monge.networks.critic`), plays the potential:
the two networks play a zero-sum game (Arjovsky et al., 2017),

.. math:: \min_w \max_{f} \ \mathbb E_z f(z) - \mathbb E_y f(g_w(y)).

Each generator step follows ``n_critic`` critic steps of gradient ascent on the estimate
:math:`\hat W = \frac1b \sum_i f(z_i) - \frac1b \sum_i f(g_w(y_i))` on fresh minibatches; the
generator then descends :math:`-\frac1b \sum_i f(g_w(y_i))`. The Lipschitz constraint is kept by

- ``mode="clip"`` (Arjovsky et al., 2017): every weight is clipped to :math:`[-c, c]` after each
  critic step. The critic is then :math:`K`-Lipschitz for some :math:`K` set by :math:`c` and the
  architecture, and :math:`\hat W` estimates :math:`K W_1` (a lower bound on it, up to sampling);
- ``mode="gp"`` (Gulrajani et al., 2017): the critic's loss gets a gradient penalty
  :math:`\lambda\, \mathbb E_{\hat x} (\|\nabla f(\hat x)\| - 1)^2` on random interpolates
  :math:`\hat x = t z + (1 - t) x` (:func:`gradient_penalty`), and :math:`\hat W` estimates
  :math:`W_1` itself.

:func:`fit_wgan` runs the game in the shared :class:`monge.training.loop.Loop` (checkpoints,
bit-identical resume on the CPU, NaN watchdog, progress) and logs, per generator step, the critic's
estimate ``critic_w1`` beside the exact :math:`W_1` of the same batches (``exact_w1``, by
:func:`monge.transport.wasserstein`), so that the two can be compared.

Example
-------
>>> import tempfile, torch
>>> from monge.networks import MLPCritic, MLPGenerator
>>> from monge.runs import Run
>>> _ = torch.manual_seed(0)
>>> data = torch.randn(500, 2) + 3.0
>>> g, f = MLPGenerator(2, [32], (2,)), MLPCritic(2, [32])
>>> run = Run.create("generate", {}, out=tempfile.mkdtemp(), quiet=True)
>>> summary = fit_wgan(g, f, data, WGANConfig(mode="gp", steps=20, batch=64, lr=1e-3), run=run, progress=False)
>>> sorted(summary)
['cpu_seconds', 'critic_w1', 'exact_w1', 'mode', 'resumed_at_step', 'seconds', 'steps']
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from monge.errors import InputError, InputTypeError
from monge.runs import Run, read_metrics
from monge.settings import choice, integer, number, optional, refuse
from monge.transport import wasserstein

from .generative import check_snapshots, training_data
from .loop import Loop

MODES = ("clip", "gp")
OPTIMIZERS = ("rmsprop", "adam")
SCHEDULES = ("constant", "linear")
# The papers' settings, used where lr or optimizer is left at None.
PAPER = {"clip": dict(optimizer="rmsprop", lr=5e-5), "gp": dict(optimizer="adam", lr=1e-4)}


@dataclass(frozen=True)
class WGANConfig:
    r"""Settings of :func:`fit_wgan`, checked when made (:class:`monge.errors.InputError` naming the field).

    Attributes
    ----------
    mode : ``"clip"`` (weight clipping, Arjovsky et al. 2017) or ``"gp"`` (gradient penalty,
        Gulrajani et al. 2017)
    steps : generator steps (the loop's unit)
    batch : samples per minibatch, real and generated alike
    n_critic : critic steps per generator step (5 in both papers)
    lr : learning rate of the generator (and of the critic unless ``critic_lr``); ``None``: the
        paper's (5e-5 for clip, 1e-4 for gp)
    critic_lr : learning rate of the critic; ``None``: ``lr``. A critic faster than the generator
        (two time scales, Heusel et al. 2017) tracks the potential of a generator that moves less
    optimizer : ``"rmsprop"`` or ``"adam"``; ``None``: the paper's (RMSprop for clip, Adam for gp)
    betas : Adam's :math:`(\beta_1, \beta_2)`; (0.5, 0.9) as in gan_toy.py, or (0, 0.9)
    schedule : ``"constant"`` learning rate (the papers' toys) or ``"linear"`` decay to 0 over the
        steps (Gulrajani et al.'s CIFAR-10 runs), for both networks
    warmup : raise the generator's learning rate linearly from :math:`lr / (w + 1)` over its first
        :math:`w` steps, while the critic learns at full speed
    clip : the weight bound :math:`c` of ``mode="clip"`` (0.01)
    lam : the penalty weight :math:`\lambda` of ``mode="gp"`` (10)
    exact_every : compute the exact :math:`W_1` of the batch every this many steps (and at the last)
    checkpoint_every : write ``checkpoints/last.pt`` every this many steps (and at the last)
    seed : seeds the ``torch.Generator`` s of the minibatches, latent codes and interpolation weights
    """

    mode: str = "gp"
    steps: int = 2000
    batch: int = 256
    n_critic: int = 5
    lr: float | None = None
    critic_lr: float | None = None
    optimizer: str | None = None
    betas: tuple[float, float] = (0.5, 0.9)
    schedule: str = "constant"
    warmup: int = 0
    clip: float = 0.01
    lam: float = 10.0
    exact_every: int = 25
    checkpoint_every: int = 200
    seed: int = 0

    def __post_init__(self):
        if isinstance(self.betas, list):
            object.__setattr__(self, "betas", tuple(self.betas))
        check(self)

    def resolved(self) -> "WGANConfig":
        """A copy with ``lr`` and ``optimizer`` filled in from the paper of ``mode`` where ``None``."""
        paper = PAPER[self.mode]
        lr = paper["lr"] if self.lr is None else self.lr
        return dataclasses.replace(self, lr=lr, critic_lr=lr if self.critic_lr is None else self.critic_lr,
                                   optimizer=paper["optimizer"] if self.optimizer is None else self.optimizer)


def check(config: WGANConfig) -> None:
    """Refuse settings of ``config`` (a :class:`WGANConfig`) that cannot train: an :class:`InputError` names it."""
    choice("mode", config.mode, MODES)
    for name, least in (("steps", 1), ("batch", 1), ("n_critic", 1), ("warmup", 0), ("exact_every", 1),
                        ("checkpoint_every", 1), ("seed", 0)):
        integer(name, getattr(config, name), least)
    for name in ("lr", "critic_lr"):
        optional(number, name, getattr(config, name), 0.0, open_low=True)
    optional(choice, "optimizer", config.optimizer, OPTIMIZERS)
    choice("schedule", config.schedule, SCHEDULES)
    if not isinstance(config.betas, tuple) or len(config.betas) != 2:
        raise refuse("betas", config.betas, "two numbers (beta1, beta2) in [0, 1)")
    for beta in config.betas:
        number("betas", beta, 0.0, 1.0)
    number("clip", config.clip, 0.0, open_low=True)
    number("lam", config.lam, 0.0)


def clip_weights_(critic: nn.Module, clip: float) -> None:
    r"""Clip every parameter of ``critic`` to :math:`[-c, c]`, :math:`c` = ``clip``, in place (Arjovsky et al., 2017).

    A network whose weights lie in a compact set is :math:`K`-Lipschitz for a :math:`K` that
    depends only on :math:`c` and the architecture: for a ReLU MLP with weight matrices
    :math:`W_l \in \mathbb R^{m_l \times n_l}`, :math:`K \le \prod_l \|W_l\|_2 \le \prod_l c \sqrt{m_l n_l}`.
    """
    with torch.no_grad():
        for parameter in critic.parameters():
            parameter.clamp_(-clip, clip)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, t: torch.Tensor | None = None, *,
                     generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The gradient penalty of WGAN-GP (Gulrajani et al., 2017) and the gradient norms it saw.

    .. math:: P(f) = \frac1b \sum_{i=1}^b \big(\|\nabla_x f(\hat x_i)\|_2 - 1\big)^2, \qquad
              \hat x_i = t_i z_i + (1 - t_i) x_i, \quad t_i \sim U[0, 1],

    on points :math:`\hat x_i` of the segments between real :math:`z_i` and generated :math:`x_i`
    samples: the optimal potential has gradient norm 1 along the transport rays between them.
    Differentiable in the critic's weights (a double back-propagation).

    Parameters
    ----------
    critic : module, ``(b, *shape) -> (b,)``
    real, fake : (b, *shape) Tensor
    t : (b,) Tensor, optional; the interpolation weights (drawn from :math:`U[0, 1]` with
        ``generator`` when ``None``)

    Returns
    -------
    penalty : scalar Tensor
    norms : (b,) Tensor, :math:`\|\nabla_x f(\hat x_i)\|_2` (detached)

    Examples
    --------
    >>> f = torch.nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = f.weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> penalty, norms = gradient_penalty(lambda x: f(x).squeeze(-1), torch.zeros(4, 2), torch.ones(4, 2))
    >>> float(penalty.detach()), norms.tolist()
    (16.0, [5.0, 5.0, 5.0, 5.0])
    """
    if real.shape != fake.shape:
        raise InputError(f"fake: shape {tuple(fake.shape)}; expected the shape of real, {tuple(real.shape)}")
    if t is None:
        t = torch.rand(len(real), generator=generator, device=real.device, dtype=real.dtype)
    t = t.reshape(-1, *([1] * (real.dim() - 1)))
    points = (t * real.detach() + (1 - t) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    norms = grad.flatten(1).norm(dim=1)
    return (norms - 1).pow(2).mean(), norms.detach()


def _optimizer(config: WGANConfig, module: nn.Module, lr: float) -> torch.optim.Optimizer:
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(module.parameters(), lr=lr)
    return torch.optim.Adam(module.parameters(), lr=lr, betas=config.betas)


class _Factor:
    """The factor of the learning rate after :math:`k` of :math:`n` steps (picklable, for ``LambdaLR``).

    A linear warm-up :math:`(k + 1) / (w + 1)` over the first :math:`w` steps, then constant or
    (``decay``) the linear decay :math:`1 - k / n`.
    """

    def __init__(self, steps: int, warmup: int, decay: bool):
        self.steps, self.warmup, self.decay = steps, warmup, decay

    def __call__(self, k: int) -> float:
        factor = max(0.0, 1.0 - k / self.steps) if self.decay else 1.0
        return factor * min(1.0, (k + 1) / (self.warmup + 1))


def _sample(generator: nn.Module, n: int, rng: torch.Generator) -> torch.Tensor:
    """``n`` samples :math:`g_w(y_i)`: by ``generator.sample`` or, for a bare module, from :math:`y \\sim N(0, I)`."""
    if hasattr(generator, "sample"):
        return generator.sample(n, generator=rng)
    weight = next(generator.parameters())
    return generator(torch.randn(n, generator.latent, generator=rng, device=weight.device, dtype=weight.dtype))


def critic_step(critic: nn.Module, optimizer: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
                config: WGANConfig, rng: torch.Generator | None = None) -> dict:
    r"""One critic step: ascend :math:`\hat W = \frac1b\sum f(z_i) - \frac1b\sum f(x_i)` under the constraint.

    The loss :math:`-\hat W` (plus :math:`\lambda P(f)` for ``"gp"``) is descended, then (``"clip"``)
    the weights are clipped.

    Parameters
    ----------
    critic : module, ``(b, *shape) -> (b,)``, the potential :math:`f`
    optimizer : the critic's optimizer
    real : (b, *shape) Tensor, data :math:`z_i`
    fake : (b, *shape) Tensor, generated :math:`x_i` (detached here)
    config : WGANConfig, its ``mode``, ``lam`` and ``clip``
    rng : torch.Generator, optional; draws the interpolation weights of the gradient penalty

    Returns
    -------
    dict
        The detached ``critic_loss``, ``critic_w1`` (:math:`\hat W`, before the step) and for
        ``"gp"`` the ``penalty`` and the mean gradient norm ``grad_norm``.
    """
    scores = critic(torch.cat([real, fake.detach()]))
    estimate = scores[:len(real)].mean() - scores[len(real):].mean()
    loss = -estimate
    out = {}
    if config.mode == "gp":
        penalty, norms = gradient_penalty(critic, real, fake, generator=rng)
        loss = loss + config.lam * penalty
        out = {"penalty": penalty.detach(), "grad_norm": norms.mean()}
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if config.mode == "clip":
        clip_weights_(critic, config.clip)
    return {"critic_loss": loss.detach(), "critic_w1": estimate.detach(), **out}


def generator_step(generator: nn.Module, critic: nn.Module, optimizer: torch.optim.Optimizer, n: int,
                   rng: torch.Generator) -> torch.Tensor:
    r"""One generator step: descend :math:`-\frac1b \sum_i f(g_w(y_i))` in :math:`w`; the detached loss.

    Parameters
    ----------
    generator : module with ``sample(n, generator=...)`` (or ``latent``), :math:`g_w`
    critic : module, the potential :math:`f` (its weights are not changed nor differentiated)
    optimizer : the generator's optimizer
    n : int, the batch :math:`b` of latent codes :math:`y_i \sim \mathcal N(0, I)`
    rng : torch.Generator, draws them
    """
    critic.requires_grad_(False)  # no weight gradients of the critic: a third less work
    try:
        loss = -critic(_sample(generator, n, rng)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    finally:
        critic.requires_grad_(True)
    return loss.detach()


def _data(data, generator: nn.Module) -> torch.Tensor:
    """The training samples, checked, in the shape of the generator's samples (flat ones of the right size reshaped)."""
    data = training_data(data, generator)
    weight = next(generator.parameters())
    with torch.no_grad():
        shape = tuple(_sample(generator, 1, torch.Generator(weight.device).manual_seed(0)).shape[1:])
    if shape != tuple(data.shape[1:]):
        if math.prod(shape) != math.prod(data.shape[1:]):
            raise InputError(f"data: samples of shape {tuple(data.shape[1:])}; the generator makes {shape}")
        data = data.reshape(len(data), *shape)
    return data


def _last_step(run: Run) -> dict:
    """The metrics of the last step logged in ``run`` (empty if none)."""
    steps = [record for record in read_metrics(run.path) if isinstance(record.get("step"), int)]
    return steps[-1] if steps else {}


def fit_wgan(generator: nn.Module, critic: nn.Module, data, config: WGANConfig | None = None, *, run: Run,
             resume: bool = False, progress: bool | None = None, tensorboard: bool | None = False,
             every: int | None = None, on_snapshot: Callable[[int, nn.Module], None] | None = None) -> dict:
    r"""Train ``generator`` against ``critic`` (WGAN or WGAN-GP) on ``data``, writing the run folder ``run``.

    Per generator step: ``n_critic`` critic steps (:func:`critic_step`), each on a fresh minibatch of
    ``batch`` data samples (drawn with replacement) and ``batch`` generated ones, then one generator
    step (:func:`generator_step`). ``metrics.jsonl`` gets per step ``critic_loss``,
    ``generator_loss``, ``critic_w1`` (the critic's estimate :math:`\hat W` on the last critic
    minibatch; for ``"clip"`` an estimate of :math:`K W_1`), ``time`` (training seconds so far), for
    ``"gp"`` ``penalty`` and ``grad_norm``, and every ``exact_every`` steps ``exact_w1``, the exact
    :math:`W_1` (Monge matching, :math:`p = 1`) between the same two minibatches. A NaN or infinite
    value stops the run (:class:`monge.training.loop.DivergedError`). Settings: :class:`WGANConfig`.

    Parameters
    ----------
    generator : module with ``sample(n, generator=...)`` (:class:`monge.networks.MLPGenerator`) or
        with an attribute ``latent``, ``(n, latent) -> (n, *shape)``
    critic : module, ``(n, *shape) -> (n,)`` (:class:`monge.networks.MLPCritic`, ``ConvCritic``)
    data : (n, *shape) Tensor or ndarray, the training samples :math:`z` (flat samples of the right
        size are reshaped to the generator's shape)
    config : WGANConfig, optional
        The settings (default ``WGANConfig()``); ``lr`` and ``optimizer`` left at ``None`` take the
        paper's of the mode (:meth:`WGANConfig.resolved`).
    run : Run, the folder (made with ``resume=True`` to continue)
    resume : bool
        Continue from ``checkpoints/last.pt``: on the CPU the result is bit-identical to a run that
        was never interrupted.
    progress, tensorboard : see :class:`monge.training.loop.Loop`
    every : int, optional
        Call ``on_snapshot(step, generator)`` after every this many generator steps (and after the
        last), ``step`` counting the steps done; its time is not counted in ``seconds``.

    Returns
    -------
    dict
        ``mode``, ``steps``, ``seconds`` (training time, summed over resumed sessions),
        ``cpu_seconds`` (CPU time of this process's training, likewise: on a busy machine the
        fairer figure),
        ``critic_w1`` and ``exact_w1`` of the last step, ``resumed_at_step``; also written to
        ``summary.json``.

    Raises
    ------
    monge.errors.InputError
        Data that do not fit the generator, or a checkpoint that does not fit on ``resume``.
    monge.training.loop.DivergedError
        A loss became NaN or infinite (the last good checkpoint is kept).
    """
    config = WGANConfig() if config is None else config
    if not isinstance(config, WGANConfig):
        raise InputTypeError(f"config: {type(config).__name__}; expected a WGANConfig")
    config = config.resolved()
    check_snapshots(every, on_snapshot)
    data = _data(data, generator)
    device = data.device
    draws = torch.Generator().manual_seed(config.seed)  # minibatch indices, on the CPU
    noise = torch.Generator(device).manual_seed(config.seed + 1)  # latent codes and interpolation weights
    optimizers = {"generator": _optimizer(config, generator, config.lr),
                  "critic": _optimizer(config, critic, config.critic_lr)}
    schedulers = {}  # stepped once per generator step
    decay = config.schedule == "linear"
    for name, warmup in (("generator", config.warmup), ("critic", 0)):
        if decay or warmup:
            schedulers[name] = torch.optim.lr_scheduler.LambdaLR(optimizers[name], _Factor(config.steps, warmup, decay))
    loop = Loop(run, modules={"generator": generator, "critic": critic}, optimizers=optimizers, schedulers=schedulers,
                generators={"data": draws, "noise": noise}, total=config.steps, unit="step",
                checkpoint_every=config.checkpoint_every, resume=resume, progress=progress, tensorboard=tensorboard,
                extra={"seconds": 0.0, "cpu_seconds": 0.0})
    started_at = loop.index
    if loop.index == 0:
        loop.save()  # the initial state: a run killed in its first steps starts again from it
    generator.train(), critic.train()
    try:
        for index in loop:
            start, cpu_start = time.perf_counter(), time.process_time()
            for _ in range(config.n_critic):
                real = data[torch.randint(len(data), (config.batch,), generator=draws).to(device)]
                with torch.no_grad():
                    fake = _sample(generator, config.batch, noise)
                record = critic_step(critic, optimizers["critic"], real, fake, config, noise)
                loop.check(critic_loss=record["critic_loss"])
            record["generator_loss"] = generator_step(generator, critic, optimizers["generator"], config.batch, noise)
            for scheduler in schedulers.values():
                scheduler.step()
            done = index + 1
            if done % config.exact_every == 0 or done == config.steps:
                record["exact_w1"] = wasserstein(real.flatten(1), fake.flatten(1), p=1)
            loop.extra["seconds"] += time.perf_counter() - start
            loop.extra["cpu_seconds"] += time.process_time() - cpu_start
            loop.log(**record, time=loop.extra["seconds"])
            if on_snapshot is not None and every is not None and (done % every == 0 or done == config.steps):
                on_snapshot(done, generator)
    finally:
        loop.close()
    last = loop.last or _last_step(run)  # a run resumed at its end trained no step here
    summary = {"mode": config.mode, "steps": config.steps, "seconds": loop.extra["seconds"],
               "cpu_seconds": loop.extra["cpu_seconds"],
               "critic_w1": last.get("critic_w1"), "exact_w1": last.get("exact_w1"),
               "resumed_at_step": started_at if resume else None}
    run.write_summary(summary)
    return summary
