r"""The playground's protocol: the bounds, the checks of every client message, and the binary frames.

One WebSocket per page. The client sends JSON text messages of at most :data:`MAX_MESSAGE` bytes;
the server sends binary frames (:func:`encode_frame`) and JSON text (``hello``, ``error``). A frame is

.. code-block:: text

    uint32 little-endian H | H bytes of UTF-8 JSON header | zero padding to a multiple of 4 |
    the arrays' bytes, back to back, each at a multiple of 4

with the header ``{"type": ..., "arrays": [{"name", "dtype", "shape", "offset"}], ...fields}``
(``offset`` in bytes from the start of the array section; dtypes ``float32`` and ``int32``, so that
the page reads each array as a typed array over the same buffer without copying).

Every number a client sends is checked: finite, of the right type, and clamped into its range where
clamping is what a slider means (``n``, ``dt``, ``speed``, ``lam``, ``eps``, a drawn point) or refused
where it is not (a seed, a transport coordinate, too many points). A refused message raises
:class:`~monge.errors.InputError` whose text, ``<field>: <found>; expected <what>``, the server sends
back as ``{"type": "error", "message": ...}``.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass

import numpy as np

from monge.errors import InputError

#: Largest client message in bytes (UTF-8); a larger one closes the socket with :data:`CLOSE_TOO_LARGE`.
MAX_MESSAGE = 64 * 1024
#: Sockets served at once; the next is closed with :data:`CLOSE_TRY_AGAIN`.
MAX_CLIENTS = 4
#: Close codes (RFC 6455): policy violation (a foreign Origin), message too big, try again later.
CLOSE_POLICY, CLOSE_TOO_LARGE, CLOSE_TRY_AGAIN = 1008, 1009, 1013

#: Neurons of the flow board, clamped: at N = 2000 one Euler step of the RBF example costs 20-50 ms
#: here (an N x N kernel), a frame's whole compute budget.
N_RANGE = (10, 2000)
#: The flow's time step, clamped: below 1e-4 the flow does not visibly move; above 1 every example diverges.
DT_RANGE = (1e-4, 1.0)
#: Simulated time per second of wall-clock time while playing (dt = 0.01, speed 1: 100 steps a second).
SPEED_RANGE = (0.1, 10.0)
#: The weight lambda of the potential V = lambda/2 |xi|^2.
LAM_RANGE = (0.0, 10.0)
#: Seeds are refused outside [0, 2**31) (a seed is a name, not a slider: clamping one would hide a typo).
SEED_LIMIT = 2 ** 31
#: A drawn target: at most this many points (x, y), clamped to the drawing area, with at least
#: MIN_DISTINCT_X different abscissas.
MAX_POINTS = 400
DRAW_X, DRAW_Y = (-4.0, 4.0), (-3.0, 3.0)
MIN_DISTINCT_X = 4
#: Points per cloud on the transport board. Exact transport is O(n^3) (Jonker-Volgenant for a
#: matching, the network simplex for Kantorovich): n = 500 solves in tens of milliseconds, the
#: budget of a drag that follows the mouse; n = 2000 takes about half a second.
MAX_CLOUD = 500
#: Transport coordinates are refused outside [-COORDINATE_LIMIT, COORDINATE_LIMIT] (the board's area).
COORDINATE_LIMIT = 10.0
#: Sinkhorn's eps relative to the diameter^p of the clouds, clamped: below 1e-4 the iterations
#: (eps-scaling down to it) take seconds; above 1 the plan is the product a (x) b.
EPS_RANGE = (1e-4, 1.0)
#: Figure 2.2's preset: 6 points a side, all 6! = 720 permutations.
PERMUTATION_POINTS = 6
#: Points of the grid of the flow board's domain where f_mu and the target are sent.
GRID = 200
#: Seconds of compute per flow frame: steps are taken until this is spent (at least one).
FRAME_BUDGET = 0.025
#: Ids echoed back: integers JavaScript holds exactly.
ID_LIMIT = 2 ** 53

SCALINGS = ("mean-field", "lazy")
STARTS = ("good", "bad")
TARGETS = ("rbf", "relu-teacher", "drawn")
ACTIONS = ("play", "pause", "step", "reset")
METHODS = ("exact", "sinkhorn")
PARAMS = ("n", "dt", "speed", "lam", "scaling", "start", "seed", "target", "points")
TYPES = ("flow", "control", "ack", "transport", "permutations")
DTYPES = {"float32": np.float32, "int32": np.int32}


def limits() -> dict:
    """The bounds, as the ``hello`` message tells the page."""
    return {"max_message": MAX_MESSAGE, "max_clients": MAX_CLIENTS, "n": list(N_RANGE), "dt": list(DT_RANGE),
            "speed": list(SPEED_RANGE), "lam": list(LAM_RANGE), "seed": [0, SEED_LIMIT - 1],
            "points": MAX_POINTS, "draw_x": list(DRAW_X), "draw_y": list(DRAW_Y), "min_distinct_x": MIN_DISTINCT_X,
            "cloud": MAX_CLOUD, "coordinate": COORDINATE_LIMIT, "eps": list(EPS_RANGE),
            "permutation_points": PERMUTATION_POINTS, "grid": GRID, "frame_budget": FRAME_BUDGET,
            "scalings": list(SCALINGS), "starts": list(STARTS), "targets": list(TARGETS),
            "actions": list(ACTIONS), "methods": list(METHODS)}


# -- messages ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlowParams:
    """``{"type": "flow", "params": {...}}``: ``changes``, the parameters given, checked and clamped.

    Any subset of :data:`PARAMS`.
    """

    changes: dict


@dataclass(frozen=True)
class Control:
    """``{"type": "control", "action": ...}``: one of :data:`ACTIONS`."""

    action: str


@dataclass(frozen=True)
class Ack:
    """``{"type": "ack", "frame": k}``: the page has drawn flow frame ``k``."""

    frame: int


@dataclass(frozen=True)
class TransportRequest:
    """``{"type": "transport", ...}``: two clouds to transport.

    Attributes
    ----------
    x : (n, 2) float64 ndarray; z : (m, 2) float64 ndarray
    a : (n,) float64 ndarray or None; b : (m,) float64 ndarray or None (masses, each summing to 1)
    p : 1 or 2; method : "exact" or "sinkhorn"; eps : Sinkhorn's eps relative to the diameter^p
    id : the request's number, echoed
    """

    x: np.ndarray
    z: np.ndarray
    a: np.ndarray | None
    b: np.ndarray | None
    p: int
    method: str
    eps: float
    id: int


@dataclass(frozen=True)
class PermutationsRequest:
    """``{"type": "permutations", ...}``: 6 points a side, the cost ``|x - z|^p``, and the id to echo."""

    x: np.ndarray
    z: np.ndarray
    p: int
    id: int


Message = FlowParams | Control | Ack | TransportRequest | PermutationsRequest


def parse(text) -> Message:
    """Check one client message (a JSON text) and return it as a :data:`Message`.

    Parameters
    ----------
    text : str or bytes, the message as received

    Raises
    ------
    InputError
        naming the field, what was found and what was expected, for anything but a well-formed
        message of :data:`TYPES` (non-JSON, wrong types, NaN or infinity, values outside their range
        that clamping cannot mean, unknown types or fields).

    Examples
    --------
    >>> parse('{"type": "flow", "params": {"n": 1e9, "dt": 0.05}}').changes
    {'n': 2000, 'dt': 0.05}
    >>> parse('{"type": "control", "action": "jump"}')
    Traceback (most recent call last):
    ...
    monge.errors.InputError: action: 'jump'; expected one of ['play', 'pause', 'step', 'reset']
    """
    if isinstance(text, (bytes, bytearray)):
        raise InputError(f"message: {len(text)} bytes of binary data; expected a JSON text message")
    size = len(text.encode("utf-8", "replace"))
    if size > MAX_MESSAGE:  # the server closes the socket first (1009); a direct call is refused all the same
        raise InputError(f"message: {size} bytes; expected at most {MAX_MESSAGE}")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise InputError(f"message: {_shown(text)}; expected a JSON object") from None
    if not isinstance(message, dict):
        raise InputError(f"message: {_shown(message)}; expected a JSON object with a \"type\"")
    kind = _choice(message.get("type"), "type", TYPES)
    return _PARSERS[kind](message)


def _flow(message: dict) -> FlowParams:
    _fields(message, ("type", "params"), "flow")
    params = message.get("params")
    if not isinstance(params, dict):
        raise InputError(f"params: {_shown(params)}; expected an object with any of {list(PARAMS)}")
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise InputError(f"params.{unknown[0]}: unknown; expected any of {list(PARAMS)}")
    changes = {}
    for key, value in params.items():
        if key == "n":
            changes[key] = int(_clamped(_integer(value, key), key, N_RANGE))
        elif key == "seed":
            seed = _integer(value, key)
            if not 0 <= seed < SEED_LIMIT:
                raise InputError(f"seed: {seed}; expected an integer in [0, 2**31)")
            changes[key] = seed
        elif key in ("dt", "speed", "lam"):
            changes[key] = _clamped(_number(value, key), key, {"dt": DT_RANGE, "speed": SPEED_RANGE,
                                                                 "lam": LAM_RANGE}[key])
        elif key == "points":
            changes[key] = _drawn_points(value)
        else:
            changes[key] = _choice(value, key, {"scaling": SCALINGS, "start": STARTS, "target": TARGETS}[key])
    return FlowParams(changes)


def _control(message: dict) -> Control:
    _fields(message, ("type", "action"), "control")
    return Control(_choice(message.get("action"), "action", ACTIONS))


def _ack(message: dict) -> Ack:
    _fields(message, ("type", "frame"), "ack")
    frame = _integer(message.get("frame"), "frame")
    if frame < 0:
        raise InputError(f"frame: {frame}; expected the number (>= 0) of a frame drawn")
    return Ack(frame)


def _transport(message: dict) -> TransportRequest:
    _fields(message, ("type", "x", "z", "a", "b", "p", "method", "eps", "id"), "transport")
    x = _cloud(message.get("x"), "x", 1, MAX_CLOUD)
    z = _cloud(message.get("z"), "z", 1, MAX_CLOUD)
    a = _masses(message.get("a"), "a", len(x))
    b = _masses(message.get("b"), "b", len(z))
    method = _choice(message.get("method", "exact"), "method", METHODS)
    eps = _clamped(_number(message.get("eps", 1e-2), "eps"), "eps", EPS_RANGE)
    return TransportRequest(x, z, a, b, _exponent(message.get("p", 2)), method, eps, _id(message.get("id")))


def _permutations(message: dict) -> PermutationsRequest:
    _fields(message, ("type", "x", "z", "p", "id"), "permutations")
    x = _cloud(message.get("x"), "x", PERMUTATION_POINTS, PERMUTATION_POINTS)
    z = _cloud(message.get("z"), "z", PERMUTATION_POINTS, PERMUTATION_POINTS)
    return PermutationsRequest(x, z, _exponent(message.get("p", 1)), _id(message.get("id")))


_PARSERS = {"flow": _flow, "control": _control, "ack": _ack, "transport": _transport, "permutations": _permutations}


# -- checks of values -------------------------------------------------------------------------------

def _shown(value, width: int = 40) -> str:
    """``value`` as an error shows it: its repr, cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _fields(message: dict, allowed: tuple[str, ...], kind: str) -> None:
    unknown = sorted(set(message) - set(allowed))
    if unknown:
        raise InputError(f"{unknown[0]}: unknown field of a {kind!r} message; expected any of {list(allowed)}")


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name}: {_shown(value)}; expected a number")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float range: json gives Python ints of any size
        number = math.copysign(math.inf, value)
    if not math.isfinite(number):
        raise InputError(f"{name}: {number}; expected a finite number")
    return number


