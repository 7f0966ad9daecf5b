"""The kinds of failure monge reports, so that a program (and the ``monge`` command) can tell them apart.

- :class:`InputError` (a ``ValueError``): the caller's input or settings are refused. The message
  names the argument (and, for a command's settings, its flag), what was found and what was
  expected. ``except ValueError`` keeps catching it.
- :class:`InputTypeError` (also a ``TypeError``): the same, for an argument of the wrong type.
- :class:`Diverged` (an ``ArithmeticError``): a training or a flow left the finite numbers; the
  message names the step and the setting to change.

Anything else that escapes monge is a bug, and the ``monge`` command shows its traceback.

Examples
--------
>>> try:
...     raise InputError("lr (--lr): -1; expected a positive number")
... except ValueError as error:
...     print(error)
lr (--lr): -1; expected a positive number
"""

from __future__ import annotations


class InputError(ValueError):
    """The caller's input is refused: the message names the argument, what was found and what was expected."""


class InputTypeError(InputError, TypeError):
    """An argument of the wrong type: an :class:`InputError` that ``except TypeError`` also catches."""


class Diverged(ArithmeticError):
    """A training or a flow produced NaN, infinity or a rising energy; the message names the setting to change."""
