"""Checks of a command's settings: each refusal names the setting, its flag, what was found and what was expected.

The settings of an experiment (:mod:`monge.experiments`) are frozen dataclasses whose fields are
named as the command's flags (``data_seed`` is ``--data-seed``); their ``__post_init__`` calls
these checks, so that a settings object that exists is a valid one.

Examples
--------
>>> integer("epochs", 0, least=1)
Traceback (most recent call last):
...
monge.errors.InputError: epochs (--epochs): 0; expected an integer >= 1
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from monge.errors import InputError


def flag(name: str) -> str:
    """The command-line flag of the setting ``name``: ``data_seed`` -> ``--data-seed``."""
    return "--" + name.replace("_", "-")


def refuse(name: str, value: Any, expected: str) -> InputError:
    """The error for setting ``name`` holding ``value``, with what was ``expected``."""
    return InputError(f"{name} ({flag(name)}): {value!r}; expected {expected}")


def integer(name: str, value: Any, least: int = 0) -> int:
    """``value`` if it is an integer >= ``least`` (not a bool), else an :class:`InputError`.

    Parameters
    ----------
    name : str, the setting (its flag is :func:`flag` of it)
    value : the value to check
    least : int, the smallest value allowed
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise refuse(name, value, f"an integer >= {least}")
    return value


def number(name: str, value: Any, low: float = -math.inf, high: float = math.inf, *, open_low: bool = False,
           open_high: bool = True) -> float:
    """``value`` if it is a finite number in the interval, else an :class:`InputError` naming it.

    Parameters
    ----------
    name : str, the setting
    value : the value to check
    low, high : float, the ends of the interval
    open_low, open_high : bool, whether ``low`` and ``high`` themselves are excluded
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if open_low else value >= low) and (value < high if open_high else value <= high)
    if not ok:
        bottom = "-inf" if math.isinf(low) else f"{low:g}"
        top = "inf" if math.isinf(high) else f"{high:g}"
        raise refuse(name, value, f"a number in {'(' if open_low else '['}{bottom}, {top}{')' if open_high else ']'}")
    return value


def choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``, else an :class:`InputError` listing them.

    Parameters
    ----------
    name : str, the setting
    value : the value to check
    choices : iterable of str, the values allowed
    """
    choices = tuple(choices)
    if value not in choices:
        raise refuse(name, value, f"one of {', '.join(choices)}")
    return value


def optional(check, name: str, value: Any, *args, **kwargs) -> Any:
    """``check(name, value, ...)`` unless ``value`` is ``None`` (a setting left to its default)."""
    return value if value is None else check(name, value, *args, **kwargs)


def parse(text: str | None, name: str, kind: type) -> Any:
    """The command-line text of setting ``name`` read as ``kind`` (int or float); ``None`` (not given) stays ``None``.

    Parameters
    ----------
    text : str or None, the flag's text
    name : str, the setting
    kind : ``int`` or ``float``
    """
    if text is None:
        return None
    try:
        return kind(str(text).strip())
    except ValueError:
        raise refuse(name, text, "an integer" if kind is int else "a number") from None
