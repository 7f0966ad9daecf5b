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


def _dist():
    import torch.distributed as dist

    return dist


def active(group=None) -> bool:
    """Whether ``torch.distributed`` is initialised with more than one process (in ``group``)."""
    dist = _dist()
    return dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR``...).

    Does nothing outside torchrun (no ``WORLD_SIZE``, or 1) or when already initialised. The backend
    defaults to nccl where CUDA is available, else gloo. Returns :func:`active`.
    """
    import os

    dist = _dist()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and dist.is_available() and not dist.is_initialized():
        dist.init_process_group(backend or ("nccl" if torch.cuda.is_available() else "gloo"))
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
    ValueError
        ``torch.distributed`` is not initialised with more than one process, or fewer particles than processes.

    Examples
    --------
    In each of K processes (``torchrun --nproc_per_node K``, after ``dist.init_process_group``)::

        net = shard(net); result = flow(net, energy, ...)   # result.network: all particles
    """
    dist = _dist()
    if not active(group):
        raise ValueError("group: torch.distributed is not initialised with more than one process")
    group = group if group is not None else dist.group.WORLD
    rank, size = dist.get_rank(group), dist.get_world_size(group)
    if network.n < size:
        raise ValueError(f"network: {network.n} particles cannot be shared by {size} processes")
    piece = torch.tensor_split(torch.arange(network.n), size)[rank]
    lo, hi = int(piece[0]), int(piece[-1]) + 1
    out = ShallowNetwork.__new__(ShallowNetwork)
    out.__dict__.update(network.__dict__)
    out.particles, out.mass, out.group = network.particles[lo:hi], network.mass[lo:hi], group
    return out


def gather(network: ShallowNetwork) -> ShallowNetwork:
    """All the shards' particles, in order, as one unsharded network (on every process)."""
    if network.group is None:
        return network
    out = ShallowNetwork.__new__(ShallowNetwork)
    out.__dict__.update(network.__dict__)
    out.particles = gather_rows(network.particles, network.group)
    out.mass = gather_rows(network.mass, network.group)
    out.group = None
    return out


def gather_rows(tensor: torch.Tensor, group) -> torch.Tensor:
    """Concatenate the processes' ``tensor`` s along the first axis, in rank order, on every process of ``group``.

    Sizes along the first axis may differ from process to process (by one, after :func:`shard`).
    """
    dist = _dist()
    size = dist.get_world_size(group)
    counts = [torch.zeros((), dtype=torch.long, device=tensor.device) for _ in range(size)]
    dist.all_gather(counts, torch.tensor(tensor.shape[0], device=tensor.device), group=group)
    longest = int(max(counts))
    padded = tensor.new_zeros((longest, *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in range(size)]
    dist.all_gather(parts, padded.contiguous(), group=group)
    return torch.cat([part[: int(c)] for part, c in zip(parts, counts)])


all_gather_rows = gather_rows


def all_reduce_sum(tensor: torch.Tensor, group) -> torch.Tensor:
    """The sum of ``tensor`` over the processes of ``group`` (a new tensor, on every process)."""
    out = tensor.clone()
    _dist().all_reduce(out, op=_dist().ReduceOp.SUM, group=group)
    return out


def reduce_sum(tensor: torch.Tensor, group) -> torch.Tensor:
    """``tensor`` summed over processes, or itself when ``group`` is None."""
    return tensor if group is None else all_reduce_sum(tensor, group)


def reduce_max(tensor: torch.Tensor, group) -> torch.Tensor:
    """``tensor``'s maximum over processes, or itself when ``group`` is None."""
    if group is None:
        return tensor
    out = tensor.clone()
    _dist().all_reduce(out, op=_dist().ReduceOp.MAX, group=group)
    return out
