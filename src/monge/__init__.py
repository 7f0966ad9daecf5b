"""monge: the mathematics of neural networks as fast, tested software.

Exact and entropic optimal transport in PyTorch (:mod:`monge.transport`), discriminative and
generative networks trained with it, and shallow networks simulated as Wasserstein gradient flows;
each command's experiment as a library function (:mod:`monge.experiments`).

The names below are imported on first use, so that ``import monge`` (and ``monge --help``) stays
fast: torch is loaded by the first solver one touches.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_TRANSPORT = ("OTLoss", "OTResult", "brute_force", "cost_matrix", "kantorovich", "matching", "wasserstein")
_MODULES = ("transport", "experiments", "data", "networks", "meanfield", "training", "plots", "metrics", "geometry")

__all__ = [*_TRANSPORT, "transport", "experiments", "__version__"]


def __getattr__(name: str):
    if name in _TRANSPORT:
        return getattr(importlib.import_module(".transport", __name__), name)
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'monge' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_TRANSPORT, *_MODULES})
