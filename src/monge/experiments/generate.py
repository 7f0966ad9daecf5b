r"""``monge generate`` as a library function: train a generative network of chapter 2 and write its run folder.

A generator :math:`x = g_w(y)` is trained by the text's
:math:`\min_w \mathrm{Distance}(\{g_w(y_i)\}, \{z_i\})`, with Monge's exact matching of each
minibatch (``loss="exact"``), the Sinkhorn divergence (``"sinkhorn"``; with ``rho``, unbalanced),
sliced transport (``"sliced"``), or a critic that learns the cost (``"wgan"``, ``"wgan-gp"``,
section 2.5). Every setting left at ``None`` takes the default measured for the data set and loss
(:func:`resolve`). The run folder gets ``config.json``, ``metrics.jsonl``, ``summary.json``
(``w2_test`` against ``w2_floor``; modes covered and high-quality samples for the toys; the class
histogram of the samples for digits), ``samples.npy``, ``generator.pt`` (a state dict),
``snapshots/``, ``checkpoints/last.pt`` and ``figures/``. A run killed at any time continues with
``resume=True`` exactly where its last checkpoint left it.

Examples
--------
>>> import tempfile
>>> from monge.experiments import generate
>>> config = generate.Config(data="gaussians8", steps=20, batch=32, widths=(32, 32))
>>> summary = generate.run(config, tempfile.mkdtemp() + "/g", quiet=True, n_samples=500)
>>> summary["n_modes"], summary["n_samples"]
(8, 500)
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import torch

from monge import runs
from monge.data import POINT_SETS, Points, from_array, load_points
from monge.data.files import load_points as read_points
from monge.errors import InputError, InputTypeError
from monge.plots.generative import interpolation_path, loss_curve, sample_grid, samples_over_data
from monge.runs import SUMMARY, Run, read_metrics, save_npy, save_torch, seed_everything
from monge.training.adversarial import fit_wgan
from monge.training.assessment import assess, digits_classifier, generate, interpolation, judge_settings
from monge.training.generative import fit_generator
from monge.training.generative_recipes import GenerateConfig as Config
from monge.training.generative_recipes import build_networks, resolve

__all__ = ["COMMAND", "Config", "figures", "load_data", "resolve", "run", "saved_config"]

COMMAND = "generate"
# Settings newer than some run folders, and what a config.json without them meant (rho: balanced).
ADDED = {"rho": None}
N_SAMPLES = 10_000  # samples of the final generator: the class histogram's sampling noise is then ~0.01 TV
SNAPSHOT_POINTS, SNAPSHOT_IMAGES = 1000, 12
PANELS = 9  # snapshots shown in a figure


def load_data(config: Config) -> Points:
    """The points ``config.data`` names (a data set or a ``.npy``/``.csv`` file), made or split with ``data_seed``."""
    if config.data in POINT_SETS:
        return load_points(config.data, seed=config.data_seed)
    if Path(config.data).suffix.lower() in (".npy", ".csv"):
        return from_array(Path(config.data).name, read_points(config.data, "data (--data)"), seed=config.data_seed)
    raise InputError(f"data (--data): {config.data!r} is not a data set; expected one of {', '.join(POINT_SETS)}, "
                     "or a .npy or .csv file of points")


def saved_config(out: str | Path) -> Config:
    """The settings of the run in the folder ``out`` (resolved, as its ``config.json`` holds them).

    Raises
    ------
    FileNotFoundError
        ``out`` is not a run folder.
    monge.errors.InputError
        ``out`` holds another command's run, or an unreadable or incomplete ``config.json``.
    """
    return runs.saved_config(out, COMMAND, Config, added=ADDED)


def run(config: Config | None = None, out: str | Path | None = None, resume: bool = False, *, quiet: bool = False,
        threads: int = 1, judge: str | Path | None = None, n_samples: int = N_SAMPLES,
        progress: bool | None = None) -> dict:
    """Train the generator ``config`` describes, assess it and write the run folder ``out``; return the summary.

    Parameters
    ----------
    config : Config, optional
        The settings (default: every one at its default: exact matching on the 8 Gaussians). With
        ``resume``, the settings are those saved in ``out``; a field set here must agree with them.
    out : path, optional
        The run folder: new or empty (default ``runs/generate-<time>``), or with ``resume`` the
        folder of the run to continue.
    resume : bool
        Continue the run in ``out`` from its last checkpoint (bit-identical to an uninterrupted run
        on the CPU); a run killed before its first checkpoint starts again.
    quiet : bool
        Print nothing.
    threads : int
        CPU threads of torch during the run (restored afterwards): one is the fastest for these
        small networks on a shared CPU.
    judge : path, optional
        Digits only: the folder of a finished ``monge classify --data digits`` run (convnet) whose
        network judges the generated digits (default: train one into ``<out>/classifier``).
    n_samples : int
        Samples of the final generator that are assessed and saved (``samples.npy``).
    progress : bool, optional
        A progress bar (default: when standard error is a terminal and not ``quiet``).

    Returns
    -------
    dict
        The summary, as in ``summary.json``: ``w2_test``, ``w2_floor``, ``w2_ratio``, ``steps``,
        ``seconds``, ``figures``, for the toys ``modes_covered`` and ``high_quality``, for digits
        ``class_histogram`` and ``class_tv``, ...

    Raises
    ------
    monge.errors.InputError
        A bad or conflicting setting, named with its flag.
    monge.errors.Diverged
        A loss became NaN or infinite (the last good checkpoint is kept: lower ``lr``).
    """
    config = Config() if config is None else config
    if not isinstance(config, Config):
        raise InputTypeError(f"config: {type(config).__name__}; expected monge.experiments.generate.Config")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise InputError(f"n_samples: {n_samples!r}; expected an integer >= 1")
    out = runs.default_folder(COMMAND) if out is None else Path(out)
    with runs.guarded(out, resume=resume), runs.threads(threads):
        restart = False
        if resume:
            config = runs.stored_config(out, COMMAND, config, added=ADDED)
            restart = runs.restartable(out)
        points = load_data(config)
        config = resolve(config, points)
        judge = _judge(judge, points)
        seed_everything(config.seed)
        generator, critic = build_networks(config, points)
        resume = resume and not restart
        folder = Run.create(COMMAND, config, out, resume=resume, quiet=quiet)
        if restart:
            folder.echo(f"{out} has no checkpoint yet: starting the run again from step 0")
        folder.echo(f"training a {config.network} generator (latent {config.latent}, widths {list(config.widths)}) "
                    f"on {points!r} with the {config.loss} loss, {config.steps} steps of {config.batch}"
                    f"{' (resumed)' if resume else ''}")
        snapshots = _Snapshots(folder, generator, points, config.seed)
        if not resume:
            snapshots(0, generator)
        start = time.perf_counter()
        trained = _train(folder, config, points, (generator, critic), snapshots, resume, progress)
        summary = {**trained, **_assess(folder, config, points, generator, judge, n_samples, snapshots)}
        summary["wall_seconds"] = time.perf_counter() - start
        summary["threads"] = threads
        if judge is not None:
            summary["judge"] = str(judge.resolve())
        summary["data_description"] = points.description
        folder.write_summary(summary)
    _report(folder, summary)
    return summary


def _judge(judge: str | Path | None, points: Points) -> Path | None:
    """The folder of ``judge``, checked: a finished classify run of a convnet on digits, and digits to judge."""
    if judge is None:
        return None
    if points.name != "digits":
        raise InputError(f"judge (--judge): given for data {points.name!r}; only generated digits are judged by a "
                         "classifier")
    folder = Path(judge)
    if not (folder / SUMMARY).is_file():
        raise FileNotFoundError(f"judge (--judge): {folder} holds no finished run (no {SUMMARY}); expected the folder "
                                "of a finished monge classify --data digits run")
    judge_settings(folder)
    return folder


class _Snapshots:
    """Samples of a fixed latent batch at a few steps of training, kept as ``snapshots/step-<k>.npy``."""

    def __init__(self, folder: Run, generator: torch.nn.Module, points: Points, seed: int):
        self.folder, self.points = folder.path / "snapshots", points
        self.folder.mkdir(exist_ok=True)
        size = SNAPSHOT_IMAGES if points.is_image else SNAPSHOT_POINTS
        weight = next(generator.parameters())
        self.codes = generator.noise(size, torch.Generator(weight.device).manual_seed(seed + 99))

    @torch.no_grad()
    def __call__(self, step: int, generator: torch.nn.Module) -> None:
        samples = generator(self.codes).flatten(1).float().cpu()
        samples = samples * self.points.scale if self.points.scale is not None else samples
        save_npy(self.folder / f"step-{step:06d}.npy", samples.numpy())

    def read(self) -> list[tuple[int, np.ndarray]]:
        return [(int(path.stem.split("-")[1]), np.load(path)) for path in sorted(self.folder.glob("step-*.npy"))]


def _train(folder: Run, config: Config, points: Points, networks: tuple, snapshots: _Snapshots, resume: bool,
           progress: bool | None) -> dict:
    """Train the generator (against its critic for the wgan losses) and save it; the trainer's summary."""
    generator, critic = networks
    data = points.train / points.scale if points.scale is not None else points.train
    options = dict(run=folder, resume=resume, progress=progress, every=config.every, on_snapshot=snapshots)
    if critic is None:
        trained = fit_generator(generator, data, config.training(), **options)
    else:
        trained = fit_wgan(generator, critic, data, config.training(), **options)
    save_torch(folder.path / "generator.pt", generator.state_dict())
    return trained


