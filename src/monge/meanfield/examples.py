r"""Ready-made experiments: ``(network, energy)`` pairs for :func:`~.flow.flow`."""

from __future__ import annotations

import torch

from .energy import Energy
from .mixture import GaussianMixture
from .network import ShallowNetwork

#: The target of Rotskoff, Jelassi, Bruna & Vanden-Eijnden (ICML 2019), gaussian_example:
#: :math:`f(x) = \frac13 \sum_k c_k \mathcal N(x; y_k, s_k)`, c = (1, -2, 1), y = (-2, 0, 2), s = (0.5, 1, 0.5).
RBF_TARGET = GaussianMixture([1 / 3, -2 / 3, 1 / 3], [-2.0, 0.0, 2.0], [0.5, 1.0, 0.5])


def rbf(n: int = 200, seed: int = 0, bad_start: bool = False, lam: float = 0.0, scaling: str = "mean-field",
        dtype: torch.dtype = torch.float64) -> tuple[ShallowNetwork, Energy]:
    r"""The reference experiment of Rotskoff et al. (2019): Gaussian bumps fitting :data:`RBF_TARGET` on R.

    Unit :math:`\Phi((c, y), x) = c\, \mathcal N(x; y, 0.5)`, :math:`D = \mathbb R` (closed form),
    :math:`c_i \sim \mathcal N(0, 1)`, :math:`y_i \sim U[-2, 2]`; with ``bad_start``
    :math:`y_i \sim -2 + 0.1\, \mathcal N(0, 1)` (all bumps start on the left mode and the flow stalls).
    """
    raise NotImplementedError


def relu_teacher(n: int = 200, seed: int = 0, d: int = 2, teacher: int = 3, lam: float = 0.0,
                 scaling: str = "mean-field", dtype: torch.dtype = torch.float64) -> tuple[ShallowNetwork, Energy]:
    r"""A bias-free ReLU student fitting a bias-free ReLU teacher network under Gaussian inputs.

    :math:`x \sim \mathcal N(0, I_d)`; the teacher has ``teacher`` neurons; the energy is in closed
    form (the arc-cosine kernel of Cho & Saul, 2009).
    """
    raise NotImplementedError


EXAMPLES = {"rbf": rbf, "relu-teacher": relu_teacher}
