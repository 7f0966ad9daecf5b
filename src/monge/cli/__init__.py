"""The ``monge`` command: one module per subcommand, gathered by :mod:`monge.cli.main`.

A subcommand module ``monge.cli.<name>`` defines ``register(subparsers)``, which adds its parser
with ``subparsers.add_parser(name, ...)`` and sets ``func=run``; ``run(args)`` returns an exit
code (or None for 0). Every subcommand parser is given ``--out DIR``, ``--seed N`` and ``--quiet``
by :mod:`monge.cli.main`; a module may redefine them (its own definition wins). Errors from bad
input (``ValueError``, ``TypeError``, ``FileNotFoundError``, ``MemoryError``, ...) are reported by
``main`` as one line, ``monge <name>: error: ...``, with exit code 2.
"""