def _classifier(folder: Run, points: Points, judge: Path | None):
    """The judge of generated digits: ``judge``'s network, or one trained into ``<run>/classifier`` (or read back)."""
    if points.name != "digits":
        return None
    if judge is not None:
        return digits_classifier(judge)
    own = folder.path / "classifier"
    if own.exists() and not (own / SUMMARY).is_file():  # a judge killed while training: train it again
        shutil.rmtree(own)
    return digits_classifier(own)


def _assess(folder: Run, config: Config, points: Points, generator: torch.nn.Module, judge: Path | None,
            n_samples: int, snapshots: _Snapshots) -> dict:
    """Samples and their figures of merit, the interpolation path and the figures (of the summary)."""
    with folder.step("assess the generator"):
        classifier = _classifier(folder, points, judge)
        samples = generate(generator, points, n_samples)
        save_npy(folder.path / "samples.npy", samples.numpy())
        summary = {"data": points.name, "loss": config.loss, **assess(samples, points, classifier)}
        path = interpolation(generator, points, classifier, n_points=10 if points.is_image else 25)
    summary["interpolation_ends"] = path["ends"]
    summary["figures"] = figures(folder, config, points, samples, snapshots, path)
    return summary


def _report(folder: Run, s: dict) -> None:
    folder.echo(f"  w2_test {s['w2_test']:.4g} (floor {s['w2_floor']:.4g}, ratio {s['w2_ratio']:.3f})   "
                f"{s['seconds']:.1f} s training ({s.get('cpu_seconds', s['seconds']):.1f} s CPU)")
    if "modes_covered" in s:
        folder.echo(f"  modes covered {s['modes_covered']}/{s['n_modes']}   high-quality samples "
                    f"{100 * s['high_quality']:.1f}%")
    if "class_tv" in s:
        folder.echo(f"  classes {' '.join(f'{100 * h:.1f}' for h in s['class_histogram'])} (%)   total variation "
                    f"to uniform {s['class_tv']:.3f} (real digits {s['test_class_tv']:.3f})   mean confidence "
                    f"{s['class_confidence']:.3f}")
    folder.echo(f"  wrote {folder.path}/ (config.json, metrics.jsonl, summary.json, samples.npy, generator.pt, "
                f"checkpoints/last.pt, {', '.join(s['figures'])})")


