"""Validation for the public entry points of :mod:`monge.meanfield`: errors name the argument."""

from __future__ import annotations

import math

import numpy as np
import torch

from monge.errors import InputError, InputTypeError


def particles(xi, unit) -> torch.Tensor:
    """``xi`` as a finite floating ``(N, unit.p)`` tensor."""
    if isinstance(xi, np.ndarray):
        xi = torch.from_numpy(xi)
    if not isinstance(xi, torch.Tensor):
        raise InputTypeError(f"particles: expected a torch.Tensor or numpy array, found {type(xi).__name__}")
    if not xi.is_floating_point():
        raise InputTypeError(f"particles: dtype {xi.dtype} is not a floating type; expected float32 or float64")
    if xi.ndim != 2 or xi.shape[0] < 1:
        raise InputError(f"particles: expected shape (N, p) with N >= 1, found {tuple(xi.shape)}")
    if xi.shape[1] != unit.p:
        raise InputError(f"particles: width {xi.shape[1]} but {unit!r} has p={unit.p} parameters {unit.names}")
    if not bool(torch.isfinite(xi).all()):
        raise InputError("particles: non-finite values")
    return xi


def positive(value, name: str) -> float:
    """A finite number > 0."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputTypeError(f"{name}: expected a number, found {type(value).__name__}") from None
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name}: expected a finite number > 0, found {value!r}")
    return value


def nonnegative(value, name: str) -> float:
    """A finite number >= 0."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputTypeError(f"{name}: expected a number, found {type(value).__name__}") from None
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"{name}: expected a finite number >= 0, found {value!r}")
    return value


def choice(value, name: str, options) -> str:
    if value not in options:
        raise InputError(f"{name}={value!r}; expected one of {sorted(options)}")
    return value


def points(x, d: int, name: str = "x", like: torch.Tensor | None = None) -> torch.Tensor:
    """Inputs as an ``(M, d)`` tensor (a ``(M,)`` vector is accepted when ``d == 1``)."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise InputTypeError(f"{name}: expected a torch.Tensor or numpy array, found {type(x).__name__}")
    if x.ndim == 1 and d == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != d:
        raise InputError(f"{name}: expected shape (M, {d}), found {tuple(x.shape)}")
    if like is not None:
        x = x.to(dtype=like.dtype, device=like.device)
    return x