def _integer(value, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _number(value, name)
    if not number.is_integer():
        raise InputError(f"{name}: {number}; expected an integer")
    return int(number)


def _clamped(value: float, name: str, bounds: tuple[float, float]) -> float:
    return min(max(value, bounds[0]), bounds[1])


def _choice(value, name: str, options) -> str:
    if not isinstance(value, str) or value not in options:
        raise InputError(f"{name}: {_shown(value)}; expected one of {list(options)}")
    return value


def _exponent(value) -> int:
    if isinstance(value, bool) or value not in (1, 2):
        raise InputError(f"p: {_shown(value)}; expected 1 or 2")
    return int(value)


def _id(value) -> int:
    number = _integer(value, "id")
    if not abs(number) < ID_LIMIT:
        raise InputError(f"id: {number}; expected an integer of magnitude below 2**53")
    return number


def _pairs(value, name: str, low: int, high: int) -> np.ndarray:
    """A list of ``[x, y]`` pairs of finite numbers, ``low`` to ``high`` of them, as ``(k, 2)`` float64."""
    if not isinstance(value, list):
        raise InputError(f"{name}: {_shown(value)}; expected a list of [x, y] pairs")
    if not low <= len(value) <= high:
        wanted = f"exactly {low}" if low == high else f"{low} to {high}"
        raise InputError(f"{name}: {len(value)} points; expected {wanted}")
    out = np.empty((len(value), 2))
    for i, pair in enumerate(value):
        if not isinstance(pair, list) or len(pair) != 2:
            raise InputError(f"{name}[{i}]: {_shown(pair)}; expected a pair [x, y] of numbers")
        out[i, 0] = _number(pair[0], f"{name}[{i}][0]")
        out[i, 1] = _number(pair[1], f"{name}[{i}][1]")
    return out


def _cloud(value, name: str, low: int, high: int) -> np.ndarray:
    points = _pairs(value, name, low, high)
    outside = np.flatnonzero(np.abs(points).max(1) > COORDINATE_LIMIT)
    if len(outside):
        i = int(outside[0])
        raise InputError(f"{name}[{i}]: {points[i].tolist()}; expected coordinates in "
                         f"[-{COORDINATE_LIMIT:g}, {COORDINATE_LIMIT:g}]")
    return points


def _masses(value, name: str, size: int) -> np.ndarray | None:
    """Null (uniform), or ``size`` finite non-negative masses with a positive sum, normalised to 1."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != size:
        found = f"{len(value)} masses" if isinstance(value, list) else _shown(value)
        raise InputError(f"{name}: {found}; expected null or {size} masses, one per point")
    masses = np.array([_number(v, f"{name}[{i}]") for i, v in enumerate(value)])
    negative = np.flatnonzero(masses < 0)
    if len(negative):
        raise InputError(f"{name}[{int(negative[0])}]: {masses[negative[0]]}; expected a mass >= 0")
    total = float(masses.sum())
    if not total > 0:
        raise InputError(f"{name}: masses summing to {total}; expected a positive total")
    return masses / total


def _drawn_points(value) -> np.ndarray:
    points = _pairs(value, "points", 0, MAX_POINTS)
    points[:, 0] = points[:, 0].clip(*DRAW_X)
    points[:, 1] = points[:, 1].clip(*DRAW_Y)
    distinct = len(np.unique(points[:, 0]))
    if distinct < MIN_DISTINCT_X:
        raise InputError(f"points: {distinct} distinct x; expected at least {MIN_DISTINCT_X} (a curve across the "
                         "drawing area)")
    return points


# -- server messages --------------------------------------------------------------------------------

def hello() -> str:
    """The server's first message: ``{"type": "hello", "limits": limits()}``."""
    return json.dumps({"type": "hello", "limits": limits()}, allow_nan=False)


def error(message: str, **fields) -> str:
    """An error message for the page: ``{"type": "error", "message": message, **fields}``."""
    return json.dumps({"type": "error", "message": str(message), **fields}, allow_nan=False)


# -- binary frames ----------------------------------------------------------------------------------

def encode_frame(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """One binary frame: the header (JSON) and the arrays (float32 or int32, finite).

    Parameters
    ----------
    header : dict, JSON-serialisable with finite numbers; ``"type"`` required, ``"arrays"`` is added
    arrays : name -> ndarray of dtype float32 or int32 (other dtypes are refused, not converted:
        the page reads the bytes as the header says)

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        for a non-finite number in the header or an array (the server never sends NaN or inf), or an
        array of another dtype.

    Examples
    --------
    >>> data = encode_frame({"type": "flow", "frame": 0}, {"x": np.zeros(3, np.float32)})
    >>> header, arrays = decode_frame(data)
    >>> header["frame"], arrays["x"].shape, len(data) % 4
    (0, (3,), 0)
    """
    entries, chunks, size = [], [], 0
    for name, array in arrays.items():
        kind = next((k for k, t in DTYPES.items() if np.asarray(array).dtype == t), None)
        if kind is None:
            raise ValueError(f"{name}: dtype {np.asarray(array).dtype}; expected one of {list(DTYPES)}")
        array = np.ascontiguousarray(array, dtype=np.dtype(DTYPES[kind]).newbyteorder("<"))
        if kind == "float32" and not bool(np.isfinite(array).all()):
            raise ValueError(f"{name}: non-finite values; a frame carries finite numbers only")
        entries.append({"name": name, "dtype": kind, "shape": list(array.shape), "offset": size})
        chunks.append(array.tobytes())
        size += array.nbytes  # 4-byte elements: every array starts at a multiple of 4
    text = json.dumps({**header, "arrays": entries}, allow_nan=False, separators=(",", ":")).encode()
    padding = -(4 + len(text)) % 4
    return b"".join([struct.pack("<I", len(text)), text, b"\0" * padding, *chunks])


def decode_frame(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and the arrays of a frame made by :func:`encode_frame` (what the page does, for tests).

    Parameters
    ----------
    data : bytes, one binary frame

    Returns
    -------
    (header, arrays) : the header dict (with its ``"arrays"`` entries) and name -> ndarray (copies)
    """
    (length,) = struct.unpack_from("<I", data, 0)
    header = json.loads(bytes(data[4:4 + length]).decode())
    start = 4 + length + (-(4 + length) % 4)
    arrays = {}
    for entry in header["arrays"]:
        dtype = np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")
        count = int(np.prod(entry["shape"], dtype=np.int64))
        flat = np.frombuffer(data, dtype=dtype, count=count, offset=start + entry["offset"])
        arrays[entry["name"]] = flat.reshape(entry["shape"]).astype(DTYPES[entry["dtype"]])
    return header, arrays
