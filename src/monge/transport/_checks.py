"""Input validation for the public entry points of :mod:`monge.transport`.

Every public solver normalises its inputs here, once: points become floating tensors on one
device and dtype, weights become non-negative tensors with equal sums. Errors name the argument,
what was found and what was expected: :class:`~monge.errors.InputError` (a ``ValueError``), or
:class:`~monge.errors.InputTypeError` (also a ``TypeError``) for an argument of the wrong type.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from monge.errors import InputError, InputTypeError

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def as_tensor(value, name: str, like: torch.Tensor | None = None) -> torch.Tensor:
    """Convert a tensor, numpy array or nested list to a tensor, without copying tensors."""
    if isinstance(value, torch.Tensor):
        tensor = value
    elif isinstance(value, np.ndarray):
        tensor = torch.from_numpy(value)
    elif isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError:  # numpy refuses ragged nesting
            array = None
        if array is None or array.dtype == object:
            raise InputError(f"{name}: a ragged nested list (rows of different lengths or types); "
                             "expected a rectangular array of numbers")
        tensor = torch.as_tensor(array)
    else:
        raise InputTypeError(f"{name}: expected a torch.Tensor or numpy array, found {type(value).__name__}")
    if like is not None and tensor.device != like.device:
        raise InputTypeError(f"{name}: on device {tensor.device} but x is on {like.device}; move both to one device")
    return tensor


def check_float(tensor: torch.Tensor, name: str) -> None:
    if tensor.dtype not in _FLOATS:
        raise InputTypeError(f"{name}: dtype {tensor.dtype} is not a floating type; expected float32 or float64 "
                        f"(convert with .float() or .double())")


def check_finite(tensor: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise InputError(f"{name}: {bad} entries are NaN or inf; expected finite values")


def points(x, z, *, batched: bool = False, same_size: bool = False,
           names: tuple[str, str] = ("x", "z")) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate two point clouds: `(n, d)` and `(m, d)`, or `(B, n, d)` and `(B, m, d)` when batched.

    A 1-D tensor is read as n points on the line, `(n, 1)`. ``names`` are the arguments' names
    in error messages.
    """
    nx, nz = names
    x = as_tensor(x, nx)
    z = as_tensor(z, nz)
    if z.device != x.device:
        raise InputTypeError(f"{nz}: on device {z.device} but {nx} is on {x.device}; move both to one device")
    check_float(x, nx)
    check_float(z, nz)
    if x.dtype != z.dtype:
        raise InputTypeError(f"{nz}: dtype {z.dtype} differs from {nx}'s {x.dtype}; convert one of them")
    if x.ndim == 1:
        x = x[:, None]
    if z.ndim == 1:
        z = z[:, None]
    ndims = (2, 3) if batched else (2,)
    for name, t in ((nx, x), (nz, z)):
        if t.ndim not in ndims:
            shapes = "(n, d) or (B, n, d)" if batched else "(n, d)"
            raise InputError(f"{name}: shape {tuple(t.shape)}; expected {shapes}")
        if t.shape[-2] == 0:
            raise InputError(f"{name}: empty point set, shape {tuple(t.shape)}; expected at least one point")
        if t.shape[-1] == 0:
            raise InputError(f"{name}: points of dimension 0, shape {tuple(t.shape)}; expected d >= 1")
    if x.ndim != z.ndim:
        raise InputError(f"{nz}: shape {tuple(z.shape)} but {nx} has shape {tuple(x.shape)}; expected both batched or neither")
    if x.shape[-1] != z.shape[-1]:
        raise InputError(f"{nz}: points of dimension {z.shape[-1]} but {nx}'s are of dimension {x.shape[-1]}; "
                         "expected the same dimension d")
    if x.ndim == 3 and x.shape[0] != z.shape[0]:
        raise InputError(f"{nz}: batch of {z.shape[0]} problems but {nx} has {x.shape[0]}; expected equal batch sizes")
    if same_size and x.shape[-2] != z.shape[-2]:
        raise InputError(f"{nz}: {z.shape[-2]} points but {nx} has {x.shape[-2]}; a matching needs n == m "
                         "(use kantorovich for weighted or unequal sets)")
    check_finite(x, nx)
    check_finite(z, nz)
    return x, z


def real(value, name: str) -> float:
    """A real number (Python, NumPy scalar or 0-d tensor) as a float; bools are refused."""
    if isinstance(value, torch.Tensor) and value.ndim == 0 and value.dtype.is_floating_point:
        return float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{name}: expected a number, found {type(value).__name__}")
    return float(value)


