r"""Measured defaults of adversarial training (:func:`wgan_defaults`): networks and settings per data set and mode.

The papers' settings (Arjovsky et al. 2017: RMSprop 5e-5, clip 0.01; Gulrajani et al. 2017: Adam
1e-4, betas (0.5, 0.9), 512-wide networks, 100,000 steps for the toys) are far too slow for a few
minutes of CPU: the rows below were measured on this project's CPU (one thread) so that both modes
cover the 8 modes of ``gaussians8`` within their run (figures in the README and the table's
comments). What changed, and why:

- networks of 3 hidden layers of 128 ReLU neurons instead of 512: 4x less work per step, and the
  8 Gaussians need no more;
- a larger learning rate decayed linearly to 0 (``schedule="linear"``): the large steps find the
  modes, the small ones at the end tighten the samples onto them (with a constant rate the samples
  keep jittering around the modes, by more than their 3 standard deviations of 0.04);
- ``mode="clip"``: the critic's scale :math:`K` does not matter to RMSprop, whose steps are
  normalised, so clipping at 0.01 stays; the learning rate is raised as for ``"gp"``;
- ``mode="gp"``: two time scales, the critic at 1e-3 and the generator at 2e-4, for 4000 steps: a
  critic that keeps up with the generator points it at the modes it misses.

Measured with these defaults (``monge generate --data gaussians8 --loss wgan-gp`` / ``--loss wgan``,
seed 0, one thread, CPU seconds of training on a shared 2-core CPU): gp 8/8 modes, 66.0% of the
samples within 3 std of a mode, W2 0.93 times its floor, 117 s; clip 8/8, 51.0%, 0.89, 95 s.

Example
-------
>>> recipe = wgan_defaults("gaussians8", "gp")
>>> generator, critic = recipe.networks((2,))
>>> recipe.training.mode, recipe.training.steps, generator.latent
('gp', 4000, 2)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import nn

from monge.errors import InputError
from monge.networks import ConvCritic, ConvGenerator, MLPCritic, MLPGenerator
from monge.settings import choice, refuse

from .adversarial import MODES, WGANConfig

NETWORKS = ("mlp", "conv")
OUTPUTS = ("identity", "sigmoid")


@dataclass(frozen=True)
class WGANRecipe:
    """The networks and training settings of one data set and mode.

    Attributes
    ----------
    network : ``"mlp"`` (:class:`MLPGenerator`, :class:`MLPCritic`) or ``"conv"`` (:class:`ConvGenerator`,
        :class:`ConvCritic`, for images)
    latent : the dimension :math:`q` of the generator's input :math:`y`
    generator : hidden widths (mlp) or channels (conv) of the generator
    critic : hidden widths (mlp) or channels (conv) of the critic
    output : the generator's output, ``"identity"`` or ``"sigmoid"`` (pixels in (0, 1))
    training : WGANConfig, the settings of :func:`monge.training.adversarial.fit_wgan`
        (``fit_wgan(g, f, data, recipe.training, run=run)``)
    """

    network: str
    latent: int
    generator: tuple[int, ...]
    critic: tuple[int, ...]
    output: str
    training: WGANConfig

    def networks(self, shape) -> tuple[nn.Module, nn.Module]:
        """A new generator and critic for samples of ``shape`` (e.g. ``(2,)`` or ``(1, 8, 8)``), from torch's RNG."""
        shape = tuple(shape)
        if self.network == "conv":
            return (ConvGenerator(self.latent, shape, channels=self.generator, output=self.output),
                    ConvCritic(shape, channels=self.critic))
        d_in = 1
        for size in shape:
            d_in *= size
        return (MLPGenerator(self.latent, self.generator, shape, output=self.output),
                MLPCritic(d_in, self.critic))


_TOY_NETWORKS = {
    "clip": dict(network="mlp", latent=2, generator=(128, 128, 128), critic=(512,), output="identity"),
    "gp": dict(network="mlp", latent=2, generator=(128, 128, 128), critic=(128, 128, 128), output="identity"),
}
_TOY_TRAINING = {
    "clip": dict(mode="clip", steps=5000, batch=256, lr=5e-4, clip=0.01, schedule="linear"),
    "gp": dict(mode="gp", steps=4000, batch=256, lr=2e-4, critic_lr=1e-3, betas=(0.5, 0.9), lam=10.0,
               schedule="linear"),
}
# (data, mode) -> recipe settings; "vectors" and "images" serve the user's files.
DEFAULTS = {
    **{(name, mode): {**_TOY_NETWORKS[mode], "training": _TOY_TRAINING[mode]}
       for name in ("gaussians8", "gaussians25", "swissroll", "moons", "circle", "vectors") for mode in MODES},
    **{(name, mode): dict(network="conv", latent=16, generator=(64, 32), critic=(32, 64, 128), output="sigmoid",
                          training=dict(mode=mode, steps=1500, batch=64, lr=2e-4 if mode == "gp" else 2e-4,
                                        schedule="linear"))
       for name in ("digits", "images") for mode in MODES},
}


