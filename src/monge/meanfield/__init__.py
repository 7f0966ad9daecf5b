r"""Shallow networks as Wasserstein gradient flows (chapter 3).

A one-hidden-layer network is a measure :math:`\mu` of neurons :math:`\xi = (\omega, \theta)`:
:math:`f_\mu(x) = \int \Phi(\xi, x)\, d\mu(\xi)`. Training it on
:math:`F(\mu) = \frac12 \int_D (f - f_\mu)^2 dx + \int V d\mu` is the Wasserstein gradient flow
:math:`\partial_t \mu = \nabla\cdot(\mu \nabla \psi_\mu)`, :math:`\psi_\mu = \delta F / \delta\mu`;
its particles move by :math:`d\xi_i/dt = -\nabla\psi_\mu(\xi_i)`.
"""

from . import diagnostics, distributed, examples
from .energy import Energy
from .flow import FlowDiverged, FlowResult, flow
from .grid import Grid, GridResult, cfl_number, grid_flow, grid_wasserstein
from .mixture import GaussianMixture
from .network import ShallowNetwork
from .units import GaussianBump, ReLUUnit, SigmoidUnit, TanhUnit, Unit

__all__ = ["Energy", "FlowDiverged", "FlowResult", "GaussianBump", "GaussianMixture", "Grid", "GridResult", "ReLUUnit",
           "ShallowNetwork", "SigmoidUnit", "TanhUnit", "Unit", "cfl_number", "diagnostics", "distributed", "examples",
           "flow", "grid_flow", "grid_wasserstein"]
