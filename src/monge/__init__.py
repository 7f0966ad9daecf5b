"""monge: the mathematics of neural networks as fast, tested software.

Exact and entropic optimal transport in PyTorch (:mod:`monge.transport`), discriminative and
generative networks trained with it, and shallow networks simulated as Wasserstein gradient flows.
"""

from . import transport
from .transport import OTLoss, OTResult, brute_force, cost_matrix, kantorovich, matching, wasserstein

__version__ = "0.1.0"

__all__ = ["OTLoss", "OTResult", "brute_force", "cost_matrix", "kantorovich", "matching", "transport",
           "wasserstein", "__version__"]