def wgan_defaults(data: str, mode: str, shape=None) -> WGANRecipe:
    """The measured recipe for ``data`` and ``mode``.

    Parameters
    ----------
    data : str, a data set name (``gaussians8``, ``gaussians25``, ``swissroll``, ``moons``,
        ``circle``, ``digits``) or anything else (a file), for which ``shape`` picks the row:
        images ``(C, H, W)`` the convolutional one, other samples the toys'
    mode : ``"clip"`` or ``"gp"``
    shape : tuple, optional, the shape of one sample (only read for other data)

    Returns
    -------
    WGANRecipe
    """
    choice("mode", mode, MODES)
    if (data, mode) not in DEFAULTS:
        data = "images" if shape is not None and len(tuple(shape)) == 3 else "vectors"
    row = dict(DEFAULTS[(data, mode)])
    return WGANRecipe(**{**row, "training": WGANConfig(**row["training"])})


# The fields of WGANConfig that monge generate sets from its own flags, not from its WGANSettings.
OWN = ("steps", "batch", "lr", "checkpoint_every", "seed")


@dataclass(frozen=True)
class WGANSettings:
    """The adversarial settings of ``monge generate`` beyond its flags (its ``wgan`` field), checked when made.

    The critic's widths and the generator's output, and the fields of :class:`WGANConfig` other
    than :data:`OWN` (``steps``, ``batch``, ``lr``, ``checkpoint_every`` and ``seed`` are the
    command's own). Made from a measured recipe by :meth:`of`; :meth:`training` completes it into
    the settings of :func:`monge.training.adversarial.fit_wgan`.

    Attributes
    ----------
    critic : tuple of int, hidden widths (mlp) or channels (conv) of the critic
    output : ``"identity"`` or ``"sigmoid"``, the generator's output
    mode, n_critic, critic_lr, optimizer, betas, schedule, warmup, clip, lam, exact_every : those of
        :class:`WGANConfig`

    Examples
    --------
    >>> settings = WGANSettings.of(wgan_defaults("gaussians8", "gp"))
    >>> settings.critic, settings.training(steps=10, batch=64, lr=2e-4, checkpoint_every=5, seed=0).n_critic
    ((128, 128, 128), 5)
    """

    critic: tuple[int, ...]
    output: str
    mode: str
    n_critic: int
    critic_lr: float | None
    optimizer: str | None
    betas: tuple[float, float]
    schedule: str
    warmup: int
    clip: float
    lam: float
    exact_every: int

    def __post_init__(self):
        for name in ("critic", "betas"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if not isinstance(self.critic, tuple) or not self.critic or not all(
                isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in self.critic):
            raise refuse("critic", self.critic, "the critic's widths, positive integers")
        choice("output", self.output, OUTPUTS)
        self.training(steps=1, batch=1, lr=None, checkpoint_every=1, seed=0)  # checks the rest

    @classmethod
    def of(cls, recipe: WGANRecipe) -> "WGANSettings":
        """The settings of a recipe (:func:`wgan_defaults`), less those of :data:`OWN`."""
        rest = {f.name: getattr(recipe.training, f.name) for f in dataclasses.fields(WGANConfig) if f.name not in OWN}
        return cls(critic=tuple(recipe.critic), output=recipe.output, **rest)

    @classmethod
    def from_json(cls, stored) -> "WGANSettings":
        """The settings saved in a ``config.json``: ``stored``, a dict (with lists for tuples)."""
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [name for name in names if not isinstance(stored, dict) or name not in stored]
        if missing:
            raise InputError(f"wgan: {stored!r} lacks {', '.join(missing)}; expected the adversarial settings of a "
                             "monge generate run")
        return cls(**{name: stored[name] for name in names})

    def training(self, *, steps: int, batch: int, lr: float | None, checkpoint_every: int, seed: int) -> WGANConfig:
        """The settings of :func:`~monge.training.adversarial.fit_wgan`: these, with the command's own.

        Parameters
        ----------
        steps, batch, lr, checkpoint_every, seed : the fields of :data:`OWN`, as in :class:`WGANConfig`
        """
        rest = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("critic", "output")}
        return WGANConfig(steps=steps, batch=batch, lr=lr, checkpoint_every=checkpoint_every, seed=seed, **rest)
