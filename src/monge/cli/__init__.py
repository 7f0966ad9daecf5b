"""The ``monge`` command: one thin module per subcommand, gathered by :mod:`monge.cli.main`.

A subcommand module ``monge.cli.<name>`` defines ``register(subparsers)``, which adds its parser
with ``subparsers.add_parser(name, ...)`` and sets ``func=run``; ``run(args)`` maps the flags to the
fields of the experiment's settings and calls :mod:`monge.experiments` (``experiments.<name>.run``),
where the work is done. Every subcommand parser is given ``--out DIR``, ``--seed N`` and ``--quiet``
by :mod:`monge.cli.main`; a module may redefine them (its own definition wins). The user's refused
input (:class:`monge.errors.InputError`, a divergence, a path that names nothing usable) is reported
by ``main`` as one line, ``monge <name>: error: ...``, with exit code 2; a system error (disk full)
as one line with exit code 1; anything else is a bug and keeps its traceback.
"""
