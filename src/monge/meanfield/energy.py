r"""The energy of a shallow network as a functional of its measure of neurons.

.. math:: F(\mu) = \frac12 \int_D (f - f_\mu)^2\, dx + \int V\, d\mu, \qquad V(\xi) = \frac\lambda2 |\xi|^2,

its first variation (the text's :math:`\frac{\delta F}{\delta\mu}`)

.. math:: \psi_\mu(\xi) = \alpha \int_D \Phi(\xi, x) (f_\mu(x) - f(x))\, dx + V(\xi)

and its gradient :math:`\nabla_\xi \psi_\mu`. The integral over :math:`D` is a quadrature
(:mod:`.quadrature`), or a closed form (:mod:`.closed_forms`) where all integrals are known:

.. math:: F = C_f - \alpha \sum_i a_i \hat F(\xi_i) + \frac{\alpha^2}2 \sum_{ij} a_i a_j K(\xi_i, \xi_j)
          + \sum_i a_i V(\xi_i),

:math:`C_f = \frac12 \int f^2`, :math:`\hat F(\xi) = \int \Phi(\xi, x) f(x)\, dx`,
:math:`K(\xi, \xi') = \int \Phi(\xi, x) \Phi(\xi', x)\, dx`.
"""

from __future__ import annotations

import numpy as np
import torch

from monge.errors import InputError, InputTypeError

from . import _checks, closed_forms, quadrature
from ._collectives import gather_rows, reduce_sum
from .mixture import GaussianMixture
from .network import ShallowNetwork
from .units import Unit

#: Entries of the (N, block) feature buffer of one block of quadrature points (2 MiB in float32):
#: small enough to stay in the cache between the forward sum and the contraction (measured at
#: N = M = 1e4: 52 points per block beat 104 and 208 for d = 16).
BLOCK_ENTRIES = 1 << 19
#: From this many (particle, point) pairs, the sweep is split over torch's threads by points
#: (measured at N = M = 1e4 with 2 threads: d = 16 0.112-0.120 s -> 0.082-0.091 s, d = 64
#: 0.26-0.30 -> 0.24-0.25 s, d = 256 0.95-0.97 -> 0.78-0.88 s): one-threaded operations on
#: separate parts instead of many short parallel regions that wait for each other.
SPLIT_ENTRIES = 1 << 22


