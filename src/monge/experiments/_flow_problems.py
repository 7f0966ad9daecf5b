r"""The problems ``monge flow`` (:mod:`monge.experiments.flow`) solves: the examples of
:mod:`monge.meanfield.examples`, or a FILE.

A FILE is a ``.npy`` array or a ``.csv`` table (optional header) of ``M >= 2`` rows ``(x, f(x))``:
samples of a 1-D target on the interval ``[min x, max x]``. The energy integrates over the samples,
:math:`F(\mu) = \frac{1}{2M} \sum_m (f(x_m) - f_\mu(x_m))^2 + \int V d\mu` (the text's
:math:`\int_D dx` with the samples' measure), and the network is made of

- ``bump`` units :math:`c\, \mathcal N(x; y, s)`, :math:`s = ((b - a) / 10)^2`, started from
  :math:`c_i \sim \mathcal N(0, 1)`, :math:`y_i \sim U[a, b]` (2 parameters: the grid can follow them);
- ``relu`` units :math:`\omega \max(\theta_1 x + \theta_b, 0)`, started from :math:`\omega_i \sim
  \mathcal N(0, 1)` with breakpoints :math:`u_i = -\theta_b / \theta_1 \sim U[a, b]`, slopes
  :math:`\theta_1 = \pm 2 / (b - a)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from monge.data.files import ARRAY_SUFFIXES as SUFFIXES, read_array
from monge.errors import InputError
from monge.meanfield import Energy, GaussianBump, ReLUUnit, ShallowNetwork, examples
from monge.meanfield.grid import RBF_BOX, rbf_law


EXAMPLES = ("rbf", "relu-teacher")
UNITS = ("bump", "relu")
#: Default steps: the reference's dt = 1e-2 for the bumps; the ReLU teacher's flow is as accurate at 5e-2.
DT = {"rbf": 0.01, "relu-teacher": 0.05, "file": 0.01}
#: Grid cells over (c, y): h = 0.1 on RBF_BOX.
CELLS = (160, 80)
#: How ``--example`` names a FILE in the settings' errors.
EXAMPLE = "example (--example)"


@dataclass
class Problem:
    """One flow to run: the initial network and energy, how to draw it, and the grid's start."""

    name: str
    description: str
    network: ShallowNetwork
    energy: Energy
    inputs: torch.Tensor  # (M, d) points where the fits are drawn
    abscissa: np.ndarray  # (M,) their coordinate on the figure's x axis
    abscissa_label: str
    samples: np.ndarray | None = None  # (M, 2) the FILE's rows
    law: list | None = None  # per-axis CDFs of the particles' initial law (grid start)


class SampledTarget:
    """:math:`f` known at samples: the sample values at the samples, linear interpolation elsewhere."""

    def __init__(self, x: np.ndarray, f: np.ndarray):
        self.x, self.f = torch.from_numpy(x), torch.from_numpy(f)
        order = np.argsort(x, kind="stable")
        self._xs, self._fs = x[order], f[order]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        column = torch.as_tensor(x).reshape(-1).detach().to("cpu", torch.float64)
        if column.shape == self.x.shape and torch.equal(column, self.x):
            return self.f.clone()
        return torch.from_numpy(np.interp(column.numpy(), self._xs, self._fs))


def is_file(name: str) -> bool:
    """Whether ``--example`` names a file (a .npy/.csv suffix or an existing path) rather than an example."""
    return Path(name).suffix.lower() in SUFFIXES or Path(name).exists()


def read_samples(path: str) -> np.ndarray:
    """The FILE's ``(M, 2)`` rows ``(x, f(x))``, checked; errors name ``example (--example)``."""
    try:
        rows = read_array(path, EXAMPLE)
    except InputError:
        raise
    except ValueError as error:  # read_array's documented refusals of the file's contents
        raise InputError(str(error)) from None
    if rows.ndim != 2 or rows.shape[1] != 2:
        raise InputError(f"{EXAMPLE}: {path} holds an array of shape {rows.shape}; expected (M, 2) rows (x, f(x)) "
                         "of a target on the line")
    if rows.shape[0] < 2 or not rows[:, 0].max() > rows[:, 0].min():
        raise InputError(f"{EXAMPLE}: {path} has {rows.shape[0]} row(s) spanning no interval; expected at least two "
                         "samples (x, f(x)) with different x")
    return rows


