"""Checks of the networks' hyperparameters: a refusal is an :class:`~monge.errors.InputError` naming the argument."""

from __future__ import annotations

from monge.errors import InputError


def positive(value, name: str) -> int:
    """``value`` if it is an integer >= 1 (not a bool), else an :class:`InputError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name}: {value!r}; expected a positive integer")
    return value


def probability(value, name: str) -> float:
    """``value`` if it is a number in [0, 1) (a dropout rate), else an :class:`InputError` naming ``name``."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1):
        raise InputError(f"{name}: {value!r}; expected a probability in [0, 1)")
    return value


def sizes(shape) -> bool:
    """Whether every entry of ``shape`` is an integer >= 1 (not a bool)."""
    return all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape)
