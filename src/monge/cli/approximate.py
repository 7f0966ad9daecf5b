r"""``monge approximate``: universal approximation as width grows (section 1.4 of the text, Cybenko).

``monge approximate --target sine --widths 1,2,4,...,1024`` fits the target with two-layer ReLU
networks of each width (:func:`monge.training.approximation.approximate`) and writes the run
folder: ``metrics.jsonl`` (one line per width), ``summary.json`` (the ``widths``, ``sup_error`` and
``l2_error`` lists and the fitted slopes of log error against log width), ``fits.npz`` (the grid,
the target and every fit on it) and the figures ``errors.png`` and ``fits.png``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from monge.plots.approximation import plot_errors, plot_fits_1d, plot_fits_2d
from monge.training.approximation import GRIDS, TRAIN, WIDTHS, ApproximationResult, approximate
from monge.training.loop import DivergedError
from monge.runs import Run, save_npz, seed_everything
from monge.training.targets import RATES, TARGETS, get_target


@dataclass
class ApproximateConfig:
    """Settings of ``monge approximate`` (written to ``config.json``, resolved)."""

    target: str = "sine"
    widths: list[int] = field(default_factory=lambda: list(WIDTHS))
    steps: int = 300
    lr: float = 0.1
    starts: int = 8
    n_train: int | None = None
    n_grid: int | None = None
    seed: int = 0
    out: str | None = None


def register(subparsers) -> None:
    """Add the ``approximate`` subcommand."""
    parser = subparsers.add_parser(
        "approximate", help="universal approximation: error of two-layer ReLU networks against width",
        description="Cybenko's theorem (section 1.4): fit a continuous target with two-layer ReLU networks "
                    "of growing width and measure the sup and L2 errors on a fine grid of points that are "
                    "not training points.")
    default = ApproximateConfig()
    choices = ", ".join(f"{t.name} ({t.formula})" for t in TARGETS.values())
    parser.add_argument("--target", default=default.target, metavar="NAME",
                        help=f"the function to approximate: {choices} (default {default.target})")
    parser.add_argument("--widths", default=",".join(map(str, default.widths)), metavar="LIST",
                        help="increasing widths, comma-separated (default 1,2,4,...,1024)")
    parser.add_argument("--steps", default=str(default.steps), metavar="N",
                        help=f"Adam steps per width (default {default.steps})")
    parser.add_argument("--lr", default=str(default.lr), metavar="LR",
                        help=f"Adam's learning rate at width 1; width n uses lr * (high - low) / n "
                             f"(default {default.lr:g})")
    parser.add_argument("--starts", default=str(default.starts), metavar="N",
                        help="initialisations tried at width 1; width n tries max(1, N // n) and keeps the lowest "
                             f"training error (default {default.starts})")
    parser.add_argument("--n-train", default=None, metavar="N",
                        help="training points (default 4096 on the line, 16384 in the plane)")
    parser.add_argument("--threads", default="1", metavar="N",
                        help="CPU threads of torch (default 1: the fastest for these small networks)")
    parser.set_defaults(func=run)


def _integer(text: str, name: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValueError(f"{name}: {text!r}; expected a positive integer") from None
    if value < 1:
        raise ValueError(f"{name}: {value}; expected a positive integer")
    return value


def parse_widths(text: str) -> list[int]:
    """``"1,2,4"`` -> ``[1, 2, 4]``; a one-line ``ValueError`` naming ``--widths`` otherwise."""
    cells = [cell.strip() for cell in str(text).split(",")]
    widths = []
    for cell in cells:
        try:
            value = int(cell)
        except ValueError:
            raise ValueError(f"--widths: {text!r} holds {cell!r}; expected positive integers separated by commas, "
                             "e.g. 1,2,4,8") from None
        if value < 1:
            raise ValueError(f"--widths: {text!r} holds {value}; expected positive integers (neurons)")
        widths.append(value)
    if any(b <= a for a, b in zip(widths, widths[1:])):
        raise ValueError(f"--widths: {text!r}; expected increasing widths, e.g. 1,2,4,8")
    return widths


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--lr: {text!r}; expected a positive number") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"--lr: {text}; expected a positive finite number")
    return value


def run(args) -> int:
    """Run ``monge approximate`` from parsed arguments: check every input, then write the run folder."""
    if args.target not in TARGETS:
        raise ValueError(f"--target: {args.target!r}; expected one of {', '.join(TARGETS)}")
    target = get_target(args.target)
    n_train = TRAIN[target.dim] if args.n_train is None else _integer(args.n_train, "--n-train")
    config = ApproximateConfig(target=target.name, widths=parse_widths(args.widths),
                               steps=_integer(args.steps, "--steps"), lr=_learning_rate(args.lr),
                               starts=_integer(args.starts, "--starts"), n_train=n_train,
                               n_grid=GRIDS[target.dim], seed=args.seed, out=args.out)
    torch.set_num_threads(_integer(args.threads, "--threads"))
    seed_everything(config.seed)
    folder = Run.create("approximate", config, config.out, quiet=args.quiet)
    sweep(folder, config)
    return 0


def sweep(run: Run, config: ApproximateConfig) -> dict:
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
        raise ValueError(f"--lr: {config.lr:g} is too large: {error}") from None
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


def _summary(result: ApproximationResult, config: ApproximateConfig, seconds: float, figures: list[str]) -> dict:
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
