r"""``monge transport``: Monge's problem of the text, and optimal transport between the user's files.

``monge transport --example monge6`` rebuilds Figure 2.2 (sections 2.2-2.4); ``monge transport A B``
transports the points of file A onto those of file B (``.npy`` or ``.csv``). The work is
:func:`monge.experiments.transport.run`; this module maps the flags to its ``Config``.
"""

from __future__ import annotations

from monge.experiments import transport

# Flags (and the positional A and B) that are fields of the experiment's Config, under the same names.
FIELDS = ("a", "b", "example", "p", "weights_a", "weights_b", "method", "n_directions", "seed")


def register(subparsers) -> None:
    """Add the ``transport`` subcommand."""
    parser = subparsers.add_parser(
        "transport", help="optimal transport: the text's Figure 2.2, or between two files of points",
        description="Monge's optimal transport. '--example monge6' rebuilds Figure 2.2 of the text; "
                    "'A B' transports the points of file A onto those of file B (.npy or .csv; rows are "
                    "points, a 1-D array means points on the line).")
    parser.add_argument("a", nargs="?", metavar="A", help="points x: .npy or .csv file, (n, d) or (n,)")
    parser.add_argument("b", nargs="?", metavar="B", help="points z: .npy or .csv file, (m, d) or (m,)")
    parser.add_argument("--example", choices=transport.EXAMPLES,
                        help="run a worked example of the text instead of files")
    parser.add_argument("--p", type=float, default=None, help="exponent of the cost |x - z|^p (default 2; "
                                                              "the example uses the text's p = 1)")
    parser.add_argument("--weights-a", metavar="FILE", help="weights of the points of A (1-D .npy or .csv)")
    parser.add_argument("--weights-b", metavar="FILE", help="weights of the points of B (1-D .npy or .csv)")
    parser.add_argument("--method", choices=transport.METHODS, default=None,
                        help="solver (default auto: an exact matching for equal sizes without weights, the "
                             "certified sparse one, without an n x n matrix, from 2000 points in dimension "
                             "<= 5 and 3000 in dimension <= 64; else Kantorovich's linear programme, by its sparse solver past memory)")
    parser.add_argument("--n-directions", type=int, default=128, metavar="L", help="random directions of --method sliced (default 128)")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Run ``monge transport`` from parsed arguments: :func:`monge.experiments.transport.run`."""
    config = transport.Config(**{name: getattr(args, name) for name in FIELDS})
    transport.run(config, args.out, quiet=args.quiet)
    return 0
