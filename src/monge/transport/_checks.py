"""Input validation for the public entry points of :mod:`monge.transport`.

Every public solver normalises its inputs here, once: points become floating tensors on one
device and dtype, weights become non-negative tensors with equal sums. Errors name the argument,
what was found and what was expected.
"""

from __future__ import annotations

import math

import numpy as np
import torch

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def as_tensor(value, name: str, like: torch.Tensor | None = None) -> torch.Tensor:
    """Convert a tensor, numpy array or nested list to a tensor, without copying tensors."""
    if isinstance(value, torch.Tensor):
        tensor = value
    elif isinstance(value, np.ndarray):
        tensor = torch.from_numpy(value)
    elif isinstance(value, (list, tuple)):
        tensor = torch.as_tensor(np.asarray(value))
    else:
        raise TypeError(f"{name}: expected a torch.Tensor or numpy array, found {type(value).__name__}")
    if like is not None and tensor.device != like.device:
        raise TypeError(f"{name}: on device {tensor.device} but x is on {like.device}; move both to one device")
    return tensor


def check_float(tensor: torch.Tensor, name: str) -> None:
    if tensor.dtype not in _FLOATS:
        raise TypeError(f"{name}: dtype {tensor.dtype} is not a floating type; expected float32 or float64 "
                        f"(convert with .float() or .double())")


def check_finite(tensor: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise ValueError(f"{name}: {bad} entries are NaN or inf; expected finite values")


def points(x, z, *, batched: bool = False, same_size: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate two point clouds: `(n, d)` and `(m, d)`, or `(B, n, d)` and `(B, m, d)` when batched.

    A 1-D tensor is read as n points on the line, `(n, 1)`.
    """
    x = as_tensor(x, "x")
    z = as_tensor(z, "z")
    if z.device != x.device:
        raise TypeError(f"z: on device {z.device} but x is on {x.device}; move both to one device")
    check_float(x, "x")
    check_float(z, "z")
    if x.dtype != z.dtype:
        raise TypeError(f"z: dtype {z.dtype} differs from x's {x.dtype}; convert one of them")
    if x.ndim == 1:
        x = x[:, None]
    if z.ndim == 1:
        z = z[:, None]
    ndims = (2, 3) if batched else (2,)
    for name, t in (("x", x), ("z", z)):
        if t.ndim not in ndims:
            shapes = "(n, d) or (B, n, d)" if batched else "(n, d)"
            raise ValueError(f"{name}: shape {tuple(t.shape)}; expected {shapes}")
        if t.shape[-2] == 0:
            raise ValueError(f"{name}: empty point set, shape {tuple(t.shape)}; expected at least one point")
        if t.shape[-1] == 0:
            raise ValueError(f"{name}: points of dimension 0, shape {tuple(t.shape)}; expected d >= 1")
    if x.ndim != z.ndim:
        raise ValueError(f"z: shape {tuple(z.shape)} but x has shape {tuple(x.shape)}; expected both batched or neither")
    if x.shape[-1] != z.shape[-1]:
        raise ValueError(f"z: points of dimension {z.shape[-1]} but x's are of dimension {x.shape[-1]}; "
                         "expected the same dimension d")
    if x.ndim == 3 and x.shape[0] != z.shape[0]:
        raise ValueError(f"z: batch of {z.shape[0]} problems but x has {x.shape[0]}; expected equal batch sizes")
    if same_size and x.shape[-2] != z.shape[-2]:
        raise ValueError(f"z: {z.shape[-2]} points but x has {x.shape[-2]}; a matching needs n == m "
                         "(use kantorovich for weighted or unequal sets)")
    check_finite(x, "x")
    check_finite(z, "z")
    return x, z


def exponent(p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"p: expected a number, found {type(p).__name__}")
    p = float(p)
    if not (math.isfinite(p) and p > 0):
        raise ValueError(f"p: {p}; expected a finite exponent p > 0")
    return p


def weight_tolerance(dtype: torch.dtype) -> float:
    """How far two weight sums may differ and still count as equal."""
    return 1e-4 if dtype in (torch.float16, torch.bfloat16, torch.float32) else 1e-9


def weights(a, n: int, name: str, like: torch.Tensor) -> torch.Tensor:
    """Validate a weight vector of length n, returned in float64; ``None`` means uniform weights 1/n."""
    if a is None:
        return torch.full((n,), 1.0 / n, dtype=torch.float64, device=like.device)
    a = as_tensor(a, name, like)
    if a.dtype not in _FLOATS and a.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"{name}: dtype {a.dtype}; expected a floating or integer weight vector")
    if a.shape != (n,):
        raise ValueError(f"{name}: shape {tuple(a.shape)}; expected ({n},), one weight per point")
    a = a.to(torch.float64)  # sums and cumulative sums of weights are done in float64
    check_finite(a, name)
    if bool((a < 0).any()):
        raise ValueError(f"{name}: {int((a < 0).sum())} negative weights (min {float(a.min()):.3g}); "
                         "expected non-negative weights")
    if float(a.sum()) <= 0:
        raise ValueError(f"{name}: weights sum to 0; expected a positive total mass")
    return a


def equal_mass(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> None:
    """Weight sums must agree up to the precision of the points' dtype."""
    sa, sb = float(a.sum()), float(b.sum())
    tol = weight_tolerance(dtype)
    if abs(sa - sb) > tol * max(abs(sa), abs(sb)):
        raise ValueError(f"b: weights sum to {sb:.7g} but a sums to {sa:.7g} (relative tolerance {tol:g}); "
                         "expected equal total masses")


def method(name, registry, arg: str = "method") -> str:
    if not isinstance(name, str) or name not in registry:
        raise ValueError(f"{arg}={name!r}; expected one of {sorted(registry)}")
    return name
