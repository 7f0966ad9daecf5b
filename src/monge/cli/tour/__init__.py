"""``monge tour``: the texts' three chapters run end to end, with a report of every figure.

Each chapter is a module with a ``TITLE`` and a function ``chapter(tour, config) -> ChapterResult``
(:mod:`.common`), listed in :data:`CHAPTERS`; it does its work in timed steps, mostly by running the
``monge`` subcommands into sub-folders of the tour's run folder. The tour then writes ``report.md``
and a self-contained ``report.html`` (:mod:`.report`), and ``summary.json`` with every measured
figure and the list of figures (pictures) the report embeds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from monge.runs import Run, seed_everything

from . import chapter1, chapter2, chapter3
from .common import ChapterResult, Section, TourConfig
from .report import write_report

__all__ = ["CHAPTERS", "ChapterResult", "Section", "TourConfig", "register", "run", "tour"]

CHAPTERS = {module.NUMBER: (module.TITLE, module.chapter) for module in (chapter1, chapter2, chapter3)}


def _chapters(text: str) -> list[int]:
    """Parse ``--chapters 1,3`` (commas or spaces)."""
    try:
        chosen = [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        chosen = []
    if not chosen:
        raise ValueError(f"--chapters: {text!r}; expected chapter numbers such as 1,3 "
                         f"(available: {', '.join(map(str, sorted(CHAPTERS)))})")
    missing = [k for k in chosen if k not in CHAPTERS]
    if missing:
        raise ValueError(f"--chapters: {', '.join(map(str, missing))} not available; expected some of "
                         f"{', '.join(map(str, sorted(CHAPTERS)))}")
    return sorted(set(chosen))


def register(subparsers) -> None:
    """Add the ``tour`` subcommand."""
    parser = subparsers.add_parser(
        "tour", help="run the texts' three chapters end to end and write a report",
        description="Run the chapters of the texts on real data (chapter 1: networks trained by back-propagation; "
                    "2: optimal transport and generative networks; 3: shallow networks as Wasserstein gradient "
                    "flows) and write report.md and a self-contained report.html into the run folder. "
                    "About 5 minutes on a 2-core CPU; --quick about one.")
    parser.add_argument("--quick", action="store_true", help="smaller problems and shorter training (about a minute)")
    parser.add_argument("--chapters", metavar="K,K", default=",".join(map(str, sorted(CHAPTERS))),
                        help="chapters to run, e.g. 1,3 (default: all)")
    parser.set_defaults(func=run)


def _check_continuation(config: TourConfig) -> None:
    """A tour started again in the folder of an earlier one must have its sizes and seed (its parts are kept)."""
    if config.out is None:
        return
    path = Path(config.out) / "config.json"
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # not a tour's folder: Run.create says what is wrong with it
    if not isinstance(earlier, dict) or earlier.get("command") != "tour":
        return
    for name in ("quick", "seed"):
        if earlier.get(name) != getattr(config, name):
            flag = "--quick" if name == "quick" else "--seed"
            raise ValueError(f"{flag}: {getattr(config, name)!r}, but {config.out} holds a tour with {name} = "
                             f"{earlier.get(name)!r}; expected the same settings to continue it, or a new --out")


def tour(config: TourConfig, quiet: bool = False) -> Run:
    """Run the tour described by ``config``; return its run folder (with ``report.html``).

    Started again with the ``out`` of an earlier (for instance interrupted) tour of the same sizes
    and seed, it keeps the parts that finished and continues interrupted trainings.
    """
    _check_continuation(config)
    seed_everything(config.seed)
    folder = Run.create("tour", config, config.out, quiet=quiet)
    start = time.perf_counter()
    folder.echo(f"monge tour: chapters {', '.join(map(str, config.chapters))}{' (quick)' if config.quick else ''}, "
                f"writing to {folder.path}")
    chapters = []
    for k in config.chapters:
        title, chapter = CHAPTERS[k]
        chapters.append((k, title, chapter(folder, config)))
    seconds = time.perf_counter() - start
    html, md = folder.path / "report.html", folder.path / "report.md"
    write_report(folder, config, chapters, seconds)
    figures = [path for _, _, c in chapters for s in c.sections for path, _ in s.figures]
    folder.write_summary({"chapters": config.chapters, "quick": config.quick, "seconds": seconds,
                          "report": [html.name, md.name], "figures": figures,
                          **{f"chapter{k}": c.results for k, _, c in chapters}})
    folder.echo(f"done in {seconds:.0f} s; report: {html} (and {md.name})")
    return folder


def run(args) -> int:
    """Run ``monge tour`` from parsed arguments."""
    config = TourConfig(chapters=_chapters(args.chapters), quick=args.quick, seed=args.seed, out=args.out)
    tour(config, quiet=args.quiet)
    return 0
