r"""Data augmentation: small random translations of images and signals.

A digit moved by one pixel is still the same digit: training on randomly shifted copies teaches a
network this invariance, which a convolutional network (section 1.4) is built to exploit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from monge.errors import InputError, InputTypeError


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None,
                 mode: str = "replicate") -> torch.Tensor:
    r"""Translate each sample by its own random integer offset in :math:`[-k, k]` along every spatial axis.

    .. math:: x'[c, i] = \tilde x[c, i + \delta], \qquad \delta \sim U\{-k, \dots, k\}^{\dim},

    where :math:`\tilde x` is :math:`x` padded by :math:`k` on each side (edge values repeated by
    default, so that no artificial border appears).

    Parameters
    ----------
    x : (n, C, L) or (n, C, H, W) Tensor
        Signals or images.
    max_shift : int, the largest offset k (0 returns ``x`` itself)
    generator : torch.Generator, optional, for reproducible offsets
    mode : str, the padding of :func:`torch.nn.functional.pad` (``"replicate"``, ``"constant"``, ...)

    Returns
    -------
    Tensor of the shape, dtype and device of ``x``.

    Examples
    --------
    >>> x = torch.arange(5.0).view(1, 1, 5)
    >>> random_shift(x, 0) is x
    True
    >>> random_shift(x, 1, torch.Generator().manual_seed(0)).shape
    torch.Size([1, 1, 5])
    """
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
        raise InputError(f"max_shift: {max_shift!r}; expected a non-negative integer")
    if not isinstance(x, torch.Tensor):
        raise InputTypeError(f"x: {type(x).__name__}; expected a torch tensor")
    if x.dim() not in (3, 4):
        raise InputError(f"x: shape {tuple(x.shape)}; expected signals (n, C, L) or images (n, C, H, W)")
    if max_shift == 0:
        return x
    k, n, spatial = max_shift, x.shape[0], x.shape[2:]
    padded = F.pad(x, (k, k) * len(spatial), mode=mode)
    offsets = torch.randint(0, 2 * k + 1, (n, len(spatial)), generator=generator).to(x.device)
    batch = torch.arange(n, device=x.device)
    if len(spatial) == 1:
        columns = offsets[:, 0, None] + torch.arange(spatial[0], device=x.device)           # (n, L)
        return padded[batch[:, None], :, columns].permute(0, 2, 1)
    rows = (offsets[:, 0, None] + torch.arange(spatial[0], device=x.device))[:, :, None]  # (n, H, 1)
    columns = (offsets[:, 1, None] + torch.arange(spatial[1], device=x.device))[:, None, :]  # (n, 1, W)
    return padded[batch[:, None, None], :, rows, columns].permute(0, 3, 1, 2)
