"""``monge tour`` as a library function: the texts' three chapters run end to end, with a report of every figure.

Each chapter is a module with a ``TITLE`` and a function ``chapter(tour, config) -> ChapterResult``
(:mod:`.common`), listed in :data:`CHAPTERS`; it does its work in timed steps, mostly by running the
experiments of :mod:`monge.experiments` into sub-folders of the tour's run folder. The tour then writes ``report.md``
and a self-contained ``report.html`` (:mod:`.report`), and ``summary.json`` with every measured
figure and the list of figures (pictures) the report embeds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from monge import runs
from monge.errors import InputError
from monge.runs import Run, seed_everything
from monge.settings import flag

from . import chapter1, chapter2, chapter3
from .common import ChapterResult, Section, TourConfig
from .report import write_report

__all__ = ["CHAPTERS", "COMMAND", "ChapterResult", "Config", "Section", "TourConfig", "run"]

COMMAND = "tour"
Config = TourConfig
CHAPTERS = {module.NUMBER: (module.TITLE, module.chapter) for module in (chapter1, chapter2, chapter3)}


def _check_continuation(config: TourConfig, out: Path) -> bool:
    """Whether ``out`` holds an earlier tour to continue (it must have the same sizes and seed: its parts are kept)."""
    try:
        earlier = json.loads((out / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # not a tour's folder: Run.create says what is wrong with it
    if not isinstance(earlier, dict) or earlier.get("command") != COMMAND:
        return False
    for name in ("quick", "seed"):
        if earlier.get(name) != getattr(config, name):
            raise InputError(f"{name} ({flag(name)}): {getattr(config, name)!r}, but {out} holds a tour with {name} = "
                             f"{earlier.get(name)!r}; expected the same settings to continue it, or a new folder")
    return True


def run(config: TourConfig | None = None, out: str | Path | None = None, *, quiet: bool = False) -> dict:
    """Run the tour described by ``config`` into ``out``; return its summary (the folder holds ``report.html``).

    Started again in the folder of an earlier (for instance interrupted) tour of the same sizes and
    seed, it keeps the parts that finished and continues interrupted trainings.

    Parameters
    ----------
    config : TourConfig, optional
        The chapters, quick or full sizes, and the seed (default: all three, full, seed 0).
    out : path, optional
        The tour's folder (default ``runs/tour-<time>``).
    quiet : bool
        Print nothing.
    """
    config = TourConfig() if config is None else config
    out = runs.default_folder(COMMAND) if out is None else Path(out)
    resume = _check_continuation(config, out)
    seed_everything(config.seed)
    folder = Run.create(COMMAND, config, out, resume=resume, quiet=quiet)
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
    summary = {"chapters": config.chapters, "quick": config.quick, "seconds": seconds,
               "report": [html.name, md.name], "figures": figures,
               **{f"chapter{k}": c.results for k, _, c in chapters}}
    folder.write_summary(summary)
    folder.echo(f"done in {seconds:.0f} s; report: {html} (and {md.name})")
    return summary
