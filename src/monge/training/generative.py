r"""Generative networks trained by optimal transport (chapter 2, sections 2.2 to 2.4).

The text's training problem is

.. math:: \min_w \ \mathrm{Distance}(\{g_w(y_1), \dots, g_w(y_n)\}, \{z_1, \dots, z_n\}),

with Monge's Distance: the cost of the optimal permutation :math:`s^*`,
:math:`\sum_i \|g_w(y_i) - z_{s^*_i}\|`. :func:`fit_generator` minimises it on minibatches: each
step draws :math:`n` latent codes :math:`y_i \sim \mathcal N(0, I)` and :math:`n` data samples
:math:`z_j`, solves the transport problem between the two clouds without gradients, and moves
:math:`w` along the gradient of the cost at that fixed solution (the envelope theorem: where the
optimum is unique, this is the gradient of the Distance). The losses
(:data:`LOSSES`):

- ``"exact"``: Monge's problem solved exactly (:func:`monge.transport.matching`); the loss is the
  mean cost :math:`\frac1n \sum_i \|x_i - z_{s^*_i}\|^p`, the text's Distance divided by :math:`n`;
- ``"sinkhorn"``: the Sinkhorn divergence :math:`S_\varepsilon` (entropic transport with its bias
  removed, :func:`monge.transport.sinkhorn_divergence`); with ``rho``, unbalanced: the constraint
  that every point be matched is relaxed to a penalty (:func:`make_loss`);
- ``"sliced"``: the sliced cost, 1-D transport along random directions (new ones every step).

Why the exponent is the text's :math:`p = 1` by default. Two minibatches of the same law are not
equal: on the 8 Gaussians a batch of 256 has :math:`256/8 \pm 5` points per mode, so the optimal
matching sends about one point in ten across to a neighbouring mode, 0.77 away, while the other
points are matched within their mode, about 0.02 from their partner. With :math:`p = 2` the
gradient of a pair is :math:`2(x_i - z_{s_i})`: the few crossing pairs pull 40 times harder than
the rest, and these pulls, random from batch to batch, smear the generator's mass between the modes
(measured: 8/8 modes but 16% of the samples within 3 std of a mode, with a cosine learning rate).
With :math:`p = 1` every pair pulls with a unit vector :math:`(x_i - z_{s_i}) / \|x_i - z_{s_i}\|`,
the crossing pairs no harder than the others, and the same run keeps 85-89% of its samples on the
modes. A learning rate annealed to zero (cosine) then averages the remaining noise of the
minibatches away: with a constant rate, 70%.

Unbalanced transport (``rho``, :func:`make_loss`; Fatras et al., ICML 2021), the standard remedy,
lets the crossing pairs go partly unmatched instead: with the Sinkhorn loss at :math:`p = 2`,
``rho = 0.05`` finds 8/8 modes with 60-67% of the samples on them (seeds 0 to 2) where balanced
transport finds 3 to 5 modes and 6-10%; still below :math:`p = 1` (88%; the README has the figures).

Example
-------
>>> import tempfile, torch
>>> from monge.networks import MLPGenerator
>>> from monge.runs import Run
>>> _ = torch.manual_seed(0)
>>> g = MLPGenerator(2, [32], (2,))
>>> run = Run.create("generate", {}, out=tempfile.mkdtemp(), quiet=True)
>>> summary = fit_generator(g, torch.randn(500, 2) + 3.0, OTConfig(loss="exact", steps=50, batch=64, lr=1e-2),
...                         run=run, progress=False)
>>> summary["steps"], summary["loss_name"]
(50, 'exact')
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from monge.errors import InputError, InputTypeError
from monge.runs import Run
from monge.settings import choice, flag, integer, number, optional
from monge.transport import OTLoss

from .loop import Loop

# Loss name -> the method of monge.transport.OTLoss.
LOSSES = {"exact": "exact", "sinkhorn": "sinkhorn_divergence", "sliced": "sliced"}
SCHEDULES = ("cosine", "constant")
# Sinkhorn inside a training step: a fixed small number of iterations at eps (no eps-scaling), a
# loose tolerance, no warning. Measured on the 8 Gaussians, batch 256, p = 1: the solver's own
# defaults (eps-scaling, tol 1e-3) take 135 iterations between two minibatches (mass must move
# between clusters) and 195 ms a step; 20 plain iterations take 40 ms and train as well (8/8
# modes, 87% of the samples on them after 1000 steps, against 71%).
SINKHORN_OPTIONS = dict(anneal=False, tol=1e-2, warn=False)
SLICED_DIRECTIONS = 64


def check_loss(loss: str, *, p: float | None = None, eps: float | None = None, rho: float | None = None) -> None:
    """Refuse settings ``p``, ``eps``, ``rho`` of a transport loss that are bad or do not go with ``loss``.

    A setting at ``None`` is left out. The :class:`monge.errors.InputError` names the setting and
    its flag of ``monge generate``.
    """
    optional(number, "p", p, 0.0, open_low=True)
    if loss == "sliced" and p is not None and p < 1:
        raise InputError(f"p (--p): {p!r}; the sliced loss needs p >= 1")
    for name, value, what in (("eps", eps, "a temperature"), ("rho", rho, "unbalanced transport")):
        if value is not None and loss != "sinkhorn":
            raise InputError(f"{name} ({flag(name)}): {value!r}; only the sinkhorn loss has {what}, not {loss!r}")
        optional(number, name, value, 0.0, open_low=True)


def check_snapshots(every: int | None, on_snapshot) -> None:
    """Refuse a bad snapshot callback of a trainer: ``every`` an integer >= 1 (or None), ``on_snapshot`` callable."""
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise InputError(f"every: {every!r}; expected an integer >= 1 (steps between snapshots)")
    if on_snapshot is not None and not callable(on_snapshot):
        raise InputTypeError(f"on_snapshot: {type(on_snapshot).__name__}; expected a function (step, generator)")


@dataclass(frozen=True)
class OTConfig:
    r"""Settings of :func:`fit_generator`, checked when made (:class:`monge.errors.InputError` naming the field).

    Attributes
    ----------
    loss : ``"exact"``, ``"sinkhorn"``, ``"sliced"`` (:func:`make_loss`) or a module ``(x, z) -> scalar``
        on flat samples, e.g. ``OTLoss(p=2, method="exact")``
    p, eps, rho, max_iter : of :func:`make_loss` (ignored for a module)
    steps : Adam steps (the loop's unit)
    batch : samples per minibatch, generated and real alike
    lr : the (initial) learning rate of Adam
    schedule : ``"cosine"`` (annealed to 0 over the steps) or ``"constant"``
    checkpoint_every : write ``checkpoints/last.pt`` every this many steps (and at the last)
    seed : seeds the ``torch.Generator`` s of the minibatches and latent codes
    """

    loss: str | nn.Module = "exact"
    p: float = 1.0
    eps: float | None = None
    rho: float | None = None
    max_iter: int = 20
    steps: int = 2000
    batch: int = 256
    lr: float = 1e-3
    schedule: str = "cosine"
    checkpoint_every: int = 200
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.loss, nn.Module):
            choice("loss", self.loss, LOSSES)
            check_loss(self.loss, p=number("p", self.p, 0.0, open_low=True), eps=self.eps, rho=self.rho)
            integer("max_iter", self.max_iter, 1)
        for name, least in (("steps", 1), ("batch", 2), ("checkpoint_every", 1), ("seed", 0)):
            integer(name, getattr(self, name), least)
        number("lr", self.lr, 0.0, open_low=True)
        choice("schedule", self.schedule, SCHEDULES)


def make_loss(loss: str | nn.Module = "exact", *, p: float = 1.0, eps: float | None = None,
              rho: float | None = None, max_iter: int = 20) -> nn.Module:
    r"""The transport loss of a name in :data:`LOSSES`, as an :class:`monge.transport.OTLoss`.

    With ``rho`` the Sinkhorn loss is unbalanced (Fatras et al., "Unbalanced minibatch optimal
    transport; applications to domain adaptation", ICML 2021): each of its three entropic problems
    replaces the marginal constraints :math:`P 1 = a`, :math:`P^\top 1 = b` by penalties,

    .. math:: \mathrm{OT}_\varepsilon^\rho(a, b) = \min_{P \ge 0} \langle P, C \rangle
              + \varepsilon\, \mathrm{KL}(P | a \otimes b) + \rho\, \mathrm{KL}(P 1 | a)
              + \rho\, \mathrm{KL}(P^\top 1 | b),

    so that a generated point whose partners in the other minibatch are all far (a cost well above
    :math:`\rho`) keeps part of its mass untransported instead of being pulled across to them. The
    divergence's extra term :math:`\tfrac{\varepsilon}{2} (m(a) - m(b))^2` is zero here (uniform
    weights); :math:`\rho \to \infty` is the balanced loss.

    Parameters
    ----------
    loss : ``"exact"``, ``"sinkhorn"``, ``"sliced"``, or a module ``(x, z) -> scalar`` (returned as is)
    p : float, the ground cost :math:`\|x - z\|^p` (1: the text's Monge cost)
    eps : float, optional; Sinkhorn's temperature in units of the cost (default: 1e-2 times the
        diameter of the two clouds to the power p). Refused for the other losses.
    rho : float, optional; the strength :math:`\rho` of the marginal penalties, in units of the cost
        (default: balanced transport, every point matched). Refused for the other losses.
    max_iter : int, Sinkhorn iterations per step (see :data:`SINKHORN_OPTIONS`)

    Examples
    --------
    >>> make_loss("sinkhorn", eps=0.05)
    OTLoss(p=1.0, method='sinkhorn_divergence', reduction='mean', eps=0.05, rho=None, max_iter=20, anneal=False, tol=0.01, warn=False)
    >>> make_loss("sinkhorn", p=2.0, rho=0.2).options["rho"]
    0.2
    """
    if isinstance(loss, nn.Module):
        return loss
    choice("loss", loss, LOSSES)
    check_loss(loss, p=number("p", p, 0.0, open_low=True), eps=eps, rho=rho)
    p, rho = float(p), None if rho is None else float(rho)
    if loss == "sinkhorn":
        return OTLoss(p=p, method=LOSSES[loss], eps=eps, rho=rho, max_iter=integer("max_iter", max_iter, 1),
                      **SINKHORN_OPTIONS)
    if loss == "sliced":
        return OTLoss(p=p, method="sliced", n_directions=SLICED_DIRECTIONS)
    return OTLoss(p=p, method="exact")


def training_data(data, generator: nn.Module) -> torch.Tensor:
    """The samples ``data``, checked (at least 2, finite), as a tensor of the device and dtype of ``generator``."""
    weight = next(generator.parameters())
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(data)
    if not isinstance(data, torch.Tensor):
        raise InputTypeError(f"data: {type(data).__name__}; expected a tensor or array of samples (n, *shape)")
    if data.dim() < 2 or len(data) < 2:
        raise InputError(f"data: shape {tuple(data.shape)}; expected at least 2 samples, shape (n, *shape)")
    data = data.to(device=weight.device, dtype=weight.dtype)
    if not bool(torch.isfinite(data).all()):
        raise InputError("data: holds NaN or infinite values; expected finite samples")
    return data


def _data(data, generator: nn.Module) -> torch.Tensor:
    """The training samples, checked, flat: ``(n, prod(shape))``."""
    data = training_data(data, generator).flatten(1)
    size = math.prod(getattr(generator, "shape", ()) or (data.shape[1],))
    if size != data.shape[1]:
        raise InputError(f"data: samples of {data.shape[1]} values; the generator makes samples of shape "
                         f"{generator.shape} ({size} values)")
    return data


def fit_generator(generator: nn.Module, data, config: OTConfig | None = None, *, run: Run, resume: bool = False,
                  progress: bool | None = None, tensorboard: bool | None = False, every: int | None = None,
                  on_snapshot: Callable[[int, nn.Module], None] | None = None) -> dict:
    r"""Train ``generator`` by minibatch optimal transport to ``data``, writing the run folder ``run``.

    Each step draws ``batch`` samples :math:`z_j` of ``data`` (with replacement) and ``batch``
    samples :math:`x_i = g_w(y_i)`, :math:`y_i \sim \mathcal N(0, I)`, and takes one Adam step on

    .. math:: L(w) = \mathrm{loss}(\{x_i\}, \{z_j\}), \quad \text{e.g. }
              \frac1n \min_s \sum_i \|g_w(y_i) - z_{s_i}\|^p \ (\texttt{"exact"}),

    differentiated at the optimal permutation (or plan). The learning rate follows ``config.schedule``.
    ``metrics.jsonl`` gets per step ``loss``, ``lr`` and ``time`` (training seconds so far); a NaN
    or infinite loss stops the run (:class:`monge.training.loop.DivergedError`).

    Parameters
    ----------
    generator : module with ``sample(n, generator=...)`` and ``shape`` (:class:`monge.networks.MLPGenerator`,
        :class:`monge.networks.ConvGenerator`)
    data : (n, *shape) or (n, prod(shape)) Tensor or ndarray, the samples :math:`z`, in the
        generator's units
    config : OTConfig, optional
        The loss and its optimisation (default ``OTConfig()``: exact matching, 2000 steps of 256).
    run : Run, the folder (made with ``resume=True`` to continue)
    resume : bool
        Continue from ``checkpoints/last.pt``: on the CPU the result is bit-identical to a run that
        was never interrupted.
    progress, tensorboard : see :class:`monge.training.loop.Loop`
    every : int, optional
        Call ``on_snapshot(step, generator)`` after every this many steps (and after the last),
        ``step`` counting the steps done; its time is not counted in ``seconds``.

    Returns
    -------
    dict
        ``loss_name``, ``p``, ``steps``, ``seconds`` (training time, summed over resumed sessions),
        ``cpu_seconds`` (CPU time of this process's training, likewise), ``final_loss`` (the mean
        loss of the last 5% of the steps), ``resumed_at_step``; also written to ``summary.json``.

    Raises
    ------
    monge.errors.InputError
        Data that do not fit the generator, or a checkpoint that does not fit on ``resume``.
    monge.training.loop.DivergedError
        The loss became NaN or infinite (the last good checkpoint is kept).
    """
    config = OTConfig() if config is None else config
    if not isinstance(config, OTConfig):
        raise InputTypeError(f"config: {type(config).__name__}; expected an OTConfig")
    check_snapshots(every, on_snapshot)
    loss, steps, batch, seed = config.loss, config.steps, config.batch, config.seed
    objective = make_loss(loss, p=config.p, eps=config.eps, rho=config.rho, max_iter=config.max_iter)
    data = _data(data, generator)
    device = data.device
    draws = torch.Generator().manual_seed(seed)  # minibatch indices, on the CPU
    noise = torch.Generator(device).manual_seed(seed + 1)  # latent codes
    optimizer = torch.optim.Adam(generator.parameters(), lr=float(config.lr))
    schedulers = {}
    if config.schedule == "cosine":
        schedulers["schedule"] = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    loop = Loop(run, modules={"generator": generator}, optimizers={"adam": optimizer}, schedulers=schedulers,
                generators={"data": draws, "noise": noise}, total=steps, unit="step",
                checkpoint_every=config.checkpoint_every, resume=resume, progress=progress, tensorboard=tensorboard,
                extra={"seconds": 0.0, "cpu_seconds": 0.0, "recent": []})
    started_at = loop.index
    if loop.index == 0:
        loop.save()  # the initial state: a run killed in its first steps starts again from it
    generator.train()
    tail = max(1, steps // 20)
    fresh = isinstance(loss, str) and loss == "sliced"
    try:
        for index in loop:
            start, cpu = time.perf_counter(), time.process_time()
            if fresh:  # new random directions every step, reproducible from the step (a seed below 2**64)
                objective.options["seed"] = (seed * 1_000_003 + index) % 2**64
            z = data[torch.randint(len(data), (batch,), generator=draws).to(device)]
            x = generator.sample(batch, generator=noise).flatten(1)
            value = objective(x, z)
            loop.check(loss=value)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            rate = optimizer.param_groups[0]["lr"]
            for scheduler in schedulers.values():
                scheduler.step()
            loop.extra["seconds"] += time.perf_counter() - start
            loop.extra["cpu_seconds"] += time.process_time() - cpu
            value = value.item()
            loop.extra["recent"] = (loop.extra["recent"] + [value])[-tail:]
            loop.log(loss=value, lr=rate, time=loop.extra["seconds"])
            done = index + 1
            if on_snapshot is not None and every is not None and (done % every == 0 or done == steps):
                on_snapshot(done, generator)
    finally:
        loop.close()
    recent = loop.extra["recent"]
    summary = {"loss_name": loss if isinstance(loss, str) else type(loss).__name__,
               "p": getattr(objective, "p", None), "steps": steps, "seconds": loop.extra["seconds"],
               "cpu_seconds": loop.extra["cpu_seconds"], "final_loss": sum(recent) / len(recent) if recent else None,
               "resumed_at_step": started_at if resume else None}
    run.write_summary(summary)
    return summary
