r"""Continuous targets :math:`f^*` for the universal-approximation experiment (section 1.4 of the text).

Cybenko's theorem says that a two-layer network :math:`f_w` approximates any continuous
:math:`f^*` on a compact set as precisely as one wants, given enough neurons. Each
:class:`Target` is such an :math:`f^*` on an interval (1-D) or the unit square (2-D), with the
rate at which the error of a width-:math:`n` ReLU network is expected to fall, :math:`n^{-r}`,
drawn as the reference slope of the error figure.

Targets are picked by name from :data:`TARGETS` (see :func:`get_target`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from monge.errors import InputError


@dataclass(frozen=True)
class Target:
    r"""A continuous function :math:`f^* : [low, high]^d \to \mathbb{R}` to approximate.

    Attributes
    ----------
    name : str
        The key in :data:`TARGETS`.
    formula : str
        :math:`f^*` in words and symbols, for titles and ``summary.json``.
    dim : int
        The input dimension ``d`` (1 or 2).
    low, high : float
        The domain :math:`[low, high]^d`.
    rate : float
        The reference rate ``r``: the error of a width-``n`` network is expected to fall like
        :math:`n^{-r}` (see :data:`RATES` for why).
    function : callable
        ``(m, d)`` Tensor -> ``(m,)`` Tensor, the values :math:`f^*(x_i)`.
    """

    name: str
    formula: str
    dim: int
    low: float
    high: float
    rate: float
    function: Callable[[torch.Tensor], torch.Tensor]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The values :math:`f^*(x_i)` of points ``x`` of shape ``(m, d)``, shape ``(m,)``."""
        return self.function(x)

    @property
    def side(self) -> float:
        """The side :math:`high - low` of the domain."""
        return self.high - self.low


def _sine(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(2 * math.pi * x[:, 0]) + 0.3 * torch.cos(7 * x[:, 0])


def _abs(x: torch.Tensor) -> torch.Tensor:
    return x[:, 0].abs()


def _bump(x: torch.Tensor) -> torch.Tensor:
    gaussian = torch.exp(-8 * ((x[:, 0] - 0.3) ** 2 + (x[:, 1] - 0.6) ** 2))
    return gaussian + 0.5 * torch.sin(2 * math.pi * x[:, 0]) * torch.cos(math.pi * x[:, 1])


# Why each reference rate. A ReLU network of width n on the line is a continuous piecewise-linear
# function with n breakpoints; with breakpoints a distance h ~ 1/n apart its error on a smooth f*
# is at most h^2 / 8 max|f''| (linear interpolation): rate 2. Siegel & Xu (2022, "Sharp bounds on
# the approximation rates... of shallow neural networks") give n^(-1/2 - 3/(2d)) in L2 for smooth
# targets of the ReLU variation space: 2 on the line, 5/4 in the plane. A kink that falls between
# breakpoints costs an error of the order of h: rate 1 (a breakpoint exactly on it, which training
# may or may not find, represents |x| = max(x, 0) + max(-x, 0) exactly with two neurons).
RATES = {"sine": "piecewise-linear interpolation, h^2 max|f''| / 8 with h ~ 1/n",
         "abs": "a kink between breakpoints h ~ 1/n apart",
         "bump": "Siegel & Xu (2022): n^(-1/2 - 3/(2d)) for smooth targets, d = 2"}

TARGETS: dict[str, Target] = {
    target.name: target for target in (
        Target("sine", "sin(2 pi x) + 0.3 cos(7 x) on [0, 1]", 1, 0.0, 1.0, 2.0, _sine),
        Target("abs", "|x| on [-1, 1]", 1, -1.0, 1.0, 1.0, _abs),
        Target("bump", "exp(-8 |x - (0.3, 0.6)|^2) + 0.5 sin(2 pi x1) cos(pi x2) on [0, 1]^2", 2, 0.0, 1.0,
               1.25, _bump),
    )
}


def get_target(name: str | Target) -> Target:
    """The target called ``name`` in :data:`TARGETS` (a :class:`Target` is returned as it is).

    Raises
    ------
    InputError
        ``name`` is not one of :data:`TARGETS`; the message lists them (a ``ValueError``).

    Examples
    --------
    >>> get_target("sine").dim
    1
    """
    if isinstance(name, Target):
        return name
    if not isinstance(name, str) or name not in TARGETS:
        raise InputError(f"target: {name!r}; expected one of {', '.join(TARGETS)}")
    return TARGETS[name]
