r"""Ready-made experiments: ``(network, energy)`` pairs for :func:`~.flow.flow`."""

from __future__ import annotations

import torch

from monge.errors import InputError

from .energy import Energy
from .mixture import GaussianMixture
from .network import ShallowNetwork
from .units import GaussianBump, ReLUUnit

#: The target of Rotskoff, Jelassi, Bruna & Vanden-Eijnden (ICML 2019), gaussian_example:
#: :math:`f(x) = \frac13 \sum_k c_k \mathcal N(x; y_k, s_k)`, c = (1, -2, 1), y = (-2, 0, 2), s = (0.5, 1, 0.5).
RBF_TARGET = GaussianMixture([1 / 3, -2 / 3, 1 / 3], [-2.0, 0.0, 2.0], [0.5, 1.0, 0.5])


def rbf(n: int = 200, seed: int = 0, bad_start: bool = False, lam: float = 0.0, scaling: str = "mean-field",
        dtype: torch.dtype = torch.float64) -> tuple[ShallowNetwork, Energy]:
    r"""The reference experiment of Rotskoff et al. (2019): Gaussian bumps fitting :data:`RBF_TARGET` on R.

    Unit :math:`\Phi((c, y), x) = c\, \mathcal N(x; y, 0.5)`, :math:`D = \mathbb R` (closed form,
    :math:`\frac12 \|f\|^2 = 0.0688683`), :math:`c_i \sim \mathcal N(0, 1)`, :math:`y_i \sim U[-2, 2]`;
    with ``bad_start``, :math:`y_i \sim -2 + 0.1\, \mathcal N(0, 1)` (every bump starts on the left
    mode). Their run: N = 200, Euler with dt = 1e-2 to t = 30; the energy falls below 1e-3 (about
    1.5e-2 from the bad start).

    Parameters
    ----------
    n : int >= 1, the number of bumps N
    seed : int, of the initial particles
    bad_start : bool, start every bump near :math:`y = -2`
    lam : float >= 0, the weight :math:`\lambda` of the potential :math:`V(\xi) = \frac\lambda2 |\xi|^2`
    scaling : ``"mean-field"`` (output weights :math:`1/N`) or ``"lazy"`` (:math:`1/\sqrt N`), see
        :class:`ShallowNetwork`
    dtype : torch.dtype of the particles (float64 by default)

    Returns
    -------
    (network, energy) : the initial :class:`ShallowNetwork` (particles ``(n, 2)``, columns ``(c, y)``)
        and its :class:`Energy`.

    Examples
    --------
    >>> net, energy = rbf(n=200, seed=0)
    >>> round(energy.c_f, 7)
    0.0688683
    """
    n = _size(n)
    gen = torch.Generator().manual_seed(int(seed))
    c = torch.randn(n, generator=gen, dtype=torch.float64)
    if bad_start:
        y = -2 + 0.1 * torch.randn(n, generator=gen, dtype=torch.float64)
    else:
        y = 4 * torch.rand(n, generator=gen, dtype=torch.float64) - 2
    unit = GaussianBump(d=1, variance=0.5)
    net = ShallowNetwork(torch.stack([c, y], 1).to(dtype), unit, scaling=scaling)
    return net, Energy(RBF_TARGET, "R", unit, lam=lam)


def relu_teacher(n: int = 200, seed: int = 0, d: int = 2, teacher: int = 3, lam: float = 0.0,
                 scaling: str = "mean-field", dtype: torch.dtype = torch.float64) -> tuple[ShallowNetwork, Energy]:
    r"""A bias-free ReLU student fitting a bias-free ReLU teacher network under Gaussian inputs.

    :math:`x \sim \mathcal N(0, I_d)` (the measure :math:`dx` of the energy); the teacher has
    ``teacher`` neurons :math:`\omega_k = 1` with unit directions :math:`\theta_k` (evenly spread on
    the circle when ``d = 2``, random otherwise) and the mean-field output :math:`\frac1K \sum_k`;
    the student starts balanced (Chizat & Bach 2018): :math:`\theta_i \sim \mathcal N(0, I_d / d)`,
    :math:`\omega_i = \pm|\theta_i|` with random signs. Homogeneous units keep
    :math:`\omega_i^2 - |\theta_i|^2` constant along the flow (with :math:`\lambda = 0`), so a neuron
    that dies shrinks to the origin as a whole instead of chattering at :math:`\theta = 0`, where
    the kernel's gradient jumps. The energy is in closed form (the arc-cosine
    kernel of Cho & Saul, 2009): the flow needs no quadrature, one ``N x N`` kernel per step.

    Parameters
    ----------
    n : int >= 1, the number of student neurons N
    seed : int, of the student's initial neurons (and of the teacher's directions when ``d != 2``)
    d : int >= 1, the input dimension
    teacher : int >= 1, the teacher's number of neurons K
    lam : float >= 0, the weight :math:`\lambda` of the potential :math:`V(\xi) = \frac\lambda2 |\xi|^2`
    scaling : ``"mean-field"`` or ``"lazy"``, see :class:`ShallowNetwork`
    dtype : torch.dtype of the particles (float64 by default)

    Returns
    -------
    (network, energy) : particles ``(n, d + 1)``, columns ``(omega, theta_1, ..., theta_d)``.
    """
    n, teacher = _size(n), _size(teacher, "teacher")
    if int(d) != d or d < 1:
        raise InputError(f"d: expected a positive integer input dimension, found {d!r}")
    gen = torch.Generator().manual_seed(int(seed))
    if d == 2:
        angles = 2 * torch.pi * torch.arange(teacher, dtype=torch.float64) / teacher + 0.5
        directions = torch.stack([angles.cos(), angles.sin()], 1)
    else:
        directions = torch.randn(teacher, d, generator=gen, dtype=torch.float64)
        directions = directions / directions.norm(dim=1, keepdim=True)
    unit = ReLUUnit(d, bias=False)
    target = ShallowNetwork(torch.cat([torch.ones(teacher, 1, dtype=torch.float64), directions], 1), unit)
    theta = torch.randn(n, d, generator=gen, dtype=torch.float64) / d ** 0.5
    sign = torch.randint(0, 2, (n, 1), generator=gen, dtype=torch.float64).mul_(2).sub_(1)
    omega = sign * theta.norm(dim=1, keepdim=True)
    net = ShallowNetwork(torch.cat([omega, theta], 1).to(dtype), unit, scaling=scaling)
    return net, Energy(target, "gaussian", unit, lam=lam)


def _size(n, name: str = "n") -> int:
    if int(n) != n or n < 1:
        raise InputError(f"{name}: expected a positive integer number of particles, found {n!r}")
    return int(n)
