r"""Universal approximation as width grows (section 1.4 of the text, Cybenko's theorem).

A two-layer ReLU network of Figure 1.1 with :math:`n` hidden neurons,

.. math:: f_w(x) = \sum_{i=1}^n a_i \max(w_i \cdot x + b_i, 0) + c,

is fitted to a continuous target :math:`f^*` (:mod:`monge.training.targets`) by least squares on
training points :math:`x_1, \dots, x_m`, :math:`E(w) = \frac1m \sum_j (f_w(x_j) - f^*(x_j))^2`,
for widths :math:`n = 1, 2, 4, \dots, 1024`. Its errors are measured on a fine grid of other
points: the sup error :math:`\max_x |f_w(x) - f^*(x)|` and the L2 error
:math:`(\frac{1}{|D|} \int_D (f_w - f^*)^2)^{1/2}`, the root mean square over the grid.

How each width is fitted, and why:

1. **Breakpoints spread over the domain.** Neuron ``i`` changes slope on the set
   :math:`w_i \cdot x + b_i = 0`. On the line the breakpoints :math:`-b_i / w_i` are put at the
   centres of ``n`` equal cells with alternating signs of :math:`w_i = \pm 1`; in the plane the
   lines have uniform random directions and pass through uniform random points of the square.
   PyTorch's default initialisation puts many breakpoints outside the domain instead (three in
   four on [0, 1]), where those neurons are zero or linear: wasted.
2. **The output layer solved exactly**, :math:`(a, c) = \arg\min \sum_j (f_w(x_j) - y_j)^2`, a
   linear least-squares problem (``torch.linalg.lstsq``, float64). With well-spread breakpoints
   this alone reaches the piecewise-linear rate :math:`n^{-2}` on the line.
3. **Adam on every weight**, float32, for ``steps`` steps on batches of 4096 training points
   (the full batch on the line), the learning rate ``lr * (high - low) / n`` decaying
   exponentially to a hundredth of it. Scaling by the breakpoint spacing ``(high - low) / n``
   lets a step move a breakpoint by a fixed fraction of the spacing at every width (and the
   output weights, which scale like ``1 / n``, by a fixed fraction of their size): narrow
   networks move their few breakpoints where the target needs them, wide ones are refined
   without being scrambled (with a learning rate of 0.01 at every width, the errors at width
   1024 ended four to five times those of the least-squares fit Adam started from, measured).
4. **The output layer solved exactly again**, which can only lower the training error of the
   trained hidden layer and removes the float32 rounding.

Narrow networks (width below 8 by default) are fitted from several starts and keep the one with
the lowest training error: their training ends in a local minimum that depends on the start.

Example
-------
>>> result = approximate("sine", widths=[2, 16], steps=50)
>>> result.sup_error[1] < result.sup_error[0]
True
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from monge.errors import InputError, InputTypeError
from monge.networks import TwoLayer

from .loop import DivergedError
from .targets import Target, get_target

WIDTHS = tuple(2**k for k in range(11))  # 1, 2, 4, ..., 1024
DECAY = 0.01  # the learning rate falls to DECAY times its start over the steps
CHUNK = 4096  # grid points per forward pass when measuring errors (bounds the memory)
GRIDS = {1: 10001, 2: 201}  # default points per axis of the evaluation grid
# Default training points: in the plane, 64^2 of them leave the corners so sparse that the fit
# overshoots there at widths 512-1024 (the sup error at width 512 was 3x that at 256, measured);
# 128^2 do not. Adam uses batches of 4096 of them, the exact output-layer solves all of them.
TRAIN = {1: 4096, 2: 16384}


@dataclass
class ApproximationResult:
    r"""Errors of two-layer ReLU networks of growing width on one target.

    Attributes
    ----------
    target : Target
    widths : list of int
        The widths :math:`n`, increasing.
    sup_error, l2_error : list of float
        :math:`\max |f_w - f^*|` and the root mean square of :math:`f_w - f^*` on the grid.
    train_error : list of float
        The root mean square of :math:`f_w - f^*` on the training points.
    initial_sup_error, initial_l2_error : list of float
        The same errors before Adam: spread breakpoints and the exact output layer only.
    seconds : list of float
        The time to fit each width.
    grid : (g, d) Tensor
        The evaluation points (float64), none of them a training point.
    values : (g,) Tensor
        :math:`f^*` on the grid.
    fits : (len(widths), g) Tensor
        :math:`f_w` of each width on the grid.
    train_points : (m, d) Tensor
    networks : list of TwoLayer
        The fitted networks (float64).
    """

    target: Target
    widths: list[int]
    sup_error: list[float]
    l2_error: list[float]
    train_error: list[float]
    initial_sup_error: list[float]
    initial_l2_error: list[float]
    seconds: list[float]
    grid: torch.Tensor
    values: torch.Tensor
    fits: torch.Tensor
    train_points: torch.Tensor
    networks: list[TwoLayer] = field(repr=False)

    @property
    def slope_widths(self) -> list[int]:
        """The widths the slopes are fitted on: the larger half (at least two)."""
        return self.widths[-max(2, math.ceil(len(self.widths) / 2)):]

    @property
    def sup_slope(self) -> float | None:
        """The fitted slope of log sup error against log width on :attr:`slope_widths`."""
        return log_log_slope(self.widths, self.sup_error, self.slope_widths)

    @property
    def l2_slope(self) -> float | None:
        """The fitted slope of log L2 error against log width on :attr:`slope_widths`."""
        return log_log_slope(self.widths, self.l2_error, self.slope_widths)


def log_log_slope(widths: Sequence[int], errors: Sequence[float], among: Sequence[int] | None = None) -> float | None:
    r"""The least-squares slope :math:`s` of :math:`\log e = s \log n + c` (``None`` below two widths).

    Parameters
    ----------
    widths, errors : sequences of the same length
    among : sequence of int, optional
        Fit only these widths (default: all).

    Examples
    --------
    >>> round(log_log_slope([1, 2, 4], [1.0, 0.25, 0.0625]), 6)
    -2.0
    """
    keep = [k for k, n in enumerate(widths) if among is None or n in among]
    if len(keep) < 2:
        return None
    x = np.log([widths[k] for k in keep])
    y = np.log([max(errors[k], 1e-300) for k in keep])  # an exact fit has error 0
    return float(np.polyfit(x, y, 1)[0])


def training_points(target: Target, n_train: int, generator: torch.Generator) -> torch.Tensor:
    r"""Jittered training points: one uniform point in each of :math:`k^d` equal cells of the domain.

    :math:`k = \lceil n_{train}^{1/d} \rceil`, so there are :math:`k^d \geq n_{train}` points, as
    evenly spread as a grid (no gap wider than two cells) but random, and almost surely none on
    the evaluation grid. Shape ``(k^d, d)``, float64.

    Parameters
    ----------
    target : Target, whose domain :math:`[low, high]^d` is covered
    n_train : int, at least this many points
    generator : torch.Generator, draws the jitter
    """
    k = max(1, round(n_train ** (1 / target.dim)))
    while k**target.dim < n_train:
        k += 1
    cells = torch.cartesian_prod(*[torch.arange(k, dtype=torch.float64)] * target.dim).reshape(-1, target.dim)
    jitter = torch.rand(cells.shape, generator=generator, dtype=torch.float64)
    return target.low + (cells + jitter) / k * target.side


def evaluation_grid(target: Target, n_grid: int) -> torch.Tensor:
    """The regular grid of ``n_grid`` points per axis over the domain of ``target``, ends included, float64.

    Shape ``(n_grid^d, d)``. In 2-D the points run row by row:
    ``grid.reshape(n_grid, n_grid, 2)[i, j] = (t_i, t_j)``.
    """
    axis = torch.linspace(target.low, target.high, n_grid, dtype=torch.float64)
    return torch.cartesian_prod(*[axis] * target.dim).reshape(-1, target.dim)


def spread_breakpoints_(net: TwoLayer, target: Target, generator: torch.Generator, *, random: bool = False) -> TwoLayer:
    r"""Set :math:`W_1, b_1` so that every neuron's breakpoint :math:`w_i \cdot x + b_i = 0` is in the domain.

    On the line: :math:`w_i = (-1)^i` and breakpoints at the cell centres
    :math:`t_i = low + (i + 1/2)(high - low)/n`, so :math:`b_i = -w_i t_i`; with ``random``, one
    uniform breakpoint per cell and random signs instead. In higher dimension: :math:`w_i` uniform
    on the unit sphere and :math:`b_i = -w_i \cdot p_i` with :math:`p_i` uniform in the domain.
    Returns ``net``.

    Parameters
    ----------
    net : TwoLayer, changed in place
    target : Target, whose domain :math:`[low, high]^d` the breakpoints fill
    generator : torch.Generator, for the random choices
    random : bool, random breakpoints and signs on the line
    """
    n, d = net.width, target.dim
    dtype = net.hidden.weight.dtype
    if d == 1:
        if random:
            offset = torch.rand(n, 1, generator=generator, dtype=torch.float64)
        else:
            offset = torch.full((n, 1), 0.5, dtype=torch.float64)
        points = target.low + (torch.arange(n)[:, None] + offset) / n * target.side
        signs = (torch.rand(n, generator=generator) < 0.5) if random else torch.arange(n) % 2 == 1
        w = 1.0 - 2.0 * signs.to(torch.float64)[:, None]
    else:
        w = torch.randn(n, d, generator=generator, dtype=torch.float64)
        w = w / w.norm(dim=1, keepdim=True)
        points = target.low + torch.rand(n, d, generator=generator, dtype=torch.float64) * target.side
    with torch.no_grad():
        net.hidden.weight.copy_(w.to(dtype))
        net.hidden.bias.copy_(-(w * points).sum(1).to(dtype))
    return net


def solve_output_(net: TwoLayer, x: torch.Tensor, y: torch.Tensor) -> TwoLayer:
    r"""Set the output layer to the exact least-squares fit, the hidden layer held fixed.

    .. math:: (W_2, b_2) = \arg\min \sum_j (W_2 u_j + b_2 - y_j)^2, \quad u_j = \max(W_1 x_j + b_1, 0),

    solved by ``torch.linalg.lstsq`` (SVD, minimum norm where neurons are redundant) in float64.
    ``x`` is ``(m, d)``, ``y`` is ``(m,)``; returns ``net``.
    """
    with torch.no_grad():
        u = net.neurons(x.to(net.hidden.weight.dtype)).double()
        design = torch.cat([u, torch.ones_like(u[:, :1])], 1)
        solution = torch.linalg.lstsq(design, y.double()[:, None], driver="gelsd").solution[:, 0]
        net.output.weight.copy_(solution[:-1][None])
        net.output.bias.copy_(solution[-1:])
    return net


def train_(net: TwoLayer, x: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float, batch_size: int = 4096,
           generator: torch.Generator | None = None) -> TwoLayer:
    r"""``steps`` Adam steps on :math:`E(w) = \frac1m \sum_j (f_w(x_j) - y_j)^2`, in place.

    Each step uses all the points when there are at most ``batch_size`` of them (full batch),
    else ``batch_size`` points drawn without replacement with ``generator``. The learning rate
    decays exponentially from ``lr`` to ``DECAY * lr``. Raises
    :class:`~monge.training.loop.DivergedError` if the loss stops being finite.

    Parameters
    ----------
    net : TwoLayer with one output, trained in place
    x : (m, d) Tensor, the points :math:`x_j`
    y : (m,) Tensor, the values :math:`y_j = f^*(x_j)`
    steps, lr, batch_size, generator : as above
    """
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=DECAY ** (1 / steps))
    x, y = x.to(net.hidden.weight.dtype), y.to(net.hidden.weight.dtype)
    full = len(x) <= batch_size
    for step in range(steps):
        if full:
            xb, yb = x, y
        else:
            batch = torch.randperm(len(x), generator=generator)[:batch_size]
            xb, yb = x[batch], y[batch]
        optimizer.zero_grad()
        loss = (net(xb)[:, 0] - yb).pow(2).mean()
        if not torch.isfinite(loss):
            raise DivergedError(f"width {net.width}: the training loss is {float(loss.detach())} at step {step} "
                                f"(learning rate {lr:.3g}); expected a finite loss: lower the learning rate")
        loss.backward()
        optimizer.step()
        schedule.step()
    return net


def evaluate(net: TwoLayer, points: torch.Tensor) -> torch.Tensor:
    """The network ``net``'s :math:`f_w` at ``points`` ``(g, d)``, shape ``(g,)``, in chunks (no gradients)."""
    with torch.no_grad():
        points = points.to(net.hidden.weight.dtype)
        return torch.cat([net(chunk)[:, 0] for chunk in points.split(CHUNK)])


