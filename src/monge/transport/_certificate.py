"""The certificate of the sparse solvers: its rounding tolerance, and the rounds it may take."""

from __future__ import annotations

import logging

import numpy as np

from . import _reduced_costs

# The certificate's tolerance per row, in unit round-offs of float64, times d + 2 (a query's squared
# distance sums d + 1 squares, a block's product d + 2 terms).
ROUNDOFF_MARGIN = 16.0
# Certificate rounds before giving up (each adds the violating rows' best pairs).
MAX_ROUNDS = 100


# Each certificate round of the sparse solvers is reported here at INFO (``monge transport`` prints them).
log = logging.getLogger("monge.transport.sparse")


def report(what: str, size: str, rounds: int, violating: int, gap: float, bound: float, seconds: float) -> None:
    """Log one certificate round: the problem, the rows that violate it, the gap, the time so far."""
    if not log.isEnabledFor(logging.INFO):
        return
    verdict = (f"certified (duality gap {gap:.3g} <= {bound:.3g})" if gap <= bound or violating == 0 else
               f"{violating:,} rows violate the certificate (duality gap {gap:.3g})")
    log.info("sparse %s of %s points: round %d, %s, %.1f s", what, size, rounds, verdict, seconds)


class Stalled(RuntimeError):
    """The certificate did not hold within the rounds allowed (``solve(..., max_rounds=...)``)."""


def tolerance(x: np.ndarray, z: np.ndarray, g: np.ndarray, p: float, primal: float) -> float:
    """Rounding in the certificate: ROUNDOFF_MARGIN (d + 2) unit round-offs of the costs' and potentials'
    magnitude, per row: what the queries' float64 sums can miss a row minimum by.

    Parameters
    ----------
    x, z : (n, d) float64 ndarray, the clouds
    g : (n,) float64 ndarray, the column potentials
    p : float, the exponent of the cost
    primal : float, the matching's total cost

    Returns
    -------
    float, the bound on the duality gap (a total over the n rows)
    """
    return len(x) * roundoff(x, z, g, p, primal / len(x))


def roundoff(x: np.ndarray, z: np.ndarray, g: np.ndarray, p: float, mean_cost: float) -> float:
    """The certificate's tolerance on one row's minimum (unit mass): ROUNDOFF_MARGIN (d + 2) unit
    round-offs of the magnitude of the squared distances, the potentials and the mean cost."""
    magnitude = _reduced_costs.query_bound(x, z, g) ** (p / 2) + float(np.abs(g).max()) + abs(mean_cost)
    return ROUNDOFF_MARGIN * (x.shape[1] + 2) * np.finfo(np.float64).eps * magnitude


def require(gap: float, bound: float, rounds: int, max_rounds: int, what: str) -> None:
    """Raise unless ``-bound <= gap <= bound``: :class:`Stalled` when fewer than MAX_ROUNDS rounds were
    allowed (a caller may take another solver), else a RuntimeError; never a result uncertified."""
    if gap < -bound:  # impossible for a dual: the query lost the row minima to rounding
        raise RuntimeError(f"sparse {what}: duality gap {gap:.3g} below minus its tolerance {bound:.3g}: the "
                           "row minima are wrong, the certificate is void")
    if gap > bound and max_rounds < MAX_ROUNDS:
        raise Stalled(f"sparse {what}: not certified after {rounds} rounds (duality gap {gap:.3g})")
    if gap > bound:
        raise RuntimeError(f"sparse {what}: duality gap {gap:.3g} above its tolerance {bound:.3g} after "
                           f"{rounds} rounds; the result is not certified")
