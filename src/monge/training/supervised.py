r"""Supervised training of chapter 1: choose the weights :math:`w` so that :math:`f_w(x) \approx y`.

The text's training error is :math:`E(w) = \sum_{(x, y)} (f_w(x) - y)^2`, minimised by
back-propagation (reverse-mode automatic differentiation) and stochastic gradient steps on
mini-batches. :func:`train` runs it on a :class:`monge.data.Dataset` inside the shared
:class:`monge.training.loop.Loop`: a checkpoint every epoch, ``resume`` after a kill, a NaN
watchdog, and per epoch the loss and accuracy on the training and the test split (generalisation:
the gap between the two).

Example
-------
>>> import tempfile
>>> from monge.data import load
>>> from monge.training.recipes import SupervisedConfig, resolve
>>> from monge.runs import Run
>>> data = load("blobs", n_samples=200)
>>> config = resolve(SupervisedConfig(data="blobs", model="two-layer", loss="squared", epochs=5), data)
>>> run = Run.create("classify", config, out=tempfile.mkdtemp(), quiet=True)
>>> result = train(config, data, run, progress=False)
>>> result.summary["test_accuracy"] > 0.9
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from monge.data import Dataset, load, random_shift
from monge.metrics import accuracy

from .loop import Loop
from .recipes import SupervisedConfig, build_model, build_optimizer, build_schedule, resolve
from monge.runs import Run, seed_everything

EVAL_BATCH = 2048


def squared_error(scores: torch.Tensor, y: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    r"""The text's squared error on one-hot targets, averaged over the batch.

    .. math:: \frac{1}{n} \sum_{i=1}^n \sum_{k=1}^K \big(f_w(x_i)_k - t_{ik}\big)^2,
              \qquad t_i = e_{y_i} \text{ (one-hot)},

    that is :math:`E(w) / n` on a batch of :math:`n` samples (the sum over the outputs, the mean
    over the samples, so that the step size does not depend on the batch size). The scores
    :math:`f_w(x)` are the raw outputs (no softmax). With ``label_smoothing`` :math:`a`, the
    targets are :math:`(1 - a) e_{y_i} + a / K`.

    Parameters
    ----------
    scores : (n, K) Tensor
    y : (n,) int64 Tensor of class labels
    label_smoothing : float in [0, 1)

    Examples
    --------
    >>> squared_error(torch.tensor([[1.0, 0.0], [0.5, 0.5]]), torch.tensor([0, 1]))
    tensor(0.2500)
    """
    target = F.one_hot(y, scores.shape[1]).to(scores.dtype)
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / scores.shape[1]
    return (scores - target).pow(2).sum(1).mean()


def cross_entropy(scores: torch.Tensor, y: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    r"""Cross-entropy of the softmax probabilities, averaged over the batch.

    .. math:: -\frac{1}{n}\sum_{i=1}^n \sum_{k=1}^K t_{ik} \log \mathrm{softmax}(f_w(x_i))_k,
              \qquad t_i = e_{y_i} \text{ (one-hot)}

    With ``label_smoothing`` :math:`a`, the targets are :math:`(1 - a) e_{y_i} + a / K`.

    Parameters
    ----------
    scores : (n, K) Tensor, the raw outputs :math:`f_w(x_i)` (logits)
    y : (n,) int64 Tensor of class labels
    label_smoothing : float in [0, 1)
    """
    return F.cross_entropy(scores, y, label_smoothing=label_smoothing)


LOSSES = {"squared": squared_error, "cross-entropy": cross_entropy}


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str) -> tuple[float, float]:
    """The ``loss`` (a name of :data:`LOSSES`, without label smoothing) and accuracy of ``model`` on ``(x, y)``.

    The model is evaluated in evaluation mode, in chunks, without gradients.
    """
    was_training = model.training
    model.eval()
    scores = torch.cat([model(chunk) for chunk in x.split(EVAL_BATCH)])
    model.train(was_training)
    return LOSSES[loss](scores, y).item(), accuracy(scores, y)


@dataclass
class Trained:
    """What :func:`train` returns: the trained ``model`` (in evaluation mode) and the ``summary`` it wrote."""

    model: nn.Module
    summary: dict


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, schedule, x: torch.Tensor, y: torch.Tensor,
                config: SupervisedConfig, generator: torch.Generator) -> torch.Tensor:
    """One pass over ``(x, y)`` in shuffled mini-batches (augmented by random shifts); the mean batch loss.

    Each step back-propagates the batch's loss and moves the weights,
    :math:`w \\leftarrow w - \\eta \\nabla E_B(w)` (or the Adam / momentum update), then steps the
    learning-rate schedule.

    Parameters
    ----------
    model : module, trained in place
    optimizer : its optimizer
    schedule : learning-rate scheduler or None, stepped after every batch
    x : (n, *shape) Tensor, inputs
    y : (n,) int64 Tensor, labels
    config : SupervisedConfig (resolved): ``loss``, ``batch``, ``shift``, ``label_smoothing``
    generator : torch.Generator, shuffles the batches and draws the shifts
    """
    loss_fn = LOSSES[config.loss]
    model.train()
    total = torch.zeros(())
    order = torch.randperm(len(y), generator=generator)
    for batch in order.split(config.batch):
        xb = random_shift(x[batch], config.shift, generator) if config.shift else x[batch]
        loss = loss_fn(model(xb), y[batch], config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        total += loss.detach() * len(batch)
    return total / len(y)


def train(config: SupervisedConfig, data: Dataset, run: Run, *, resume: bool = False,
          progress: bool | None = None, tensorboard: bool | None = None) -> Trained:
    """Train the network of a resolved ``config`` on ``data``, writing the run folder ``run``.

    Per epoch, ``metrics.jsonl`` gets ``epoch``, ``batch_loss`` (the mean training loss of the
    epoch's steps, with augmentation and dropout), ``train_loss``, ``train_accuracy``,
    ``test_loss``, ``test_accuracy`` (evaluation mode, no label smoothing), ``lr`` and
    ``seconds``; ``checkpoints/last.pt`` is written after every epoch. Call
    :func:`monge.runs.seed_everything` first: it seeds the initial weights and dropout.

    Parameters
    ----------
    config : SupervisedConfig, resolved (:func:`monge.training.recipes.resolve`)
    data : Dataset
    run : Run, the folder (made with ``resume=True`` to continue)
    resume : bool
        Continue from ``checkpoints/last.pt``: on the CPU the result is bit-identical to a run
        that was never interrupted.
    progress, tensorboard : see :class:`monge.training.loop.Loop`

    Returns
    -------
    Trained
        The model and the summary (also written to ``summary.json``): ``train_accuracy``,
        ``test_accuracy``, ``train_loss``, ``test_loss``, ``epochs``, ``seconds`` (training time,
        summed over resumed sessions), ``n_parameters``, ...

    Raises
    ------
    monge.training.loop.DivergedError
        A loss became NaN or infinite (the last good checkpoint is kept).
    ValueError
        ``resume`` with a checkpoint that is missing, corrupt or from another run.
    """
    model = build_model(config, data)
    optimizer = build_optimizer(config, model)
    steps_per_epoch = math.ceil(data.n_train / config.batch)
    schedule = build_schedule(config, optimizer, config.epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(config.seed)
    loop = Loop(run, modules={"model": model}, optimizers={"optimizer": optimizer},
                schedulers={} if schedule is None else {"schedule": schedule}, generators={"data": generator},
                total=config.epochs, resume=resume, progress=progress, tensorboard=tensorboard,
                extra={"seconds": 0.0})
    started_at = loop.index
    if loop.index == 0:
        loop.save()  # the initial state: a run killed or diverging in its first epoch can start again from it
    try:
        for _ in loop:
            start = time.perf_counter()
            batch_loss = train_epoch(model, optimizer, schedule, data.x_train, data.y_train, config, generator)
            loop.check(batch_loss=batch_loss)
            train_loss, train_accuracy = evaluate(model, data.x_train, data.y_train, config.loss)
            test_loss, test_accuracy = evaluate(model, data.x_test, data.y_test, config.loss)
            seconds = time.perf_counter() - start
            loop.extra["seconds"] += seconds
            loop.log(batch_loss=batch_loss, train_loss=train_loss, train_accuracy=train_accuracy, test_loss=test_loss,
                     test_accuracy=test_accuracy, lr=optimizer.param_groups[0]["lr"], seconds=seconds)
    finally:
        loop.close()
    model.eval()
    train_loss, train_accuracy = evaluate(model, data.x_train, data.y_train, config.loss)
    test_loss, test_accuracy = evaluate(model, data.x_test, data.y_test, config.loss)
    summary = {
        "data": data.name, "model": config.model, "loss": config.loss,
        "train_accuracy": train_accuracy, "test_accuracy": test_accuracy,
        "train_loss": train_loss, "test_loss": test_loss,
        "epochs": config.epochs, "resumed_at_epoch": started_at if resume else None,
        "seconds": loop.extra["seconds"], "n_train": data.n_train, "n_test": data.n_test,
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "network": str(model.extra_repr()).splitlines()[0] if model.extra_repr() else type(model).__name__,
        "data_description": data.description,
        "loss_note": ("squared: sum over the K outputs of (f_w(x) - onehot(y))^2, averaged over the samples (E(w) / n)"
                      if config.loss == "squared" else "cross-entropy of softmax(f_w(x)), averaged over the samples"),
    }
    run.write_summary(summary)
    return Trained(model=model, summary=summary)


def fit(config: SupervisedConfig, out=None, *, quiet: bool = True, progress: bool | None = False) -> Trained:
    """Load the data, fill in the defaults, seed, make the run folder and train: ``monge classify`` without figures.

    Parameters
    ----------
    config : SupervisedConfig, settings left at ``None`` take their defaults (:func:`resolve`)
    out : path, optional
        The run folder (default ``runs/classify-<time>``); see :meth:`monge.runs.Run.create`.
    quiet, progress : bool
        Print nothing; show a progress bar.

    Returns
    -------
    Trained
    """
    data = load(config.data, seed=config.data_seed, n_samples=config.n_samples, noise=config.noise)
    config = resolve(config, data)
    seed_everything(config.seed)
    run = Run.create("classify", config, out, quiet=quiet)
    return train(config, data, run, progress=progress)