class Energy:
    r""":math:`F(\mu) = \frac12 \int_D (f - f_\mu)^2 dx + \int \frac\lambda2 |\xi|^2 d\mu` for one unit and target.

    Parameters
    ----------
    target : callable ``x (M, d) -> (M,)``, a :class:`~.mixture.GaussianMixture`, or a
        :class:`~.network.ShallowNetwork` (a teacher)
    domain : where :math:`x` lives, and the measure :math:`dx`:

        - ``(a, b)`` or ``[(a1, b1), ..., (ad, bd)]``: an interval (the cube :math:`[a, b]^d`) or box
          with Lebesgue measure (Gauss-Legendre in 1-2 dimensions, scrambled Sobol points beyond);
        - ``"R"`` / ``"R^d"``: all of :math:`\mathbb R^d`, closed form only (GaussianBump unit with a
          GaussianMixture target);
        - ``"gaussian"``: :math:`dx` the standard normal law on :math:`\mathbb R^d`; closed form for
          bias-free ReLU units with a bias-free ReLU teacher (the arc-cosine kernel of Cho & Saul),
          Gauss-Hermite (1-2 dims) or quasi-Monte Carlo otherwise;
        - an ``(M, d)`` Tensor of training samples: :math:`\int \cdot\, dx = \frac1M \sum_m`.
    unit : the unit of the networks this energy is evaluated on
    lam : :math:`\lambda \ge 0`
    quadrature : number of points (per dimension for Gauss rules), or a
        :class:`~.quadrature.Quadrature`; unused by closed forms (``closed_form=False`` forces the
        quadrature where one exists, e.g. to check a closed form).

    Examples
    --------
    >>> import torch
    >>> from monge.meanfield import GaussianBump, GaussianMixture, ShallowNetwork
    >>> target = GaussianMixture([1.0], [0.0], [0.5])
    >>> energy = Energy(target, "R", GaussianBump(variance=0.5))
    >>> energy.value(ShallowNetwork(torch.tensor([[1.0, 0.0]], dtype=torch.float64), GaussianBump()))
    0.0
    """

    def __init__(self, target, domain, unit: Unit, lam: float = 0.0, quadrature=None, closed_form: bool = True):
        if not isinstance(unit, Unit):
            raise InputTypeError(f"unit: expected a monge.meanfield unit, found {type(unit).__name__}")
        if not (callable(target) or isinstance(target, GaussianMixture)):
            raise InputTypeError(f"target: expected a callable x (M, d) -> (M,), found {type(target).__name__}")
        self.unit, self.target, self.domain = unit, target, domain
        self.lam = _checks.nonnegative(lam, "lam")
        _check_domain(domain, unit.d)
        self._closed = closed_forms.find(target, domain, unit) if closed_form else None
        if self._closed is None:
            self.quadrature = _rule(domain, unit.d, quadrature)
            fx = _target_values(target, self.quadrature.points)
            self._fx = fx
            self.c_f = 0.5 * float(self.quadrature.weights @ fx.square())
            self._cache: dict = {}
        else:
            self.quadrature = None
            self.c_f = self._closed.c_f

    @property
    def closed_form(self) -> bool:
        """Whether the integrals are in closed form (no quadrature)."""
        return self._closed is not None

    def __repr__(self) -> str:
        how = type(self._closed).__name__ if self._closed else f"{self.quadrature.kind} ({len(self.quadrature)} points)"
        return f"Energy(unit={self.unit!r}, domain={self.domain!r}, lam={self.lam}, {how})"

    # -- public API ---------------------------------------------------------------------------

    def value(self, network: ShallowNetwork) -> float:
        r"""The energy :math:`F(\mu) = \frac12 \int_D (f - f_\mu)^2 dx + \sum_i a_i \frac\lambda2 |\xi_i|^2`.

        Parameters
        ----------
        network : the measure :math:`\mu = \sum_i a_i \delta_{\xi_i}` (a :class:`ShallowNetwork`)

        Returns
        -------
        float
        """
        self._check(network)
        with torch.no_grad():
            if self._closed is None:
                x, q, fx = self._points(network.particles)
                r = network.f(x) - fx
                data = 0.5 * float(q @ r.square())
            else:
                data = self._closed_data(network)[0]
            return data + self._potential(network)

    def first_variation(self, network: ShallowNetwork, xi) -> torch.Tensor:
        r""":math:`\psi_\mu(\xi_k) = \alpha \int_D \Phi(\xi_k, x)(f_\mu(x) - f(x))\, dx + \frac\lambda2 |\xi_k|^2`, ``(K,)``.

        Parameters
        ----------
        network : the measure :math:`\mu` (a :class:`ShallowNetwork`)
        xi : (K, p) Tensor, any points of the parameter space
        """
        return self._psi(network, xi)[0]

    def gradient(self, network: ShallowNetwork, xi) -> torch.Tensor:
        r"""The gradient :math:`\nabla_\xi \psi_\mu(\xi_k)` of the first variation, ``(K, p)``.

        With :math:`\xi = (\omega, \theta)` and :math:`r = f_\mu - f`,

        .. math:: \partial_\omega \psi = \alpha \int_D h(\theta, x) r(x)\, dx + \lambda\omega, \quad
                  \nabla_\theta \psi = \alpha\omega \int_D \nabla_\theta h(\theta, x) r(x)\, dx + \lambda\theta.

        The particles move along :math:`-\nabla_\xi \psi_\mu` (:func:`~monge.meanfield.flow`).

        Parameters
        ----------
        network : the measure :math:`\mu` (a :class:`ShallowNetwork`)
        xi : (K, p) Tensor, any points of the parameter space
        """
        return self._psi(network, xi)[1]

    def value_and_gradient(self, network: ShallowNetwork) -> tuple[float, torch.Tensor]:
        r""":math:`F(\mu)` and :math:`\nabla\psi_\mu(\xi_i)` at the network's own particles, ``(N, p)``.

        One pass (the flow's hot path): with a quadrature, for each block of points the features
        :math:`h(\theta_i, x_m)` are computed once and serve :math:`f_\mu`, the residual and the
        contraction :math:`\sum_m q_m r_m \nabla h` while in the cache; no autograd. With a closed
        form, one ``N x N`` kernel and one ``N x K`` target kernel.
        """
        self._check(network)
        with torch.no_grad():
            xi = network.particles
            if self._closed is None:
                data, g, dg = self._fused(network)
            else:
                data, g, dg = self._closed_data(network, grad=True)
            grad = self._assemble(network, xi, g, dg)
            return data + self._potential(network), grad

    # -- internals ----------------------------------------------------------------------------

    def _check(self, network):
        if not isinstance(network, ShallowNetwork):
            raise InputTypeError(f"network: expected a ShallowNetwork, found {type(network).__name__}")
        if _signature(network.unit) != _signature(self.unit):
            raise InputError(f"network: unit {network.unit!r} but the energy was built for {self.unit!r}")

    def _points(self, like):
        key = (like.dtype, like.device)
        if key not in self._cache:
            x, q = self.quadrature.on(like)
            self._cache[key] = (x, q, self._fx.to(like))
        return self._cache[key]

    def _potential(self, network) -> float:
        if self.lam == 0:
            return 0.0
        v = 0.5 * self.lam * (network.mass @ network.particles.square().sum(1))
        return float(_reduce(v, network.group))

    def _assemble(self, network, xi, g, dg):
        """:math:`\\nabla\\psi` from :math:`g = \\int h r` and :math:`\\nabla_\\theta g`, at the points ``xi``."""
        alpha = network.alpha
        grad = torch.cat([(alpha * g)[:, None], (alpha * xi[:, :1]) * dg], dim=1)
        if self.lam:
            grad.add_(xi, alpha=self.lam)
        return grad

    def _fused(self, network):
        """One sweep over blocks of quadrature points: :math:`F_{data}`, :math:`\\int h r`, :math:`\\int \\nabla h\\, r`.

        On one process with several torch threads and a large problem, the points are split into
        one contiguous part per thread and each part is swept by its own thread with one-threaded
        operations (:func:`_sweep_in_threads`); the parts' sums are then added.
        """
        xi = network.particles
        x, q, fx = self._points(xi)
        theta = xi[:, 1:]
        beta = network.weights * xi[:, 0]
        block = _block(xi)
        threads = torch.get_num_threads()
        parts = min(threads, x.shape[0] // (2 * block))
        if network.group is not None or parts < 2 or xi.shape[0] * x.shape[0] < SPLIT_ENTRIES:
            data, g, dg = self._sweep(theta, beta, x, q, fx, block, network.group)
            return float(data), g, dg
        data, g, dg = _sweep_in_threads(self._sweep, theta, beta, x, q, fx, block, parts)
        return float(data), g, dg

    def _sweep(self, theta, beta, x, q, fx, block, group=None):
        """The sums of :meth:`_fused` over the points ``x`` (weights ``q``, target values ``fx``)."""
        g = torch.zeros_like(beta)
        dg = torch.zeros_like(theta)
        data = theta.new_zeros(())
        for start in range(0, x.shape[0], block):
            xb, qb = x[start:start + block], q[start:start + block]
            h = self.unit.h(theta, xb)
            r = _reduce(beta @ h, group).sub_(fx[start:start + block])
            qr = qb * r
            data += 0.5 * (qr @ r)
            g.addmv_(h, qr)
            self.unit.h_vjp(theta, xb, h, qr, inplace=True, out=dg)
        return data, g, dg

    def _psi(self, network, xi):
        """:math:`\\psi_\\mu` and :math:`\\nabla\\psi_\\mu` at any points ``xi (K, p)``."""
        self._check(network)
        xi = _checks.particles(xi, self.unit).to(network.particles)
        with torch.no_grad():
            theta = xi[:, 1:]
            if self._closed is None:
                x, q, fx = self._points(xi)
                qr = q * (network.f(x) - fx)
                g = torch.zeros_like(xi[:, 0])
                dg = torch.zeros_like(theta)
                block = _block(xi)
                for start in range(0, x.shape[0], block):
                    xb, qrb = x[start:start + block], qr[start:start + block]
                    h = self.unit.h(theta, xb)
                    g.addmv_(h, qrb)
                    self.unit.h_vjp(theta, xb, h, qrb, inplace=True, out=dg)
            else:
                centres, beta = self._all_particles(network)
                g, dg = self._closed.kernel(theta, centres, beta)
                gt, dgt = self._closed.target_cross(theta)
                g, dg = g - gt, dg - dgt
            psi = network.alpha * xi[:, 0] * g
            if self.lam:
                psi = psi + 0.5 * self.lam * xi.square().sum(1)
            return psi, self._assemble(network, xi, g, dg)

    def _all_particles(self, network):
        """:math:`(\\theta_j, \\beta_j = \\alpha a_j \\omega_j)` of every particle (all shards)."""
        theta, beta = network.particles[:, 1:], network.weights * network.particles[:, 0]
        if network.group is not None:
            theta, beta = gather_rows(theta, network.group), gather_rows(beta, network.group)
        return theta, beta

    def _closed_data(self, network, grad: bool = False):
        """:math:`\\frac12 \\int (f - f_\\mu)^2 = C_f + \\frac12 \\beta^\\top K\\beta - \\beta^\\top \\hat h`; with
        ``grad``, also :math:`\\int h r` and its gradient at the particles."""
        theta = network.particles[:, 1:]
        beta = network.weights * network.particles[:, 0]
        centres, beta_all = self._all_particles(network)
        kb, dkb = self._closed.kernel(theta, centres, beta_all, symmetric=network.group is None)
        ht, dht = self._closed.target_cross(theta)
        partial = 0.5 * (beta @ kb) - beta @ ht
        data = self.c_f + float(_reduce(partial, network.group))
        return (data, kb - ht, dkb - dht) if grad else (data,)


def _sweep_in_threads(sweep, theta, beta, x, q, fx, block: int, parts: int):
    """``sweep`` over ``parts`` contiguous parts of the points, one Python thread each, torch on one
    thread meanwhile (restored after); the sums of the parts, added in order (deterministic)."""
    from concurrent.futures import ThreadPoolExecutor

    pieces = torch.tensor_split(torch.arange(x.shape[0]), parts)
    bounds = [(int(p[0]), int(p[-1]) + 1) for p in pieces]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(parts) as pool:
            results = list(pool.map(lambda b: sweep(theta, beta, x[b[0]:b[1]], q[b[0]:b[1]], fx[b[0]:b[1]], block),
                                    bounds))
    finally:
        torch.set_num_threads(before)
    data, g, dg = results[0]
    for more in results[1:]:
        data, g, dg = data + more[0], g.add_(more[1]), dg.add_(more[2])
    return data, g, dg


def _block(xi: torch.Tensor) -> int:
    """Quadrature points per block: ``BLOCK_ENTRIES / N``, and at least ``2 p`` so that the
    contraction's ``(N, p)`` accumulator is not re-read more often than the features are written
    (d = 256: 520 points per block, 0.67 of the matmul rate, against 0.58 with 104)."""
    return max(1, BLOCK_ENTRIES // xi.shape[0], 2 * xi.shape[1])


def _signature(unit: Unit) -> tuple:
    return type(unit), unit.d, unit.p, getattr(unit, "variance", None), getattr(unit, "bias", None)


def _reduce(t: torch.Tensor, group) -> torch.Tensor:
    return reduce_sum(t, group)


def _rule(domain, d, size):
    if isinstance(domain, str) and domain.startswith("R"):
        raise InputError(f"domain={domain!r}: R^d has no quadrature and no closed form for this unit and target "
                         "(closed forms: GaussianBump unit with a GaussianMixture target); give a bounded domain (a, b)")
    return quadrature.rule(domain, d, size)


def _check_domain(domain, d: int) -> None:
    if isinstance(domain, str):
        allowed = {"R", "R^d", f"R^{d}", "gaussian"}
        if domain not in allowed:
            raise InputError(f"domain={domain!r}; expected one of {sorted(allowed)}, an interval (a, b), a box or samples")


def _target_values(target, points: torch.Tensor) -> torch.Tensor:
    """The target at the quadrature points (float64), checked finite."""
    with torch.no_grad():
        fx = target(points)
    fx = torch.as_tensor(np.asarray(fx) if not isinstance(fx, torch.Tensor) else fx).to("cpu", torch.float64)
    if fx.shape not in ((points.shape[0],), (points.shape[0], 1)):
        raise InputError(f"target: returned shape {tuple(fx.shape)} for inputs {tuple(points.shape)}; expected ({points.shape[0]},)")
    fx = fx.reshape(-1)
    bad = int((~torch.isfinite(fx)).sum())
    if bad:
        raise InputError(f"target: non-finite values at {bad} of the {fx.shape[0]} quadrature points")
    return fx
