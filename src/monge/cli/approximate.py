"""``monge approximate``: the flags of :mod:`monge.experiments.approximate` (Cybenko's theorem, section 1.4)."""

from __future__ import annotations

from monge import settings
from monge.experiments import approximate as experiment
from monge.training.targets import TARGETS



def register(subparsers) -> None:
    """Add the ``approximate`` subcommand."""
    parser = subparsers.add_parser(
        experiment.COMMAND, help="universal approximation: error of two-layer ReLU networks against width",
        description="Cybenko's theorem (section 1.4): fit a continuous target with two-layer ReLU networks "
                    "of growing width and measure the sup and L2 errors on a fine grid of points that are "
                    "not training points.")
    default = experiment.Config()
    choices = ", ".join(f"{t.name} ({t.formula})" for t in TARGETS.values())
    parser.add_argument("--target", default=default.target, metavar="NAME",
                        help=f"the function to approximate: {choices} (default {default.target})")
    parser.add_argument("--widths", metavar="LIST", help="increasing widths, comma-separated (default 1,2,4,...,1024)")
    parser.add_argument("--steps", metavar="N", help=f"Adam steps per width (default {default.steps})")
    parser.add_argument("--lr", metavar="LR",
                        help=f"Adam's learning rate at width 1; width n uses lr * (high - low) / n "
                             f"(default {default.lr:g})")
    parser.add_argument("--starts", metavar="N",
                        help="initialisations tried at width 1; width n tries max(1, N // n) and keeps the lowest "
                             f"training error (default {default.starts})")
    parser.add_argument("--n-train", metavar="N", help="training points (default 4096 on the line, 16384 in the plane)")
    parser.add_argument("--n-grid", metavar="N",
                        help="evaluation points per axis (default 10001 on the line, 201 in the plane)")
    parser.add_argument("--threads", default="1", metavar="N",
                        help="CPU threads of torch (default 1: the fastest for these small networks)")
    parser.set_defaults(func=run)


def parse_widths(text: str | None) -> tuple[int, ...] | None:
    """``"1,2,4"`` -> ``(1, 2, 4)``; an error naming ``widths (--widths)`` for a cell that is no integer."""
    if text is None:
        return None
    widths = []
    for cell in str(text).split(","):
        try:
            widths.append(int(cell.strip()))
        except ValueError:
            raise settings.refuse("widths", text, f"positive integers separated by commas, e.g. 1,2,4,8, not "
                                  f"{cell.strip()!r}") from None
    return tuple(widths)


def run(args) -> int:
    """Run ``monge approximate`` from parsed arguments: the flags become an
    :class:`~monge.experiments.approximate.Config`."""
    given = {name: settings.parse(getattr(args, name), name, int) for name in ("steps", "starts", "n_train", "n_grid")}
    given.update(target=args.target, widths=parse_widths(args.widths), lr=settings.parse(args.lr, "lr", float), seed=args.seed)
    config = experiment.Config(**{name: value for name, value in given.items() if value is not None})
    experiment.run(config, args.out, quiet=args.quiet, threads=settings.parse(args.threads, "threads", int))
    return 0
