r"""``monge classify`` as a library function: train a discriminative network of chapter 1 and write its run folder.

A network (Figure 1.1's two-layer network, an MLP or the convolutional network of section 1.4)
is trained on a data set (scikit-learn's digits, MNIST-1D, the toys of the plane or a user's
file) by back-propagation, with the text's squared error :math:`E(w) = \sum (f_w(x) - y)^2` or
cross-entropy. Every setting left at ``None`` takes the default measured for the data set and
model (:func:`resolve`). The run folder gets ``config.json``, ``metrics.jsonl`` (per epoch: train
and test loss and accuracy: generalisation), ``summary.json``, ``checkpoints/last.pt`` and
``figures/`` (learning curves, the confusion matrix and, for points of the plane, the decision
regions). A run killed at any time continues with ``resume=True`` exactly where its last
checkpoint left it.

Examples
--------
>>> import tempfile
>>> from monge.experiments import classify
>>> summary = classify.run(classify.Config(data="moons", epochs=10), tempfile.mkdtemp() + "/moons", quiet=True)
>>> summary["test_accuracy"] > 0.9
True
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from monge import runs
from monge.data import Dataset, load
from monge.metrics import confusion_matrix
from monge.plots.classify import confusion_figure, decision_regions, learning_curves
from monge.runs import Run, read_metrics, seed_everything
from monge.training.recipes import SupervisedConfig as Config
from monge.training.recipes import resolve
from monge.training.supervised import Trained, train

__all__ = ["COMMAND", "Config", "figures", "resolve", "run"]

COMMAND = "classify"


def load_data(config: Config) -> Dataset:
    """The data set ``config`` names, made or read with its ``data_seed``, ``n_samples`` and ``noise``.

    Parameters
    ----------
    config : Config

    Returns
    -------
    Dataset
    """
    return load(config.data, seed=config.data_seed, n_samples=config.n_samples, noise=config.noise)


def run(config: Config | None = None, out: str | Path | None = None, resume: bool = False, *, quiet: bool = False,
        threads: int = 1, progress: bool | None = None) -> dict:
    """Train the network ``config`` describes and write the run folder ``out``; return the summary.

    Parameters
    ----------
    config : Config, optional
        The settings (default: every one at its default: a convnet on digits). With ``resume``, the
        settings are those saved in ``out``; a field set here must agree with them.
    out : path, optional
        The run folder: new or empty (default ``runs/classify-<time>``), or with ``resume`` the
        folder of the run to continue.
    resume : bool
        Continue the run in ``out`` from its last checkpoint (bit-identical to an uninterrupted run
        on the CPU); a run killed before its first checkpoint starts again.
    quiet : bool
        Print nothing.
    threads : int
        CPU threads of torch during the run (restored afterwards): one is the fastest for these
        small networks on a shared CPU.
    progress : bool, optional
        A progress bar (default: when standard error is a terminal and not ``quiet``).

    Returns
    -------
    dict
        The summary, as in ``summary.json``: ``train_accuracy``, ``test_accuracy``, ``train_loss``,
        ``test_loss``, ``epochs``, ``seconds``, ``figures``, ...

    Raises
    ------
    monge.errors.InputError
        A bad or conflicting setting, named with its flag.
    monge.errors.Diverged
        The loss became NaN or infinite (the last good checkpoint is kept: lower ``lr``).
    """
    config = Config() if config is None else config
    out = runs.default_folder(COMMAND) if out is None else Path(out)
    with runs.guarded(out, resume=resume), runs.threads(threads):
        restart = False
        if resume:
            config = runs.stored_config(out, COMMAND, config)
            restart = runs.restartable(out)
        data = load_data(config)
        config = resolve(config, data)
        seed_everything(config.seed)
        folder = Run.create(COMMAND, config, out, resume=resume and not restart, quiet=quiet)
        if restart:
            folder.echo(f"{out} has no checkpoint yet: starting the run again from epoch 0")
        resume = resume and not restart
        folder.echo(f"training {config.model} on {data!r} with {config.loss} loss, {config.optimizer} lr "
                    f"{config.lr:g}, {config.epochs} epochs{' (resumed)' if resume else ''}")
        start = time.perf_counter()
        trained = train(config, data, folder, resume=resume, progress=progress)
        summary = trained.summary
        summary["figures"] = figures(folder, trained, data, config)
        summary["wall_seconds"] = time.perf_counter() - start
        summary["threads"] = threads
        folder.write_summary(summary)
    folder.echo(f"  train accuracy {100 * summary['train_accuracy']:.2f}%   test accuracy "
                f"{100 * summary['test_accuracy']:.2f}%   test loss {summary['test_loss']:.4g}   "
                f"{summary['seconds']:.1f} s training")
    folder.echo(f"  wrote {folder.path}/ (config.json, metrics.jsonl, summary.json, checkpoints/last.pt, "
                f"{', '.join(summary['figures'])})")
    return summary


def figures(folder: Run, trained: Trained, data: Dataset, config: Config) -> list[str]:
    """Learning curves, the test confusion matrix and, for points of the plane, the decision regions.

    Parameters
    ----------
    folder : Run, the run folder (the figures go to its ``figures/``; the curves come from its metrics)
    trained : Trained, the network and its summary
    data : Dataset, the data it was trained on
    config : Config, its resolved settings (for the titles)

    Returns
    -------
    list of str
        The figures written, relative to the folder.
    """
    model = trained.model.eval()
    name = f"{config.model} on {data.name}, {config.loss} loss"
    written = [folder.save_figure(learning_curves(read_metrics(folder.path),
                                                  title=f"{name}: train vs test (generalisation)"),
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
