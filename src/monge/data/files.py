"""The user's own classification data: features and integer labels from a ``.csv``, ``.npy`` or ``.npz`` file.

Formats
-------
``.csv``
    One sample per line, comma-separated numbers; the **last column is the class label**, the
    others are the features. A first line that is not all numbers is a header and is skipped.
``.npy``
    A 2-D array ``(n, d + 1)`` saved with :func:`numpy.save`: features, then the label column.
``.npz``
    Two arrays (:func:`numpy.savez`): ``x`` of shape ``(n, d)`` (features), ``(n, H, W)`` (grey
    images) or ``(n, C, H, W)``, and ``y`` of shape ``(n,)``.

Labels are class indices ``0, 1, ..., K - 1`` (integers, possibly written as ``2.0``), at least two
classes, each of them present. Features must be finite numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

SUFFIXES = (".csv", ".npy", ".npz")
NPY_MAGIC = b"\x93NUMPY"


def is_file_name(name: str | os.PathLike) -> bool:
    """Whether ``name`` names a data file (by its suffix) rather than a built-in data set."""
    return Path(name).suffix.lower() in SUFFIXES


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"data: {path} is not a text file; expected comma-separated numbers") from None
    lines = [(k + 1, line) for k, line in enumerate(text.splitlines()) if line.strip()]
    if lines and not all(_number(cell) for cell in lines[0][1].split(",")):
        lines = lines[1:]  # a header
    if not lines:
        raise ValueError(f"data: {path} holds no rows of numbers; expected one sample per line (features, then label)")
    first, width = lines[0][0], len(lines[0][1].split(","))
    try:
        rows = [line.split(",") for _, line in lines]
        if all(len(cells) == width for cells in rows):
            return np.array(rows, dtype=np.str_).astype(np.float64)
    except ValueError:
        pass
    for k, line in lines:  # the slow path, to say where the file is wrong
        cells = line.split(",")
        if len(cells) != width:
            raise ValueError(f"data: line {k} of {path} has {len(cells)} values but line {first} has {width}; "
                             "expected the same number of comma-separated values on every line")
        for j, cell in enumerate(cells):
            if not _number(cell):
                what = "the label" if j == width - 1 else f"feature {j + 1}"
                raise ValueError(f"data: line {k}, column {j + 1} ({what}) of {path} is {cell.strip()!r}; "
                                 "expected a number")
    raise AssertionError("unreachable: the fast path failed but every cell is a number")


def _read_npy(path: Path) -> np.ndarray:
    with open(path, "rb") as fh:
        if fh.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise ValueError(f"data: {path} is not a .npy file (no NumPy header); expected an array saved with "
                             "numpy.save")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"data: cannot read {path} as a .npy array ({' '.join(str(error).split())})") from None


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = sorted(archive.files)
            if "x" not in names or "y" not in names:
                raise ValueError(f"data: {path} holds arrays {names}; expected two arrays named 'x' (features) "
                                 "and 'y' (labels)")
            return archive["x"], archive["y"]
    except (OSError, EOFError) as error:
        raise ValueError(f"data: cannot read {path} as a .npz archive ({' '.join(str(error).split())})") from None
    except ValueError as error:
        if str(error).startswith("data:"):
            raise
        raise ValueError(f"data: cannot read {path} as a .npz archive ({' '.join(str(error).split())})") from None


def _numeric(array: np.ndarray, what: str, path: Path) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise ValueError(f"data: the {what} in {path} have dtype {array.dtype}; expected numbers")
    return array.astype(np.float64)


def check_labels(y: np.ndarray, source: str, n_classes: int | None = None) -> np.ndarray:
    """Labels ``y`` as int64 class indices ``0..K-1``; ``ValueError`` naming the first bad one otherwise.

    Parameters
    ----------
    y : (n,) array of numbers, which must be integers 0, 1, ..., K-1
    source : str, the file they came from (for the error message)
    n_classes : int, optional; the labels must then be below it

    Returns
    -------
    (n,) int64 array
    """
    y = np.asarray(y, dtype=np.float64)
    bad = ~np.isfinite(y) | (y != np.round(y))
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"labels: {source} has {int(bad.sum())} label(s) that are not integers (the first, "
                         f"{float(y[k])!r}, at row {k + 1}); expected class indices 0, 1, ..., K-1")
    top = n_classes - 1 if n_classes is not None else None
    wrong = (y < 0) | (y > top if top is not None else False)
    if wrong.any():
        k = int(np.argmax(wrong))
        expected = f"0 to {top}" if top is not None else "0, 1, ..., K-1 (non-negative)"
        raise ValueError(f"labels: {source} has {int(wrong.sum())} label(s) out of range (the first, {int(y[k])}, at "
                         f"row {k + 1}); expected class indices {expected}")
    y = y.astype(np.int64)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(f"labels: every sample of {source} has label {int(classes[0])}: a single class; expected "
                         "at least 2 classes")
    missing = sorted(set(range(int(classes.max()) + 1)) - set(classes.tolist()))
    if missing:
        raise ValueError(f"labels: {source} has no sample of class(es) {missing[:10]}; expected class indices "
                         f"0, 1, ..., K-1, each of them present")
    return y


def read_labelled(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read features ``(n, *shape)`` (float64) and labels ``(n,)`` (int64) from the user's file.

    Parameters
    ----------
    path : str or PathLike
        A ``.csv``, ``.npy`` or ``.npz`` file in the format of this module's docstring.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        An unknown suffix, an unreadable file, rows of different lengths, features and labels of
        different lengths, non-numeric or non-finite features, labels that are not class indices
        ``0..K-1`` or a single class.
    """
    file = Path(path)
    if file.suffix.lower() not in SUFFIXES:
        raise ValueError(f"data: {path} has the suffix {file.suffix or '(none)'!r}; expected one of "
                         f"{', '.join(SUFFIXES)}")
    if not file.exists():
        raise FileNotFoundError(f"data: no such file: {path}")
    if file.is_dir():
        raise ValueError(f"data: {path} is a folder; expected a {'/'.join(SUFFIXES)} file")
    if file.suffix.lower() == ".npz":
        x, y = _read_npz(file)
        if y.ndim != 1 or x.ndim not in (2, 3, 4):
            raise ValueError(f"data: {path} holds x of shape {x.shape} and y of shape {y.shape}; expected x (n, d), "
                             "(n, H, W) or (n, C, H, W) and y (n,)")
        if len(x) != len(y):
            raise ValueError(f"data: x has {len(x)} rows but y has {len(y)} in {path}; expected one label per sample")
        x = _numeric(x, "features x", file)
        y = _numeric(y, "labels y", file)
        if x.ndim == 3:
            x = x[:, None]  # grey images: one channel
    else:
        table = _read_csv(file) if file.suffix.lower() == ".csv" else _read_npy(file)
        table = _numeric(table, "values", file)
        if table.ndim != 2 or table.shape[1] < 2:
            raise ValueError(f"data: {path} holds an array of shape {table.shape}; expected (n, d + 1): features, then "
                             "the label in the last column")
        x, y = table[:, :-1], table[:, -1]
    if len(y) < 4:
        raise ValueError(f"data: {path} holds {len(y)} samples; expected at least 4 (to split into train and test)")
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) + 1 for i in np.argwhere(bad)[0])
        where = f"position {first[1:]}" if x.ndim > 2 else f"column {first[1]}"
        raise ValueError(f"data: {path} holds {int(bad.sum())} NaN or infinite feature value(s) (the first at row "
                         f"{first[0]}, {where}); expected finite numbers")
    return np.ascontiguousarray(x), check_labels(y, str(path))
