"""The user's own files: classification data (features and integer labels from a ``.csv``, ``.npy`` or
``.npz`` file), and points or weights (``.npy`` or ``.csv``) for transport and generators. One reader
of comma-separated numbers (the csv module's parser) serves them all; errors name the argument, the
file, the line and the column.

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

import csv
import os
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from monge.errors import InputError

SUFFIXES = (".csv", ".npy", ".npz")  # labelled data
ARRAY_SUFFIXES = (".npy", ".csv")  # points and weights
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


def read_table(path: Path, name: str, *, row: str = "one point per line",
               column: Callable[[int, int], str] = lambda j, width: "") -> np.ndarray:
    """The numbers of a ``.csv`` (rows of comma-separated values, by the csv module; a first line
    that is not all numbers is a header) or of a ``.npy`` file, as read. Errors name ``name`` (the
    argument), the file, the line and column.

    Parameters
    ----------
    path : Path, a ``.csv`` or ``.npy`` file
    name : str, the argument the file was given as (``A``, ``--weights-b``, ``data``)
    row : str, what a line holds, for the error of a file without rows
    column : callable ``(j, width) -> str``, what column j is (e.g. ``" (the label)"``), for errors
    """
    if path.suffix.lower() == ".npy":
        return _read_npy(path, name)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: {path} is not a text file; expected comma-separated numbers") from None
    reader = csv.reader(text.splitlines())
    try:
        lines = [(reader.line_num, cells) for cells in reader if any(cell.strip() for cell in cells)]
    except csv.Error as error:  # e.g. a field beyond the csv module's limit of 131072 characters
        raise InputError(f"{name}: line {reader.line_num} of {path} cannot be read as comma-separated values "
                         f"({error}); expected comma-separated numbers") from None
    if lines and not all(_number(cell) for cell in lines[0][1]):
        lines = lines[1:]  # a header
    if not lines:
        raise InputError(f"{name}: {path} holds no rows of numbers; expected {row}")
    first, width = lines[0][0], len(lines[0][1])
    if all(len(cells) == width for _, cells in lines):
        try:
            return np.array([cells for _, cells in lines], dtype=np.str_).astype(np.float64)
        except ValueError:
            pass
    for k, cells in lines:  # the slow path, to say where the file is wrong
        if len(cells) != width:
            raise InputError(f"{name}: line {k} of {path} has {len(cells)} values but line {first} has {width}; "
                             "expected the same number of comma-separated values on every line")
        for j, cell in enumerate(cells):
            if not _number(cell):
                raise InputError(f"{name}: line {k}, column {j + 1}{column(j, width)} of {path} is "
                                 f"{cell.strip()!r}; expected a number")
    raise AssertionError("unreachable: the fast path failed but every cell is a number")


def _read_npy(path: Path, name: str) -> np.ndarray:
    with open(path, "rb") as fh:
        if fh.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise InputError(f"{name}: {path} is not a .npy file (it does not start with the NumPy header); "
                             "expected an array saved with numpy.save")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise InputError(f"{name}: cannot read {path} as a .npy array ({' '.join(str(error).split())})") from None
    if not isinstance(array, np.ndarray):
        raise InputError(f"{name}: {path} is an archive of several arrays (.npz); expected one .npy array")
    return array


def read_array(path: str | os.PathLike, name: str) -> np.ndarray:
    """A ``.npy`` or ``.csv`` file as a float64 array of finite numbers.

    Parameters
    ----------
    path : str or PathLike
    name : str, the argument the file was given as, named by every error
    """
    file = Path(path)
    if file.suffix.lower() not in ARRAY_SUFFIXES:
        raise InputError(f"{name}: {path} has the suffix {file.suffix or '(none)'!r}; expected .npy or .csv")
    if not file.exists():
        raise FileNotFoundError(f"{name}: no such file: {path}")
    if file.is_dir():
        raise InputError(f"{name}: {path} is a folder; expected a .npy or .csv file")
    array = read_table(file, name)
    if array.dtype.kind not in "iuf":
        raise InputError(f"{name}: {path} holds values of dtype {array.dtype}; expected real numbers")
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        first = np.argwhere(bad)[0].tolist()
        raise InputError(f"{name}: {path} holds {int(bad.sum())} NaN or infinite value(s) (the first at index "
                         f"{tuple(first)}); expected finite numbers")
    return array


def load_points(path: str | os.PathLike, name: str) -> np.ndarray:
    """Points ``(n, d)`` from a file; a 1-D array (or a one-column CSV) is n points on the line.

    Parameters
    ----------
    path : str or PathLike, a ``.npy`` or ``.csv`` file
    name : str, the argument the file was given as, named by every error
    """
    array = read_array(path, name)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(f"{name}: {path} holds an array of shape {array.shape}; expected (n, d) points or (n,) "
                         "points on the line")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"{name}: {path} holds an empty array of shape {array.shape}; expected at least one point")
    return np.ascontiguousarray(array)


def load_weights(path: str | os.PathLike | None, name: str, n: int, points_path: str) -> np.ndarray | None:
    """Weights ``(n,)`` from a file (a row or a column of numbers), non-negative with a positive sum.

    Parameters
    ----------
    path : str or PathLike or None, a ``.npy`` or ``.csv`` file (None: no weights, None returned)
    name : str, the argument the file was given as, named by every error
    n : int, the number of points the weights go with
    points_path : str, the file of those points, for the error of a wrong count
    """
    if path is None:
        return None
    array = read_array(path, name)
    if array.ndim == 2 and 1 in array.shape:
        array = array.ravel()
    if array.ndim != 1:
        raise InputError(f"{name}: {path} holds an array of shape {array.shape}; expected a 1-D array of weights")
    if len(array) != n:
        raise InputError(f"{name}: {len(array)} weights in {path} but {points_path} has {n} points; "
                         "expected one weight per point")
    if (array < 0).any():
        raise InputError(f"{name}: {int((array < 0).sum())} negative weights in {path} (the smallest "
                         f"{array.min():.4g}); expected non-negative weights")
    if array.sum() <= 0:
        raise InputError(f"{name}: the weights in {path} sum to 0; expected a positive total mass")
    return np.ascontiguousarray(array)


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.ndarray):
            raise InputError(f"data: {path} holds one .npy array of shape {archive.shape}; expected a .npz archive "
                             "of two arrays named 'x' (features) and 'y' (labels)")
        with archive:
            names = sorted(archive.files)
            if "x" not in names or "y" not in names:
                raise InputError(f"data: {path} holds arrays {names}; expected two arrays named 'x' (features) "
                                 "and 'y' (labels)")
            return archive["x"], archive["y"]
    except InputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:  # a damaged archive
        raise InputError(f"data: cannot read {path} as a .npz archive ({' '.join(str(error).split())})") from None


def _numeric(array: np.ndarray, what: str, path: Path) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise InputError(f"data: the {what} in {path} have dtype {array.dtype}; expected numbers")
    return array.astype(np.float64)


def check_labels(y: np.ndarray, source: str, n_classes: int | None = None) -> np.ndarray:
    """Labels ``y`` as int64 class indices ``0..K-1``; an ``InputError`` naming the first bad one otherwise.

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
        raise InputError(f"labels: {source} has {int(bad.sum())} label(s) that are not integers (the first, "
                         f"{float(y[k])!r}, at row {k + 1}); expected class indices 0, 1, ..., K-1")
    top = n_classes - 1 if n_classes is not None else None
    wrong = (y < 0) | (y > top if top is not None else False)
    if wrong.any():
        k = int(np.argmax(wrong))
        expected = f"0 to {top}" if top is not None else "0, 1, ..., K-1 (non-negative)"
        raise InputError(f"labels: {source} has {int(wrong.sum())} label(s) out of range (the first, {int(y[k])}, at "
                         f"row {k + 1}); expected class indices {expected}")
    y = y.astype(np.int64)
    classes = np.unique(y)
    if len(classes) < 2:
        raise InputError(f"labels: every sample of {source} has label {int(classes[0])}: a single class; expected "
                         "at least 2 classes")
    missing = sorted(set(range(int(classes.max()) + 1)) - set(classes.tolist()))
    if missing:
        raise InputError(f"labels: {source} has no sample of class(es) {missing[:10]}; expected class indices "
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
    InputError (a ValueError)
        An unknown suffix, an unreadable file, rows of different lengths, features and labels of
        different lengths, non-numeric or non-finite features, labels that are not class indices
        ``0..K-1`` or a single class.
    """
    file = Path(path)
    if file.suffix.lower() not in SUFFIXES:
        raise InputError(f"data: {path} has the suffix {file.suffix or '(none)'!r}; expected one of "
                         f"{', '.join(SUFFIXES)}")
    if not file.exists():
        raise FileNotFoundError(f"data: no such file: {path}")
    if file.is_dir():
        raise InputError(f"data: {path} is a folder; expected a {'/'.join(SUFFIXES)} file")
    if file.suffix.lower() == ".npz":
        x, y = _read_npz(file)
        if y.ndim != 1 or x.ndim not in (2, 3, 4):
            raise InputError(f"data: {path} holds x of shape {x.shape} and y of shape {y.shape}; expected x (n, d), "
                             "(n, H, W) or (n, C, H, W) and y (n,)")
        if len(x) != len(y):
            raise InputError(f"data: x has {len(x)} rows but y has {len(y)} in {path}; expected one label per sample")
        x = _numeric(x, "features x", file)
        y = _numeric(y, "labels y", file)
        if x.ndim == 3:
            x = x[:, None]  # grey images: one channel
    else:
        table = read_table(file, "data", row="one sample per line (features, then label)",
                           column=lambda j, width: " (the label)" if j == width - 1 else f" (feature {j + 1})")
        table = _numeric(table, "values", file)
        if table.ndim != 2 or table.shape[1] < 2:
            raise InputError(f"data: {path} holds an array of shape {table.shape}; expected (n, d + 1): features, then "
                             "the label in the last column")
        x, y = table[:, :-1], table[:, -1]
    if len(y) < 4:
        raise InputError(f"data: {path} holds {len(y)} samples; expected at least 4 (to split into train and test)")
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) + 1 for i in np.argwhere(bad)[0])
        where = f"position {first[1:]}" if x.ndim > 2 else f"column {first[1]}"
        raise InputError(f"data: {path} holds {int(bad.sum())} NaN or infinite feature value(s) (the first at row "
                         f"{first[0]}, {where}); expected finite numbers")
    return np.ascontiguousarray(x), check_labels(y, str(path))
