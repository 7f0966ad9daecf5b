r"""Chapter 1 of the tour: discriminative networks trained by back-propagation, and universal approximation.

Runs of ``monge classify``, two at a time: Figure 1.1's two-layer network trained on the text's
squared error :math:`E(w) = \sum (f_w(x) - y)^2` and the convolutional network of section 1.4 on
scikit-learn's digits; the same two architectures on MNIST-1D, where only the convolutional one
generalises (full tour); small two-layer networks on TensorFlow Playground's toys, whose decision
regions are drawn with the line of each neuron. Then ``monge approximate``: Cybenko's theorem, the
error of a two-layer ReLU network against its width. Sub-runs: ``classify-<data>-<model>/``,
``classify-<toy>-width<n>/``, ``approximate-sine/``; the tour's own figures
``figures/chapter1_accuracy.png`` and ``figures/chapter1_neurons.png``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from monge import runs
from monge.data import load
from monge.networks import TwoLayer
from monge.plots.classify import decision_regions
from monge.training.approximation import WIDTHS
from monge.runs import CHECKPOINT, CONFIG, Run, read_metrics

from .common import ChapterResult, Section, TourConfig, figure_path, Job, run_job, run_jobs

NUMBER = 1
TITLE = "Discriminative networks"
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD with momentum"}


@dataclass(frozen=True)
class Sizes:
    """The chapter's problem sizes (``None``: the subcommand's measured default)."""

    convnet_epochs: int | None  # the convnet on the digits
    mnist1d: bool  # the two architectures on MNIST-1D
    moons_width: int  # the small network whose neurons are drawn
    spiral_widths: tuple[int, ...]
    widths: tuple[int, ...]  # of the universal-approximation sweep
    steps: int | None
    starts: int | None


#: The full tour uses every default (the convnet's 30 epochs, widths 1 to 1024 with 300 Adam steps);
#: quick: 8 epochs of the convnet (98.2% to 99.6% test accuracy over seeds 0-3, measured), no MNIST-1D or spiral, widths to 256.
FULL = Sizes(convnet_epochs=None, mnist1d=True, moons_width=4, spiral_widths=(8, 64), widths=WIDTHS,
             steps=None, starts=None)
QUICK = Sizes(convnet_epochs=8, mnist1d=False, moons_width=4, spiral_widths=(), widths=WIDTHS[:9], steps=100,
              starts=2)


# Chapter 1's networks are small: on a shared 2-core CPU the approximation sweep took 35 s on two
# threads and 12 s on one (measured), and the classifiers already use one thread each.


def _jobs(sizes: Sizes) -> dict[str, Job]:
    """The classify experiments, longest first (two workers share them best that way)."""
    epochs = {} if sizes.convnet_epochs is None else {"epochs": sizes.convnet_epochs}
    jobs = {}
    if sizes.mnist1d:
        jobs["classify-mnist1d-convnet"] = Job("classify", {"data": "mnist1d", "model": "convnet"})
    jobs["classify-digits-convnet"] = Job("classify", {"data": "digits", "model": "convnet", **epochs})
    if sizes.mnist1d:
        jobs["classify-mnist1d-two-layer"] = Job("classify", {"data": "mnist1d", "model": "two-layer"})
    for width in sizes.spiral_widths:
        jobs[f"classify-spiral-width{width}"] = Job("classify", {"data": "spiral", "model": "two-layer",
                                                                  "width": width})
    jobs[f"classify-moons-width{sizes.moons_width}"] = Job("classify", {"data": "moons", "model": "two-layer",
                                                                         "width": sizes.moons_width})
    jobs["classify-digits-two-layer"] = Job("classify", {"data": "digits", "model": "two-layer", "loss": "squared"})
    return jobs


def _records(folder: Path) -> list[dict]:
    """The per-epoch lines of a run's ``metrics.jsonl``."""
    return [record for record in read_metrics(folder) if "test_accuracy" in record]


def _settings(folder: Path) -> dict:
    return json.loads((folder / CONFIG).read_text(encoding="utf-8"))


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def _errors(s: dict) -> int:
    return s["n_test"] - round(s["test_accuracy"] * s["n_test"])