def exponent(p) -> float:
    p = real(p, "p")
    if not (math.isfinite(p) and p > 0):
        raise InputError(f"p: {p}; expected a finite exponent p > 0")
    return p


def cost_range(x: torch.Tensor, z: torch.Tensor, p: float, names: tuple[str, str] = ("x", "z")) -> None:
    """Refuse clouds whose costs ``|x - z|^p`` (or the squares the expansion forms) overflow the dtype.

    The bound is taken in float64 on the clouds' joint extent after centring, as the cost
    routines compute: a float32 cloud at 1e20 (or a float64 one at 1e200) would otherwise give
    ``inf`` costs silently, which solvers then report as an infeasible problem. The error names
    the cloud of the largest coordinates (``names``: the arguments, or the files they came from),
    the span found and the largest span the dtype takes.
    """
    both = torch.cat([x.detach().reshape(-1, x.shape[-1]), z.detach().reshape(-1, z.shape[-1])]).double()
    span = both.amax(0) - both.amin(0)
    top = float(span.max())
    extent = top * float((span / top).norm()) if top > 0 else 0.0  # scaled: no overflow of the squares
    power = max(p, 2.0)
    largest = torch.finfo(x.dtype).max
    limit = largest / (4 * x.shape[-1])
    if extent > 0 and power * math.log(extent) > math.log(limit):
        name = names[0] if float(x.detach().abs().max()) >= float(z.detach().abs().max()) else names[1]
        formed = f"|x - z|^{p:g}" if p >= 2 else "|x - z|^2, which the cost routines form,"
        widest = math.exp(math.log(limit) / power)
        advice = "rescale the points" + ("" if x.dtype == torch.float64 else " or use float64 points")
        raise InputError(f"{name}: coordinates too large for the cost |x - z|^{p:g} in {x.dtype}: the clouds span "
                         f"{extent:.3g}, so {formed} reaches 1e{power * math.log10(extent):.0f}, beyond {x.dtype}'s "
                         f"range ({largest:.3g}); expected clouds spanning less than {widest:.3g}: {advice}")


def weight_tolerance(dtype: torch.dtype) -> float:
    """How far two weight sums may differ and still count as equal."""
    return 1e-4 if dtype in (torch.float16, torch.bfloat16, torch.float32) else 1e-9


def weights(a, n: int, name: str, like: torch.Tensor) -> torch.Tensor:
    """Validate a weight vector of length n, returned in float64; ``None`` means uniform weights 1/n."""
    if a is None or (isinstance(a, (list, tuple)) and len(a) == 0) or (hasattr(a, "shape") and tuple(a.shape) == (0,)):
        return torch.full((n,), 1.0 / n, dtype=torch.float64, device=like.device)  # POT's convention: [] is uniform
    a = as_tensor(a, name, like)
    if a.dtype not in _FLOATS and a.dtype not in (torch.int32, torch.int64):
        raise InputTypeError(f"{name}: dtype {a.dtype}; expected a floating or integer weight vector")
    if a.shape != (n,):
        raise InputError(f"{name}: shape {tuple(a.shape)}; expected ({n},), one weight per point")
    a = a.to(torch.float64)  # sums and cumulative sums of weights are done in float64
    check_finite(a, name)
    if bool((a < 0).any()):
        raise InputError(f"{name}: {int((a < 0).sum())} negative weights (min {float(a.min()):.3g}); "
                         "expected non-negative weights")
    if float(a.detach().sum()) <= 0:
        raise InputError(f"{name}: weights sum to 0; expected a positive total mass")
    return a


def batched_weights(w, batch: int, n: int, name: str, like: torch.Tensor) -> torch.Tensor:
    """Validated weights (n,) or (B, n) as a (B, n) float64 tensor, detached (the solvers attach
    their gradient themselves); unbatched weights are shared by every problem (a view)."""
    if w is not None and getattr(w, "ndim", 1) == 2:
        w = as_tensor(w, name, like)
        if w.shape != (batch, n):
            raise InputError(f"{name}: shape {tuple(w.shape)}; expected ({n},) or ({batch}, {n})")
        w = torch.stack([weights(row, n, name, like) for row in w])
    else:
        w = weights(w, n, name, like).expand(batch, n)
    return w.detach()


