r"""``monge approximate`` as a library function: universal approximation as width grows (section 1.4, Cybenko).

``run(Config(target="sine", widths=(1, 2, 4, ..., 1024)))`` fits the target with two-layer ReLU
networks of each width (:func:`monge.training.approximation.approximate`) and writes the run
folder: ``metrics.jsonl`` (one line per width), ``summary.json`` (the ``widths``, ``sup_error`` and
``l2_error`` lists and the fitted slopes of log error against log width), ``fits.npz`` (the grid,
the target and every fit on it) and the figures ``errors.png`` and ``fits.png``.

Examples
--------
>>> from monge.experiments import approximate
>>> summary = approximate.run(approximate.Config(widths=(2, 8), steps=10), out=folder, quiet=True)  # doctest: +SKIP
>>> summary["sup_error"][1] < summary["sup_error"][0]  # doctest: +SKIP
True
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from monge import runs, settings
from monge.errors import Diverged
from monge.plots.approximation import plot_errors, plot_fits_1d, plot_fits_2d
from monge.runs import Run, save_npz, seed_everything
from monge.training.approximation import GRIDS, TRAIN, WIDTHS, ApproximationResult, approximate
from monge.training.loop import DivergedError
from monge.training.targets import RATES, TARGETS, get_target

COMMAND = "approximate"


@dataclass(frozen=True)
class Config:
    """Settings of ``monge approximate``, named as its flags; ``None``: the measured default (:func:`resolve`).

    Attributes
    ----------
    target : a name of :data:`~monge.training.targets.TARGETS` (``"sine"``, ``"abs"``, ``"bump"``)
    widths : increasing widths (neurons), default 1, 2, 4, ..., 1024
    steps : Adam steps per width
    lr : Adam's learning rate at width 1; width n uses ``lr * (high - low) / n``
    starts : initialisations tried at width 1; width n tries ``max(1, starts // n)``
    n_train : training points (default 4096 on the line, 16384 in the plane)
    n_grid : evaluation points per axis (default 10001 on the line, 201 in the plane)
    seed : random seed
    """

    target: str = "sine"
    widths: tuple[int, ...] = WIDTHS
    steps: int = 300
    lr: float = 0.1
    starts: int = 8
    n_train: int | None = None
    n_grid: int | None = None
    seed: int = 0

    def __post_init__(self):
        settings.choice("target", self.target, TARGETS)
        object.__setattr__(self, "widths", _widths(self.widths))
        settings.integer("steps", self.steps, 1)
        settings.number("lr", self.lr, 0.0, open_low=True)
        object.__setattr__(self, "lr", float(self.lr))
        settings.integer("starts", self.starts, 1)
        settings.optional(settings.integer, "n_train", self.n_train, 1)
        settings.optional(settings.integer, "n_grid", self.n_grid, 2)
        settings.integer("seed", self.seed, 0)
        if self.seed >= 2**63:  # what every generator seeded from it (torch, NumPy, Python) accepts
            raise settings.refuse("seed", self.seed, "a non-negative integer below 2**63")


def _widths(value) -> tuple[int, ...]:
    """Increasing positive integers, as a tuple."""
    widths = tuple(value) if isinstance(value, (tuple, list)) else ()
    if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise settings.refuse("widths", value, "positive integers (neurons), increasing, e.g. (1, 2, 4, 8) "
                              "(--widths 1,2,4,8)")
    if any(b <= a for a, b in zip(widths, widths[1:])):
        raise settings.refuse("widths", value, "increasing widths, e.g. (1, 2, 4, 8) (--widths 1,2,4,8)")
    return widths


def resolve(config: Config) -> Config:
    """``config`` with the measured defaults of its target's dimension: training points and grid size."""
    dim = get_target(config.target).dim
    return replace(config, n_train=TRAIN[dim] if config.n_train is None else config.n_train,
                   n_grid=GRIDS[dim] if config.n_grid is None else config.n_grid)


def run(config: Config | None = None, out: str | os.PathLike | None = None, resume: bool = False, *,
        quiet: bool = False, threads: int | None = 1) -> dict:
    """Run ``monge approximate``: fit every width, write metrics, ``fits.npz``, figures and summary in ``out``.

    Parameters
    ----------
    config : Config, optional (default ``Config()``)
    out : path, optional
        The run folder, new or empty (default ``runs/approximate-<YYYYmmdd-HHMMSS>``). A failure
        leaves it as it was.
    resume : bool
        Refused: the sweep keeps no checkpoint to continue from.
    quiet : bool
        Print nothing.
    threads : int or None
        torch's CPU threads during the run (restored after; default 1, the fastest for these small
        networks); ``None`` leaves them.

    Returns
    -------
    dict
        The summary, as written to ``summary.json``.

    Raises
    ------
    InputError
        A setting refused (naming it and its flag).
    Diverged
        A training loss left the finite numbers: the message names ``lr (--lr)``.
    FileExistsError
        ``out`` holds files.
    """
    config = Config() if config is None else config
    runs.refuse_resume(COMMAND, resume)
    out = runs.default_folder(COMMAND) if out is None else Path(out)
    with runs.threads(threads), runs.guarded(out):
        config = resolve(config)
        seed_everything(config.seed)
        folder = Run.create(COMMAND, config, out, quiet=quiet)
        return _sweep(folder, config)


def _sweep(run: Run, config: Config) -> dict:
    """Fit every width, write metrics, ``fits.npz``, figures and summary into ``run``; return the summary."""
    target = get_target(config.target)
    run.echo(f"Universal approximation (section 1.4): two-layer ReLU networks fitted to {target.formula}")

    def progress(record: dict) -> None:
        run.log(**record)
        run.echo(f"  width {record['width']:5d}: sup error {record['sup_error']:.3e}   L2 error "
                 f"{record['l2_error']:.3e}   ({record['seconds']:.2f} s)")

    start = time.perf_counter()
    try:
        result = approximate(target, config.widths, steps=config.steps, lr=config.lr, starts=config.starts,
                             n_train=config.n_train, n_grid=config.n_grid, seed=config.seed, callback=progress)
    except DivergedError as error:
        raise Diverged(f"lr (--lr): {config.lr:g} is too large: {error}") from None
    seconds = time.perf_counter() - start
    save_npz(run.path / "fits.npz", widths=result.widths, grid=result.grid, target=result.values, fits=result.fits,
             train_points=result.train_points)
    figures = _figures(run, result)
    summary = _summary(result, config, seconds, figures)
    run.write_summary(summary)
    if summary["sup_slope"] is not None:
        run.echo(f"  fitted slopes of log error against log width (widths {summary['slope_widths'][0]}-"
                 f"{summary['slope_widths'][-1]}): sup {summary['sup_slope']:.2f}, L2 {summary['l2_slope']:.2f} "
                 f"(reference -{target.rate:g})")
    run.echo(f"  {seconds:.1f} s; wrote {run.path}/ (summary.json, metrics.jsonl, fits.npz, {', '.join(figures)})")
    return summary


def _figures(run: Run, result: ApproximationResult) -> list[str]:
    target = result.target
    errors = plot_errors(result.widths, result.sup_error, result.l2_error, rate=target.rate,
                         rate_note=RATES.get(target.name, ""), sup_slope=result.sup_slope, l2_slope=result.l2_slope,
                         title=f"Universal approximation of {target.formula}")
    run.save_figure(errors, "errors.png")
    title = f"Two-layer ReLU networks fitted to {target.formula}"
    if target.dim == 1:
        fits = plot_fits_1d(result.grid, result.values, result.fits, result.widths, title=title)
    else:
        fits = plot_fits_2d(result.grid, result.values, result.fits, result.widths, train_points=result.train_points,
                            title=title)
    run.save_figure(fits, "fits.png")
    return ["figures/errors.png", "figures/fits.png"]


def _summary(result: ApproximationResult, config: Config, seconds: float, figures: list[str]) -> dict:
    target = result.target
    return {
        "target": target.name, "formula": target.formula, "dim": target.dim, "domain": [target.low, target.high],
        "widths": result.widths, "sup_error": result.sup_error, "l2_error": result.l2_error,
        "train_error": result.train_error, "initial_sup_error": result.initial_sup_error,
        "initial_l2_error": result.initial_l2_error,
        "sup_slope": result.sup_slope, "l2_slope": result.l2_slope, "slope_widths": result.slope_widths,
        "reference_rate": target.rate, "reference_note": RATES.get(target.name, ""),
        "steps": config.steps, "lr": config.lr, "starts": config.starts, "n_train": len(result.train_points),
        "n_grid": config.n_grid, "n_eval": len(result.grid), "seconds": seconds, "seconds_per_width": result.seconds,
        "figures": figures, "files": ["config.json", "metrics.jsonl", "summary.json", "fits.npz", *figures],
        "note": "errors on a regular grid (ends included) that shares no point with the jittered training points; "
                "L2 error = root mean square over the grid; sup error = largest absolute error on the grid; "
                "initial_* = before Adam (spread breakpoints and the exact least-squares output layer); slopes "
                "fitted by least squares on log error against log width over slope_widths",
    }
