r"""How good is a trained generator? Samples, distances to held-out data, modes, classes, interpolation paths.

:func:`assess` draws samples of the final generator (in data units) and measures them with
:mod:`monge.metrics`: the exact :math:`W_2` to held-out data against its floor (two samples of the
data), for the toys the modes covered and the share of high-quality samples, for digits the
proportions of the classes a convolutional network trained on real digits sees in them ("half dogs
and half cats"). :func:`interpolation` computes Figure 2.3's path between two generated samples of
two classes (or two modes).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from monge.data import Points
from monge.errors import InputError
from monge.metrics import (class_histogram, high_quality, mean_confidence, modes_covered, total_variation, w2_floor,
                           w2_points, w2_test)
from monge.runs import CHECKPOINT, CONFIG, SUMMARY

CLASSIFIER_EPOCHS = 30  # monge classify's recipe for the convnet on digits: 99.5% test accuracy
SAMPLE_SEED = 20_260_205  # the latent codes of the final samples (not those of training)


@torch.no_grad()
def generate(generator: nn.Module, points: Points, n: int, *, seed: int = SAMPLE_SEED) -> torch.Tensor:
    """``n`` samples of ``generator`` in data units, flat ``(n, prod(shape))`` float32 on the CPU (eval mode).

    Parameters
    ----------
    generator : nn.Module with ``sample(n, generator=...)``, e.g. :class:`monge.networks.MLPGenerator`
    points : Points, the data set (its ``scale`` maps the generator's units back to the data's)
    n : int, the number of samples, drawn 4096 at a time
    seed : int, the seed of the latent codes (fixed, so that runs are compared on the same codes)
    """
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    codes = torch.Generator(device).manual_seed(seed)
    samples = torch.cat([generator.sample(min(4096, n - k), generator=codes).flatten(1).float().cpu()
                         for k in range(0, n, 4096)])
    generator.train(was_training)
    return samples * points.scale if points.scale is not None else samples


def digits_classifier(folder: str | Path, *, seed: int = 0, epochs: int = CLASSIFIER_EPOCHS,
                      quiet: bool = True) -> Callable[[torch.Tensor], torch.Tensor]:
    """The judge of generated digits: ``monge classify``'s convnet trained on real digits, as ``images -> scores``.

    When ``folder`` holds a finished ``monge classify --data digits`` run of the convnet (any
    settings, e.g. chapter 1's in ``monge tour``), that network is read back; otherwise the
    default recipe (about 99.5% test accuracy in about 20 s) is trained into ``folder``, so that
    several generators can share one judge.

    Parameters
    ----------
    folder : path, a finished digits convnet run of ``monge classify``, or where to train one (a new or
        empty folder)
    seed, epochs : int, the seed and the epochs of the judge's training (when it is trained here)
    quiet : bool, train without progress lines

    Returns
    -------
    callable
        Raw images ``(n, 64)`` or ``(n, 1, 8, 8)`` in grey levels [0, 16] -> scores ``(n, 10)``.

    Raises
    ------
    monge.errors.InputError
        ``folder`` holds a finished run that is not a convnet trained on the digits.
    """
    from monge.data import load

    from .recipes import SupervisedConfig, build_model, resolve
    from .supervised import fit

    folder = Path(folder)
    if (folder / SUMMARY).is_file():
        config = judge_settings(folder)
        data = load("digits", seed=config.data_seed)
        model = build_model(config, data)
        state = torch.load(folder / CHECKPOINT, map_location="cpu", weights_only=True)
        model.load_state_dict(state["modules"]["model"])
    else:
        data = load("digits", seed=0)
        config = resolve(SupervisedConfig(data="digits", model="convnet", epochs=epochs, seed=seed), data)
        state = torch.get_rng_state()  # fit() seeds torch: keep the caller's random stream as it was
        try:
            model = fit(config, folder, quiet=quiet, progress=False).model
        finally:
            torch.set_rng_state(state)
    model.eval()

    @torch.no_grad()
    def scores(images: torch.Tensor) -> torch.Tensor:
        x = data.standardise(images.reshape(-1, 1, 8, 8).float())
        return torch.cat([model(chunk) for chunk in x.split(2048)])

    return scores


def judge_settings(folder: str | Path):
    """The settings of a finished ``monge classify`` run in ``folder``, checked to be a convnet on the digits.

    Raises
    ------
    monge.errors.InputError
        ``folder`` has no readable ``config.json`` or holds another run; the message names ``judge (--judge)``.
    """
    from .recipes import SupervisedConfig

    folder = Path(folder)
    try:
        stored = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"judge (--judge): {folder} has no readable {CONFIG} ({error}); expected a finished monge "
                         "classify run") from None
    found = {k: stored.get(k) for k in ("command", "data", "model")} if isinstance(stored, dict) else stored
    if found != {"command": "classify", "data": "digits", "model": "convnet"}:
        raise InputError(f"judge (--judge): {folder} holds {found}; expected a finished monge classify run with data "
                         "digits and model convnet")
    names = {f.name for f in dataclasses.fields(SupervisedConfig)}
    return SupervisedConfig(**{k: stored[k] for k in names if k in stored})


def assess(samples: torch.Tensor, points: Points, classifier: Callable | None = None) -> dict:
    r"""The figures of merit of ``samples`` (data units, ``(n, prod(shape))``) against ``points``.

    The exact :math:`W_2` to the held-out data and its floor (training against held-out data) are
    both measured on :math:`n` points a side, :math:`n = \min(` :func:`monge.metrics.w2_points` of
    the dimension, the samples, the held-out points, the training points :math:`)`, so that the two
    are compared at equal :math:`n`: up to 5000 for the 2-D toys (the sparse matching), 2000 for
    digits.

    Returns
    -------
    dict
        ``w2_test``, ``w2_floor``, ``w2_ratio`` (their quotient), ``n_w2``; with modes (toys)
        ``modes_covered``, ``n_modes``, ``high_quality``; with a classifier (digits)
        ``class_histogram``, ``class_tv`` (total variation to uniform), ``class_confidence``, and
        the same three for the held-out real digits (``test_class_histogram``, ``test_class_tv``,
        ``test_class_confidence``) as a reference.
    """
    test, train = points.test.flatten(1), points.train.flatten(1)
    n = min(w2_points(test.shape[1]), len(samples), len(test), len(train))
    result = {"n_samples": len(samples), "w2_test": w2_test(samples, test, n=n), "w2_floor": w2_floor(train, test, n=n),
              "n_w2": n}
    result["w2_ratio"] = result["w2_test"] / result["w2_floor"] if result["w2_floor"] > 0 else None
    if points.modes is not None:
        modes = points.modes
        result["modes_covered"] = modes_covered(samples, modes.centres, modes.std, modes.labels)
        result["n_modes"] = modes.n_modes
        result["high_quality"] = high_quality(samples, modes.centres, modes.std)
    if classifier is not None:
        for prefix, images in (("", samples), ("test_", test)):
            scores = classifier(images)
            histogram = class_histogram(scores)
            result[f"{prefix}class_histogram"] = [round(float(h), 5) for h in histogram]
            result[f"{prefix}class_tv"] = total_variation(histogram)
            result[f"{prefix}class_confidence"] = mean_confidence(scores)
    return result


def _ends_by_class(scores: torch.Tensor, classes: tuple[int, int]) -> tuple[int, int, tuple[int, int]]:
    """The most confident sample of each of two classes (the two most frequent if one is missing)."""
    probabilities = torch.softmax(scores, 1)
    predicted = probabilities.argmax(1)
    present = torch.bincount(predicted, minlength=scores.shape[1])
    if min(int(present[c]) for c in classes) == 0:
        classes = tuple(int(c) for c in present.argsort(descending=True)[:2])
    ends = []
    for c in classes:
        confidence = torch.where(predicted == c, probabilities[:, c], torch.full_like(probabilities[:, c], -1.0))
        ends.append(int(confidence.argmax()))
    return ends[0], ends[1], classes


def _ends_by_mode(samples: np.ndarray, points: Points) -> tuple[int, int, tuple[int, int]]:
    """A sample on the most populated mode and one on the mode nearest to it."""
    modes = points.modes
    distance = np.sqrt(((samples[:, None, :] - modes.centres[None]) ** 2).sum(-1))
    nearest, good = distance.argmin(1), distance.min(1) <= 3 * modes.std
    label = modes.labels[nearest]
    counts = np.bincount(label[good], minlength=modes.n_modes)
    if (counts > 0).sum() < 2:  # fewer than two modes reached: the two samples farthest apart
        far = np.sqrt(((samples[:, None] - samples[None]) ** 2).sum(-1))
        i, j = np.unravel_index(far.argmax(), far.shape)
        return int(i), int(j), (-1, -1)
    centroids = np.stack([modes.centres[modes.labels == k].mean(0) for k in range(modes.n_modes)])
    a = int(counts.argmax())
    gaps = np.where(counts > 0, np.linalg.norm(centroids - centroids[a], axis=1), np.inf)
    gaps[a] = np.inf
    b = int(gaps.argmin())
    ends = []
    for k in (a, b):
        score = np.where(good & (label == k), -distance.min(1), -np.inf)
        ends.append(int(score.argmax()))
    return ends[0], ends[1], (a, b)


@torch.no_grad()
def interpolation(generator: nn.Module, points: Points, classifier: Callable | None = None, *, n_points: int = 10,
                  classes: tuple[int, int] = (0, 1), n_candidates: int = 2000, seed: int = 7) -> dict:
    r"""Figure 2.3: :math:`g_w((1 - t) y_0 + t y_1)` for :math:`t` from 0 to 1, between two classes or modes.

    Among ``n_candidates`` latent codes, :math:`y_0` is the one whose sample the classifier calls
    ``classes[0]`` most confidently and :math:`y_1` likewise for ``classes[1]`` (a 0 into a 1, the
    text's cats into dogs); without a classifier, a sample on the most populated mode and one on
    the mode nearest to it (for data without modes, the two samples farthest apart among 200).

    Parameters
    ----------
    generator : nn.Module with ``noise(n, generator)`` and ``forward(codes)``
    points : Points, the data (units, modes)
    classifier : callable ``images -> scores``, optional (see :func:`digits_classifier`)
    n_points : int, points on the path, ends included
    classes : (int, int), the two classes to join when there is a classifier
    n_candidates : int, latent codes among which the two ends are chosen
    seed : int, the seed of those codes

    Returns
    -------
    dict
        ``path`` ((n_points, prod(shape)) samples in data units), ``t``, ``ends`` (the two classes or
        modes, -1 where unknown) and with a classifier ``labels`` (the class seen at each point and
        its probability).
    """
    was_training = generator.training
    generator.eval()
    weight = next(generator.parameters())
    codes = generator.noise(n_candidates, torch.Generator(weight.device).manual_seed(seed))
    samples = generator(codes).flatten(1).float().cpu()
    samples = samples * points.scale if points.scale is not None else samples
    if classifier is not None:
        i, j, ends = _ends_by_class(classifier(samples), classes)
    elif points.modes is not None:
        i, j, ends = _ends_by_mode(samples.numpy().astype(np.float64), points)
    else:
        few = samples[:200].numpy()
        far = ((few[:, None] - few[None]) ** 2).sum(-1)
        i, j = (int(k) for k in np.unravel_index(far.argmax(), far.shape))
        ends = (-1, -1)
    t = torch.linspace(0, 1, n_points, device=weight.device, dtype=weight.dtype)
    path = generator((1 - t[:, None]) * codes[i] + t[:, None] * codes[j]).flatten(1).float().cpu()
    path = path * points.scale if points.scale is not None else path
    generator.train(was_training)
    result = {"path": path, "t": t.cpu().tolist(), "ends": list(ends)}
    if classifier is not None:
        probabilities = torch.softmax(classifier(path), 1)
        confidence, predicted = probabilities.max(1)
        result["labels"] = [f"{int(c)} ({100 * float(p):.0f}%)" for c, p in zip(predicted, confidence)]
    return result
