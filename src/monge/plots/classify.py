r"""Figures of chapter 1: learning curves (generalisation), confusion matrices, decision regions.

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot (nothing touches
matplotlib's global state): save it with :meth:`monge.training.Run.save_figure`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from matplotlib.colors import LinearSegmentedColormap, ListedColormap
from matplotlib.figure import Figure

from monge.errors import InputError

TRAIN, TEST = "#1f77b4", "#d62728"
# TensorFlow Playground's two colours: orange for the first class, blue for the second.
PLAYGROUND = LinearSegmentedColormap.from_list("playground", ["#f59322", "#e8eaeb", "#0877bd"])
PLAYGROUND_POINTS = ListedColormap(["#f59322", "#0877bd"])


def learning_curves(metrics: Sequence[dict], title: str = "") -> Figure:
    """Loss and accuracy per epoch on the training and the test split: the gap between them is generalisation.

    Parameters
    ----------
    metrics : sequence of dict
        One record per epoch with ``epoch``, ``train_loss``, ``test_loss``, ``train_accuracy``,
        ``test_accuracy`` (the lines of ``metrics.jsonl``; other records are skipped).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    keys = ("epoch", "train_loss", "test_loss", "train_accuracy", "test_accuracy")
    records = [m for m in metrics if all(isinstance(m.get(k), (int, float)) for k in keys)]
    if not records:
        raise InputError(f"metrics: no record with {', '.join(keys)}; expected one per epoch")
    epoch = np.array([m["epoch"] for m in records]) + 1
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    for split, color in (("train", TRAIN), ("test", TEST)):
        loss_ax.plot(epoch, [m[f"{split}_loss"] for m in records], color=color, label=split)
        acc_ax.plot(epoch, [100 * m[f"{split}_accuracy"] for m in records], color=color, label=split)
    loss_ax.set_yscale("log")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="loss")
    last = records[-1]
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)",
               title=f"accuracy: train {100 * last['train_accuracy']:.2f}%, test {100 * last['test_accuracy']:.2f}%")
    low = min(100 * m[f"{s}_accuracy"] for m in records[len(records) // 3:] for s in ("train", "test"))
    acc_ax.set_ylim(max(0.0, low - 2), 100.5)
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def confusion_figure(matrix, class_names: Sequence[str] | None = None, title: str = "") -> Figure:
    """The confusion matrix: row j, column k counts the samples of class j predicted as class k.

    Parameters
    ----------
    matrix : (K, K) array-like of counts (:func:`monge.metrics.confusion_matrix`)
    class_names : K names, optional
    title : str, optional
    """
    counts = np.asarray(matrix.cpu() if isinstance(matrix, torch.Tensor) else matrix)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise InputError(f"matrix: shape {counts.shape}; expected a square (K, K) matrix")
    k = len(counts)
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    size = min(9.0, 2.5 + 0.45 * k)
    fig = Figure(figsize=(size + 1, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8, label="samples")
    if k <= 30:
        threshold = counts.max() / 2 if counts.max() else 1
        for (j, i), value in np.ndenumerate(counts):
            if value:
                ax.text(i, j, str(int(value)), ha="center", va="center", fontsize=9,
                        color="white" if value > threshold else ("#d62728" if i != j else "black"))
        ax.set_xticks(range(k), names)
        ax.set_yticks(range(k), names)
    correct = int(np.trace(counts))
    ax.set(xlabel="predicted class", ylabel="true class",
           title=(title + "\n" if title else "") + f"{correct} of {int(counts.sum())} correct, "
                                                   f"{int(counts.sum()) - correct} errors")
    return fig


def decision_regions(predict: Callable[[torch.Tensor], torch.Tensor], x_train, y_train, x_test, y_test, *,
                     n_classes: int, resolution: int = 200, title: str = "") -> Figure:
    """Decision regions of a classifier of the plane with the data, like TensorFlow Playground.

    Two classes: the background shows the probability of the second class (softmax of the two
    scores), orange to blue, with the decision boundary drawn where the scores are equal; more
    classes: the region of each predicted class. Training points are filled with a white edge,
    test points with a black edge.

    Parameters
    ----------
    predict : callable
        Maps points ``(m, 2)`` (in the units of ``x_*``) to scores ``(m, K)``.
    x_train, x_test : (n, 2) array-like of points; y_train, y_test : (n,) labels
    n_classes : int
    resolution : int, grid points per axis
    title : str, optional
    """
    points = [np.asarray(v.cpu() if isinstance(v, torch.Tensor) else v, dtype=float) for v in (x_train, x_test)]
    labels = [np.asarray(v.cpu() if isinstance(v, torch.Tensor) else v) for v in (y_train, y_test)]
    for p in points:
        if p.ndim != 2 or p.shape[1] != 2:
            raise InputError(f"x_train, x_test: shape {p.shape}; expected points of the plane (n, 2)")
    both = np.concatenate(points)
    low, high = both.min(0), both.max(0)
    pad = 0.08 * np.maximum(high - low, 1e-9)
    u = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    v = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    grid = np.stack(np.meshgrid(u, v), -1).reshape(-1, 2)
    with torch.no_grad():
        scores = predict(torch.as_tensor(grid, dtype=torch.float32)).float()
    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.subplots()
    extent = (u[0], u[-1], v[0], v[-1])
    if n_classes == 2:
        p = torch.softmax(scores, 1)[:, 1].reshape(resolution, resolution).numpy()
        image = ax.imshow(p, origin="lower", extent=extent, cmap=PLAYGROUND, vmin=0, vmax=1, aspect="auto", alpha=0.85)
        fig.colorbar(image, ax=ax, shrink=0.8, label="probability of class 1 (softmax of the scores)")
        ax.contour(u, v, p, levels=[0.5], colors="#333333", linewidths=1.2)
        colors = PLAYGROUND_POINTS
    else:
        colors = ListedColormap([f"C{k % 10}" for k in range(n_classes)])
        regions = scores.argmax(1).reshape(resolution, resolution).numpy()
        ax.imshow(regions, origin="lower", extent=extent, cmap=colors, vmin=-0.5, vmax=n_classes - 0.5,
                  aspect="auto", alpha=0.35, interpolation="nearest")
    for (p, y), edge, name in zip(zip(points, labels), ("white", "black"), ("train", "test")):
        ax.scatter(p[:, 0], p[:, 1], c=y, cmap=colors, vmin=-0.5 if n_classes > 2 else 0,
                   vmax=n_classes - 0.5 if n_classes > 2 else 1, s=14, edgecolors=edge, linewidths=0.6, label=name)
    ax.set(xlim=extent[:2], ylim=extent[2:], xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.85)
    return fig
