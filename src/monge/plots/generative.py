r"""Figures of chapter 2's generative networks: samples during training, the loss, interpolation paths.

- :func:`samples_over_data`: generated points over the data, at a few steps of training (2-D);
- :func:`sample_grid`: images of a fixed latent batch :math:`g_w(y_1..k)`, one row per step (digits);
- :func:`loss_curve`: the training loss per step and, for adversarial training, the critic's
  estimate of :math:`W_1` against the exact :math:`W_1` of the same batches;
- :func:`interpolation_path`: Figure 2.3, :math:`g_w((1 - t) y_0 + t y_1)` for :math:`t \in [0, 1]`,
  a row of images (a 0 into a 1, the text's cats into dogs) or a path in the plane between two modes.

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

DATA, SAMPLES, PATH = "#9e9e9e", "#d62728", "#1f77b4"


def _array(value, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def _plane(value, name: str) -> np.ndarray:
    points = _array(value, name)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name}: shape {points.shape}; expected points of the plane (n, 2)")
    return points


def samples_over_data(snapshots: Sequence[tuple[int, object]], data, *, centres=None, title: str = "") -> Figure:
    """Generated points (red) over the data (grey) at a few steps of training, one panel per step.

    Parameters
    ----------
    snapshots : sequence of (step, (n, 2) samples)
    data : (m, 2) points of the data
    centres : (M, 2), optional; the modes' centres, marked with crosses
    title : str, optional
    """
    if not snapshots:
        raise ValueError("snapshots: empty; expected at least one (step, samples) pair")
    data = _plane(data, "data")
    panels = [(int(step), _plane(points, "snapshots")) for step, points in snapshots]
    columns = min(3 if len(panels) == 9 else 4, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(3.2 * columns, 3.2 * rows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    both = np.concatenate([data, *[p for _, p in panels]])
    low, high = np.percentile(both, 0.5, 0), np.percentile(both, 99.5, 0)
    pad = 0.1 * np.maximum(high - low, 1e-9)
    for ax, (step, points) in zip(axes, panels):
        ax.scatter(data[:, 0], data[:, 1], s=2, color=DATA, alpha=0.35, linewidths=0, label="data", rasterized=True)
        ax.scatter(points[:, 0], points[:, 1], s=2, color=SAMPLES, alpha=0.6, linewidths=0, label="generated",
                   rasterized=True)
        if centres is not None:
            c = _plane(centres, "centres")
            if len(c) <= 50:
                ax.scatter(c[:, 0], c[:, 1], marker="+", s=40, color="black", linewidths=0.8)
        ax.set(xlim=(low[0] - pad[0], high[0] + pad[0]), ylim=(low[1] - pad[1], high[1] + pad[1]),
               title=f"step {step}", aspect="equal")
        ax.tick_params(labelsize=7)
    for ax in axes[len(panels):]:
        ax.axis("off")
    axes[0].legend(loc="upper left", fontsize=7, markerscale=4, framealpha=0.85)
    if title:
        fig.suptitle(title)
    return fig


def _images(value, name: str) -> np.ndarray:
    images = _array(value, name)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1]:
            raise ValueError(f"{name}: {images.shape[1]} values per sample; expected square images")
        images = images.reshape(len(images), side, side)
    if images.ndim != 3:
        raise ValueError(f"{name}: shape {images.shape}; expected images (n, H, W), (n, 1, H, W) or (n, H*W)")
    return images


def sample_grid(rows: Sequence[tuple[str, object]], *, vmax: float = 16.0, title: str = "") -> Figure:
    """Rows of grey-level images, each row labelled (e.g. the training step of a fixed latent batch).

    Parameters
    ----------
    rows : sequence of (label, images (k, H, W) or (k, H*W))
    vmax : float, the white-to-black range [0, vmax] (16 for scikit-learn's digits)
    title : str, optional
    """
    if not rows:
        raise ValueError("rows: empty; expected at least one (label, images) pair")
    rows = [(str(label), _images(images, "rows")) for label, images in rows]
    columns = max(len(images) for _, images in rows)
    fig = Figure(figsize=(0.55 * columns + 1.0, 0.6 * len(rows) + 0.6), layout="constrained")
    axes = fig.subplots(len(rows), columns, squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(columns):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(images):
                ax.imshow(images[c], cmap="gray_r", vmin=0, vmax=vmax, interpolation="nearest")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def loss_curve(metrics: Sequence[dict], *, title: str = "") -> Figure:
    """The training loss per step (raw and smoothed); beside it, if logged, the critic's W1 against the exact W1.

    Parameters
    ----------
    metrics : sequence of dict, the lines of ``metrics.jsonl``: records with ``step`` and a loss
        (``loss`` for transport losses; ``generator_loss`` and ``critic_loss`` for adversarial
        training), and for the latter ``critic_w1`` and, every few steps, ``exact_w1``
    title : str, optional
    """
    records = [m for m in metrics if isinstance(m.get("step"), int)]
    keys = [k for k in ("loss", "generator_loss", "critic_loss")
            if any(isinstance(m.get(k), (int, float)) for m in records)]
    if not keys:
        raise ValueError("metrics: no record with step and loss (or generator_loss); expected one per step")
    adversarial = any(isinstance(m.get("critic_w1"), (int, float)) for m in records) and \
        any(isinstance(m.get("exact_w1"), (int, float)) for m in records)
    fig = Figure(figsize=(11 if adversarial else 6.4, 4.2), layout="constrained")
    axes = fig.subplots(1, 2 if adversarial else 1, squeeze=False)[0]
    ax = axes[0]
    for k, key in enumerate(keys):
        rows = [m for m in records if isinstance(m.get(key), (int, float))]
        step = np.array([m["step"] for m in rows]) + 1
        value = np.array([m[key] for m in rows], dtype=float)
        window = max(1, len(value) // 50)
        ax.plot(step, value, color=f"C{k}", alpha=0.25, linewidth=0.7)
        ax.plot(step[window - 1:], _smooth(value, window), color=f"C{k}", label=key)
    if all(m[keys[0]] > 0 for m in records if isinstance(m.get(keys[0]), (int, float))) and keys == ["loss"]:
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="loss", title="training loss (per minibatch)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if adversarial:
        ax = axes[1]
        critic = [(m["step"] + 1, m["critic_w1"]) for m in records if isinstance(m.get("critic_w1"), (int, float))]
        exact = [(m["step"] + 1, m["exact_w1"]) for m in records if isinstance(m.get("exact_w1"), (int, float))]
        s, v = np.array(critic, dtype=float).T
        window = max(1, len(v) // 50)
        ax.plot(s, v, color="C3", alpha=0.25, linewidth=0.7)
        ax.plot(s[window - 1:], _smooth(v, window), color="C3", label="critic's estimate of $W_1$")
        s, v = np.array(exact, dtype=float).T
        ax.plot(s, v, "o-", color="black", markersize=2.5, linewidth=1, label="exact $W_1$ of the batch (Monge)")
        ax.set(xlabel="step", ylabel="$W_1$", title="the critic as a Kantorovich potential")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def interpolation_path(path, *, labels: Sequence[str] | None = None, data=None, vmax: float = 16.0,
                       title: str = "") -> Figure:
    r"""Figure 2.3: the generated path :math:`g_w((1 - t) y_0 + t y_1)` between two latent codes.

    Parameters
    ----------
    path : (T, H, W), (T, 1, H, W) or (T, H*W) images (drawn as a row), or (T, 2) points of the
        plane (drawn as a path over ``data``)
    labels : T strings, optional; under each image (e.g. the class a classifier sees, with its
        probability)
    data : (m, 2), optional; the data behind a path in the plane
    vmax : float, grey levels [0, vmax] of images
    title : str, optional
    """
    values = _array(path, "path")
    if values.ndim == 2 and values.shape[1] == 2:
        fig = Figure(figsize=(5.6, 5.2), layout="constrained")
        ax = fig.subplots()
        if data is not None:
            d = _plane(data, "data")
            ax.scatter(d[:, 0], d[:, 1], s=2, color=DATA, alpha=0.35, linewidths=0, label="data")
        ax.plot(values[:, 0], values[:, 1], "-", color=PATH, linewidth=1.2, label="$g_w((1-t) y_0 + t y_1)$")
        ax.scatter(values[:, 0], values[:, 1], c=np.linspace(0, 1, len(values)), cmap="viridis", s=14, zorder=3)
        ax.annotate("t = 0", values[0], textcoords="offset points", xytext=(5, 5), fontsize=8)
        ax.annotate("t = 1", values[-1], textcoords="offset points", xytext=(5, 5), fontsize=8)
        ax.set(aspect="equal", xlabel="$x_1$", ylabel="$x_2$", title=title or "a path between two modes")
        ax.legend(loc="upper left", fontsize=8, markerscale=3)
        return fig
    images = _images(values, "path")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"labels: {len(labels)} labels for {len(images)} images; expected one per image")
    fig = Figure(figsize=(0.9 * len(images) + 0.4, 1.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(images)))
    for k, (ax, image) in enumerate(zip(axes, images)):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(f"t = {k / max(1, len(images) - 1):.2f}", fontsize=7)
        if labels is not None:
            ax.set_xlabel(labels[k], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
