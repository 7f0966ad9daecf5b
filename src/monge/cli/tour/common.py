"""What the chapters of ``monge tour`` share: settings, report sections, and running a subcommand.

A chapter is a function ``chapter(tour, config) -> ChapterResult``. It does its work in timed steps
(:meth:`Run.step`, which print ``[k] name ... 1.23 s``), mostly by running the ``monge`` subcommands
into sub-folders of the tour's run folder (:func:`run_subcommand`), and returns the sections of the
report and the figures (numbers) that go into the tour's ``summary.json``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from monge.runs import Run


@dataclass
class TourConfig:
    """Settings of ``monge tour`` (written to ``config.json``)."""

    chapters: list[int] = field(default_factory=lambda: [1, 2, 3])
    quick: bool = False
    seed: int = 0
    out: str | None = None


@dataclass
class Section:
    """A part of the report: a title, paragraphs of plain text, figures and a table.

    ``figures`` holds ``(path relative to the tour's folder, caption)`` pairs; the paragraphs say
    what the text claims and what was measured.
    """

    title: str
    paragraphs: list[str]
    figures: list[tuple[str, str]] = field(default_factory=list)
    table: list[dict] | None = None


@dataclass
class ChapterResult:
    """What a chapter gives the tour: the report's sections and its measured figures.

    ``results`` maps a short name (``"digits_convnet_accuracy"``) to a number or a short string;
    it is written into ``summary.json`` under ``chapter<k>`` and listed in the report's last table.
    """

    sections: list[Section]
    results: dict = field(default_factory=dict)


def run_subcommand(tour: Run, folder: str, argv: list[str], seed: int) -> tuple[Path, dict]:
    """Run ``monge <argv>`` quietly into ``<tour>/<folder>``; return the folder and its ``summary.json``.

    The subcommand writes its own complete run folder (settings, metrics, figures, checkpoints),
    exactly as if a user had typed it, so that every part of the tour can be re-run or resumed alone.
    A tour started again in its folder keeps the parts that finished (:func:`continued`).
    """
    out = tour.path / folder
    arguments = continued(argv, out, seed)
    if arguments is not None:
        _subcommand(arguments)
    return out, json.loads((out / "summary.json").read_text())


#: Subcommands whose interrupted runs continue from their checkpoint (``--resume``).
RESUMABLE = ("classify", "generate")


def continued(argv: list[str], out: Path, seed: int) -> list[str] | None:
    """The full arguments of a job of the tour into ``out``, or ``None`` when it already finished there.

    A tour killed half-way and started again with the same ``--out`` keeps every part that wrote
    its ``summary.json``, continues interrupted trainings from their last checkpoint, and runs the
    rest again: nothing finished is lost or recomputed.
    """
    if (out / "summary.json").is_file():
        return None
    arguments = [*argv, "--out", str(out), "--seed", str(seed), "--quiet"]
    if argv[0] in RESUMABLE and (out / "config.json").is_file():
        arguments += ["--resume", str(out)]
    return arguments


def _subcommand(argv: list[str]) -> float:
    """Run ``monge <argv>`` in this process; return its wall time (the worker of :func:`run_subcommands`)."""
    from monge.cli.main import build_parser  # at call time: main imports this package

    start = time.perf_counter()
    args = build_parser().parse_args(argv)
    code = args.func(args)
    if code:
        raise RuntimeError(f"monge {' '.join(argv)} exited with code {code}")
    return time.perf_counter() - start


def workers() -> int:
    """How many subcommands the tour runs at once: one per CPU core this process may use, at most 2.

    Each training run uses one torch thread (the fastest for the small networks of the tour), so
    two of them on two cores take the time of one.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(2, cores))


def run_subcommands(tour: Run, jobs: dict[str, list[str]], seed: int, name: str,
                    after: dict[str, str] | None = None) -> dict[str, tuple[Path, dict]]:
    """Run several subcommands, :func:`workers` at a time, into ``<tour>/<folder>`` each; one timed step.

    ``jobs`` maps a folder to the subcommand's arguments; ``after`` maps a folder to the folder of
    the job it needs (started only once that one has finished; list prerequisites first). The step
    ``name`` prints each finished job with its seconds. Returns ``folder -> (path, summary)`` in the
    order of ``jobs``. Workers are fresh processes (``spawn``): a forked torch may hang in its thread pools.
    """
    after = after or {}
    unknown = sorted(set(after) - set(jobs) | set(after.values()) - set(jobs))
    if unknown:
        raise ValueError(f"after: names {', '.join(unknown)}, which are not jobs")
    argvs = {folder: continued(argv, tour.path / folder, seed) for folder, argv in jobs.items()}
    with tour.step(name) as record:
        seconds: dict[str, float] = {}
        record["done_before"] = [folder for folder, arguments in argvs.items() if arguments is None]
        if record["done_before"] and not tour.quiet:
            print(f" (kept from before: {', '.join(record['done_before'])})", end="", flush=True)
        for folder in record["done_before"]:
            seconds[folder] = 0.0
        argvs = {folder: arguments for folder, arguments in argvs.items() if arguments is not None}

        def finished(folder: str, wall: float) -> None:
            seconds[folder] = wall
            if not tour.quiet:
                print(f" {folder} ({wall:.0f} s)", end="", flush=True)

        if workers() == 1 or len(argvs) <= 1:
            for folder, argv in argvs.items():
                finished(folder, _subcommand(argv))
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers(), mp_context=context) as pool:
                waiting, running = dict(argvs), {}
                while waiting or running:
                    for folder in [f for f in waiting if after.get(f) is None or after[f] in seconds]:
                        running[pool.submit(_subcommand, waiting.pop(folder))] = folder
                    done = next(as_completed(running))
                    finished(running.pop(done), done.result())
        record["seconds_per_job"] = seconds
    return {folder: (tour.path / folder, json.loads((tour.path / folder / "summary.json").read_text()))
            for folder in jobs}


def figure_path(folder: Path, tour: Run, name: str) -> str:
    """The path of ``<folder>/figures/<name>`` relative to the tour's folder (checked to exist)."""
    path = folder / "figures" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: a figure the report needs was not written")
    return str(path.relative_to(tour.path))
