"""Refuse dense work that cannot fit, up front, with a message that says what to use instead."""

from __future__ import annotations

import os

import torch


def available_bytes(device: torch.device) -> int:
    """Memory that a new allocation can use on `device` (free GPU memory, or MemAvailable on the host)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def require(nbytes: int, device: torch.device, what: str, instead: str) -> None:
    """Raise MemoryError when `nbytes` exceed what `device` has available."""
    have = available_bytes(device)
    if nbytes > have:
        raise MemoryError(f"{what} needs {nbytes / 2**30:.1f} GiB but {device} has {have / 2**30:.1f} GiB "
                          f"available; {instead}")
