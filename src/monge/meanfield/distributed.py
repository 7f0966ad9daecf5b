r"""Particles sharded over the processes of ``torch.distributed`` (gloo on the CPU, nccl on GPUs).

Each process holds a contiguous slice of the particles (with their global masses); :math:`f_\mu`
on the quadrature points is all-reduced (summed), so every process sees the same residual and
moves its own particles exactly as one process would (up to the order of floating-point sums).
Closed forms all-gather the particles (``N x p``, small) and each process evaluates its rows of the
kernel. Launch with ``torchrun --nproc_per_node K ...`` and call ``dist.init_process_group``.
"""

from __future__ import annotations

import torch

from monge.errors import InputError

from ._collectives import active, all_reduce_sum, dist, gather_rows, reduce_max, reduce_sum
from .network import ShallowNetwork

__all__ = ["active", "all_gather_rows", "all_reduce_sum", "gather", "gather_rows", "init_from_env", "reduce_max",
           "reduce_sum", "shard"]


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR``...).

    Does nothing outside torchrun (no ``WORLD_SIZE``, or 1) or when already initialised. The backend
    defaults to nccl where CUDA is available, else gloo. Returns :func:`active`.
    """
    import os

    d = dist()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and d.is_available() and not d.is_initialized():
        d.init_process_group(backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    return active()


def shard(network: ShallowNetwork, group=None) -> ShallowNetwork:
    """This process's contiguous slice of the particles (``torch.tensor_split`` order), masses kept global.

    Parameters
    ----------
    network : ShallowNetwork, all the particles (the same on every process)
    group : process group, optional (default: the world)

    Returns
    -------
    ShallowNetwork, this process's particles, with ``group`` set

    Raises
    ------
    InputError
        ``torch.distributed`` is not initialised with more than one process, or fewer particles than processes.

    Examples
    --------
    In each of K processes (``torchrun --nproc_per_node K``, after ``dist.init_process_group``)::

        net = shard(net); result = flow(net, energy, ...)   # result.network: all particles
    """
    if not active(group):
        raise InputError("group: torch.distributed is not initialised with more than one process")
    group = group if group is not None else dist().group.WORLD
    rank, size = dist().get_rank(group), dist().get_world_size(group)
    if network.n < size:
        raise InputError(f"network: {network.n} particles cannot be shared by {size} processes")
    piece = torch.tensor_split(torch.arange(network.n), size)[rank]
    lo, hi = int(piece[0]), int(piece[-1]) + 1
    return network.replace(network.particles[lo:hi], mass=network.mass[lo:hi], group=group)


def gather(network: ShallowNetwork) -> ShallowNetwork:
    """All the shards' particles, in order, as one unsharded network (on every process)."""
    if network.group is None:
        return network
    return network.replace(gather_rows(network.particles, network.group),
                           mass=gather_rows(network.mass, network.group), group=None)


all_gather_rows = gather_rows
