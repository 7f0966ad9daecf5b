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

from monge.networks import ConvCritic, ConvGenerator, MLPCritic, MLPGenerator

from .adversarial import MODES, WGANConfig

NETWORKS = ("mlp", "conv")


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
    training : WGANConfig, the keyword arguments of :func:`monge.training.adversarial.fit_wgan`
        (``fit_wgan(g, f, data, run=run, **dataclasses.asdict(recipe.training))``)
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
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r}; expected one of {', '.join(MODES)}")
    if (data, mode) not in DEFAULTS:
        data = "images" if shape is not None and len(tuple(shape)) == 3 else "vectors"
    row = dict(DEFAULTS[(data, mode)])
    return WGANRecipe(**{**row, "training": WGANConfig(**row["training"])})


def recipe_dict(recipe: WGANRecipe) -> dict:
    """The recipe as plain values (for ``config.json``)."""
    return dataclasses.asdict(recipe)