def _row(name: str, s: dict) -> dict:
    return {"data": s["data"], "network": name, "loss": s["loss"], "weights": s["n_parameters"],
            "epochs": s["epochs"], "train accuracy (%)": 100 * s["train_accuracy"],
            "test accuracy (%)": 100 * s["test_accuracy"], "training s": s["seconds"]}


def _accuracy_figure(curves: dict[str, dict[str, list[dict]]]) -> Figure:
    """Train (dashed) and test (solid) accuracy per epoch, one panel per data set, one colour per network."""
    fig = Figure(figsize=(5.5 * len(curves), 4.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(curves)))
    for ax, (data, networks) in zip(axes, curves.items()):
        low = 100.0
        for k, (name, records) in enumerate(networks.items()):
            epoch = [r["epoch"] + 1 for r in records]
            ax.plot(epoch, [100 * r["test_accuracy"] for r in records], color=f"C{k}",
                    label=f"{name}: test {100 * records[-1]['test_accuracy']:.1f}%")
            ax.plot(epoch, [100 * r["train_accuracy"] for r in records], color=f"C{k}", ls="--", alpha=0.7,
                    label=f"{name}: train {100 * records[-1]['train_accuracy']:.1f}%")
            low = min(low, *(100 * r[f"{split}_accuracy"] for r in records[len(records) // 4:]
                             for split in ("train", "test")))
        ax.set(xlabel="epoch", ylabel="accuracy (%)", title=data, ylim=(max(0.0, low - 3), 100.5))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("Train (dashed) and test (solid) accuracy per epoch")
    return fig


def _neurons_figure(folder: Path, s: dict) -> tuple[Figure, int]:
    """The decision regions of a two-layer run on a toy, with each hidden neuron's line ``w_i . x + b_i = 0``.

    Also returns how many of those lines cross the drawn square (a neuron whose line misses it is
    linear, or zero, on the whole picture).
    """
    settings = _settings(folder)
    data = load(settings["data"], seed=settings["data_seed"], n_samples=settings["n_samples"],
                noise=settings["noise"])
    model = TwoLayer(2, settings["width"], data.n_classes)
    state = torch.load(folder / CHECKPOINT, weights_only=True)["modules"]["model"]
    model.load_state_dict(state)
    model.eval()
    fig = decision_regions(lambda raw: model(data.standardise(raw)), data.raw(data.x_train), data.y_train,
                           data.raw(data.x_test), data.y_test, n_classes=data.n_classes,
                           title=f"{settings['width']} neurons on {data.name}: test accuracy "
                                 f"{100 * s['test_accuracy']:.1f}%; dashed: each neuron's line")
    ax = fig.axes[0]
    u, v = np.linspace(*ax.get_xlim(), 300), np.linspace(*ax.get_ylim(), 300)
    grid = torch.as_tensor(np.stack(np.meshgrid(u, v), -1).reshape(-1, 2), dtype=torch.float32)
    with torch.no_grad():
        before = model.hidden(data.standardise(grid)).numpy()  # w_i . x + b_i: neuron i is active where > 0
    crossing = 0
    for i in range(settings["width"]):
        values = before[:, i].reshape(len(v), len(u))
        if values.min() < 0 < values.max():
            crossing += 1
            ax.contour(u, v, values, levels=[0.0], colors="black", linestyles="--", linewidths=1.0)
    return fig, crossing


def _train(run: Run, config: TourConfig, sizes: Sizes) -> tuple[dict[str, Path], dict[str, dict]]:
    """Run the ``monge classify`` jobs, two at a time; each run's folder and summary by name (no ``classify-``)."""
    jobs = _jobs(sizes)
    done = run_jobs(run, jobs, config.seed, f"chapter 1: train {len(jobs)} networks by back-propagation")
    folder = {name.removeprefix("classify-"): path for name, (path, _) in done.items()}
    return folder, {name.removeprefix("classify-"): summary for name, (_, summary) in done.items()}


def _digits(run: Run, sizes: Sizes, folder: dict, s: dict) -> tuple[list[Section], dict]:
    """Figure 1.1's network on the squared error and the convolutional network, on the digits."""
    two, conv = s["digits-two-layer"], s["digits-convnet"]
    settings = _settings(folder["digits-two-layer"])
    figure_1_1 = Section(
        "Figure 1.1: a two-layer network trained on the squared error",
        ["The text's network computes u = max(W1 x + b1, 0), one neuron per hidden value (Figure 1.2: a weighted "
         "sum of the inputs plus a bias, thresholded at 0), then the scores y = W2 u + b2; training chooses the "
         "weights w that minimise E(w) = sum (f_w(x) - y)^2, by back-propagation. Here x is one of scikit-learn's "
         f"8x8 handwritten digits (64 pixels, grey levels 0 to 16), u has {settings['width']} neurons and y holds "
         f"10 scores compared with the one-hot label: {two['n_parameters']} weights, trained by "
         f"{OPTIMIZERS[settings['optimizer']]} on mini-batches of {settings['batch']} for {two['epochs']} epochs "
         f"in {two['seconds']:.1f} s.",
         f"Measured: {_percent(two['test_accuracy'])} of the {two['n_test']} held-out test digits are recognised "
         f"({_errors(two)} errors), {_percent(two['train_accuracy'])} of the {two['n_train']} training digits. "
         "The curves show E(w)/n falling on both splits, and the gap between them: as section 1.4 says, the goal "
         "is not to minimise E(w) but to predict new data well."],
        [(figure_path(folder["digits-two-layer"], run, "learning_curves.png"),
          "Two-layer network, squared error: loss E(w)/n and accuracy per epoch, training (blue) and test (red)."),
         (figure_path(folder["digits-two-layer"], run, "confusion_matrix.png"),
          "Two-layer network: which digit each test digit was taken for.")],
    )
    quick_note = " (30 in the full tour)" if sizes.convnet_epochs is not None else ""
    convnet = Section(
        "Section 1.4: a convolutional network",
        ["On images the text connects a neuron to its neighbours only, and imposes that all positions share the "
         f"same weights: a convolutional network. Network: {conv['network']}; {conv['n_parameters']} weights, "
         f"trained on the cross-entropy of the softmax scores for {conv['epochs']} epochs{quick_note} in "
         f"{conv['seconds']:.1f} s, with random shifts of one pixel and dropout.",
         f"Measured: test accuracy {_percent(conv['test_accuracy'])} ({_errors(conv)} errors of {conv['n_test']}) "
         f"against {_percent(two['test_accuracy'])} ({_errors(two)} errors) for the two-layer network; train "
         f"accuracy {_percent(conv['train_accuracy'])}."],
        [(figure_path(folder["digits-convnet"], run, "learning_curves.png"),
          "Convolutional network: loss and accuracy per epoch, training (blue) and test (red)."),
         (figure_path(folder["digits-convnet"], run, "confusion_matrix.png"),
          "Convolutional network: the confusion matrix of the test digits.")],
    )
    results = {"digits_two_layer_accuracy": two["test_accuracy"],
               "digits_two_layer_train_accuracy": two["train_accuracy"],
               "digits_two_layer_parameters": two["n_parameters"], "digits_two_layer_seconds": two["seconds"],
               "digits_convnet_accuracy": conv["test_accuracy"], "digits_convnet_parameters": conv["n_parameters"],
               "digits_convnet_seconds": conv["seconds"]}
    return [figure_1_1, convnet], results


def _architectures(run: Run, sizes: Sizes, folder: dict, s: dict) -> tuple[Section, dict]:
    """Two-layer against convolutional networks, on the digits and (full tour) on MNIST-1D."""
    two, conv = s["digits-two-layer"], s["digits-convnet"]
    results = {}
    with run.step("chapter 1: compare the architectures") as record:
        curves = {"digits (8x8 images)": {"two-layer, squared": _records(folder["digits-two-layer"]),
                                          "convnet": _records(folder["digits-convnet"])}}
        table = [_row("two-layer (Figure 1.1)", two), _row("convnet", conv)]
        if sizes.mnist1d:
            m_two, m_conv = s["mnist1d-two-layer"], s["mnist1d-convnet"]
            curves["MNIST-1D (signals of 40 values)"] = {"two-layer": _records(folder["mnist1d-two-layer"]),
                                                         "convnet": _records(folder["mnist1d-convnet"])}
            table += [_row("two-layer", m_two), _row("convnet", m_conv)]
            results = {"mnist1d_two_layer_accuracy": m_two["test_accuracy"],
                       "mnist1d_two_layer_train_accuracy": m_two["train_accuracy"],
                       "mnist1d_convnet_accuracy": m_conv["test_accuracy"],
                       "mnist1d_convnet_parameters": m_conv["n_parameters"]}
        run.save_figure(_accuracy_figure(curves), "chapter1_accuracy.png")
        record["networks"] = table
    paragraphs = [
        "Cybenko's theorem (below) says that two layers suffice, given enough neurons and unlimited data; with a "
        "limited training set the text looks instead for architectures that capture the structure of the data. "
        f"On the digits both do well: {_percent(two['test_accuracy'])} for the two-layer network with "
        f"{two['n_parameters']} weights, {_percent(conv['test_accuracy'])} for the convolutional one with "
        f"{conv['n_parameters']} (the digits are small, centred and clean)."]
    if sizes.mnist1d:
        paragraphs.append(
            "MNIST-1D (Greydanus, 2020) is made to tell architectures apart: ten digit-like templates of 12 points, "
            f"padded, shifted, scaled, sheared, noised and resampled to signals of 40 values, {m_two['n_train']} "
            f"for training and {m_two['n_test']} for testing. The two-layer network ({m_two['n_parameters']} "
            f"weights) reaches {_percent(m_two['test_accuracy'])} on the test signals "
            f"({_percent(m_two['train_accuracy'])} on the training ones); the convolutional network, whose neurons "
            f"see neighbours only and share their weights, reaches {_percent(m_conv['test_accuracy'])} with "
            f"{m_conv['n_parameters']} weights: {_errors(m_two)} errors against {_errors(m_conv)}, the efficiency "
            "on structured data that, the text says, no mathematical analysis yet explains.")
    section = Section("Two layers or a convolutional network", paragraphs,
                      [("figures/chapter1_accuracy.png", "Train (dashed) and test (solid) accuracy per epoch of "
                        "each network.")], table)
    return section, results


def _toys(run: Run, sizes: Sizes, folder: dict, s: dict) -> tuple[Section, dict]:
    """Decision regions of the small networks on TensorFlow Playground's toys."""
    moons = s[f"moons-width{sizes.moons_width}"]
    with run.step(f"chapter 1: the {sizes.moons_width} neurons of a network on the moons") as record:
        fig, crossing = _neurons_figure(folder[f"moons-width{sizes.moons_width}"], moons)
        run.save_figure(fig, "chapter1_neurons.png")
        record.update(accuracy=moons["test_accuracy"], lines_in_view=crossing)
    settings = _settings(folder[f"moons-width{sizes.moons_width}"])
    paragraphs = [
        "A hidden neuron max(w.x + b, 0) is zero on one side of the line w.x + b = 0 and grows linearly on the "
        "other, so the scores of a two-layer network are piecewise linear in the plane, and its decision boundary "
        "is a polygonal line that bends only where it meets a neuron's line. On the moons of TensorFlow "
        f"Playground (the text's link; {settings['n_samples']} points, noise {settings['noise']:g}), "
        f"{sizes.moons_width} neurons ({moons['n_parameters']} weights) recognise "
        f"{_percent(moons['test_accuracy'])} of the test points; {crossing} of their {sizes.moons_width} lines "
        f"cross the picture."]
    figures = [("figures/chapter1_neurons.png", f"Moons, {sizes.moons_width} neurons: the probability of the blue "
                "class, the decision boundary (solid) and the neurons' lines (dashed).")]
    results = {"moons_width": sizes.moons_width, "moons_accuracy": moons["test_accuracy"]}
    if sizes.spiral_widths:
        spirals = [(w, s[f"spiral-width{w}"]) for w in sizes.spiral_widths]
        paragraphs.append(
            "The two interleaved spirals need a boundary with many more corners. Test accuracy: "
            + ", ".join(f"{_percent(sw['test_accuracy'])} with {w} neurons" for w, sw in spirals)
            + ". With few neurons training finds no boundary that follows the arms; with many, the pieces are "
            "small enough to wind along them, as Cybenko's theorem (below) lets one expect.")
        figures += [(figure_path(folder[f"spiral-width{w}"], run, "decision_regions.png"),
                     f"Spiral, {w} neurons: decision regions.") for w, _ in spirals]
        results.update({f"spiral_accuracy_width{w}": sw["test_accuracy"] for w, sw in spirals})
    return Section("Decision regions of small networks", paragraphs, figures), results


def _approximation(run: Run, config: TourConfig, sizes: Sizes) -> tuple[Section, dict]:
    """Cybenko's theorem: the error of two-layer ReLU networks against their width."""
    widths = sizes.widths
    settings = {"target": "sine", "widths": tuple(widths)}
    settings.update({} if sizes.steps is None else {"steps": sizes.steps})
    settings.update({} if sizes.starts is None else {"starts": sizes.starts})
    with run.step(f"chapter 1: universal approximation, widths {widths[0]} to {widths[-1]}") as record:
        folder, s = run_job(run, "approximate-sine", Job("approximate", settings), config.seed)
        record.update(sup_slope=s["sup_slope"], l2_slope=s["l2_slope"], sup_error=s["sup_error"][-1])
    low, high = s["slope_widths"][0], s["slope_widths"][-1]
    section = Section(
        "Universal approximation (Cybenko, 1989)",
        ["Cybenko proved that a two-layer network approximates any continuous f* on a compact set as precisely as "
         f"one wants, if its hidden layer is large enough. Here f*(x) = {s['formula']}, fitted by least squares on "
         f"{s['n_train']} points by networks of {widths[0]} to {widths[-1]} neurons; the errors are measured on "
         f"{s['n_eval']} other points. The largest error falls from {s['sup_error'][0]:.3g} with {widths[0]} "
         f"neuron to {s['sup_error'][-1]:.2g} with {widths[-1]}, the root-mean-square error from "
         f"{s['l2_error'][0]:.3g} to {s['l2_error'][-1]:.2g} ({s['seconds']:.1f} s for the sweep).",
         "On the line a network of n ReLU neurons is piecewise linear with n breakpoints, so for a smooth f* the "
         "error should fall like n^-2 (linear interpolation on pieces of length about 1/n). The slopes of log error "
         f"against log width over widths {low} to {high}: {s['sup_slope']:.2f} for the largest error, "
         f"{s['l2_slope']:.2f} for the root mean square. The theorem asks for unlimited data, which f* gives here "
         "(any point of the interval can be sampled); real training sets are finite, and the gap between the "
         "training and the test accuracy above is the price."],
        [(figure_path(folder, run, "errors.png"), "Largest and root-mean-square error against width, log-log, "
          "with the reference slope -2."),
         (figure_path(folder, run, "fits.png"), "The target and four of the fitted networks (top); their errors "
          "along the interval (bottom).")],
    )
    results = {"approximation_max_width": widths[-1], "approximation_sup_error": s["sup_error"][-1],
               "approximation_l2_error": s["l2_error"][-1], "approximation_slope_sup": s["sup_slope"],
               "approximation_slope_l2": s["l2_slope"]}
    return section, results


def chapter(run: Run, config: TourConfig) -> ChapterResult:
    """Chapter 1: Figure 1.1's network and a convnet on real data, small networks on toys, universal approximation."""
    sizes = QUICK if config.quick else FULL
    with runs.threads(1):
        folder, s = _train(run, config, sizes)
        digits, digits_results = _digits(run, sizes, folder, s)
        architectures, architectures_results = _architectures(run, sizes, folder, s)
        toys, toys_results = _toys(run, sizes, folder, s)
        approximation, approximation_results = _approximation(run, config, sizes)
    results = {**digits_results, **architectures_results, **toys_results, **approximation_results}
    return ChapterResult([*digits, architectures, toys, approximation], {k: _plain(v) for k, v in results.items()})


def _plain(value):
    """A plain Python number (``summary.json`` and the report's table)."""
    return int(value) if isinstance(value, (int, np.integer)) else float(value)
