r"""``monge generate``: train a generative network of chapter 2 and write its run folder.

``monge generate --data gaussians8 --loss exact`` trains :math:`x = g_w(y)` by the text's
:math:`\min_w \mathrm{Distance}(\{g_w(y_i)\}, \{z_i\})` with Monge's exact matching of each
minibatch; ``--loss sinkhorn`` with the Sinkhorn divergence (``--rho R``: unbalanced, points may
be left partly unmatched), ``--loss sliced`` with sliced transport, ``--loss wgan|wgan-gp`` with a
critic that learns the cost (section 2.5). Every setting has a measured default per data set and
loss (:mod:`monge.training.generative_recipes`); ``--resume DIR`` continues a killed run from its
last checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import torch

from monge.data import POINT_SETS, Points, from_array, load_points
from monge.data.files import load_points as read_points
from monge.plots.generative import interpolation_path, loss_curve, sample_grid, samples_over_data
from monge.training import assessment
from monge.training.assessment import (assess, digits_classifier, generate, interpolation, judge_settings,
                                      read_metrics)
from monge.training.generative import fit_generator
from monge.training.generative_recipes import (ADVERSARIAL, LOSSES, NETWORKS, GenerateConfig, build_generator,
                                               check, resolve)
from monge.runs import CONFIG, Run, save_npy, save_torch, seed_everything


COMMAND = "generate"
# The settings a user may pass; each one's flag is --<name with dashes>.
FLAGS = ("data", "loss", "network", "latent", "widths", "batch", "steps", "lr", "p", "eps", "rho", "seed",
         "data_seed")
# Settings newer than some run folders, and what a config.json without them meant (rho: balanced).
ADDED = {"rho": None}
SNAPSHOT_POINTS, SNAPSHOT_IMAGES = 1000, 12
PANELS = 9  # snapshots shown in a figure


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(w) for w in text.split(","))
    except ValueError:
        raise ValueError(f"--widths: {text!r}; expected comma-separated integers, e.g. 256,256,256") from None


def register(subparsers) -> None:
    """Add the ``generate`` subcommand."""
    parser = subparsers.add_parser(
        COMMAND, help="train a generative network of chapter 2 by optimal transport (or adversarially) on toys, "
                      "digits or a file",
        description="Train a generator x = g_w(y) from random y so that its samples match the data: min_w "
                    "Distance({g_w(y_i)}, {z_i}) with Monge's exact matching of each minibatch (exact), the Sinkhorn "
                    "divergence (sinkhorn), sliced transport (sliced), or a critic that learns the cost (wgan: weight "
                    "clipping, wgan-gp: gradient penalty). Every option left out takes the default measured for the "
                    "data set and loss. The run folder gets config.json, metrics.jsonl, summary.json (w2_test against "
                    "w2_floor; modes_covered and high_quality for the toys; the class histogram of the samples for "
                    "digits), samples.npy, generator.pt (a state dict: torch.load(..., weights_only=True)), "
                    "checkpoints/last.pt and figures/.",
        epilog="A data FILE is .npy (an (n, d) array) or .csv (one point per line, an optional header) of points; it "
               "is split 75/25 at random (seeded by --data-seed) into training and held-out points.")
    data = parser.add_argument_group("data")
    data.add_argument("--data", metavar="NAME|FILE", default=None,
                      help=f"{' | '.join(POINT_SETS)} | a .npy/.csv file of points (n, d) (default gaussians8)")
    data.add_argument("--data-seed", type=int, default=None, metavar="N",
                      help="seed of the data: the toys' points, the split of digits and files (default 0)")
    net = parser.add_argument_group("generator and training (defaults per data set and loss)")
    net.add_argument("--loss", choices=LOSSES, default=None,
                     help="exact: Monge's matching of each minibatch (the text's Distance, default); sinkhorn: "
                          "Sinkhorn divergence; sliced; wgan / wgan-gp: adversarial, a critic plays the cost")
    net.add_argument("--network", choices=NETWORKS, default=None,
                     help="mlp (default) or conv (upsampling convolutions, for images)")
    net.add_argument("--latent", type=int, default=None, help="dimension of the random input y")
    net.add_argument("--widths", default=None, metavar="W1,W2,...",
                     help="hidden widths (mlp) or channels (conv) of the generator")
    net.add_argument("--batch", type=int, default=None, help="samples per minibatch, generated and real")
    net.add_argument("--steps", type=int, default=None, help="optimizer steps (generator steps for wgan)")
    net.add_argument("--lr", type=float, default=None, help="(initial) learning rate")
    net.add_argument("--p", type=float, default=None,
                     help="transport losses: the cost |x - z|^p (default 1, the text's Monge cost)")
    net.add_argument("--eps", type=float, default=None,
                     help="sinkhorn: temperature in units of the cost (default 1e-2 diameter^p)")
    net.add_argument("--rho", type=float, default=None, metavar="R",
                     help="sinkhorn: unbalanced minibatch transport, the strength of the marginal penalties "
                          "R KL in units of the cost (default: balanced, every point matched)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="run folder (default: runs/generate-<YYYYmmdd-HHMMSS>); must be new or empty (a "
                             "previous run is continued with --resume DIR, never overwritten)")
    parser.add_argument("--resume", metavar="DIR", default=None,
                        help="continue the run in DIR from its last checkpoint, with its settings")
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="seed of the weights, minibatches and latent codes (default 0)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="CPU threads of torch (default 1: the fastest for these small networks on a shared CPU)")
    parser.add_argument("--judge", metavar="DIR", default=None,
                        help="digits: a finished `monge classify --data digits` run (convnet) whose network judges "
                             "the generated digits (default: train one into <out>/classifier, about 20 s)")
    parser.set_defaults(func=run)


def _given(args) -> dict:
    given = {name: getattr(args, name) for name in FLAGS if getattr(args, name, None) is not None}
    if "widths" in given:
        given["widths"] = _widths(given["widths"])
    return given


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _stored_config(folder: Path) -> GenerateConfig:
    """The resolved settings of the run to resume, from ``folder/config.json``."""
    path = folder / CONFIG
    if not folder.is_dir():
        raise FileNotFoundError(f"--resume: {folder} is not a folder; expected the run folder of a monge generate run")
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"--resume: {folder} has no {CONFIG}; expected the run folder of a monge generate "
                                "run") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"--resume: {path} is not readable JSON ({error}); expected the settings of a monge "
                         "generate run") from None
    if not isinstance(stored, dict) or stored.get("command") != COMMAND:
        found = stored.get("command") if isinstance(stored, dict) else type(stored).__name__
        raise ValueError(f"--resume: {folder} holds a run of {found!r}; expected a monge generate run")
    names = {f.name for f in dataclasses.fields(GenerateConfig)}
    stored = {**ADDED, **stored}
    missing = sorted(names - set(stored))
    if missing:
        raise ValueError(f"--resume: {path} lacks the settings {', '.join(missing)}; expected a complete monge "
                         "generate config")
    config = GenerateConfig(**{k: stored[k] for k in names})
    config.widths = tuple(config.widths) if config.widths is not None else None
    return config


def _config(args) -> tuple[GenerateConfig, Path | None, bool]:
    """The settings (new or resumed), the run folder and whether to resume."""
    given = _given(args)
    if args.resume is None:
        out = None if args.out is None else Path(args.out)
        if out is not None and out.is_dir() and any(out.iterdir()):
            shown = ", ".join(sorted(p.name for p in out.iterdir())[:5])
            raise FileExistsError(f"--out: {out} is not empty ({shown}); expected a new or empty folder (to continue "
                                  f"a run there, pass --resume {out})")
        return GenerateConfig(**given), out, False
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


def _points(config: GenerateConfig) -> Points:
    if config.data in POINT_SETS:
        return load_points(config.data, seed=config.data_seed)
    if Path(config.data).suffix.lower() in (".npy", ".csv"):
        return from_array(Path(config.data).name, read_points(config.data, "--data"), seed=config.data_seed)
    raise ValueError(f"--data: {config.data!r} is not a data set; expected one of {', '.join(POINT_SETS)}, or a "
                     ".npy or .csv file of points")


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

    def read(self) -> list[tuple[int, object]]:
        import numpy as np

        return [(int(path.stem.split("-")[1]), np.load(path)) for path in sorted(self.folder.glob("step-*.npy"))]


def _train_transport(config, points, generator, folder, resume, snapshots) -> dict:
    data = points.train / points.scale if points.scale is not None else points.train
    return fit_generator(generator, data, run=folder, loss=config.loss, p=config.p, eps=config.eps, rho=config.rho,
                         steps=config.steps, batch=config.batch, lr=config.lr, schedule=config.schedule,
                         checkpoint_every=config.checkpoint_every, seed=config.seed, resume=resume,
                         every=config.every, on_snapshot=snapshots)


def _adversarial(config: GenerateConfig, points: Points):
    """The generator and critic of a wgan config, and the keyword arguments of ``fit_wgan``."""
    try:
        from monge.training.adversarial import WGANConfig, fit_wgan
        from monge.training.adversarial_recipes import WGANRecipe
    except ImportError as error:
        raise ValueError(f"--loss {config.loss}: adversarial training is not available in this installation "
                         f"({error})") from None
    settings = {k: v for k, v in config.wgan.items() if k not in ("critic", "output", "checkpoint_every", "seed")}
    training = WGANConfig(steps=config.steps, batch=config.batch, lr=config.lr, seed=config.seed,
                          checkpoint_every=config.checkpoint_every, **settings)
    recipe = WGANRecipe(network=config.network, latent=config.latent, generator=tuple(config.widths),
                        critic=tuple(config.wgan["critic"]), output=config.wgan["output"], training=training)
    generator, critic = recipe.networks(points.shape)
    return generator, critic, fit_wgan, dataclasses.asdict(training)


def _judge(args, points: Points) -> Path | None:
    """The folder of ``--judge``, checked: a finished classify run, and digits to judge."""
    if args.judge is None:
        return None
    if points.name != "digits":
        raise ValueError(f"--judge: given for data {points.name!r}; only generated digits are judged by a classifier")
    folder = Path(args.judge)
    if not (folder / "summary.json").is_file():
        raise FileNotFoundError(f"--judge: {folder} holds no finished run (no summary.json); expected the folder of a "
                                "finished monge classify --data digits run")
    try:
        judge_settings(folder)
    except ValueError as error:
        raise ValueError(f"--{error}") from None
    return folder


def run(args) -> int:
    """Run ``monge generate`` from parsed arguments."""
    config, out, resume = _config(args)
    check(config)  # every setting named by its own flag before the data are read
    points = _points(config)
    config = resolve(config, points)
    if isinstance(args.threads, bool) or not isinstance(args.threads, int) or args.threads < 1:
        raise ValueError(f"--threads: {args.threads!r}; expected a positive integer")
    judge = _judge(args, points)
    restart = resume and not (out / "checkpoints" / "last.pt").exists()
    resume = resume and not restart  # a run killed before its first checkpoint starts again
    torch.set_num_threads(args.threads)
    seed_everything(config.seed)
    if config.loss in ADVERSARIAL:
        generator, critic, fit_wgan, training = _adversarial(config, points)
    else:
        generator = build_generator(config, points)
    folder = Run.create(COMMAND, config, out, resume=resume, quiet=args.quiet)
    if restart:
        folder.echo(f"{out} has no checkpoint yet: starting the run again from step 0")
    folder.echo(f"training a {config.network} generator (latent {config.latent}, widths {list(config.widths)}) on "
                f"{points!r} with the {config.loss} loss, {config.steps} steps of {config.batch}"
                f"{' (resumed)' if resume else ''}")
    snapshots = _Snapshots(folder, generator, points, config.seed)
    if not resume:
        snapshots(0, generator)
    start = time.perf_counter()
    if config.loss in ADVERSARIAL:
        data = points.train / points.scale if points.scale is not None else points.train
        trained = fit_wgan(generator, critic, data, run=folder, resume=resume, every=config.every,
                           on_snapshot=snapshots, **training)
    else:
        trained = _train_transport(config, points, generator, folder, resume, snapshots)
    save_torch(folder.path / "generator.pt", generator.state_dict())
    with folder.step("assess the generator"):
        classifier = digits_classifier(judge or folder.path / "classifier") if points.name == "digits" else None
        samples = generate(generator, points, assessment.N_SAMPLES)
        save_npy(folder.path / "samples.npy", samples.numpy())
        summary = {**trained, "data": points.name, "loss": config.loss, **assess(samples, points, classifier)}
        path = interpolation(generator, points, classifier, n_points=10 if points.is_image else 25)
    summary["interpolation_ends"] = path["ends"]
    summary["figures"] = figures(folder, config, points, samples, snapshots, path)
    summary["wall_seconds"] = time.perf_counter() - start
    summary["threads"] = args.threads
    if judge is not None:
        summary["judge"] = str(judge.resolve())
    summary["data_description"] = points.description
    folder.write_summary(summary)
    _report(folder, summary)
    return 0


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


def figures(folder: Run, config: GenerateConfig, points: Points, samples, snapshots: _Snapshots,
            path: dict) -> list[str]:
    """Samples during training and at the end, the loss, and the interpolation path (Figure 2.3)."""
    name = f"{config.loss} loss on {points.name}"
    written = [folder.save_figure(loss_curve(read_metrics(folder.path), title=name), "loss.png")]
    taken = snapshots.read()
    if len(taken) > PANELS:  # evenly spread, the first and the last among them
        taken = [taken[round(k * (len(taken) - 1) / (PANELS - 1))] for k in range(PANELS)]
    if points.is_image:
        written.append(folder.save_figure(sample_grid([(f"step {s}", x) for s, x in taken], vmax=points.scale or 1.0,
                                                      title=f"{name}: a fixed latent batch during training"),
                                          "samples_during_training.png"))
        rows = [("", samples[10 * r:10 * r + 10]) for r in range(10)]
        written.append(folder.save_figure(sample_grid(rows, vmax=points.scale or 1.0, title=f"{name}: 100 samples"),
                                          "samples.png"))
        written.append(folder.save_figure(
            interpolation_path(path["path"], labels=path.get("labels"), vmax=points.scale or 1.0,
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
