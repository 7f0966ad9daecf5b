r"""``monge classify``: train a discriminative network of chapter 1 and write its run folder.

``monge classify --data digits --model convnet`` trains the convolutional network of section 1.4
on scikit-learn's digits (above 99% test accuracy, in about ten seconds on one CPU core);
``--model two-layer --loss squared`` is Figure 1.1's network trained on the text's
:math:`E(w) = \sum (f_w(x) - y)^2`. Every setting has a measured default per data set and model
(:mod:`monge.training.recipes`). ``--resume DIR`` continues a killed run exactly where its last
checkpoint left it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from monge.data import DATASETS, Dataset, load
from monge.metrics import confusion_matrix
from monge.plots.classify import confusion_figure, decision_regions, learning_curves
from monge.training.recipes import LOSSES, MODELS, OPTIMIZERS, SCHEDULES, SupervisedConfig, check, resolve
from monge.runs import CONFIG, METRICS, Run, seed_everything
from monge.training.supervised import Trained, train

COMMAND = "classify"
# The settings a user may pass; each one's flag is --<name with dashes>.
FLAGS = ("data", "model", "loss", "width", "depth", "epochs", "lr", "optimizer", "momentum", "schedule", "batch",
         "weight_decay", "dropout", "label_smoothing", "shift", "seed", "data_seed", "n_samples", "noise")


def register(subparsers) -> None:
    """Add the ``classify`` subcommand."""
    parser = subparsers.add_parser(
        COMMAND, help="train a network of chapter 1 (two-layer, MLP, convnet) on digits, MNIST-1D, toys or a file",
        description="Supervised training of a discriminative network (chapter 1 of the text). Every option left out "
                    "takes the default measured for the data set and model; the run folder gets config.json, "
                    "metrics.jsonl (per epoch: train and test loss and accuracy), summary.json, "
                    "checkpoints/last.pt (the weights: torch.load(..., weights_only=True)['modules']['model']) "
                    "and figures/.",
        epilog="A data FILE is .csv (one sample per line, the last column the integer label 0..K-1, an optional "
               "header), .npy (an (n, d+1) array: features, then the label) or .npz (arrays x (n, d), (n, H, W) or "
               "(n, C, H, W) and y (n,)); it is split 75/25 (stratified, seeded by --data-seed).")
    data = parser.add_argument_group("data")
    data.add_argument("--data", metavar="NAME|FILE", default=None,
                      help=f"{' | '.join(DATASETS)} | a .csv/.npy/.npz file (default digits)")
    data.add_argument("--data-seed", type=int, default=None, metavar="N",
                      help="seed of the data: the split, the toys' points, MNIST-1D (default 0: the published set)")
    data.add_argument("--n-samples", type=int, default=None, metavar="N", help="toys: number of points (default 1000)")
    data.add_argument("--noise", type=float, default=None, help="toys: noise level (default per toy)")
    net = parser.add_argument_group("network and training (defaults per data set and model)")
    net.add_argument("--model", choices=MODELS, default=None,
                     help="default convnet for images and signals, two-layer for vectors (2-D points)")
    net.add_argument("--loss", choices=LOSSES, default=None,
                     help="squared: the text's E(w) = sum (f_w(x) - y)^2 on one-hot y; default cross-entropy")
    net.add_argument("--width", type=int, default=None,
                     help="hidden neurons (two-layer, mlp) or channels of the first stage (convnet)")
    net.add_argument("--depth", type=int, default=None, help="hidden layers (mlp) or stages (convnet)")
    net.add_argument("--epochs", type=int, default=None)
    net.add_argument("--lr", type=float, default=None, help="(peak) learning rate")
    net.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="default adam (AdamW)")
    net.add_argument("--momentum", type=float, default=None, help="of sgd (default 0.9)")
    net.add_argument("--schedule", choices=SCHEDULES, default=None, help="learning rate per step (default onecycle)")
    net.add_argument("--batch", type=int, default=None, help="samples per step")
    net.add_argument("--weight-decay", type=float, default=None)
    net.add_argument("--dropout", type=float, default=None)
    net.add_argument("--label-smoothing", type=float, default=None, help="cross-entropy default 0.1; squared 0")
    net.add_argument("--shift", type=int, default=None, help="augmentation: random shifts of images and signals "
                                                             "by up to this many pixels")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="run folder (default: runs/classify-<YYYYmmdd-HHMMSS>); must be new or empty (a "
                             "previous run is continued with --resume DIR, never overwritten)")
    parser.add_argument("--resume", metavar="DIR", default=None,
                        help="continue the run in DIR from its last checkpoint, with its settings")
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="seed of the weights, shuffling, augmentation and dropout (default 0)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="CPU threads of torch (default 1: the networks of chapter 1 are small, and one thread "
                             "is the fastest for them on a shared CPU)")
    parser.set_defaults(func=run)


def _given(args) -> dict:
    """The settings the user passed on the command line."""
    return {name: getattr(args, name) for name in FLAGS if getattr(args, name, None) is not None}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _stored_config(folder: Path) -> SupervisedConfig:
    """The resolved settings of the run to resume, from ``folder/config.json``."""
    path = folder / CONFIG
    if not folder.is_dir():
        raise FileNotFoundError(f"--resume: {folder} is not a folder; expected the run folder of a monge classify run")
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"--resume: {folder} has no {CONFIG}; expected the run folder of a monge classify "
                                "run") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"--resume: {path} is not readable JSON ({error}); expected the settings of a "
                         "monge classify run") from None
    if not isinstance(stored, dict) or stored.get("command") != COMMAND:
        found = stored.get("command") if isinstance(stored, dict) else type(stored).__name__
        raise ValueError(f"--resume: {folder} holds a run of {found!r}; expected a monge classify run")
    names = {f.name for f in dataclasses.fields(SupervisedConfig)}
    missing = sorted(names - set(stored))
    if missing:
        raise ValueError(f"--resume: {path} lacks the settings {', '.join(missing)}; expected a complete monge "
                         "classify config")
    return SupervisedConfig(**{k: stored[k] for k in names})


def _config(args) -> tuple[SupervisedConfig, Path | None, bool]:
    """The settings (new or resumed), the run folder and whether to resume."""
    given = _given(args)
    if args.resume is None:
        out = None if args.out is None else Path(args.out)
        if out is not None and out.is_dir() and any(out.iterdir()):
            shown = ", ".join(sorted(p.name for p in out.iterdir())[:5])
            raise FileExistsError(f"--out: {out} is not empty ({shown}); expected a new or empty folder (to continue "
                                  f"a run there, pass --resume {out})")
        return SupervisedConfig(**given), out, False
    folder = Path(args.resume)
    if args.out is not None and Path(args.out).resolve() != folder.resolve():
        raise ValueError(f"--out: {args.out} differs from --resume {args.resume}; a resumed run stays in its folder")
    stored = _stored_config(folder)
    for name, value in given.items():
        if value != getattr(stored, name):
            raise ValueError(f"{_flag(name)} {value}: conflicts with the run being resumed ({name} = "
                             f"{getattr(stored, name)!r} in {folder / CONFIG}); a resumed run keeps its settings, "
                             "drop the flag")
    return stored, folder, True


def _load(config: SupervisedConfig) -> Dataset:
    return load(config.data, seed=config.data_seed, n_samples=config.n_samples, noise=config.noise)


def run(args) -> int:
    """Run ``monge classify`` from parsed arguments."""
    config, out, resume = _config(args)
    check(config)  # before the data are made: a bad --n-samples is named as such
    data = _load(config)
    config = resolve(config, data)
    restart = resume and not (out / "checkpoints" / "last.pt").exists()
    resume = resume and not restart  # a run killed before its first checkpoint starts again
    if isinstance(args.threads, bool) or not isinstance(args.threads, int) or args.threads < 1:
        raise ValueError(f"--threads: {args.threads!r}; expected a positive integer")
    torch.set_num_threads(args.threads)
    seed_everything(config.seed)
    folder = Run.create(COMMAND, config, out, resume=resume, quiet=args.quiet)
    if restart:
        folder.echo(f"{out} has no checkpoint yet: starting the run again from epoch 0")
    folder.echo(f"training {config.model} on {data!r} with {config.loss} loss, {config.optimizer} lr {config.lr:g}, "
                f"{config.epochs} epochs{' (resumed)' if resume else ''}")
    start = time.perf_counter()
    trained = train(config, data, folder, resume=resume)
    summary = trained.summary
    summary["figures"] = figures(folder, trained, data, config)
    summary["wall_seconds"] = time.perf_counter() - start
    summary["threads"] = args.threads
    folder.write_summary(summary)
    folder.echo(f"  train accuracy {100 * summary['train_accuracy']:.2f}%   test accuracy "
                f"{100 * summary['test_accuracy']:.2f}%   test loss {summary['test_loss']:.4g}   "
                f"{summary['seconds']:.1f} s training")
    folder.echo(f"  wrote {folder.path}/ (config.json, metrics.jsonl, summary.json, checkpoints/last.pt, "
                f"{', '.join(summary['figures'])})")
    return 0


def figures(folder: Run, trained: Trained, data: Dataset, config: SupervisedConfig) -> list[str]:
    """Learning curves, the test confusion matrix and, for points of the plane, the decision regions."""
    model = trained.model.eval()
    records = [json.loads(line) for line in (folder.path / METRICS).read_text(encoding="utf-8").splitlines() if line]
    name = f"{config.model} on {data.name}, {config.loss} loss"
    written = [folder.save_figure(learning_curves(records, title=f"{name}: train vs test (generalisation)"),
                                  "learning_curves.png")]
    with torch.no_grad():
        scores = torch.cat([model(chunk) for chunk in data.x_test.split(2048)])
    matrix = confusion_matrix(scores, data.y_test, data.n_classes)
    written.append(folder.save_figure(confusion_figure(matrix, data.class_names, title=f"{name}: test set"),
                                      "confusion_matrix.png"))
    if tuple(data.shape) == (2,):
        figure = decision_regions(lambda raw: model(data.standardise(raw)), data.raw(data.x_train), data.y_train,
                                  data.raw(data.x_test), data.y_test, n_classes=data.n_classes,
                                  title=f"{name}: test accuracy {100 * trained.summary['test_accuracy']:.1f}%")
        written.append(folder.save_figure(figure, "decision_regions.png"))
    return [str(p.relative_to(folder.path)) for p in written]