def default_box(example: str, samples: np.ndarray | None = None) -> tuple[float, float, float, float]:
    """The grid's box ``(lo0, hi0, lo1, hi1)`` over ``(c, y)``: rbf's, or ``c`` in [-8, 8] and ``y`` on the
    interval of the FILE's samples widened by half its length on each side."""
    if example == "rbf":
        (l0, l1), (h0, h1) = RBF_BOX
        return (float(l0), float(h0), float(l1), float(h1))
    x = (read_samples(example) if samples is None else samples)[:, 0]
    a, b = float(x.min()), float(x.max())
    return (-8.0, 8.0, a - (b - a) / 2, b + (b - a) / 2)


def build(example: str, n: int, seed: int, lam: float, scaling: str, unit: str = "bump",
          bad_start: bool = False, samples: np.ndarray | None = None) -> Problem:
    """The :class:`Problem` of ``example`` (a name of :data:`EXAMPLES`, or a FILE path: its ``samples``,
    read from it when not given)."""
    if example == "rbf":
        net, energy = examples.rbf(n=n, seed=seed, bad_start=bad_start, lam=lam, scaling=scaling)
        x = torch.linspace(-5, 5, 401, dtype=torch.float64)
        start = "y_i ~ -2 + 0.1 N(0, 1) (bad start)" if bad_start else "y_i ~ U[-2, 2]"
        return Problem("rbf", "Gaussian bumps c N(x; y, 0.5) fitting 1/3 [N(x; -2, 0.5) - 2 N(x; 0, 1) + N(x; 2, 0.5)] "
                       f"on R (Rotskoff et al. 2019); c_i ~ N(0, 1), {start}", net, energy, x[:, None], x.numpy(), "x",
                       law=rbf_law(bad_start))
    if example == "relu-teacher":
        net, energy = examples.relu_teacher(n=n, seed=seed, lam=lam, scaling=scaling)
        angle = torch.linspace(0, 2 * math.pi, 361, dtype=torch.float64)
        return Problem("relu-teacher", "bias-free ReLU neurons omega max(theta . x, 0) fitting a 3-neuron ReLU teacher "
                       "under x ~ N(0, I_2) (closed-form arc-cosine kernel)", net, energy,
                       torch.stack([angle.cos(), angle.sin()], 1), angle.numpy(),
                       "angle phi of x = (cos phi, sin phi) (the networks are positively homogeneous)")
    rows = read_samples(example) if samples is None else samples
    x, f = rows[:, 0].copy(), rows[:, 1].copy()
    a, b = float(x.min()), float(x.max())
    gen = torch.Generator().manual_seed(seed)
    omega = torch.randn(n, generator=gen, dtype=torch.float64)
    where = a + (b - a) * torch.rand(n, generator=gen, dtype=torch.float64)
    if unit == "bump":
        model = GaussianBump(1, variance=(b - a) ** 2 / 100)
        particles = torch.stack([omega, where], 1)
        law = [_normal_cdf, lambda edges: np.clip((edges - a) / (b - a), 0.0, 1.0)]
        what = f"Gaussian bumps c N(x; y, {model.variance:.4g}), c_i ~ N(0, 1), y_i ~ U[{a:g}, {b:g}]"
    else:
        model = ReLUUnit(1)
        sign = torch.where(torch.rand(n, generator=gen, dtype=torch.float64) < 0.5, -1.0, 1.0).double()
        slope = sign * 2 / (b - a)
        particles = torch.stack([omega, slope, -slope * where], 1)
        law = None
        what = f"ReLU neurons omega max(theta_1 x + theta_b, 0), breakpoints ~ U[{a:g}, {b:g}]"
    net = ShallowNetwork(particles, model, scaling=scaling)
    energy = Energy(SampledTarget(x, f), torch.from_numpy(x)[:, None], model, lam=lam)
    grid_x = torch.linspace(a, b, 401, dtype=torch.float64)
    return Problem(Path(example).name, f"{what} fitting the {len(x)} samples of {example} (energy: mean over the "
                   "samples)", net, energy, grid_x[:, None], grid_x.numpy(), "x", samples=rows, law=law)


def _normal_cdf(edges):
    from scipy.stats import norm

    return norm.cdf(edges)
