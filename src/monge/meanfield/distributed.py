r"""Particles sharded over the processes of ``torch.distributed`` (gloo on the CPU, nccl on GPUs).

Each process holds a contiguous slice of the particles (with their global masses); :math:`f_\mu`
on the quadrature points is all-reduced (summed), so every process sees the same residual and
moves its own particles exactly as one process would (up to the order of floating-point sums).
Closed forms all-gather the particles (``N x p``, small) and each process evaluates its rows of the
kernel. Launch with ``torchrun --nproc_per_node K ...`` and call ``dist.init_process_group``.
"""

from __future__ import annotations

import torch

from .network import ShallowNetwork


def active(group=None) -> bool:
    """Whether ``torch.distributed`` is initialised with more than one process."""
    raise NotImplementedError


def shard(network: ShallowNetwork, group=None) -> ShallowNetwork:
    """This process's contiguous slice of the particles (``torch.tensor_split`` order)."""
    raise NotImplementedError


def gather(network: ShallowNetwork) -> ShallowNetwork:
    """All the shards' particles, in order, as one unsharded network (on every process)."""
    raise NotImplementedError


def all_reduce_sum(tensor: torch.Tensor, group) -> torch.Tensor:
    """The sum over processes (a new tensor)."""
    raise NotImplementedError
