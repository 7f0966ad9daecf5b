r"""Settings of ``monge generate`` (:class:`GenerateConfig`), their measured defaults, and the networks they build.

:class:`GenerateConfig` is :class:`monge.experiments.generate.Config`: it lives here, beside the
trainers that read it (the training layer does not import the experiments). Every setting left at
``None`` takes the default of its data set and loss (:func:`resolve`). The
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
``steps`` and ``lr`` given here override them, and the rest is kept in the ``wgan`` field
(:class:`~monge.training.adversarial_recipes.WGANSettings`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

from torch import nn

from monge.data import GENERATIVE_TOYS, Points
from monge.errors import InputError, InputTypeError
from monge.networks import ConvGenerator, MLPGenerator
from monge.settings import choice, flag, integer, number, optional, refuse

from .adversarial import WGANConfig
from .adversarial_recipes import WGANRecipe, WGANSettings, wgan_defaults
from .generative import OTConfig, check_loss

TRANSPORT = ("exact", "sinkhorn", "sliced")
ADVERSARIAL = {"wgan": "clip", "wgan-gp": "gp"}
LOSSES = (*TRANSPORT, *ADVERSARIAL)
NETWORKS = ("mlp", "conv")
SCHEDULES = ("cosine", "constant")
SNAPSHOTS = 8  # figures of the samples at this many steps of training (and at step 0)
CHECKPOINTS = 20  # checkpoints per run
SEEDS = 2**63  # seeds are below this: every generator seeded from them (torch, NumPy, Python) takes them

_TOY = dict(network="mlp", latent=2, widths=(256, 256, 256), batch=256, lr=3e-3, p=1.0, schedule="cosine")
_IMAGES = dict(network="mlp", latent=16, widths=(256, 256), batch=512, lr=1e-2, p=1.0, schedule="cosine")
# (kind of data, loss) -> settings; kinds: "toys" (the generative toys), "digits", "images", "vectors" (files).
# Files of vectors take the toys' rows, files of images the digits'.
DEFAULTS = {
    **{(kind, loss): dict(_TOY, steps=steps) for kind in ("toys", "vectors")
       for loss, steps in (("exact", 3000), ("sinkhorn", 1000), ("sliced", 3000))},
    **{(kind, loss): dict(_IMAGES, steps=steps) for kind in ("digits", "images")
       for loss, steps in (("exact", 3000), ("sinkhorn", 1500), ("sliced", 3000))},
}


@dataclass(frozen=True)
class GenerateConfig:
    """Every setting of ``monge generate``; ``None`` means the default of the data set and loss.

    Each field is the command's flag (``data_seed`` is ``--data-seed``). The settings are checked
    when made: a bad value raises :class:`monge.errors.InputError` naming the field and its flag.

    Attributes
    ----------
    data : str, a data set of :func:`monge.data.load_points` or a ``.npy``/``.csv`` file of points
    loss : ``"exact"`` (Monge's matching), ``"sinkhorn"`` (Sinkhorn divergence), ``"sliced"``,
        ``"wgan"`` (critic with weight clipping) or ``"wgan-gp"`` (critic with gradient penalty)
    network : ``"mlp"`` (:class:`MLPGenerator`) or ``"conv"`` (:class:`ConvGenerator`, images only)
    latent : the dimension :math:`q` of :math:`y`
    widths : tuple of int, hidden widths (mlp) or channels (conv) of the generator
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
    wgan : WGANSettings, the adversarial settings (critic, n_critic, ...), filled in by :func:`resolve`
        for the wgan losses

    Examples
    --------
    >>> GenerateConfig(loss="sinkhorn", widths=[64, 64]).widths
    (64, 64)
    >>> GenerateConfig(lr=-1.0)
    Traceback (most recent call last):
    ...
    monge.errors.InputError: lr (--lr): -1.0; expected a number in (0, inf)
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
    wgan: WGANSettings | None = None

    def __post_init__(self):
        if isinstance(self.data, os.PathLike):
            object.__setattr__(self, "data", os.fspath(self.data))
        if isinstance(self.widths, list):
            object.__setattr__(self, "widths", tuple(self.widths))
        check(self)

    @classmethod
    def from_json(cls, stored: dict) -> "GenerateConfig":
        """The settings saved in a run's ``config.json``: ``stored``, a dict (lists for tuples, a dict for ``wgan``)."""
        values = {f.name: stored[f.name] for f in dataclasses.fields(cls) if f.name in stored}
        if values.get("wgan") is not None:
            values["wgan"] = WGANSettings.from_json(values["wgan"])
        return cls(**values)

    def training(self) -> OTConfig | WGANConfig:
        """The settings of the trainer of this resolved config (:func:`resolve`).

        :func:`~monge.training.generative.fit_generator`'s :class:`~monge.training.generative.OTConfig`
        for the transport losses, :func:`~monge.training.adversarial.fit_wgan`'s
        :class:`~monge.training.adversarial.WGANConfig` for the adversarial ones.
        """
        if self.steps is None or self.batch is None or (self.loss in ADVERSARIAL and self.wgan is None):
            raise InputError("config: settings left to their defaults; expected a config filled in by resolve(config, "
                             "points)")
        own = dict(steps=self.steps, batch=self.batch, lr=self.lr, checkpoint_every=self.checkpoint_every,
                   seed=self.seed)
        if self.loss in ADVERSARIAL:
            return self.wgan.training(**own)
        return OTConfig(loss=self.loss, p=self.p, eps=self.eps, rho=self.rho, schedule=self.schedule, **own)


def kind(points: Points) -> str:
    """The row of :data:`DEFAULTS` for ``points``: ``toys``, ``digits``, ``images`` or ``vectors``."""
    if points.name in GENERATIVE_TOYS:
        return "toys"
    if points.name == "digits":
        return "digits"
    return "images" if points.is_image else "vectors"


def _seed(name: str, value) -> None:
    if integer(name, value, 0) >= SEEDS:
        raise refuse(name, value, "an integer in [0, 2**63)")


def check(config: GenerateConfig) -> None:
    """Refuse settings of ``config`` that cannot train: an :class:`InputError` names the field and flag.

    Settings at ``None`` (left to their defaults) are skipped.
    """
    if not isinstance(config.data, str) or not config.data:
        raise refuse("data", config.data, "the name of a data set or a .npy/.csv file")
    choice("loss", config.loss, LOSSES)
    for name, choices in (("network", NETWORKS), ("schedule", SCHEDULES)):
        optional(choice, name, getattr(config, name), choices)
    for name, least in (("latent", 1), ("batch", 2), ("steps", 1), ("checkpoint_every", 1), ("every", 1)):
        optional(integer, name, getattr(config, name), least)
    _seed("seed", config.seed)
    _seed("data_seed", config.data_seed)
    optional(number, "lr", config.lr, 0.0, open_low=True)
    if config.widths is not None and (not isinstance(config.widths, tuple) or not config.widths or not all(
            isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in config.widths)):
        raise refuse("widths", config.widths, "positive integers, e.g. 256,256,256")
    if config.loss in ADVERSARIAL:
        for name in ("p", "schedule"):
            if getattr(config, name) is not None:
                raise InputError(f"{name} ({flag(name)}): {getattr(config, name)!r}; a setting of the transport "
                                 f"losses, not of {config.loss!r} (its critic plays the cost)")
    check_loss(config.loss, p=config.p, eps=config.eps, rho=config.rho)
    _check_wgan(config)


def _check_wgan(config: GenerateConfig) -> None:
    """The ``wgan`` settings: none for the transport losses, those of the loss's mode for the adversarial ones."""
    if config.wgan is None:
        return
    if not isinstance(config.wgan, WGANSettings):
        raise InputTypeError(f"wgan: {type(config.wgan).__name__}; expected WGANSettings (or None: the measured "
                             "defaults)")
    if config.loss not in ADVERSARIAL:
        raise InputError(f"wgan: {config.wgan!r}; adversarial settings, not of the {config.loss!r} loss")
    if config.wgan.mode != ADVERSARIAL[config.loss]:
        raise InputError(f"wgan: mode {config.wgan.mode!r}; the {config.loss!r} loss trains with mode "
                         f"{ADVERSARIAL[config.loss]!r}")


def _check_shape(network: str, points: Points) -> None:
    if network == "conv":
        if not points.is_image:
            raise InputError(f"network (--network): 'conv' needs images (C, H, W); {points.name} holds samples of "
                             f"shape {points.shape} (use --network mlp)")
        if points.shape[1] % 4 or points.shape[2] % 4:
            raise InputError(f"network (--network): 'conv' upsamples twice, images must have a height and width "
                             f"divisible by 4; {points.name} holds {points.shape}")


def _row(config: GenerateConfig, points: Points) -> dict:
    """The measured defaults for ``points`` and the loss of ``config``."""
    if config.loss not in ADVERSARIAL:
        return DEFAULTS[(kind(points), config.loss)]
    recipe = wgan_defaults(points.name, ADVERSARIAL[config.loss], points.shape)
    training = recipe.training
    return dict(network=recipe.network, latent=recipe.latent, widths=tuple(recipe.generator), batch=training.batch,
                steps=training.steps, lr=training.lr, wgan=WGANSettings.of(recipe))


def resolve(config: GenerateConfig, points: Points) -> GenerateConfig:
    """A copy of ``config`` with every ``None`` filled with the default for ``points``' kind and the loss.

    A resumed run's ``wgan`` settings (not ``None``) are kept. Nothing is changed in place.

    Raises
    ------
    InputError
        Data of the wrong shape for a convolutional generator.
    """
    filled = {name: value for name, value in _row(config, points).items() if getattr(config, name) is None}
    steps = filled.get("steps", config.steps)
    if config.checkpoint_every is None:  # about 20 per run, not more often than every 10 steps
        filled["checkpoint_every"] = max(10, steps // CHECKPOINTS)
    if config.every is None:
        filled["every"] = math.ceil(steps / SNAPSHOTS)
    resolved = dataclasses.replace(config, **filled)
    _check_shape(resolved.network, points)
    return resolved


def build_generator(config: GenerateConfig, points: Points) -> nn.Module:
    """The generator a resolved ``config`` of a transport loss names, making samples of ``points.shape``.

    Images with a grey-level range (``points.scale``) get a sigmoid output: the generator makes
    ``sample / scale`` in (0, 1).
    """
    _check_shape(config.network, points)
    output = "sigmoid" if points.scale is not None else "identity"
    if config.network == "conv":
        return ConvGenerator(config.latent, points.shape, channels=config.widths, output=output)
    return MLPGenerator(config.latent, config.widths, points.shape, output=output)


def build_networks(config: GenerateConfig, points: Points) -> tuple[nn.Module, nn.Module | None]:
    """The generator of a resolved ``config`` for ``points`` and, for adversarial losses, its critic (else ``None``).

    Both are made from torch's global random generator (seeded by the run).
    """
    if config.loss not in ADVERSARIAL:
        return build_generator(config, points), None
    recipe = WGANRecipe(network=config.network, latent=config.latent, generator=config.widths,
                        critic=config.wgan.critic, output=config.wgan.output, training=config.training())
    return recipe.networks(points.shape)
