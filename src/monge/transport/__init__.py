"""Optimal transport in PyTorch: Monge's permutations, Kantorovich's programme, sliced transport.

Chapter 2 of the text, independent of any network. Every solver returns an :class:`OTResult` on
the device and dtype of ``x``. A refused input raises :class:`monge.errors.InputError` (a
``ValueError``; :class:`~monge.errors.InputTypeError` is also a ``TypeError``) naming the argument,
what was found and what was expected.
"""

from .costs import cost_blocks, cost_matrix, ground_cost
from .divergence import sinkhorn_divergence
from .entropic import sinkhorn
from .kantorovich import kantorovich
from .losses import OTLoss, transport_cost, wasserstein
from .monge import brute_force, matching
from .results import OTResult
from .sliced import sliced, transport_1d

__all__ = [
    "OTLoss", "OTResult", "brute_force", "cost_blocks", "cost_matrix", "ground_cost", "kantorovich",
    "matching", "sinkhorn", "sinkhorn_divergence", "sliced", "transport_1d", "transport_cost", "wasserstein",
]
