"""Each command of ``monge`` as a library function: the settings, the run and its folder.

One module per command: :mod:`~monge.experiments.classify`, :mod:`~monge.experiments.generate`,
:mod:`~monge.experiments.approximate`, :mod:`~monge.experiments.flow`,
:mod:`~monge.experiments.transport`, and the :mod:`~monge.experiments.tour` of the three chapters.
Each has a frozen ``Config`` (its fields named as the command's flags, checked when it is made:
an error names the field and its flag), a ``resolve`` that fills in the measured defaults, and
``run(config, out=None, *, resume=False, quiet=False, ...) -> dict``, which writes the run folder
(:mod:`monge.runs`) and returns its summary: what the command line gets, a notebook gets.

Examples
--------
>>> from monge import experiments
>>> summary = experiments.classify.run(experiments.classify.Config(data="moons", epochs=2), out=folder,
...                                     quiet=True)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

COMMANDS = ("classify", "generate", "approximate", "flow", "transport", "tour")

__all__ = list(COMMANDS)


def __getattr__(name: str):
    if name in COMMANDS:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'monge.experiments' has no attribute {name!r}")
