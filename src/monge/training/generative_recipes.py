r"""Settings of ``monge generate`` (:class:`GenerateConfig`), their measured defaults, and the generator they build.

Every setting left at ``None`` takes the default of its data set and loss (:func:`resolve`). The
transport losses' defaults (:data:`DEFAULTS`) were measured on this project's CPU, one thread, so
that the command reaches the targets of chapter 2 without tuning (figures in the README):

- the toys: a generator of 3 hidden layers of 256 ReLU neurons from a 2-D latent code, batches of
  256, Adam at 3e-3 annealed to 0 (cosine), the text's cost :math:`\|x - z\|` (:math:`p = 1`, see
  :mod:`monge.training.generative` for why not :math:`p = 2`). Exact matching, 3000 steps: 8/8
  modes of the 8 Gaussians and about 89% of the samples within 3 std of a mode, in about 30 s;
  Sinkhorn divergence (20 iterations a step), 1000 steps: 8/8, about 87%, in about 40 s;
- digits: 2 hidden layers of 256 from a 16-D latent code, sigmoid pixels, batches of 512, Adam at
  1e-2 annealed to 0, 3000 steps: W2 to held-out digits 0.9 times the floor, classes within 0.03 of
  uniform (total variation), in about a minute of CPU. Measured on the way (exact loss, 3000
  steps; total variation, mean confidence of the judge): batches of 256, lr 1e-3: 0.077, 0.76;
  batches of 512: 0.053, 0.77; lr 3e-3: 0.041, 0.82; lr 1e-2: 0.029, 0.85 (larger batches match
  finer and larger steps go further: sharper samples, closer to uniform); :math:`p = 2`: 0.085,
  0.74; a convolutional generator, no better (0.077) and 5x slower.

Adversarial training (``wgan``, ``wgan-gp``) takes its networks and settings from
:func:`monge.training.adversarial_recipes.wgan_defaults`; ``latent``, ``widths``, ``batch``,
``steps`` and ``lr`` given here override them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from torch import nn

from monge.data import GENERATIVE_TOYS, Points
from monge.networks import ConvGenerator, MLPGenerator

TRANSPORT = ("exact", "sinkhorn", "sliced")
ADVERSARIAL = {"wgan": "clip", "wgan-gp": "gp"}
LOSSES = (*TRANSPORT, *ADVERSARIAL)
NETWORKS = ("mlp", "conv")
SCHEDULES = ("cosine", "constant")
SNAPSHOTS = 8  # figures of the samples at this many steps of training (and at step 0)
CHECKPOINTS = 20  # checkpoints per run

_TOY = dict(network="mlp", latent=2, widths=(256, 256, 256), batch=256, lr=3e-3, p=1.0, schedule="cosine")
_IMAGES = dict(network="mlp", latent=16, widths=(256, 256), batch=512, lr=1e-2, p=1.0, schedule="cosine")
# (kind of data, loss) -> settings; kinds: "toys" (the generative toys), "digits", "images", "vectors" (files).
DEFAULTS = {
    ("toys", "exact"): dict(_TOY, steps=3000),
    ("toys", "sinkhorn"): dict(_TOY, steps=1000),
    ("toys", "sliced"): dict(_TOY, steps=3000),
    ("digits", "exact"): dict(_IMAGES, steps=3000),
    ("digits", "sinkhorn"): dict(_IMAGES, steps=1500),
    ("digits", "sliced"): dict(_IMAGES, steps=3000),
}
for _loss in TRANSPORT:
    DEFAULTS[("images", _loss)] = DEFAULTS[("digits", _loss)]
    DEFAULTS[("vectors", _loss)] = DEFAULTS[("toys", _loss)]


@dataclass
class GenerateConfig:
    """Every setting of ``monge generate``; ``None`` means the default of the data set and loss.

    Attributes
    ----------
    data : str, a data set of :func:`monge.data.load_points` or a ``.npy``/``.csv`` file of points
    loss : ``"exact"`` (Monge's matching), ``"sinkhorn"`` (Sinkhorn divergence), ``"sliced"``,
        ``"wgan"`` (critic with weight clipping) or ``"wgan-gp"`` (critic with gradient penalty)
    network : ``"mlp"`` (:class:`MLPGenerator`) or ``"conv"`` (:class:`ConvGenerator`, images only)
    latent : the dimension :math:`q` of :math:`y`
    widths : hidden widths (mlp) or channels (conv) of the generator
    batch, steps, lr : samples per minibatch, optimizer steps, (initial) learning rate
    p : the ground cost :math:`\\|x - z\\|^p` of the transport losses (1: the text's)
    eps : Sinkhorn's temperature, in units of the cost (sinkhorn only; default 1e-2 diameter^p)
    rho : unbalanced minibatch transport (sinkhorn only; default ``None``, balanced): the strength of
        the marginal penalties :math:`\\rho\\, \\mathrm{KL}`, in units of the cost
        (:func:`monge.training.generative.make_loss`)
    schedule : ``"cosine"`` or ``"constant"`` learning rate (transport losses)
    checkpoint_every, every : steps between checkpoints, and between snapshots for the figures
    seed : initial weights, minibatches and latent codes
    data_seed : the toys' points, the split of digits and files
    wgan : the adversarial settings (critic, n_critic, ...), filled in by :func:`resolve` for wgan losses
    """

    data: str = "gaussians8"
    loss: str = "exact"
    network: str | None = None
    latent: int | None = None
    widths: tuple[int, ...] | None = None
    batch: int | None = None
    steps: int | None = None
    lr: float | None = None
    p: float | None = None
    eps: float | None = None
    rho: float | None = None
    schedule: str | None = None
    checkpoint_every: int | None = None
    every: int | None = None
    seed: int = 0
    data_seed: int = 0
    wgan: dict | None = None


def kind(points: Points) -> str:
    """The row of :data:`DEFAULTS` for ``points``: ``toys``, ``digits``, ``images`` or ``vectors``."""
    if points.name in GENERATIVE_TOYS:
        return "toys"
    if points.name == "digits":
        return "digits"
    return "images" if points.is_image else "vectors"


def _integer(config, name: str, least: int) -> None:
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name}: {value!r}; expected an integer >= {least}")


def _positive(config, name: str) -> None:
    value = getattr(config, name)
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: {value!r}; expected a finite number > 0")


def check(config: GenerateConfig) -> None:
    """Refuse settings of ``config`` that cannot train: a ``ValueError`` names the setting (``None`` skipped)."""
    if config.loss not in LOSSES:
        raise ValueError(f"loss: {config.loss!r}; expected one of {', '.join(LOSSES)}")
    for name, choices in (("network", NETWORKS), ("schedule", SCHEDULES)):
        value = getattr(config, name)
        if value is not None and value not in choices:
            raise ValueError(f"{name}: {value!r}; expected one of {', '.join(choices)}")
    for name, least in (("latent", 1), ("batch", 2), ("steps", 1), ("checkpoint_every", 1), ("every", 1),
                        ("seed", 0), ("data_seed", 0)):
        if getattr(config, name) is not None:
            _integer(config, name, least)
    for name in ("lr", "p", "eps", "rho"):
        if getattr(config, name) is not None:
            _positive(config, name)
    if config.widths is not None:
        widths = tuple(config.widths)
        if not widths or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths):
            raise ValueError(f"widths: {config.widths!r}; expected positive integers, e.g. 256,256,256")
    if config.eps is not None and config.loss != "sinkhorn":
        raise ValueError(f"eps: {config.eps!r}; only the sinkhorn loss has a temperature, not {config.loss!r}")
    if config.rho is not None and config.loss != "sinkhorn":
        raise ValueError(f"rho: {config.rho!r}; only the sinkhorn loss has unbalanced transport, not {config.loss!r}")
    if config.loss in ADVERSARIAL:
        for name in ("p", "schedule"):
            if getattr(config, name) is not None:
                raise ValueError(f"{name}: {getattr(config, name)!r}; a setting of the transport losses, not of "
                                 f"{config.loss!r} (its critic plays the cost)")
    if config.loss == "sliced" and config.p is not None and config.p < 1:
        raise ValueError(f"p: {config.p!r}; the sliced loss needs p >= 1")


def _check_shape(network: str, points: Points) -> None:
    if network == "conv":
        if not points.is_image:
            raise ValueError(f"network: 'conv' needs images (C, H, W); {points.name} holds samples of shape "
                             f"{points.shape} (use --network mlp)")
        if points.shape[1] % 4 or points.shape[2] % 4:
            raise ValueError(f"network: 'conv' upsamples twice, images must have a height and width divisible by 4; "
                             f"{points.name} holds {points.shape}")


def resolve(config: GenerateConfig, points: Points) -> GenerateConfig:
    """A copy of ``config`` with every ``None`` filled with the default for ``points``' kind and the loss; checked.

    Raises
    ------
    ValueError
        A bad setting (naming it), or data of the wrong shape for a convolutional generator.
    """
    check(config)
    resolved = dataclasses.replace(config)
    if config.loss in ADVERSARIAL:
        from .adversarial_recipes import recipe_dict, wgan_defaults

        recipe = wgan_defaults(points.name, ADVERSARIAL[config.loss], points.shape)
        training = recipe.training
        row = dict(network=recipe.network, latent=recipe.latent, widths=tuple(recipe.generator),
                   batch=training.batch, steps=training.steps, lr=training.lr)
        if config.wgan is None:  # a resumed run keeps the settings it was made with
            own = ("steps", "batch", "lr", "checkpoint_every", "seed")  # settings of this config
            rest = {k: v for k, v in recipe_dict(recipe)["training"].items() if k not in own}
            resolved.wgan = {"critic": tuple(recipe.critic), "output": recipe.output, **rest}
    else:
        if config.wgan is not None:
            raise ValueError(f"wgan: {config.wgan!r}; adversarial settings, not of the {config.loss!r} loss")
        row = DEFAULTS[(kind(points), config.loss)]
    for name, value in row.items():
        if getattr(resolved, name) is None:
            setattr(resolved, name, value)
    resolved.widths = tuple(resolved.widths)
    if resolved.checkpoint_every is None:  # about 20 per run, not more often than every 10 steps
        resolved.checkpoint_every = max(10, resolved.steps // CHECKPOINTS)
    if resolved.every is None:
        resolved.every = math.ceil(resolved.steps / SNAPSHOTS)
    _check_shape(resolved.network, points)
    check(resolved)
    return resolved


def build_generator(config: GenerateConfig, points: Points) -> nn.Module:
    """The generator a resolved ``config`` names, making samples of ``points.shape``.

    Images with a grey-level range (``points.scale``) get a sigmoid output: the generator makes
    ``sample / scale`` in (0, 1).
    """
    _check_shape(config.network, points)
    output = "sigmoid" if points.scale is not None else "identity"
    if config.network == "conv":
        return ConvGenerator(config.latent, points.shape, channels=config.widths, output=output)
    return MLPGenerator(config.latent, config.widths, points.shape, output=output)