def _errors(fit: torch.Tensor, values: torch.Tensor) -> tuple[float, float]:
    gap = fit - values
    return float(gap.abs().max()), float(gap.pow(2).mean().sqrt())


def _start_seed(seed: int, width: int, start: int) -> int:
    """A seed for one start of one width, independent of which other widths are fitted."""
    return int(np.random.SeedSequence([seed, width, start]).generate_state(1)[0])


def fit_width(target: Target, width: int, x: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float,
              batch_size: int = 4096, starts: int = 1, seed: int = 0) -> tuple[TwoLayer, TwoLayer]:
    """Fit one width (steps 1-4 of the module's recipe); return the network before Adam and the fitted one.

    Both are float64 ``TwoLayer(d, width, 1)``; ``lr`` is scaled by the breakpoint spacing
    ``(high - low) / width``. With ``starts > 1`` the recipe is run from that many
    initialisations (the first as :func:`spread_breakpoints_`, the others ``random``) and the
    one with the lowest training error is kept: the evaluation grid plays no part in the choice.

    Parameters
    ----------
    target : Target, its domain
    width : int, the number of neurons n
    x : (m, d) Tensor, the training points
    y : (m,) Tensor, :math:`f^*` there
    steps, lr : Adam's steps and learning rate (for width 1 on a domain of side 1)
    batch_size : int, points per Adam step (all when fewer)
    starts : int, initialisations tried
    seed : int, seeds each start (independently of the other widths)
    """
    best = None
    for start in range(starts):
        generator = torch.Generator().manual_seed(_start_seed(seed, width, start))
        net = spread_breakpoints_(TwoLayer(target.dim, width, 1).double(), target, generator, random=start > 0)
        initial = copy.deepcopy(solve_output_(net, x, y))
        train_(net.float(), x, y, steps=steps, lr=lr * target.side / width, batch_size=batch_size,
               generator=generator)
        solve_output_(net.double(), x, y)
        loss = float((evaluate(net, x) - y).pow(2).mean())
        if best is None or loss < best[0]:
            best = (loss, initial, net)
    return best[1], best[2]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name}: {value!r}; expected a positive integer")
    return int(value)


