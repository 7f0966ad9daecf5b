"""``monge tour``: the texts' three chapters run end to end, with a report (:mod:`monge.experiments.tour`)."""

from __future__ import annotations

from monge.errors import InputError

CHAPTERS = (1, 2, 3)


def register(subparsers) -> None:
    """Add the ``tour`` subcommand."""
    parser = subparsers.add_parser(
        "tour", help="run the texts' three chapters end to end and write a report",
        description="Run the chapters of the texts on real data (chapter 1: networks trained by back-propagation; "
                    "2: optimal transport and generative networks; 3: shallow networks as Wasserstein gradient "
                    "flows) and write report.md and a self-contained report.html into the run folder. "
                    "About 5 minutes on a 2-core CPU; --quick about one.")
    parser.add_argument("--quick", action="store_true", help="smaller problems and shorter training (about a minute)")
    parser.add_argument("--chapters", metavar="K,K", default=",".join(map(str, CHAPTERS)),
                        help="chapters to run, e.g. 1,3 (default: all)")
    parser.set_defaults(func=run)


def chapters(text: str) -> tuple[int, ...]:
    """Parse ``--chapters 1,3`` (commas or spaces)."""
    try:
        chosen = [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        chosen = []
    if not chosen:
        raise InputError(f"chapters (--chapters): {text!r}; expected chapter numbers such as 1,3 "
                         f"(available: {', '.join(map(str, CHAPTERS))})")
    missing = [k for k in chosen if k not in CHAPTERS]
    if missing:
        raise InputError(f"chapters (--chapters): {', '.join(map(str, missing))} not available; expected some of "
                         f"{', '.join(map(str, CHAPTERS))}")
    return tuple(sorted(set(chosen)))


def run(args) -> int:
    """Run ``monge tour`` from parsed arguments."""
    from monge.experiments import tour

    tour.run(tour.Config(chapters=chapters(args.chapters), quick=args.quick, seed=args.seed), args.out,
             quiet=args.quiet)
    return 0
