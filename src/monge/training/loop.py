"""The training loop every trainer shares: checkpoints, resume, progress, NaN watchdog, logging.

A :class:`Loop` counts epochs or steps up to a total. After each one (or every
``checkpoint_every``) it writes ``checkpoints/last.pt`` atomically with everything needed to go on
exactly where it stopped: the modules' and optimizers' states, the learning-rate schedulers, the
random generators (torch's global one, NumPy's, Python's, and any ``torch.Generator`` the data
pipeline uses), the index of the next epoch or step, and the trainer's own ``extra`` state. A run
killed at any moment (even by SIGKILL) and resumed on the CPU with the same seed ends with the same
weights and metrics as one that was never interrupted.

Example
-------
>>> import tempfile, torch
>>> from monge.runs import Run
>>> run = Run.create("demo", {}, out=tempfile.mkdtemp(), quiet=True)
>>> model = torch.nn.Linear(2, 1)
>>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
>>> loop = Loop(run, modules={"model": model}, optimizers={"sgd": optimizer}, total=3, progress=False)
>>> for epoch in loop:
...     loss = model(torch.ones(4, 2)).pow(2).mean()
...     optimizer.zero_grad(); loss.backward(); optimizer.step()
...     loop.log(loss=loss)
>>> sorted(p.name for p in run.checkpoints.iterdir())
['last.pt']
"""

from __future__ import annotations

import io
import json
import math
import random
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from monge.errors import Diverged, InputError
from monge.runs import METRICS, Run, atomic_write

FORMAT = "monge-training-checkpoint/1"


class DivergedError(Diverged):
    """Training produced NaN or infinity; the last good checkpoint is kept."""


def _numpy_state() -> dict:
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "gauss": float(gauss)}


def _set_numpy_state(state: Mapping) -> None:
    np.random.set_state((state["name"], state["keys"].numpy().astype(np.uint32), state["pos"],
                         state["has_gauss"], state["gauss"]))


def _python_state() -> list:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def _set_python_state(state: list) -> None:
    version, internal, gauss = state
    random.setstate((version, tuple(internal), gauss))