def _check_widths(widths) -> list[int]:
    try:
        values = list(widths)
    except TypeError:
        raise InputTypeError(f"widths: {widths!r}; expected a sequence of positive integers") from None
    if not values:
        raise InputError("widths: empty; expected at least one positive integer")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"widths: {values!r} holds {value!r}; expected positive integers")
    values = [int(v) for v in values]
    if any(b <= a for a, b in zip(values, values[1:])):
        raise InputError(f"widths: {values}; expected increasing widths (each larger than the one before)")
    return values


def approximate(target: str | Target = "sine", widths: Sequence[int] = WIDTHS, *, steps: int = 300,
                lr: float = 0.1, starts: int = 8, n_train: int | None = None, batch_size: int = 4096,
                n_grid: int | None = None, seed: int = 0,
                callback: Callable[[dict], None] | None = None) -> ApproximationResult:
    r"""Fit ``target`` with two-layer ReLU networks of each width; measure the errors on a fine grid.

    For each width :math:`n`, the network :math:`f_w(x) = \sum_i a_i \max(w_i \cdot x + b_i, 0) + c`
    is fitted by least squares to :math:`f^*` at the training points (the module's recipe: spread
    breakpoints, exact output layer, Adam, exact output layer), then

    .. math:: e_\infty = \max_{x \in G} |f_w(x) - f^*(x)|, \qquad
              e_2 = \Big(\frac{1}{|G|} \sum_{x \in G} (f_w(x) - f^*(x))^2\Big)^{1/2}

    on the grid :math:`G`, which shares no point with the training points. Cybenko (1989): for any
    continuous :math:`f^*` the error can be made as small as one wants by taking :math:`n` large.

    Parameters
    ----------
    target : str or Target
        A name of :data:`~monge.training.targets.TARGETS` (``"sine"``, ``"abs"``, ``"bump"``).
    widths : sequence of int
        Increasing positive widths (default 1, 2, 4, ..., 1024).
    steps : int
        Adam steps per width.
    lr : float
        Adam's starting learning rate for width 1 on a domain of side 1; width ``n`` uses
        ``lr * (high - low) / n``.
    starts : int
        Initialisations tried at width 1; width ``n`` tries ``max(1, starts // n)`` and keeps the
        lowest training error (see :func:`fit_width`). A narrow network's training ends in a
        local minimum that depends on where it started; the best of a few starts measures what
        the width can do rather than the luck of one start. Wide networks need one.
    n_train : int, optional
        Training points: ``k^d >= n_train`` jittered points (see :func:`training_points`);
        default 4096 on the line and 16384 in the plane. Keep several per neuron: with fewer,
        the fit is free between training points and the sup error grows, first near the edges
        (the text's warning: with too few data :math:`f_w` is far from :math:`f^*`).
    batch_size : int
        Points per Adam step: all of them (full batch) when ``n_train <= batch_size``, else a
        random batch. The exact output-layer solves always use every training point.
    n_grid : int, optional
        Evaluation points per axis (default 10001 on the line, 201 in the plane).
    seed : int
        Seeds the training points and each width's breakpoints; a width's fit does not depend
        on which other widths are in the list.
    callback : callable, optional
        Called after each width with a dict: ``width``, ``sup_error``, ``l2_error``,
        ``train_error``, ``initial_sup_error``, ``initial_l2_error``, ``seconds``.

    Returns
    -------
    ApproximationResult

    Raises
    ------
    InputError
        (a ``ValueError``) An unknown target, widths that are not increasing positive integers, ``steps``,
        ``starts``, ``n_train`` or ``batch_size`` not a positive integer, ``lr`` not positive and
        finite, ``n_grid < 2``, a negative ``seed``.
    DivergedError
        The training loss became NaN or infinite (a learning rate far too large).
    """
    target = get_target(target)
    widths = _check_widths(widths)
    steps, batch_size = _positive_int(steps, "steps"), _positive_int(batch_size, "batch_size")
    starts = _positive_int(starts, "starts")
    n_train = _positive_int(TRAIN.get(target.dim, 4096) if n_train is None else n_train, "n_train")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise InputError(f"lr: {lr!r}; expected a positive finite learning rate")
    n_grid = GRIDS.get(target.dim, 101) if n_grid is None else n_grid
    if _positive_int(n_grid, "n_grid") < 2:
        raise InputError(f"n_grid: {n_grid}; expected at least 2 points per axis (the ends of the domain)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed: {seed!r}; expected a non-negative integer")

    x = training_points(target, n_train, torch.Generator().manual_seed(int(seed)))
    y = target(x)
    grid = evaluation_grid(target, n_grid)
    values = target(grid)
    records: dict[str, list] = {k: [] for k in ("sup_error", "l2_error", "train_error", "initial_sup_error",
                                                "initial_l2_error", "seconds")}
    fits, networks = [], []
    for width in widths:
        start = time.perf_counter()
        initial, net = fit_width(target, width, x, y, steps=steps, lr=lr, batch_size=batch_size,
                                 starts=max(1, starts // width), seed=int(seed))
        fit = evaluate(net, grid)
        record = dict(zip(("sup_error", "l2_error"), _errors(fit, values)))
        record.update(zip(("initial_sup_error", "initial_l2_error"), _errors(evaluate(initial, grid), values)))
        record["train_error"] = _errors(evaluate(net, x), y)[1]
        record["seconds"] = time.perf_counter() - start
        for key, value in record.items():
            records[key].append(value)
        fits.append(fit)
        networks.append(net)
        if callback is not None:
            callback({"width": width, **record})
    return ApproximationResult(target=target, widths=widths, grid=grid, values=values, fits=torch.stack(fits),
                               train_points=x, networks=networks, **records)