def equal_mass(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> None:
    """Weight sums must agree up to the precision of the points' dtype."""
    sa, sb = float(a.detach().sum()), float(b.detach().sum())
    tol = weight_tolerance(dtype)
    if abs(sa - sb) > tol * max(abs(sa), abs(sb)):
        raise InputError(f"b: weights sum to {sb:.7g} but a sums to {sa:.7g} (relative tolerance {tol:g}); "
                         "expected equal total masses")


def method(name, registry, arg: str = "method") -> str:
    if not isinstance(name, str) or name not in registry:
        raise InputError(f"{arg}={name!r}; expected one of {sorted(registry)}")
    return name


def cost(value, *, batched: bool = False, square: bool = False) -> torch.Tensor:
    """Validate a user's cost matrix: ``(n, m)`` (or ``(B, n, m)`` when batched) of finite reals,
    ``+inf`` marking a forbidden pair; no NaN, no ``-inf``, no row or column forbidden throughout."""
    c = as_tensor(value, "cost")
    check_float(c, "cost")
    ndims = (2, 3) if batched else (2,)
    if c.ndim not in ndims:
        shapes = "(n, m) or (B, n, m)" if batched else "(n, m)"
        raise InputError(f"cost: shape {tuple(c.shape)}; expected {shapes}")
    if c.shape[-2] == 0 or c.shape[-1] == 0:
        raise InputError(f"cost: shape {tuple(c.shape)}; expected at least one row and one column")
    if square and c.shape[-2] != c.shape[-1]:
        raise InputError(f"cost: shape {tuple(c.shape)}; a matching needs a square cost matrix (n == m)")
    data = c.detach()
    if bool(torch.isnan(data).any()):
        raise InputError(f"cost: {int(torch.isnan(data).sum())} entries are NaN; expected real costs "
                         "(+inf marks a forbidden pair)")
    if bool((data == -math.inf).any()):
        raise InputError(f"cost: {int((data == -math.inf).sum())} entries are -inf; expected real costs "
                         "(+inf marks a forbidden pair)")
    if not bool(torch.isinf(data).any()):
        return c
    finite = torch.isfinite(data)
    for axis, what in ((-1, "row"), (-2, "column")):
        empty = ~finite.any(axis)
        if bool(empty.any()):
            index = empty.nonzero()[0].tolist()
            raise InputError(f"cost: {what} {index[-1]}{' of problem %d' % index[0] if len(index) == 2 else ''} "
                             f"is +inf throughout; expected at least one allowed pair per {what}")
    return c


def problem(x, z, cost_value, *, batched: bool = False, same_size: bool = False):
    """Points ``(x, z)`` or a cost matrix, exactly one of the two: returns ``(x, z, cost)``.

    With ``cost``, ``x`` and ``z`` are None; with points, ``cost`` is None.
    """
    if cost_value is None:
        if x is None or z is None:
            raise InputTypeError(f"{'x' if x is None else 'z'}: missing; pass the points x and z, or cost=")
        x, z = points(x, z, batched=batched, same_size=same_size)
        return x, z, None
    if x is not None or z is not None:
        raise InputTypeError("cost: given together with points; pass either x and z or cost=, not both")
    return None, None, cost(cost_value, batched=batched, square=same_size)


def feasible(cost_value: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> None:
    """With forbidden pairs (``+inf``), check that some coupling of ``a`` and ``b`` avoids them all.

    Zero-weight rows and columns drop out; the rest must admit a coupling on the allowed pairs
    (Hall's condition), tested as a transport problem with cost 1 on forbidden pairs, whose optimum
    is the least mass forced onto them.
    """
    allowed = torch.isfinite(cost_value.detach()).cpu()
    if bool(allowed.all()):
        return
    a, b = a.cpu(), b.cpu()
    rows, cols = a > 0, b > 0
    live = allowed[rows][:, cols]
    if not bool(live.any(1).all()) or not bool(live.any(0).all()):
        axis = "row" if not bool(live.any(1).all()) else "column"
        raise InputError(f"cost: a {axis} with positive weight has +inf cost to every {'column' if axis == 'row' else 'row'} "
                         "of positive weight; no coupling of a and b avoids the forbidden pairs")
    import ot  # lazily: importing POT takes 0.5-2 s

    aw, bw = (a[rows] / a.sum()).numpy(), (b[cols] / b.sum()).numpy()
    forced = float(ot.emd2(aw, bw, (~live).double().numpy(), numItermax=10_000_000))
    if forced > 1e-9:
        raise InputError(f"cost: the weights cannot be coupled on the allowed pairs (+inf elsewhere): at least "
                         f"{forced:.3g} of the mass must cross a forbidden pair; expected a feasible problem")
