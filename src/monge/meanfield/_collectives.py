"""The collective operations of sharded particles (``torch.distributed``), with no meanfield imports.

The network, the energy and the flow reduce over processes through these; :mod:`.distributed`
shards and gathers networks on top of them.
"""

from __future__ import annotations

import torch


def dist():
    """``torch.distributed``, imported when first needed."""
    import torch.distributed as distributed

    return distributed


def active(group=None) -> bool:
    """Whether ``torch.distributed`` is initialised with more than one process (in ``group``)."""
    d = dist()
    return d.is_available() and d.is_initialized() and d.get_world_size(group) > 1


def gather_rows(tensor: torch.Tensor, group) -> torch.Tensor:
    """Concatenate the processes' ``tensor`` s along the first axis, in rank order, on every process of ``group``.

    Sizes along the first axis may differ from process to process (by one, after sharding).
    """
    d = dist()
    size = d.get_world_size(group)
    counts = [torch.zeros((), dtype=torch.long, device=tensor.device) for _ in range(size)]
    d.all_gather(counts, torch.tensor(tensor.shape[0], device=tensor.device), group=group)
    longest = int(max(counts))
    padded = tensor.new_zeros((longest, *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in range(size)]
    d.all_gather(parts, padded.contiguous(), group=group)
    return torch.cat([part[: int(c)] for part, c in zip(parts, counts)])


def all_reduce_sum(tensor: torch.Tensor, group) -> torch.Tensor:
    """The sum of ``tensor`` over the processes of ``group`` (a new tensor, on every process)."""
    out = tensor.clone()
    dist().all_reduce(out, op=dist().ReduceOp.SUM, group=group)
    return out


def reduce_sum(tensor: torch.Tensor, group) -> torch.Tensor:
    """``tensor`` summed over processes, or itself when ``group`` is None."""
    return tensor if group is None else all_reduce_sum(tensor, group)


def reduce_max(tensor: torch.Tensor, group) -> torch.Tensor:
    """``tensor``'s maximum over processes, or itself when ``group`` is None."""
    if group is None:
        return tensor
    out = tensor.clone()
    dist().all_reduce(out, op=dist().ReduceOp.MAX, group=group)
    return out
