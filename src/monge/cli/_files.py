"""Reading the user's point and weight files (``.npy`` or comma-separated ``.csv``) for the CLI.

Errors name the argument (``A``, ``--weights-b``, ...), the file, what was found and what was
expected, so that the command can print them as one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SUFFIXES = (".npy", ".csv")
NPY_MAGIC = b"\x93NUMPY"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_csv(path: Path, name: str) -> np.ndarray:
    """Rows of comma-separated numbers; a first line that is not all numbers is a header."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{name}: {path} is not a text file; expected comma-separated numbers") from None
    lines = [(k + 1, line) for k, line in enumerate(text.splitlines()) if line.strip()]
    if lines and not all(_is_number(cell) for cell in lines[0][1].split(",")):
        lines = lines[1:]  # a header line
    if not lines:
        raise ValueError(f"{name}: {path} holds no rows of numbers; expected one point per line")
    rows = [(k, line.split(",")) for k, line in lines]
    width = len(rows[0][1])
    for k, cells in rows:
        if len(cells) != width:
            raise ValueError(f"{name}: line {k} of {path} has {len(cells)} values but line {rows[0][0]} has "
                             f"{width}; expected the same number of comma-separated values on every line")
    for k, cells in rows:
        for j, cell in enumerate(cells):
            if not _is_number(cell):
                raise ValueError(f"{name}: line {k}, column {j + 1} of {path} is {cell.strip()!r}; "
                                 "expected a number")
    return np.array([cells for _, cells in rows], dtype=np.str_).astype(np.float64)


def _read_npy(path: Path, name: str) -> np.ndarray:
    with open(path, "rb") as fh:
        magic = fh.read(len(NPY_MAGIC))
    if magic != NPY_MAGIC:
        raise ValueError(f"{name}: {path} is not a .npy file (it does not start with the NumPy header); "
                         "expected an array saved with numpy.save")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"{name}: cannot read {path} as a .npy array ({' '.join(str(error).split())})") from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{name}: {path} is an archive of several arrays (.npz); expected one .npy array")
    return array


def read_array(path: str, name: str) -> np.ndarray:
    """Read a ``.npy`` or ``.csv`` file into a float64 array, checking that it holds finite numbers."""
    file = Path(path)
    if file.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{name}: {path} has the suffix {file.suffix or '(none)'!r}; expected .npy or .csv")
    if not file.exists():
        raise FileNotFoundError(f"{name}: no such file: {path}")
    if file.is_dir():
        raise ValueError(f"{name}: {path} is a folder; expected a .npy or .csv file")
    array = _read_npy(file, name) if file.suffix.lower() == ".npy" else _read_csv(file, name)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{name}: {path} holds values of dtype {array.dtype}; expected real numbers")
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        first = np.argwhere(bad)[0].tolist()
        raise ValueError(f"{name}: {path} holds {int(bad.sum())} NaN or infinite value(s) (the first at index "
                         f"{tuple(first)}); expected finite numbers")
    return array


def load_points(path: str, name: str) -> np.ndarray:
    """Points ``(n, d)`` from a file; a 1-D array (or a one-column CSV) is n points on the line."""
    array = read_array(path, name)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name}: {path} holds an array of shape {array.shape}; expected (n, d) points or (n,) "
                         "points on the line")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name}: {path} holds an empty array of shape {array.shape}; expected at least one point")
    return np.ascontiguousarray(array)


def load_weights(path: str | None, name: str, n: int, points_path: str) -> np.ndarray | None:
    """Weights ``(n,)`` from a file (a row or a column of numbers), non-negative with a positive sum."""
    if path is None:
        return None
    array = read_array(path, name)
    if array.ndim == 2 and 1 in array.shape:
        array = array.ravel()
    if array.ndim != 1:
        raise ValueError(f"{name}: {path} holds an array of shape {array.shape}; expected a 1-D array of weights")
    if len(array) != n:
        raise ValueError(f"{name}: {len(array)} weights in {path} but {points_path} has {n} points; "
                         "expected one weight per point")
    if (array < 0).any():
        raise ValueError(f"{name}: {int((array < 0).sum())} negative weights in {path} (the smallest "
                         f"{array.min():.4g}); expected non-negative weights")
    if array.sum() <= 0:
        raise ValueError(f"{name}: the weights in {path} sum to 0; expected a positive total mass")
    return np.ascontiguousarray(array)