def figures(folder: Run, config: Config, points: Points, samples: torch.Tensor, snapshots: _Snapshots,
            path: dict) -> list[str]:
    """Samples during training and at the end, the loss, and the interpolation path (Figure 2.3).

    Parameters
    ----------
    folder : Run, the run folder (its ``metrics.jsonl`` is read, the PNG files go to ``figures/``)
    config : Config, the resolved settings
    points : Points, the data
    samples : (n, prod(shape)) Tensor, samples of the final generator in data units
    snapshots : the samples of a fixed latent batch taken during training
    path : dict, the interpolation path (:func:`monge.training.assessment.interpolation`)

    Returns
    -------
    list of str
        The figures written, relative to the run folder.
    """
    name = f"{config.loss} loss on {points.name}"
    written = [folder.save_figure(loss_curve(read_metrics(folder.path), title=name), "loss.png")]
    taken = snapshots.read()
    if len(taken) > PANELS:  # evenly spread, the first and the last among them
        taken = [taken[round(k * (len(taken) - 1) / (PANELS - 1))] for k in range(PANELS)]
    if points.is_image:
        vmax = points.scale or 1.0
        written.append(folder.save_figure(sample_grid([(f"step {s}", x) for s, x in taken], vmax=vmax,
                                                      title=f"{name}: a fixed latent batch during training"),
                                          "samples_during_training.png"))
        rows = [("", samples[10 * r:10 * r + 10]) for r in range(10)]
        written.append(folder.save_figure(sample_grid(rows, vmax=vmax, title=f"{name}: 100 samples"), "samples.png"))
        written.append(folder.save_figure(
            interpolation_path(path["path"], labels=path.get("labels"), vmax=vmax,
                               title=f"g((1 - t) y0 + t y1): from a {path['ends'][0]} to a {path['ends'][1]}"),
            "interpolation.png"))
    elif points.dim >= 2:
        plane = [(s, x[:, :2]) for s, x in taken]
        test = points.test.flatten(1)[:1000, :2]
        centres = points.modes.centres if points.modes is not None and len(points.modes.centres) <= 50 else None
        written.append(folder.save_figure(samples_over_data(plane, test, centres=centres,
                                                            title=f"{name}: samples (red) over held-out data"),
                                          "samples_over_data.png"))
        written.append(folder.save_figure(samples_over_data([(config.steps, samples[:2000, :2])], test,
                                                            centres=centres, title=f"{name}: 2000 samples"),
                                          "samples.png"))
        written.append(folder.save_figure(interpolation_path(path["path"][:, :2], data=test,
                                                             title=f"{name}: a path between two modes"),
                                          "interpolation.png"))
    return [str(p.relative_to(folder.path)) for p in written]