def _scalar(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


class Loop:
    """Iterate over epochs (or steps) with checkpoints, resume, progress and a NaN watchdog.

    Parameters
    ----------
    run : Run
        The run folder; ``checkpoints/last.pt`` and ``metrics.jsonl`` live there.
    modules, optimizers, schedulers : dict of name -> object with ``state_dict``/``load_state_dict``
        Everything whose state the training changes.
    generators : dict of name -> torch.Generator, optional
        Generators of the data pipeline (shuffling, latent draws); their states are saved too.
    total : int
        The number of epochs (or steps) of the whole run.
    unit : str
        What one iteration is, ``"epoch"`` or ``"step"``; the key of the index in the metrics.
    checkpoint_every : int
        Write the checkpoint after every this many iterations (and after the last one).
    resume : bool
        Continue from ``checkpoints/last.pt`` of ``run``; otherwise start at 0.
    progress : bool, optional
        Show a tqdm bar (default: when standard error is a terminal and the run is not quiet).
    tensorboard : bool, optional
        Also write TensorBoard events to ``tensorboard/`` (default: when ``tensorboard`` is
        installed; ``True`` requires it).
    extra : dict, optional
        The trainer's own state (e.g. a learning curve), saved and restored with the checkpoint:
        read it back from :attr:`extra` after construction.

    Raises
    ------
    ValueError
        Bad settings, or on resume a checkpoint that is missing, unreadable, from another program
        or for other modules.
    DivergedError
        From :meth:`log` or :meth:`check` when a value is NaN or infinite.
    """

    def __init__(self, run: Run, *, modules: Mapping[str, Any], optimizers: Mapping[str, Any] = (),
                 schedulers: Mapping[str, Any] = (), generators: Mapping[str, torch.Generator] = (),
                 total: int, unit: str = "epoch", checkpoint_every: int = 1, resume: bool = False,
                 progress: bool | None = None, tensorboard: bool | None = None, extra: dict | None = None):
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise InputError(f"total: {total!r}; expected a positive number of {unit}s")
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 1:
            raise InputError(f"checkpoint_every: {checkpoint_every!r}; expected a positive integer")
        if unit not in ("epoch", "step"):
            raise InputError(f"unit: {unit!r}; expected 'epoch' or 'step'")
        self.run = run
        self.modules, self.optimizers = dict(modules), dict(optimizers or {})
        self.schedulers, self.generators = dict(schedulers or {}), dict(generators or {})
        self.total, self.unit, self.checkpoint_every = total, unit, checkpoint_every
        self.extra = dict(extra or {})
        self.index = 0
        self.last: dict[str, Any] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None
        if resume:
            self.index = self._load()
            self._truncate_metrics()
        self._progress = (not run.quiet and sys.stderr.isatty()) if progress is None else bool(progress)
        self._writer = self._tensorboard(tensorboard)

    @property
    def path(self):
        """The checkpoint file, ``checkpoints/last.pt`` (its folder made on first use)."""
        self.run.checkpoints  # noqa: B018 - makes the folder
        return self.run.checkpoint

    # -- iteration -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[int]:
        bar = None
        if self._progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.total, initial=self.index, unit=self.unit, dynamic_ncols=True, leave=False)
        try:
            while self.index < self.total:
                yield self.index
                self.index += 1
                if self.index % self.checkpoint_every == 0 or self.index == self.total:
                    self.save()
                if bar is not None:
                    bar.update(1)
                    if self.last:
                        bar.set_postfix({k: f"{v:.4g}" if isinstance(v, float) else v
                                         for k, v in list(self.last.items())[:4]}, refresh=False)
        finally:
            self.wait()
            if bar is not None:
                bar.close()
            if self._writer is not None:
                self._writer.flush()

    def check(self, **values: Any) -> None:
        """The watchdog: raise :class:`DivergedError` if a value is NaN or infinite."""
        for name, value in values.items():
            value = _scalar(value)
            if isinstance(value, torch.Tensor):
                finite = bool(torch.isfinite(value).all())
            elif isinstance(value, float):
                finite = math.isfinite(value)
            else:
                continue
            if not finite:
                raise DivergedError(
                    f"{name} is not finite at {self.unit} {self.index}; training stopped. The last good "
                    f"checkpoint ({self.unit} {self._saved_index()}) is kept in {self.path}: lower the "
                    "learning rate (--lr) and run again, or resume from it")

    def log(self, **metrics: Any) -> dict:
        """Check ``metrics`` (watchdog), then append them with the index to ``metrics.jsonl``."""
        values = {k: _scalar(v) for k, v in metrics.items()}
        self.check(**values)
        record = {self.unit: self.index, **values}
        self.run.log(**record)
        self.last = values
        if self._writer is not None:
            for name, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._writer.add_scalar(name, value, self.index)
        return record

    # -- checkpoints -----------------------------------------------------------------------------
    def state(self) -> dict:
        """Everything the checkpoint holds (loadable with ``torch.load(weights_only=True)``)."""
        return {
            "format": FORMAT, "unit": self.unit, "index": self.index, "total": self.total,
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "generators": {k: g.get_state() for k, g in self.generators.items()},
            "rng": {"torch": torch.get_rng_state(), "numpy": _numpy_state(), "python": _python_state()},
            "extra": self.extra,
        }

    def save(self) -> None:
        """Write ``checkpoints/last.pt`` atomically.

        The state is serialised here, then written and fsync'ed by a background thread while
        training goes on (at most one write in flight; :meth:`wait` joins it). The fsync costs
        2.5-4.5 ms here, as much as a whole epoch of a small network. A process killed during the
        write leaves the previous checkpoint in place.
        """
        buffer = io.BytesIO()
        torch.save(self.state(), buffer)
        self.wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="monge-checkpoint")
        self.run.checkpoints  # noqa: B018 - makes the folder
        self._pending = self._pool.submit(self._write, buffer)

    def _write(self, buffer: io.BytesIO) -> None:
        with atomic_write(self.path) as fh:
            fh.write(buffer.getbuffer())

    def wait(self) -> None:
        """Wait for the checkpoint being written, if any (and raise its error, if it failed)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _saved_index(self) -> int | str:
        self.wait()
        try:
            return int(torch.load(self.path, weights_only=True)["index"])
        except Exception:  # noqa: BLE001 - only used to word a message
            return "none"

    def _load(self) -> int:
        path = self.path
        if not path.is_file():
            raise InputError(f"resume: {path} does not exist; expected the checkpoint of the run to continue")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - any unreadable file is the same user error
            raise InputError(f"resume: {path} is not a readable checkpoint ({type(error).__name__}: "
                             f"{str(error).splitlines()[0] if str(error) else ''}); expected a monge "
                             "training checkpoint") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            found = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise InputError(f"resume: {path} is not a monge training checkpoint (format {found!r}); "
                             f"expected {FORMAT!r}")
        if state["unit"] != self.unit or state["total"] != self.total:
            raise InputError(f"resume: {path} was made for {state['total']} {state['unit']}s; this run has "
                             f"{self.total} {self.unit}s")
        for kind, owners in (("modules", self.modules), ("optimizers", self.optimizers),
                             ("schedulers", self.schedulers), ("generators", self.generators)):
            if set(state[kind]) != set(owners):
                raise InputError(f"resume: {path} holds {kind} {sorted(state[kind])}; this run has "
                                 f"{sorted(owners)}")
            for name, owner in owners.items():
                try:
                    if kind == "generators":
                        owner.set_state(state[kind][name])
                    else:
                        owner.load_state_dict(state[kind][name])
                except (RuntimeError, ValueError, KeyError, TypeError) as error:
                    raise InputError(f"resume: {path}: {kind[:-1]} {name!r} does not fit this run (made with "
                                     f"other settings?): {str(error).splitlines()[0]}") from None
        torch.set_rng_state(state["rng"]["torch"])
        _set_numpy_state(state["rng"]["numpy"])
        _set_python_state(state["rng"]["python"])
        self.extra = dict(state["extra"])
        return int(state["index"])

    def _truncate_metrics(self) -> None:
        """Drop the metrics of iterations after the checkpoint: they are about to be run again."""
        path = self.run.path / METRICS
        if not path.is_file():
            return
        kept = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:  # a line cut by the kill
                continue
            if not (isinstance(record, dict) and isinstance(record.get(self.unit), int)
                    and record[self.unit] >= self.index):
                kept.append(line)
        with atomic_write(path) as fh:
            fh.write("".join(f"{line}\n" for line in kept).encode("utf-8"))

    def _tensorboard(self, wanted: bool | None):
        if wanted is False:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            if wanted:
                raise InputError("tensorboard: the package is not installed; pip install 'monge[tensorboard]'") from None
            return None
        return SummaryWriter(str(self.run.path / "tensorboard"), purge_step=self.index or None)

    def close(self) -> None:
        """Finish the checkpoint being written; flush and close the TensorBoard writer, if any."""
        self.wait()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
