"""The run folder: where every command and training loop writes what it did.

A run folder holds

- ``config.json``: every setting, resolved, plus the ``command`` that made the folder;
- ``metrics.jsonl``: one JSON object per line, per step or epoch;
- ``summary.json``: the final figures;
- ``figures/``: PNG files;
- ``checkpoints/``: for training, ``last.pt`` (:data:`CHECKPOINT`).

Every JSON, npz, npy, pt and PNG file is written atomically (a temporary file in the same folder,
flushed to disk, then renamed over the target), so that a killed run never leaves a half-written
file behind. A new run goes into a new or empty folder, never one that holds files (a user's
files are never overwritten, and two runs' files never mix); a run is continued in its own folder
with ``resume``, with the settings it was started with (:func:`stored_config`).
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from monge.errors import InputError

CONFIG, METRICS, SUMMARY, FIGURES, CHECKPOINTS = "config.json", "metrics.jsonl", "summary.json", "figures", "checkpoints"
CHECKPOINT = f"{CHECKPOINTS}/last.pt"  # a run's last checkpoint, relative to its folder
_NEW_FILE_MODE = 0o644


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a binary file that appears at ``path`` only once it is completely written.

    The data goes to a temporary file in the same folder (so that the final rename does not cross
    file systems), which is flushed and fsync'ed, then moved over ``path`` with :func:`os.replace`.
    If the block raises, the temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or PathLike
        The file to (over)write; its folder must exist.

    Yields
    ------
    BinaryIO
        The temporary file, open for writing bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
    >>> with atomic_write(target) as fh:
    ...     _ = fh.write(b"hello")
    >>> target.read_bytes()
    b'hello'
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would have had
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else _NEW_FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable; not every platform can open a folder, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def jsonable(value: Any) -> Any:
    """Convert ``value`` (dataclasses, numpy and torch scalars and arrays, paths, ...) to plain JSON values.

    Non-finite floats (NaN, inf) become ``None``: strict JSON has no such numbers.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "detach") and hasattr(value, "tolist"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        return jsonable(value.tolist())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    raise TypeError(f"value: {type(value).__name__} is not JSON serialisable; expected numbers, strings, "
                    "lists, dicts, dataclasses, numpy or torch values")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path``, atomically (see :func:`atomic_write`)."""
    text = json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n"
    with atomic_write(path) as fh:
        fh.write(text.encode("utf-8"))


def save_npz(path: str | os.PathLike, **arrays: Any) -> None:
    """Save the keyword ``arrays`` to ``path`` with :func:`numpy.savez_compressed`, atomically."""
    with atomic_write(path) as fh:
        np.savez_compressed(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def save_npy(path: str | os.PathLike, array: Any) -> None:
    """Save one ``array`` to ``path`` with :func:`numpy.save` (no pickles), atomically."""
    with atomic_write(path) as fh:
        np.save(fh, np.asarray(array), allow_pickle=False)


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """Save ``obj`` to ``path`` with :func:`torch.save`, atomically (torch is imported only here)."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_write(path) as fh:
        fh.write(buffer.getbuffer())


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global generator and torch (every device).

    This is the one place where a run sets global random state; library code takes explicit
    generators instead.

    Parameters
    ----------
    seed : int, non-negative

    Returns
    -------
    numpy.random.Generator
        A fresh generator seeded with ``seed``, for the caller's own draws.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed (--seed): {seed!r}; expected a non-negative integer")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import torch  # here, not at the top: importing this module stays cheap

    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def _previous_command(folder: Path) -> str | None:
    """The command recorded in ``folder/config.json``, or None if it is not a run folder."""
    try:
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    command = config.get("command") if isinstance(config, dict) else None
    return command if isinstance(command, str) else None


class Run:
    """A run folder: settings, metrics, summary, figures and checkpoints of one command.

    Create one with :meth:`Run.create`. Progress lines go to standard output unless ``quiet``.

    Attributes
    ----------
    path : Path
        The folder.
    command : str
        The command that owns it (``"transport"``, ``"tour"``, ...).
    quiet : bool
        Whether :meth:`echo` and :meth:`step` stay silent.
    """

    def __init__(self, path: Path, command: str, quiet: bool = False):
        self.path = Path(path)
        self.command = command
        self.quiet = quiet
        self._steps = 0

    @classmethod
    def create(cls, command: str, config: Any = None, out: str | os.PathLike | None = None, *,
               root: str | os.PathLike = "runs", resume: bool = False, quiet: bool = False) -> "Run":
        """Make (or reopen) the run folder and write ``config.json``.

        Parameters
        ----------
        command : str
            The command's name; the default folder is ``<root>/<command>-<YYYYmmdd-HHMMSS>``.
        config : dataclass or dict, optional
            The resolved settings, written to ``config.json`` with ``command`` added.
        out : path, optional
            The folder to use instead: new or empty, or with ``resume`` a previous run of the same
            command.
        root : path
            Where default folders are made (``runs/`` of the working directory).
        resume : bool
            Continue a previous run in ``out``: it must exist and be a run of ``command``, and
            ``metrics.jsonl`` is appended to.
        quiet : bool
            Silence :meth:`echo` and :meth:`step`.

        Raises
        ------
        FileExistsError
            ``out`` holds files (and ``resume`` is not set).
        FileNotFoundError
            ``resume`` without a previous run in ``out``.
        """
        settings = jsonable(config if config is not None else {})
        if not isinstance(settings, dict):
            raise TypeError(f"config: {type(config).__name__}; expected a dataclass or a dict")
        if settings.get("command", command) != command:
            raise ValueError(f"config: has command={settings['command']!r} but the run is for {command!r}")
        if out is None:
            if resume:
                raise ValueError("resume: needs the folder of the run to continue (out=...)")
            path = cls._new_default_folder(Path(root), command)
        else:
            path = Path(out)
            cls._check_reusable(path, command, resume)
            path.mkdir(parents=True, exist_ok=True)
        run = cls(path, command, quiet)
        (path / FIGURES).mkdir(exist_ok=True)
        write_json(path / CONFIG, {"command": command, **settings})
        return run

    @staticmethod
    def _new_default_folder(root: Path, command: str) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        root.mkdir(parents=True, exist_ok=True)
        for k in range(1, 1000):
            path = root / (f"{command}-{stamp}" if k == 1 else f"{command}-{stamp}-{k}")
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue
        raise FileExistsError(f"out: could not make a new folder {command}-{stamp}-* under {root}")

    @staticmethod
    def _check_reusable(path: Path, command: str, resume: bool) -> None:
        if path.exists() and not path.is_dir():
            raise FileExistsError(f"out: {path} is a file; expected a folder for the run")
        if resume:
            previous = _previous_command(path) if path.is_dir() else None
            if previous != command:
                found = f"a run of {previous!r}" if previous else "no run folder"
                raise FileNotFoundError(f"out: cannot resume: {path} holds {found}; expected a previous "
                                        f"run of {command!r}")
            return
        entries = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
        if entries:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            previous = _previous_command(path)
            resumable = previous == command and (path / CHECKPOINT).exists()
            hint = " (to continue that run: --resume DIR on the command line, resume=True in Python)" if resumable else ""
            raise FileExistsError(f"out: {path} is not empty ({shown}); expected a new or empty folder: a run "
                                  f"never overwrites files nor mixes its files with another's{hint}")

    @property
    def figures(self) -> Path:
        """The ``figures/`` folder."""
        return self.path / FIGURES

    @property
    def checkpoints(self) -> Path:
        """The ``checkpoints/`` folder (made on first use)."""
        folder = self.path / CHECKPOINTS
        folder.mkdir(exist_ok=True)
        return folder

    @property
    def checkpoint(self) -> Path:
        """The last checkpoint of a training, ``checkpoints/last.pt`` (which may not exist yet)."""
        return self.path / CHECKPOINT

    def log(self, **metrics: Any) -> None:
        """Append one JSON object (one line) to ``metrics.jsonl``."""
        line = json.dumps(jsonable(metrics), allow_nan=False) + "\n"
        with open(self.path / METRICS, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()

    def write_summary(self, summary: Mapping[str, Any]) -> Path:
        """Write ``summary.json`` atomically and return its path."""
        write_json(self.path / SUMMARY, summary)
        return self.path / SUMMARY

    def save_figure(self, figure: Any, name: str, dpi: int = 120) -> Path:
        """Save a matplotlib ``figure`` as ``figures/<name>`` (PNG at ``dpi``), atomically; return the path."""
        path = self.figures / name
        with atomic_write(path) as fh:
            figure.savefig(fh, format="png", dpi=dpi, bbox_inches="tight")
        return path

    def save_checkpoint(self, state: Any, name: str = "last.pt") -> Path:
        """Save a training state to ``checkpoints/<name>``, atomically; return the path."""
        path = self.checkpoints / name
        save_torch(path, state)
        return path

    def echo(self, message: str = "") -> None:
        """Print ``message``, a progress line, unless the run is quiet."""
        if not self.quiet:
            print(message, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[dict]:
        """Time a step: print ``[k] name ... 1.23 s`` and log it to ``metrics.jsonl``.

        Yields a dict; what the step puts in it is logged with the time.

        Examples
        --------
        >>> import tempfile
        >>> run = Run.create("demo", {}, out=tempfile.mkdtemp(), quiet=True)
        >>> with run.step("add") as record:
        ...     record["total"] = 1 + 1
        >>> (run.path / "metrics.jsonl").read_text().count("total")
        1
        """
        self._steps += 1
        if not self.quiet:
            print(f"[{self._steps}] {name} ...", end="", flush=True)
        record: dict = {}
        start = time.perf_counter()
        try:
            yield record
        except BaseException:
            if not self.quiet:
                print(" failed", flush=True)
            raise
        seconds = time.perf_counter() - start
        if not self.quiet:
            print(f" {seconds:.2f} s", flush=True)
        self.log(step=name, seconds=seconds, **record)


def read_metrics(folder: str | os.PathLike) -> list[dict]:
    """The records of ``folder/metrics.jsonl``, in order; a line cut by a kill (or not an object) is skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "metrics.jsonl").write_text('{"step": 0}\\n{"step": 1}\\n{"ste')
    >>> read_metrics(folder)
    [{'step': 0}, {'step': 1}]
    """
    path = Path(folder) / METRICS
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def read_config(folder: str | os.PathLike, command: str) -> dict:
    """The settings saved in ``folder/config.json`` by a run of ``command`` (``command`` key included).

    Raises
    ------
    FileNotFoundError
        ``folder`` is not a folder or has no ``config.json``.
    InputError
        ``config.json`` is not readable JSON, or holds a run of another command.
    """
    folder = Path(folder)
    path = folder / CONFIG
    if not folder.is_dir():
        raise FileNotFoundError(f"resume: {folder} is not a folder; expected the run folder of a monge {command} run")
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"resume: {folder} has no {CONFIG}; expected the run folder of a monge {command} "
                                "run") from None
    except (OSError, ValueError) as error:
        raise InputError(f"resume: {path} is not readable JSON ({error}); expected the settings of a monge "
                         f"{command} run") from None
    if not isinstance(stored, dict) or stored.get("command") != command:
        found = stored.get("command") if isinstance(stored, dict) else type(stored).__name__
        raise InputError(f"resume: {folder} holds a run of {found!r}; expected a monge {command} run")
    return stored


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def saved_config(folder: str | os.PathLike, command: str, config_type: type, *,
                 given: Mapping[str, Any] = (), added: Mapping[str, Any] = ()) -> Any:
    """The settings saved in ``folder/config.json`` by a run of ``command``, as ``config_type``, to continue it.

    Parameters
    ----------
    folder : path, the run folder
    command : str, the command that made it
    config_type : a dataclass type (rebuilt with its ``from_json`` classmethod, where it has one)
    given : mapping, optional
        Settings the caller asked for: each must equal the saved value (a resumed run keeps its
        settings), else an :class:`InputError` names it with its flag.
    added : mapping, optional
        Settings newer than some run folders, and the value a ``config.json`` without them meant.

    Raises
    ------
    InputError
        A conflicting setting, or a ``config.json`` that lacks settings.
    """
    stored = {**dict(added), **read_config(folder, command)}
    fields = dataclasses.fields(config_type)
    missing = sorted(f.name for f in fields if f.name not in stored)
    if missing:
        raise InputError(f"resume: {Path(folder) / CONFIG} lacks the settings {', '.join(missing)}; expected a "
                         f"complete monge {command} config")
    saved = config_type.from_json(stored) if hasattr(config_type, "from_json") else config_type(
        **{f.name: stored[f.name] for f in fields})
    for name, value in dict(given).items():
        if value != getattr(saved, name):
            raise InputError(f"{name} ({_flag(name)}): {value!r} conflicts with the run being resumed "
                             f"({name} = {getattr(saved, name)!r} in {Path(folder) / CONFIG}); a resumed run "
                             "keeps its settings: leave it out")
    return saved


def stored_config(folder: str | os.PathLike, command: str, config: Any, *, added: Mapping[str, Any] = ()) -> Any:
    """:func:`saved_config` for a settings object: its fields set to something other than their default are the given ones.

    Parameters
    ----------
    folder, command, added : as for :func:`saved_config`
    config : a dataclass instance, the caller's settings
    """
    given = {}
    for f in dataclasses.fields(config):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        if getattr(config, f.name) != default:
            given[f.name] = getattr(config, f.name)
    return saved_config(folder, command, type(config), given=given, added=added)


def refuse_resume(command: str, resume: Any) -> None:
    """Refuse ``resume`` for a command that writes no checkpoint (it solves in one go): an :class:`InputError`.

    Parameters
    ----------
    command : str, the command
    resume : the caller's ``resume`` argument; anything but ``False`` is refused
    """
    if resume is not False:
        raise InputError(f"resume: {resume!r}; expected False: monge {command} writes no checkpoint to continue "
                         "from (run it again into a new or empty folder)")


def restartable(folder: str | os.PathLike) -> bool:
    """Whether a run to resume in ``folder`` never reached its first checkpoint: it then starts again.

    Its files (all written by that run, which ``read_config`` has checked) are removed first, so
    that the new start does not mix with them.
    """
    folder = Path(folder)
    if (folder / CHECKPOINT).exists():
        return False
    for child in folder.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    return True


@contextmanager
def threads(count: int | None) -> Iterator[None]:
    """Run a block with torch's CPU threads set to ``count`` (``None``: unchanged), then restore them.

    A command's ``--threads``: small networks run fastest on one thread of a shared CPU, but the
    setting is process-wide, so it never outlives the block.
    """
    if count is None:
        yield
        return
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise InputError(f"threads (--threads): {count!r}; expected a positive integer")
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(count))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_folder(command: str, root: str | os.PathLike = "runs") -> Path:
    """A new folder name for a run of ``command``: ``<root>/<command>-<YYYYmmdd-HHMMSS>`` (not made yet)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for k in range(1, 1000):
        path = Path(root) / (f"{command}-{stamp}" if k == 1 else f"{command}-{stamp}-{k}")
        if not path.exists():
            return path
    raise FileExistsError(f"out: could not find a new name {command}-{stamp}-* under {root}")


@contextmanager
def guarded(out: str | os.PathLike, *, resume: bool = False) -> Iterator[None]:
    """Run a command's block so that a failure leaves ``out`` as it was before, unless the run can be resumed.

    When ``out`` is absent or empty before the block (and the run is not a resumed one), a failure
    (an exception, Ctrl-C included) removes what the block wrote there, unless a checkpoint
    (:data:`CHECKPOINT`) was written: then the folder is kept, for ``resume``. A setting refused
    (:class:`InputError`) is the exception: a resumed run keeps its settings, so such a run could
    never go on, and its folder is removed too.
    """
    out = Path(out)
    existed = out.exists()
    fresh = not resume and (not existed or (out.is_dir() and not any(out.iterdir())))
    made = [folder for folder in (out, *out.parents) if not folder.exists()]  # the run's and the parents it makes
    try:
        yield
    except BaseException as error:
        resumable = (out / CHECKPOINT).exists() and not isinstance(error, InputError)
        if fresh and out.is_dir() and not resumable:
            if not existed:
                shutil.rmtree(out, ignore_errors=True)
                for parent in made[1:]:  # e.g. the default runs/, if this run made it and it is empty
                    try:
                        parent.rmdir()
                    except OSError:
                        break
            else:
                for child in out.iterdir():
                    shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        raise
