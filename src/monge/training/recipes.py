"""Settings of supervised training (:class:`SupervisedConfig`), their defaults per data set and model, and
the factories that turn them into a network, an optimizer and a learning-rate schedule.

The defaults were measured on this project's CPU (see the README and ``monge classify --help``):
they reach the targets of chapter 1 without tuning, e.g. a convolutional network on scikit-learn's
digits above 99% test accuracy in about ten seconds. Every setting left at ``None`` takes the
default for its data set and model; :func:`resolve` fills them in and checks every value.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

from monge.data import TOYS, Dataset
from monge.errors import InputError
from monge.networks import MLP, ConvNet, TwoLayer
from monge.settings import choice, integer, number, optional

MODELS = ("two-layer", "mlp", "convnet")
LOSSES = ("squared", "cross-entropy")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("onecycle", "cosine", "constant")
# Toys and flat-feature files: about this many optimisation steps by default, within these epochs.
STEPS, MIN_EPOCHS, MAX_EPOCHS = 2400, 10, 100

COMMON = dict(optimizer="adam", schedule="onecycle", lr=3e-3, momentum=0.9, batch=64, weight_decay=5e-4,
              label_smoothing=0.1, dropout=0.0, shift=0)
# Measured defaults per (kind of data, model); "auto" depth of a convnet: as many stages as the input allows (<= 3).
DEFAULTS = {
    ("digits", "convnet"): dict(width=32, depth=2, epochs=30, dropout=0.2, shift=1),
    ("digits", "two-layer"): dict(width=256, depth=1, epochs=40),
    ("digits", "mlp"): dict(width=256, depth=2, epochs=40, dropout=0.2),
    ("mnist1d", "convnet"): dict(width=16, depth=3, epochs=15, dropout=0.2, shift=2),
    ("mnist1d", "two-layer"): dict(width=256, depth=1, epochs=60, shift=4),
    ("mnist1d", "mlp"): dict(width=256, depth=2, epochs=60, dropout=0.2, shift=4),
    ("images", "convnet"): dict(width=32, depth="auto", epochs=30, dropout=0.2, shift=1),
    ("images", "two-layer"): dict(width=256, depth=1, epochs=40),
    ("images", "mlp"): dict(width=256, depth=2, epochs=40, dropout=0.2),
    ("vectors", "convnet"): dict(width=16, depth="auto", epochs="steps", dropout=0.2),
    ("vectors", "two-layer"): dict(width=64, depth=1, epochs="steps", lr=1e-2, batch=32, weight_decay=0.0,
                                   label_smoothing=0.0),
    ("vectors", "mlp"): dict(width=32, depth=2, epochs="steps", lr=1e-2, batch=32, weight_decay=0.0,
                             label_smoothing=0.0),
}


@dataclass(frozen=True)
class SupervisedConfig:
    """Every setting of a supervised training run (``monge classify``); ``None`` means the default.

    Each field is the command's flag (``weight_decay`` is ``--weight-decay``). The settings are
    checked when made: a bad value raises :class:`monge.errors.InputError` naming the field and
    its flag. :func:`resolve` fills in the defaults measured for a data set and model.

    Attributes
    ----------
    data : str, a data set of :func:`monge.data.load` or a file
    model : ``"two-layer"`` (Figure 1.1), ``"mlp"`` or ``"convnet"`` (section 1.4); default convnet for images
        and signals, two-layer for vectors (points of the plane)
    loss : ``"squared"`` (the text's :math:`E(w)`) or ``"cross-entropy"``
    width : hidden neurons (two-layer, mlp: each layer) or channels of the first stage (convnet, doubled per stage)
    depth : hidden layers (mlp; 1 for two-layer) or stages (convnet)
    epochs, batch : passes over the training set; samples per gradient step
    lr : the (peak) learning rate
    optimizer : ``"sgd"`` (with ``momentum``) or ``"adam"`` (Adam with decoupled weight decay, AdamW)
    momentum : of SGD
    schedule : ``"onecycle"`` (warm up, then anneal), ``"cosine"`` or ``"constant"`` learning rate, per step
    weight_decay : the L2 penalty (decoupled for Adam)
    dropout : probability of dropping a neuron in training
    label_smoothing : targets :math:`(1 - a) e_y + a / K` instead of one-hot :math:`e_y` (training only)
    shift : augmentation, random translations of images and signals by up to this many pixels
    seed : initialisation, shuffling, augmentation and dropout
    data_seed : the data (split of digits and files, points of the toys, MNIST-1D's generator)
    n_samples, noise : toys only
    """

    data: str = "digits"
    model: str | None = None
    loss: str = "cross-entropy"
    width: int | None = None
    depth: int | None = None
    epochs: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    momentum: float | None = None
    schedule: str | None = None
    batch: int | None = None
    weight_decay: float | None = None
    dropout: float | None = None
    label_smoothing: float | None = None
    shift: int | None = None
    seed: int = 0
    data_seed: int = 0
    n_samples: int | None = None
    noise: float | None = None

    def __post_init__(self):
        check(self)


def kind(data: Dataset) -> str:
    """The row of :data:`DEFAULTS` for ``data``: ``digits``, ``mnist1d``, ``images`` (and signals) or ``vectors``."""
    if data.name in ("digits", "mnist1d"):
        return data.name
    return "images" if len(data.shape) >= 2 else "vectors"


def _convnet_shape(data: Dataset) -> tuple[int, ...]:
    """Images and signals as they are; flat features ``(d,)`` as a one-channel signal ``(1, d)``."""
    return tuple(data.shape) if len(data.shape) >= 2 else (1, *data.shape)


def _auto_depth(shape: tuple[int, ...]) -> int:
    """Stages of 2x pooling that leave at least 2 along each axis, at most 3 (8 -> 2 stages, 40 -> 3)."""
    return max(1, min(3, int(math.log2(min(shape[1:]) / 2))))


def check(config: SupervisedConfig) -> None:
    """Refuse settings of ``config`` that cannot train: an :class:`InputError` names the field and flag (``None`` skipped)."""
    if config.model is not None:
        choice("model", config.model, MODELS)
    choice("loss", config.loss, LOSSES)
    if not isinstance(config.data, str) or not config.data:
        raise InputError(f"data (--data): {config.data!r}; expected the name of a data set or a file")
    for name, least in (("width", 1), ("depth", 1), ("epochs", 1), ("batch", 1), ("shift", 0), ("seed", 0),
                        ("data_seed", 0), ("n_samples", 2)):
        optional(integer, name, getattr(config, name), least)
    for name, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES)):
        optional(choice, name, getattr(config, name), choices)
    bounds = {"lr": (0, math.inf, True), "momentum": (0, 1, False), "weight_decay": (0, math.inf, False),
              "dropout": (0, 1, False), "label_smoothing": (0, 1, False), "noise": (0, math.inf, False)}
    for name, (low, high, open_low) in bounds.items():
        optional(number, name, getattr(config, name), low, high, open_low=open_low)
    if config.model == "two-layer" and config.depth not in (None, 1):
        raise InputError(f"depth (--depth): {config.depth}; the two-layer network of Figure 1.1 has one hidden "
                         "layer (use --model mlp for more)")
    if config.model == "two-layer" and config.dropout:
        raise InputError(f"dropout (--dropout): {config.dropout}; the two-layer network of Figure 1.1 has no "
                         "dropout (use --model mlp --depth 1: the same network with dropout)")


def resolve(config: SupervisedConfig, data: Dataset) -> SupervisedConfig:
    """A copy of ``config`` with every ``None`` replaced by the default for ``data`` and the model, checked.

    Raises
    ------
    InputError
        A setting that does not fit the data (a convnet or ``shift`` on points of the plane, too
        many stages for the input), named with its flag.
    """
    model = config.model or ("convnet" if len(data.shape) >= 2 else "two-layer")
    row = {**COMMON, **DEFAULTS[(kind(data), model)]}
    if config.loss == "squared":
        row["label_smoothing"] = 0.0  # the text's E(w) on one-hot targets
    filled = {f.name: row[f.name] if getattr(config, f.name) is None and f.name in row else getattr(config, f.name)
              for f in dataclasses.fields(config)}
    filled["model"] = model
    if model == "convnet":
        filled["depth"] = _convnet_depth(filled["depth"], data)
    if filled["epochs"] == "steps":
        per_epoch = math.ceil(data.n_train / filled["batch"])
        filled["epochs"] = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(STEPS / per_epoch)))
    if filled["shift"] and len(data.shape) < 2:
        raise InputError(f"shift (--shift): {filled['shift']}; random shifts are for images and signals, {data.name} "
                         f"holds vectors of shape {data.shape} (expected 0)")
    if data.name in TOYS:  # record what the toy was made with
        filled["n_samples"] = data.n_train + data.n_test
        filled["noise"] = TOYS[data.name].__kwdefaults__["noise"] if config.noise is None else config.noise
    return SupervisedConfig(**filled)


def _convnet_depth(depth, data: Dataset) -> int:
    """The stages of a convnet on ``data``: ``"auto"`` is as many as the input allows; more are refused."""
    shape = _convnet_shape(data)
    if len(data.shape) == 1 and data.shape[0] < 8:
        raise InputError(f"model (--model): convnet needs images or signals; {data.name} holds points of dimension "
                         f"{data.shape[0]} (expected at least 8 values per sample): use --model two-layer or mlp")
    if min(shape[1:]) < 4:
        raise InputError(f"model (--model): convnet needs inputs of at least 4 pixels along each axis; {data.name} "
                         f"has shape {data.shape}: use --model two-layer or mlp")
    most = _auto_depth(shape)
    if depth == "auto":
        return most
    if depth > most:
        raise InputError(f"depth (--depth): {depth} stages halve the input {shape[1:]} {depth} times; expected at "
                         f"most {most} for {data.name}")
    return depth


def build_model(config: SupervisedConfig, data: Dataset) -> nn.Module:
    """The network a resolved ``config`` names, sized for ``data`` (inputs ``(batch, *data.shape)``)."""
    d_in = math.prod(data.shape)
    if config.model == "two-layer":
        return TwoLayer(d_in, config.width, data.n_classes)
    if config.model == "mlp":
        return MLP(d_in, [config.width] * config.depth, data.n_classes, dropout=config.dropout)
    channels = tuple(config.width * 2 ** k for k in range(config.depth))
    return ConvNet(_convnet_shape(data), data.n_classes, channels=channels, dropout=config.dropout)


def build_optimizer(config: SupervisedConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer of ``model``'s parameters that ``config`` names, with its ``lr`` and ``weight_decay``.

    SGD with momentum, or Adam with decoupled weight decay (AdamW: Adam itself when ``weight_decay`` is 0).
    """
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def build_schedule(config: SupervisedConfig, optimizer: torch.optim.Optimizer, steps: int):
    """The learning-rate schedule of ``config`` for ``optimizer`` over ``steps`` steps (``None``: constant).

    It is stepped after each optimizer step. ``onecycle`` rises from ``lr / 25`` to ``lr`` over the
    first 30% of the steps, then anneals to ``lr / 1e4`` (Smith and Topin, 2019); ``cosine`` decays
    from ``lr`` to 0 as :math:`\\tfrac{1}{2}(1 + \\cos(\\pi t / T))`.
    """
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return None
