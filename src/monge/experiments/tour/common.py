"""What the chapters of ``monge tour`` share: settings, report sections, and running the experiments.

A chapter is a function ``chapter(tour, config) -> ChapterResult``. It does its work in timed steps
(:meth:`Run.step`, which print ``[k] name ... 1.23 s``), mostly by running the experiments of
:mod:`monge.experiments` into sub-folders of the tour's run folder (:func:`run_job`, :func:`run_jobs`),
and returns the sections of the report and the figures (numbers) that go into the tour's ``summary.json``.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from monge.runs import Run


@dataclass(frozen=True)
class TourConfig:
    """Settings of ``monge tour`` (written to ``config.json``): the chapters, quick or full sizes, the seed."""

    chapters: tuple[int, ...] = (1, 2, 3)
    quick: bool = False
    seed: int = 0

    def __post_init__(self):
        from monge.settings import integer, refuse

        chapters = tuple(self.chapters) if isinstance(self.chapters, (list, tuple)) else self.chapters
        if not isinstance(chapters, tuple) or not chapters or any(
                isinstance(k, bool) or k not in (1, 2, 3) for k in chapters):
            raise refuse("chapters", self.chapters, "some of the chapters 1, 2, 3")
        object.__setattr__(self, "chapters", tuple(sorted(set(chapters))))
        if not isinstance(self.quick, bool):
            raise refuse("quick", self.quick, "True or False")
        integer("seed", self.seed, 0)


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


@dataclass(frozen=True)
class Job:
    """One experiment of the tour: ``monge.experiments.<command>.run(Config(**settings), out, **options)``.

    The experiment writes its own complete run folder (settings, metrics, figures, checkpoints),
    exactly as the command would, so that every part of the tour can be re-run or resumed alone.
    """

    command: str
    settings: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    def run(self, out: Path, seed: int, resume: bool) -> float:
        """Run the experiment quietly into ``out`` with ``seed``; return its wall time in seconds."""
        module = importlib.import_module(f"monge.experiments.{self.command}")
        start = time.perf_counter()
        config = module.Config(**{**self.settings, "seed": seed})
        module.run(config, out, resume=resume, quiet=True, **self.options)
        return time.perf_counter() - start


#: Experiments whose interrupted runs continue from their checkpoint (``resume``).
RESUMABLE = ("classify", "generate")


def continued(job: Job, out: Path) -> bool | None:
    """Whether the job into ``out`` resumes an interrupted run, or ``None`` when it already finished there.

    A tour killed half-way and started again in the same folder keeps every part that wrote its
    ``summary.json``, continues interrupted trainings from their last checkpoint, and runs the rest
    again (into an emptied folder): nothing finished is lost or recomputed.
    """
    if (out / "summary.json").is_file():
        return None
    if job.command in RESUMABLE and (out / "config.json").is_file():
        return True
    if out.is_dir():
        shutil.rmtree(out)  # an unfinished part that cannot be resumed: its files were all the tour's
    return False


def run_job(tour: Run, folder: str, job: Job, seed: int) -> tuple[Path, dict]:
    """Run one experiment into ``<tour>/<folder>`` (unless it finished there before); return the folder and summary."""
    out = tour.path / folder
    resume = continued(job, out)
    if resume is not None:
        job.run(out, seed, resume)
    return out, json.loads((out / "summary.json").read_text())


def _worker(job: Job, out: Path, seed: int, resume: bool) -> float:
    """The worker of :func:`run_jobs`: one experiment in a fresh process."""
    return job.run(out, seed, resume)


def workers() -> int:
    """How many subcommands the tour runs at once: one per CPU core this process may use, at most 2.

    Each training run uses one torch thread (the fastest for the small networks of the tour), so
    two of them on two cores take the time of one.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(2, cores))


def run_jobs(tour: Run, jobs: dict[str, Job], seed: int, name: str,
             after: dict[str, str] | None = None) -> dict[str, tuple[Path, dict]]:
    """Run several experiments, :func:`workers` at a time, into ``<tour>/<folder>`` each; one timed step.

    ``jobs`` maps a folder to its :class:`Job`; ``after`` maps a folder to the folder of the job it
    needs (started only once that one has finished; list prerequisites first). The step ``name``
    prints each finished job with its seconds. Returns ``folder -> (path, summary)`` in the order of
    ``jobs``. Workers are fresh processes (``spawn``): a forked torch may hang in its thread pools.
    """
    after = after or {}
    unknown = sorted(set(after) - set(jobs) | set(after.values()) - set(jobs))
    if unknown:
        raise ValueError(f"after: names {', '.join(unknown)}, which are not jobs")
    resumes = {folder: continued(job, tour.path / folder) for folder, job in jobs.items()}
    with tour.step(name) as record:
        seconds: dict[str, float] = {}
        record["done_before"] = [folder for folder, resume in resumes.items() if resume is None]
        if record["done_before"] and not tour.quiet:
            print(f" (kept from before: {', '.join(record['done_before'])})", end="", flush=True)
        for folder in record["done_before"]:
            seconds[folder] = 0.0
        waiting = {folder: (jobs[folder], tour.path / folder, seed, resume) for folder, resume in resumes.items()
                   if resume is not None}

        def finished(folder: str, wall: float) -> None:
            seconds[folder] = wall
            if not tour.quiet:
                print(f" {folder} ({wall:.0f} s)", end="", flush=True)

        if workers() == 1 or len(waiting) <= 1:
            for folder, arguments in waiting.items():
                finished(folder, _worker(*arguments))
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers(), mp_context=context) as pool:
                running = {}
                while waiting or running:
                    for folder in [f for f in waiting if after.get(f) is None or after[f] in seconds]:
                        running[pool.submit(_worker, *waiting.pop(folder))] = folder
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
