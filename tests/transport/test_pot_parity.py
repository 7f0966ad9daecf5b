r"""POT's own tests, for what monge has, ported to monge's API: POT's data and tolerances kept.

POT's tests were read from PythonOT/POT at commit aed01202 (master, 0.9.7.dev0; installed: POT
0.9.7.post1). There ``test/test_sliced.py`` has become ``test/sliced/test_sliced_distances.py``
and ``test/test_unbalanced.py`` has become ``test/unbalanced/test_sinkhorn.py`` (the MM,
L-BFGS-B, 1-D and sliced unbalanced solvers moved to sibling files of their own, none of which
monge has); the ports below follow those files. Each ported test names its POT original in a
comment and keeps POT's seeds, sizes, distributions (``ot.datasets.make_1D_gauss``,
``ot.utils.unif``, ``ot.dist``, ``ot.utils.dist0``) and tolerances. POT's ``np.allclose`` calls
that assert nothing (``test_emd_backends``, ``test_sinkhorn_backends``, ``assert_allclose_sol``
...) are asserted here, with ``np.allclose``'s tolerances (rtol 1e-5, atol 1e-8). Where a POT
test compares two POT variants that monge does not have (stabilised, greenkhorn, geomloss, lazy),
monge stands in for the variant and POT's reference solver is kept as the other side. Where POT
gives a matrix ``M = ot.dist(x, z)``, the test runs twice (``given``): from the points and from
``cost=M``. POT's parametrisations over ``verbose``, ``warn``, ``log`` and ``method`` collapse to
one monge call (monge has one Sinkhorn; its own variants, ``anneal`` and ``relaxation``, stand in
where POT compares methods).

Conventions mapped: POT's ``sinkhorn2`` / ``sinkhorn_unbalanced2`` (default ``returnCost="linear"``)
return ``<P, C>``, monge's ``.cost``; POT's ``ot.solve(...).value`` (with ``reg``) is monge's
``.entropic_cost``; POT's ``stopThr`` (an L2 marginal error, default 1e-9) becomes monge's ``tol``
(an L1 marginal error) with ``max_iter=100000``; POT's ``wasserstein_1d`` / ``emd2_1d`` return
:math:`W_p^p` (monge's ``transport_1d(...).cost``), ``sliced_wasserstein_distance`` the p-th root
of the mean (monge's ``wasserstein(method="sliced")``, ``sliced(...).cost ** (1 / p)``), with
POT's ``(d, L)`` projections transposed to monge's ``(L, d)`` directions. monge warns with
``RuntimeWarning`` where POT warns with ``UserWarning``.

POT 0.9.7's ``ot.unbalanced.sinkhorn_unbalanced`` and ``sinkhorn_unbalanced2`` default to
``reg_type="kl"``, :math:`\mathrm{reg}\, \mathrm{KL}(P \mid a \otimes b)` (since 0.9.5; before it
was ``"entropy"``, :math:`\sum P \log P - P`), which is monge's ``sinkhorn(..., rho=...)``;
``sinkhorn_unbalanced2`` returns ``<P, C>`` by default (``returnCost="linear"``). The ports below
pass ``reg_type="kl"`` explicitly all the same.

Not ported, with the reason
---------------------------
test_ot.py
    test_emd_emd2_devices_tf: TensorFlow. test_omp_emd2: ``numThreads`` (monge has no threads
    option). test_emd2_multi: the one-process / multi-process comparison of ``emd2`` with several
    ``b`` columns (the duality checks per column are ported). test_lp_barycenter,
    test_free_support_barycenter, test_free_support_barycenter_backends,
    test_generalised_free_support_barycenter, test_generalised_free_support_barycenter_backends,
    test_free_support_barycenter_generic_costs,
    test_free_support_barycenter_generic_costs_auto_ground_bary,
    test_free_support_barycenter_generic_costs_backends,
    test_lp_barycenter_cvxopt, test_clean_discrete_measure, test_to_int_array: barycenters and
    their helpers. verify_gluing_validity, test_north_west_mm_gluing,
    test_north_west_mm_gluing_backends: multi-marginal gluing. test_warnings: ``numItermax``
    (monge sizes the pivot cap itself and raises rather than warn). test_emd__dual_warmstart, test_emd_lazy_warmstart, test_emd_sparse_warmstart:
    ``potentials_init`` warm starts. test_batch_center_ot_dual: POT's internal
    ``center_ot_dual``. (The sparse ``coo`` costs are ported as ``+inf`` forbidden pairs, the lazy
    ``emd2_lazy`` as monge's from-points solve.)
test_bregman.py
    test_sinkhorn_stabilization: at reg = 1e-5 on ``dist0(100)`` POT's ``sinkhorn_log`` and
    ``sinkhorn_stabilized`` both return 0.0 (the true value is about 99.3), so the check is
    vacuous; monge's Sinkhorn at eps / D^p = 1e-9 has not converged after 1e5 iterations (28 s).
    test_sinkhorn2_variants_device_tf, test_wasserstein_bary_2d_device_tf,
    test_wasserstein_bary_2d_debiased_device_tf: TensorFlow. test_sinkhorn_variants_log,
    test_sinkhorn_variants_log_multib: the ``log=True`` outputs of POT's variants (their plan
    comparisons are those of test_sinkhorn_variants and test_sinkhorn_variants_multi_b).
    test_barycenter, test_free_support_sinkhorn_barycenter, test_barycenter_assymetric_cost,
    test_barycenter_debiased, test_convergence_warning_barycenters, test_barycenter_stabilization,
    create_random_images_dist, test_wasserstein_bary_2d, test_wasserstein_bary_2d_dtype_device,
    test_wasserstein_bary_2d_debiased, test_wasserstein_bary_2d_debiased_dtype_device, test_unmix,
    test_convolutional_barycenter_non_square: barycenters and unmixing.
    test_implemented_methods: POT's method names. test_screenkhorn: screenkhorn.
    test_sinkhorn_warmstart, test_empirical_sinkhorn_warmstart,
    test_empirical_sinkhorn_divergence_warmstart: ``warmstart`` potentials.
test_1d_solver.py
    test_wasserstein_1d_device_tf, test_emd1d_device_tf: TensorFlow. test_emd1d_dual_with_weights,
    test_emd1d_dual_backprop_batch, test_emd1d_dual_type_devices: ``emd_1d_dual_backprop``'s
    potentials (``transport_1d`` returns none). test_index_quantile_function: POT's internal
    ``quantile_function``. test_wasserstein_1d_plan: ``return_plans`` (``transport_1d`` forms no
    plan; the plan comparison of test_emd_1d_emd2_1d is left out for the same reason).
sliced/test_sliced_distances.py (was test_sliced.py)
    test_env: prints ``sys.executable``. test_sliced_log: ``log=True`` (per-direction costs).
    test_max_sliced_same_dist, test_max_sliced_different_dists, test_max_sliced_dim_check,
    test_max_sliced_backend, test_max_sliced_backend_type_devices,
    test_max_sliced_backend_device_tf: max-sliced. test_sliced_backend_device_tf:
    TensorFlow. TestSlicedWassersteinScaler (test_scaler_none_matches_no_scaler,
    test_scaler_with_datascaler_runs, test_scaler_surfaces_small_scale_signal,
    test_scaler_with_lambda, test_invalid_scaler_raises, test_max_sliced_scaler_integration),
    test_sliced_wasserstein_scaler_backend: the ``scaler`` argument. (The spherical tests of the
    old test_sliced.py are in test_spherical_sliced.py now: monge has no spherical slicing.)
unbalanced/test_sinkhorn.py (was test_unbalanced.py); only ``reg_type="kl"`` is in scope
    test_unbalanced_warmstart: ``warmstart``. test_sinkhorn_unbalanced2: ``log=True`` against
    ``log=False``. test_unbalanced_relaxation_parameters,
    test_unbalanced_relaxation_parameters_pair: ``reg_m`` as lists, tuples and
    arrays, pairs (semi-relaxed, ``inf``) and several ``b`` columns (monge has one scalar
    ``rho``). test_unbalanced_multiple_inputs and test_stabilized_vs_sinkhorn: several ``b``
    columns, for which POT falls back to ``reg_type="entropy"`` (it warns "Reg_type not
    implemented yet"). test_sinkhorn_wrong_returnCost: ``returnCost``. test_unbalanced_barycenter,
    test_barycenter_stabilized_vs_sinkhorn: barycenters. test_wrong_method,
    test_implemented_methods: POT's method names. Every ``reg_type="entropy"`` case, and the
    ``sinkhorn_stabilized`` / ``sinkhorn_reg_scaling`` / ``sinkhorn_translation_invariant``
    methods (one monge solver stands for all four).
test_solvers.py
    test_solve_last_step, test_solve_detach: ``grad="last_step"`` / ``"detach"`` (monge has no
    gradient modes). test_solve_not_implemented,
    test_solve_sample_NotImplemented, and the ``NotImplementedError`` checks of test_solve and
    test_solve_sample: ``reg_type`` / ``unbalanced_type`` / ``metric`` names monge does not take.
    test_solve_grid is ported for the cases monge solves (exact; KL-regularised; KL-regularised
    with KL marginals); its "entropy", "L2", callable regularisers and "L2", "TV" marginal
    penalties, and unregularised unbalanced OT, are not monge's. test_solve_gromov,
    test_solve_gromov_grid, test_solve_gromov_not_implemented: Gromov-Wasserstein.
    test_solve_sample_lazy_emd with ``metric="cityblock"``: monge's ground cost is Euclidean.
    test_solve_sample_methods for "gaussian", "factored", "lowrank", "nystroem": not monge's.

Definitions that differ, checked as documented
----------------------------------------------
POT's ``empirical_sinkhorn_divergence`` debiases the linear cost,
:math:`\langle P_{ab}, C\rangle - \frac12 \langle P_{aa}, C\rangle - \frac12 \langle P_{bb}, C\rangle`;
monge's ``sinkhorn_divergence`` debiases :math:`\mathrm{OT}_\varepsilon` (Feydy et al., 2019).
test_empirical_sinkhorn_divergence checks monge's value against :math:`\mathrm{OT}_\varepsilon`
computed by POT (``ot.solve(...).value``) and POT's value against monge's ``.cost``. POT warns
on ``reg=0`` (test_nan_warning); monge refuses ``eps=0`` with a ValueError naming ``eps``.
"""

from __future__ import annotations

import warnings

import numpy as np
import ot
import pytest
import torch
from ot.datasets import make_1D_gauss as gauss
from scipy.special import logsumexp
from scipy.stats import wasserstein_distance

from monge.transport import (
    kantorovich,
    matching,
    sinkhorn,
    sinkhorn_divergence,
    sliced,
    transport_1d,
    transport_cost,
    wasserstein,
)
from monge.transport.sliced import random_directions

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
DTYPES = [torch.float32, torch.float64]
# POT's default stopThr of 1e-9 (numItermax a safety net): monge's tol is an L1 marginal error
TIGHT = {"tol": 1e-9, "max_iter": 100_000}
# the tolerances of np.allclose, for POT's checks that call it
ALLCLOSE = {"rtol": 1e-5, "atol": 1e-8}

GIVEN = pytest.mark.parametrize("given", ["points", "cost"])


def _np(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _given(given: str, x, z, M, p: float = 2.0) -> dict:
    """monge's form of POT's problem ``M = ot.dist(x, z)``: the points, or the matrix as ``cost=``."""
    if given == "points":
        return {"x": x, "z": z, "p": p}
    return {"cost": M}


def _repeat(given: str, x, M, batch: int) -> dict:
    """The same problem ``batch`` times: (B, n, d) points or a (B, n, n) cost."""
    if given == "points":
        xs = np.broadcast_to(x, (batch,) + x.shape).copy()
        return {"x": xs, "z": xs}
    return {"cost": np.broadcast_to(M, (batch,) + M.shape).copy()}


def _assert_allclose_sol(sol1, sol2, potentials: bool = True) -> None:
    """POT test_solvers.py::assert_allclose_sol, asserted: every attribute both results have."""
    attrs = ["cost", "entropic_cost", "plan"] + (["f", "g"] if potentials else [])
    for attr in attrs:
        one, two = getattr(sol1, attr), getattr(sol2, attr)
        assert (one is None) == (two is None), attr
        if one is not None:
            np.testing.assert_allclose(_np(one), _np(two), equal_nan=True, err_msg=attr, **ALLCLOSE)


def _check_duality_gap(a, b, M, G, u, v, cost) -> None:
    """POT test_ot.py::check_duality_gap."""
    cost_dual = np.vdot(a, u) + np.vdot(b, v)
    # Check that dual and primal cost are equal
    np.testing.assert_almost_equal(cost_dual, cost)
    ind1, ind2 = np.nonzero(G)
    # Check that reduced cost is zero on transport arcs
    np.testing.assert_array_almost_equal(
        (M - u.reshape(-1, 1) - v.reshape(1, -1))[ind1, ind2], np.zeros(ind1.size)
    )


def _sparse_test_matrices(n1: int, n2: int, k: int = 2, seed: int = 42):
    """POT test_ot.py::_get_sparse_test_matrices, the same draws.

    Returns the cost with ``+inf`` off the random graph (monge's forbidden pairs, for POT's sparse
    ``coo`` cost), POT's dense cost (``1e8`` off the graph) and the graph's mask.
    """
    rng = np.random.RandomState(seed)
    M_orig = rng.rand(n1, n2)
    mask = np.zeros((n1, n2))
    for i in range(n1):
        j_list = rng.choice(n2, min(k, n2), replace=False)
        for j in j_list:
            mask[i, j] = 1
    for j in range(n2):
        i_list = rng.choice(n1, min(k, n1), replace=False)
        for i in i_list:
            mask[i, j] = 1
    M_forbidden = np.where(mask > 0, M_orig, np.inf)
    M_dense = M_orig + 1e8 * (1 - mask)
    return M_forbidden, M_dense, mask > 0


# ---------------------------------------------------------------------------------------------
# test_ot.py
# ---------------------------------------------------------------------------------------------


# POT test_ot.py::test_emd_dimension_and_mass_mismatch
@GIVEN
def test_emd_dimension_and_mass_mismatch(given):
    # test emd and emd2 for dimension mismatch
    n_samples = 100
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples, n_features)
    a = ot.utils.unif(n_samples + 1)

    M = ot.dist(x, x)

    with pytest.raises(ValueError, match="^a: "):
        kantorovich(**_given(given, x, x, M), a=a, b=a)

    # test emd and emd2 for mass mismatch
    a = ot.utils.unif(n_samples)
    b = a.copy()
    a[0] = 100
    with pytest.raises(ValueError, match="^[ab]: "):
        kantorovich(**_given(given, x, x, M), a=a, b=b)


# POT test_ot.py::test_emd_backends (numpy against torch inputs)
@GIVEN
def test_emd_backends(given):
    n_samples = 100
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples, n_features)
    y = rng.randn(n_samples, n_features)
    a = ot.utils.unif(n_samples)

    M = ot.dist(x, y)

    G = kantorovich(**_given(given, x, y, M), a=a, b=a).plan

    ab, xb, yb, Mb = (torch.from_numpy(t) for t in (a, x, y, M))

    Gb = kantorovich(**_given(given, xb, yb, Mb), a=ab, b=ab).plan

    np.testing.assert_allclose(_np(G), _np(Gb), **ALLCLOSE)
    # and POT's plan
    np.testing.assert_allclose(_np(G), ot.emd(a, a, M), **ALLCLOSE)


# POT test_ot.py::test_emd2_backends (numpy against torch inputs, and empty weights)
@GIVEN
def test_emd2_backends(given):
    n_samples = 100
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples, n_features)
    y = rng.randn(n_samples, n_features)
    a = ot.utils.unif(n_samples)

    M = ot.dist(x, y)

    val = kantorovich(**_given(given, x, y, M), a=a, b=a).cost

    ab, xb, yb, Mb = (torch.from_numpy(t) for t in (a, x, y, M))

    valb = kantorovich(**_given(given, xb, yb, Mb), a=ab, b=ab).cost

    # check with empty inputs
    valb2 = kantorovich(**_given(given, xb, yb, Mb), a=[], b=[]).cost

    np.testing.assert_allclose(_np(val), _np(valb), **ALLCLOSE)
    np.testing.assert_allclose(_np(val), _np(valb2), **ALLCLOSE)
    # POT's value, and monge's assignment solver on these equal-size uniform clouds
    np.testing.assert_allclose(_np(val), ot.emd2(a, a, M), **ALLCLOSE)
    np.testing.assert_allclose(_np(matching(**_given(given, xb, yb, Mb)).cost), _np(val), **ALLCLOSE)


# POT test_ot.py::test_emd_emd2_types_devices
@GIVEN
def test_emd_emd2_types_devices(given):
    n_samples = 100
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples, n_features)
    y = rng.randn(n_samples, n_features)
    a = ot.utils.unif(n_samples)

    M = ot.dist(x, y)

    for device in DEVICES:
        for dtype in DTYPES:
            ab, xb, yb, Mb = (torch.as_tensor(t, dtype=dtype, device=device) for t in (a, x, y, M))

            r = kantorovich(**_given(given, xb, yb, Mb), a=ab, b=ab)

            for out in (r.plan, r.cost):
                assert out.dtype == dtype
                assert out.device == torch.device(device)


# POT test_ot.py::test_emd2_gradients
def test_emd2_gradients():
    n_samples = 100
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples, n_features)
    y = rng.randn(n_samples, n_features)
    a = ot.utils.unif(n_samples)

    M = ot.dist(x, y)

    a1 = torch.tensor(a, requires_grad=True)
    b1 = torch.tensor(a, requires_grad=True)
    M1 = torch.tensor(M, requires_grad=True)

    r = kantorovich(cost=M1, a=a1, b=b1)
    r.cost.backward()

    assert a1.shape == a1.grad.shape
    assert b1.shape == b1.grad.shape
    assert M1.shape == M1.grad.shape

    f, g = _np(r.f), _np(r.g)
    np.testing.assert_allclose(_np(a1.grad), f - f.mean(), **ALLCLOSE)
    np.testing.assert_allclose(_np(b1.grad), g - g.mean(), **ALLCLOSE)

    # Testing for bug #309, checking for scaling of gradient
    a2 = torch.tensor(a, requires_grad=True)
    b2 = torch.tensor(a, requires_grad=True)
    M2 = torch.tensor(M, requires_grad=True)

    val = 10.0 * kantorovich(cost=M2, a=a2, b=b2).cost
    val.backward()

    np.testing.assert_allclose(10.0 * _np(a1.grad), _np(a2.grad), **ALLCLOSE)
    np.testing.assert_allclose(10.0 * _np(b1.grad), _np(b2.grad), **ALLCLOSE)
    np.testing.assert_allclose(10.0 * _np(M1.grad), _np(M2.grad), **ALLCLOSE)


# POT test_ot.py::test_emd_emd2
@GIVEN
def test_emd_emd2(given):
    # test emd and emd2 for simple identity
    n = 100
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    u = ot.utils.unif(n)

    M = ot.dist(x, x)

    r = kantorovich(**_given(given, x, x, M), a=u, b=u)
    G = _np(r.plan)

    # check G is identity
    np.testing.assert_allclose(G, np.eye(n) / n)
    # check constraints
    np.testing.assert_allclose(u, G.sum(1))  # cf convergence sinkhorn
    np.testing.assert_allclose(u, G.sum(0))  # cf convergence sinkhorn

    # check loss=0
    np.testing.assert_allclose(_np(r.cost), 0)

    # the same through monge's assignment solver
    s = matching(**_given(given, x, x, M))
    np.testing.assert_allclose(_np(s.permutation), np.arange(n))
    np.testing.assert_allclose(_np(s.cost), 0)


# POT test_ot.py::test_emd_empty
@GIVEN
def test_emd_empty(given):
    # test emd and emd2 for simple identity
    n = 100
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    u = ot.utils.unif(n)

    M = ot.dist(x, x)

    r = kantorovich(**_given(given, x, x, M), a=[], b=[])
    G = _np(r.plan)

    # check G is identity
    np.testing.assert_allclose(G, np.eye(n) / n)
    # check constraints
    np.testing.assert_allclose(u, G.sum(1))  # cf convergence sinkhorn
    np.testing.assert_allclose(u, G.sum(0))  # cf convergence sinkhorn

    # check loss=0
    np.testing.assert_allclose(_np(r.cost), 0)


# POT test_ot.py::test_emd2_multi (one b column at a time: the duality checks and POT's values)
@GIVEN
def test_emd2_multi(given):
    n = 500  # nb bins

    # bin positions
    x = np.arange(n, dtype=np.float64)

    # Gaussian distributions
    a = gauss(n, m=20, s=5)  # m= mean, s= std

    ls = np.arange(20, 500, 100)
    nb = len(ls)
    b = np.zeros((n, nb))
    for i in range(nb):
        b[:, i] = gauss(n, m=ls[i], s=10)

    # loss matrix
    M = ot.dist(x.reshape((n, 1)), x.reshape((n, 1)))

    emd1 = ot.emd2(a, b, M, 1)

    emdn = []
    for i in range(nb):
        r = kantorovich(**_given(given, x.reshape((n, 1)), x.reshape((n, 1)), M), a=a, b=b[:, i])
        cost = float(r.cost)
        _check_duality_gap(a, b[:, i], M, _np(r.plan), _np(r.f), _np(r.g), cost)
        emdn.append(cost)

    np.testing.assert_allclose(emd1, np.array(emdn))


# POT test_ot.py::test_dual_variables
@GIVEN
def test_dual_variables(given):
    n = 500  # nb bins
    m = 600  # nb bins

    mean1 = 300
    mean2 = 400

    # bin positions
    x = np.arange(n, dtype=np.float64)
    y = np.arange(m, dtype=np.float64)

    # Gaussian distributions
    a = gauss(n, m=mean1, s=5)  # m= mean, s= std

    b = gauss(m, m=mean2, s=10)

    # loss matrix
    M = ot.dist(x.reshape((-1, 1)), y.reshape((-1, 1))) ** (1.0 / 2)

    r = kantorovich(**_given(given, x.reshape((-1, 1)), y.reshape((-1, 1)), M, p=1), a=a, b=b)
    G = _np(r.plan)

    r2 = kantorovich(**_given(given, y.reshape((-1, 1)), x.reshape((-1, 1)), np.ascontiguousarray(M.T), p=1),
                     a=b, b=a)
    G2 = _np(r2.plan)

    cost1 = (G * M).sum()
    # Check symmetry
    np.testing.assert_array_almost_equal(cost1, (M * G2.T).sum())
    # Check with closed-form solution for gaussians
    np.testing.assert_almost_equal(cost1, np.abs(mean1 - mean2))

    # Check that both cost computations are equivalent
    np.testing.assert_almost_equal(cost1, float(r.cost))
    f, g = _np(r.f), _np(r.g)
    _check_duality_gap(a, b, M, G, f, g, float(r.cost))

    constraint_violation = f[:, None] + g[None, :] - M

    assert constraint_violation.max() < 1e-8


# POT test_ot.py::test_emd_sparse_vs_dense (POT's sparse cost as +inf forbidden pairs)
def test_emd_sparse_vs_dense():
    n1 = 100
    n2 = 100
    k = 2

    M_sparse, M_dense, mask = _sparse_test_matrices(n1, n2, k=k, seed=42)

    a = ot.utils.unif(n1)
    b = ot.utils.unif(n2)

    # Solve with both dense and sparse solvers
    r_dense = kantorovich(cost=M_dense, a=a, b=b)
    r_sparse = kantorovich(cost=M_sparse, a=a, b=b)

    np.testing.assert_allclose(_np(r_dense.cost), _np(r_sparse.cost), rtol=1e-5, atol=1e-7)

    G_dense, G_sparse = _np(r_dense.plan), _np(r_sparse.plan)
    np.testing.assert_allclose(a, G_dense.sum(1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(b, G_dense.sum(0), rtol=1e-5, atol=1e-7)

    # POT: "Sparse solver should return a sparse matrix"; monge: no mass on a forbidden pair
    np.testing.assert_allclose(G_sparse[~mask], 0.0)

    np.testing.assert_allclose(a, G_sparse.sum(1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(b, G_sparse.sum(0), rtol=1e-5, atol=1e-7)

    loss_sparse = np.sum(G_sparse[mask] * M_sparse[mask])
    assert loss_sparse >= 0, "Sparse loss should be non-negative"


# POT test_ot.py::test_emd2_sparse_vs_dense
def test_emd2_sparse_vs_dense():
    n1 = 100
    n2 = 150
    k = 2

    M_sparse, M_dense, _ = _sparse_test_matrices(n1, n2, k=k, seed=43)

    a = ot.utils.unif(n1)
    b = ot.utils.unif(n2)

    cost_dense = kantorovich(cost=M_dense, a=a, b=b).cost
    cost_sparse = kantorovich(cost=M_sparse, a=a, b=b).cost

    np.testing.assert_allclose(_np(cost_dense), _np(cost_sparse), rtol=1e-5, atol=1e-7)


# POT test_ot.py::test_emd2_sparse_gradients (the graph's missing edges as +inf)
def test_emd2_sparse_gradients():
    n = 10
    a = torch.tensor(ot.utils.unif(n), requires_grad=True, dtype=torch.float64)
    b = torch.tensor(ot.utils.unif(n), requires_grad=True, dtype=torch.float64)

    M = torch.full((n, n), float("inf"), dtype=torch.float64)
    for i in range(n):
        M[i, i] = 0.1
        for offset in [1, 2]:
            j = (i + offset) % n
            M[i, j] = float(offset)

    cost = kantorovich(cost=M, a=a, b=b).cost
    cost.backward()

    assert a.grad is not None
    assert b.grad is not None
    np.testing.assert_allclose(a.grad.sum().item(), -b.grad.sum().item(), rtol=1e-5, atol=1e-7)


# POT test_ot.py::test_emd2_sparse_vs_dense_gradients
def test_emd2_sparse_vs_dense_gradients():
    """Verify gradient w.r.t. cost matrix M equals transport plan G."""
    n = 4
    a = torch.tensor([0.25, 0.25, 0.25, 0.25], requires_grad=True, dtype=torch.float64)
    b = torch.tensor([0.25, 0.25, 0.25, 0.25], requires_grad=True, dtype=torch.float64)

    M_full = torch.tensor(
        [
            [0.1, 1.0, 2.0, 3.0],
            [1.0, 0.1, 1.0, 2.0],
            [2.0, 1.0, 0.1, 1.0],
            [3.0, 2.0, 1.0, 0.1],
        ],
        dtype=torch.float64,
        requires_grad=True,
    )

    cost_dense = kantorovich(cost=M_full, a=a, b=b).cost
    cost_dense.backward()
    G_dense = kantorovich(cost=M_full.detach(), a=a.detach(), b=b.detach()).plan

    np.testing.assert_allclose(M_full.grad.numpy(), G_dense.numpy(), rtol=1e-7, atol=1e-10)

    a.grad = None
    b.grad = None

    band = torch.zeros((n, n), dtype=torch.bool)
    for i in range(n):
        for j in range(max(0, i - 1), min(n, i + 2)):
            band[i, j] = True
    M_sparse = torch.where(band, M_full.detach(), torch.tensor(float("inf"), dtype=torch.float64))
    M_sparse.requires_grad_(True)

    cost_sparse = kantorovich(cost=M_sparse, a=a, b=b).cost
    cost_sparse.backward()
    G_sparse = kantorovich(cost=M_sparse.detach(), a=a.detach(), b=b.detach()).plan

    grad_values = M_sparse.grad[band].numpy()
    G_values = G_sparse[band].numpy()

    np.testing.assert_allclose(grad_values, G_values, rtol=1e-7, atol=1e-10)
    assert grad_values.sum() > 0
    assert np.abs(grad_values.sum() - 1.0) < 1e-7


# POT test_ot.py::test_emd2_lazy_returns_sparse_plan (POT's lazy solve from points: monge's x, z)
def test_emd2_lazy_returns_sparse_plan():
    n_s = 12
    n_t = 15
    rng = np.random.RandomState(42)

    X_s = rng.randn(n_s, 2)
    X_t = rng.randn(n_t, 2)
    a = ot.utils.unif(n_s)
    b = ot.utils.unif(n_t)
    M = ot.dist(X_s, X_t, metric="sqeuclidean")

    cost_dense = kantorovich(cost=M, a=a, b=b).cost
    r_lazy = kantorovich(X_s, X_t, a, b, p=2)
    G_lazy = _np(r_lazy.plan)

    assert G_lazy.shape == (n_s, n_t)
    assert np.count_nonzero(G_lazy) <= n_s + n_t
    np.testing.assert_allclose(_np(r_lazy.cost), _np(cost_dense), rtol=1e-10, atol=1e-10)

    np.testing.assert_allclose(G_lazy.sum(axis=1), a, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(G_lazy.sum(axis=0), b, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# test_bregman.py
# ---------------------------------------------------------------------------------------------


# POT test_bregman.py::test_sinkhorn
@GIVEN
def test_sinkhorn(given):
    # test sinkhorn
    n = 100
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    u = ot.utils.unif(n)

    M = ot.dist(x, x)

    G = _np(sinkhorn(**_given(given, x, x, M), a=u, b=u, eps=1, tol=1e-10, max_iter=100_000).plan)

    # check constraints
    np.testing.assert_allclose(u, G.sum(1), atol=1e-05)  # cf convergence sinkhorn
    np.testing.assert_allclose(u, G.sum(0), atol=1e-05)  # cf convergence sinkhorn

    with pytest.warns(RuntimeWarning):
        sinkhorn(**_given(given, x, x, M), a=u, b=u, eps=1, tol=1e-300, max_iter=1)


# POT test_bregman.py::test_convergence_warning (method="sinkhorn" / "sinkhorn_log"; not the barycenters)
@GIVEN
def test_convergence_warning(given):
    # test sinkhorn
    n = 100
    a1 = ot.datasets.make_1D_gauss(n, m=30, s=10)
    a2 = ot.datasets.make_1D_gauss(n, m=40, s=10)
    M = ot.utils.dist0(n)
    x = np.arange(n, dtype=np.float64).reshape(-1, 1)

    with pytest.warns(RuntimeWarning):
        sinkhorn(**_given(given, x, x, M), a=a1, b=a2, eps=1.0, tol=1e-300, max_iter=1)
    with pytest.warns(RuntimeWarning):
        sinkhorn(**_given(given, x, x, M), a=a1, b=a2, eps=1, tol=1e-300, max_iter=1, warn=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sinkhorn(**_given(given, x, x, M), a=a1, b=a2, eps=1, tol=1e-300, max_iter=1, warn=False)


# POT test_bregman.py::test_not_implemented_method (sinkhorn / sinkhorn2: monge's method argument)
@GIVEN
def test_not_implemented_method(given):
    # test sinkhorn
    w = 10
    n = w**2
    rng = np.random.RandomState(42)
    A_img = rng.rand(2, w, w)
    A_flat = A_img.reshape(n, 2)
    a1, a2 = A_flat.T
    M_flat = ot.utils.dist0(n)
    x = np.arange(n, dtype=np.float64).reshape(-1, 1)
    not_implemented = "new_method"
    reg = 0.01
    with pytest.raises(ValueError, match="method"):
        transport_cost(**_given(given, x, x, M_flat), a=a1, b=a2, method=not_implemented, eps=reg)
    with pytest.raises(ValueError, match="method"):
        wasserstein(**_given(given, x, x, M_flat), a=a1, b=a2, method=not_implemented, eps=reg)


# POT test_bregman.py::test_nan_warning (monge refuses eps = 0 where POT warns of NaN)
@GIVEN
def test_nan_warning(given):
    # test sinkhorn
    n = 100
    a1 = ot.datasets.make_1D_gauss(n, m=30, s=10)
    a2 = ot.datasets.make_1D_gauss(n, m=40, s=10)

    M = ot.utils.dist0(n)
    x = np.arange(n, dtype=np.float64).reshape(-1, 1)
    reg = 0
    with pytest.raises(ValueError, match="eps"):
        sinkhorn(**_given(given, x, x, M), a=a1, b=a2, eps=reg, warn=False)


# POT test_bregman.py::test_sinkhorn_multi_b (several b: one batched monge call)
@GIVEN
def test_sinkhorn_multi_b(given):
    # test sinkhorn
    n = 10
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    u = ot.utils.unif(n)

    b = rng.rand(n, 3)
    b = b / np.sum(b, 0, keepdims=True)

    M = ot.dist(x, x)

    loss0 = _np(sinkhorn(**_repeat(given, x, M, 3), a=u, b=b.T, eps=0.1, tol=1e-10, max_iter=100_000).cost)

    loss = [
        float(sinkhorn(**_given(given, x, x, M), a=u, b=b[:, k], eps=0.1, tol=1e-10, max_iter=100_000).cost)
        for k in range(3)
    ]
    # check constraints
    np.testing.assert_allclose(loss0, loss, atol=1e-4)  # cf convergence sinkhorn
    # and POT's values
    np.testing.assert_allclose(loss0, ot.sinkhorn(u, b, M, 0.1, stopThr=1e-10), atol=1e-4)


# POT test_bregman.py::test_sinkhorn_backends (numpy against torch inputs)
@GIVEN
def test_sinkhorn_backends(given):
    n_samples = 100
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples, n_features)
    y = rng.randn(n_samples, n_features)
    a = ot.utils.unif(n_samples)

    M = ot.dist(x, y)

    G = sinkhorn(**_given(given, x, y, M), a=a, b=a, eps=1, **TIGHT).plan

    ab, xb, yb, M_nx = (torch.from_numpy(t) for t in (a, x, y, M))

    Gb = sinkhorn(**_given(given, xb, yb, M_nx), a=ab, b=ab, eps=1, **TIGHT).plan

    np.testing.assert_allclose(_np(G), _np(Gb), **ALLCLOSE)
    # and POT's plan
    np.testing.assert_allclose(_np(G), ot.sinkhorn(a, a, M, 1), **ALLCLOSE)


# POT test_bregman.py::test_sinkhorn2_backends
@GIVEN
def test_sinkhorn2_backends(given):
    n_samples = 100
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples, n_features)
    y = rng.randn(n_samples, n_features)
    a = ot.utils.unif(n_samples)

    M = ot.dist(x, y)

    r = sinkhorn(**_given(given, x, y, M), a=a, b=a, eps=1, **TIGHT)

    ab, xb, yb, M_nx = (torch.from_numpy(t) for t in (a, x, y, M))

    rb = sinkhorn(**_given(given, xb, yb, M_nx), a=ab, b=ab, eps=1, **TIGHT)

    np.testing.assert_allclose(_np(r.cost), _np(rb.cost), **ALLCLOSE)
    # POT's sinkhorn2 is <P, M>: monge's .cost
    np.testing.assert_allclose(_np(r.cost), ot.sinkhorn2(a, a, M, 1), **ALLCLOSE)
    # monge's transport_cost(method="sinkhorn") is OT_eps, the .entropic_cost
    loss = transport_cost(**_given(given, xb, yb, M_nx), a=ab, b=ab, method="sinkhorn", eps=1, **TIGHT)
    np.testing.assert_allclose(_np(loss), _np(rb.entropic_cost), **ALLCLOSE)


# POT test_bregman.py::test_sinkhorn2_gradients (of monge's .entropic_cost)
def test_sinkhorn2_gradients():
    n_samples = 100
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples, n_features)
    y = rng.randn(n_samples, n_features)
    a = ot.utils.unif(n_samples)

    M = ot.dist(x, y)

    a1 = torch.tensor(a, requires_grad=True)
    b1 = torch.tensor(a, requires_grad=True)
    M1 = torch.tensor(M, requires_grad=True)

    r = sinkhorn(cost=M1, a=a1, b=b1, eps=1, **TIGHT)
    val = r.entropic_cost

    val.backward()

    assert a1.shape == a1.grad.shape
    assert b1.shape == b1.grad.shape
    assert M1.shape == M1.grad.shape
    # the documented gradients: the plan, and the centred potentials
    np.testing.assert_allclose(_np(M1.grad), _np(r.plan), **ALLCLOSE)
    f, g = _np(r.f), _np(r.g)
    np.testing.assert_allclose(_np(a1.grad), f - f.mean(), **ALLCLOSE)
    np.testing.assert_allclose(_np(b1.grad), g - g.mean(), **ALLCLOSE)


# POT test_bregman.py::test_sinkhorn_empty
@GIVEN
def test_sinkhorn_empty(given):
    # test sinkhorn
    n = 100
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    u = ot.utils.unif(n)

    M = ot.dist(x, x)

    G = _np(sinkhorn(**_given(given, x, x, M), a=[], b=[], eps=1, tol=1e-10, max_iter=100_000).plan)
    # check constraints
    np.testing.assert_allclose(u, G.sum(1), atol=1e-05)
    np.testing.assert_allclose(u, G.sum(0), atol=1e-05)


# POT test_bregman.py::test_sinkhorn_variants (monge's variants against POT's "sinkhorn")
@GIVEN
def test_sinkhorn_variants(given):
    # test sinkhorn
    n = 100
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    u = ot.utils.unif(n)

    M = ot.dist(x, x)

    G = ot.sinkhorn(u, u, M, 1, method="sinkhorn", stopThr=1e-10)
    options = {"eps": 1, "tol": 1e-10, "max_iter": 100_000}
    G0 = _np(sinkhorn(**_given(given, x, x, M), a=u, b=u, **options).plan)
    G_plain = _np(sinkhorn(**_given(given, x, x, M), a=u, b=u, anneal=False, relaxation=1.0, **options).plan)
    G_cold = _np(sinkhorn(**_given(given, x, x, M), a=u, b=u, anneal=False, **options).plan)
    G_fast = _np(sinkhorn(**_given(given, x, x, M), a=u, b=u, scaling=0.5, **options).plan)

    # check values
    np.testing.assert_allclose(G, G0, atol=1e-05)
    np.testing.assert_allclose(G0, G_plain, atol=1e-05)
    np.testing.assert_allclose(G0, G_cold, atol=1e-05)
    np.testing.assert_allclose(G0, G_fast, atol=1e-5)


# POT test_bregman.py::test_sinkhorn_variants_dtype_device
@GIVEN
def test_sinkhorn_variants_dtype_device(given):
    n = 100

    rng = np.random.RandomState(42)
    x = rng.randn(n, 2)
    u = ot.utils.unif(n)

    M = ot.dist(x, x)

    for device in DEVICES:
        for dtype in DTYPES:
            ub, xb, Mb = (torch.as_tensor(t, dtype=dtype, device=device) for t in (u, x, M))

            # float32 cannot reach POT's stopThr=1e-10: no warning asked for
            Gb = sinkhorn(**_given(given, xb, xb, Mb), a=ub, b=ub, eps=1, tol=1e-10, warn=False).plan

            assert Gb.dtype == dtype
            assert Gb.device == torch.device(device)


# POT test_bregman.py::test_sinkhorn2_variants_dtype_device
@GIVEN
def test_sinkhorn2_variants_dtype_device(given):
    n = 100

    rng = np.random.RandomState(42)
    x = rng.randn(n, 2)
    u = ot.utils.unif(n)

    M = ot.dist(x, x)

    for device in DEVICES:
        for dtype in DTYPES:
            ub, xb, Mb = (torch.as_tensor(t, dtype=dtype, device=device) for t in (u, x, M))

            r = sinkhorn(**_given(given, xb, xb, Mb), a=ub, b=ub, eps=1, tol=1e-10, warn=False)

            for lossb in (r.cost, r.entropic_cost):
                assert lossb.dtype == dtype
                assert lossb.device == torch.device(device)


# POT test_bregman.py::test_sinkhorn_variants_multi_b (POT's ot.sinkhorn with several b gives <P, M>)
@GIVEN
def test_sinkhorn_variants_multi_b(given):
    # test sinkhorn
    n = 50
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    u = ot.utils.unif(n)

    b = rng.rand(n, 3)
    b = b / np.sum(b, 0, keepdims=True)

    M = ot.dist(x, x)

    G = ot.sinkhorn(u, b, M, 1, method="sinkhorn", stopThr=1e-10)
    options = {"eps": 1, "tol": 1e-10, "max_iter": 100_000}
    G0 = _np(sinkhorn(**_repeat(given, x, M, 3), a=u, b=b.T, **options).cost)
    Gs = _np(sinkhorn(**_repeat(given, x, M, 3), a=u, b=b.T, anneal=False, relaxation=1.0, **options).cost)

    # check values
    np.testing.assert_allclose(G, G0, atol=1e-05)
    np.testing.assert_allclose(G0, Gs, atol=1e-05)


# POT test_bregman.py::test_sinkhorn2_variants_multi_b
@GIVEN
def test_sinkhorn2_variants_multi_b(given):
    # test sinkhorn
    n = 50
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    u = ot.utils.unif(n)

    b = rng.rand(n, 3)
    b = b / np.sum(b, 0, keepdims=True)

    M = ot.dist(x, x)

    G = ot.sinkhorn2(u, b, M, 1, method="sinkhorn", stopThr=1e-10)
    options = {"eps": 1, "tol": 1e-10, "max_iter": 100_000}
    G0 = _np(sinkhorn(**_repeat(given, x, M, 3), a=u, b=b.T, **options).cost)
    Gl = np.array([float(sinkhorn(**_given(given, x, x, M), a=u, b=b[:, k], **options).cost) for k in range(3)])
    Gs = _np(sinkhorn(**_repeat(given, x, M, 3), a=u, b=b.T, anneal=False, **options).cost)

    # check values
    np.testing.assert_allclose(G, G0, atol=1e-05)
    np.testing.assert_allclose(G, Gl, atol=1e-05)
    np.testing.assert_allclose(G0, Gs, atol=1e-05)


# POT test_bregman.py::test_empirical_sinkhorn
def test_empirical_sinkhorn():
    # test sinkhorn
    n = 10
    a = ot.unif(n)
    b = ot.unif(n)

    X_s = np.reshape(1.0 * np.arange(n), (n, 1))
    X_t = np.reshape(1.0 * np.arange(0, n), (n, 1))
    M = ot.dist(X_s, X_t)
    M_m = ot.dist(X_s, X_t, metric="euclidean")

    G_sqe = _np(sinkhorn(X_s, X_t, eps=1, **TIGHT).plan)
    sinkhorn_sqe = _np(sinkhorn(cost=M, a=a, b=b, eps=1, **TIGHT).plan)

    # POT's own defaults, stopThr=1e-9 and numItermax=1000: from its annealing monge needs far more
    # than 1e5 iterations to reach 1e-9 here (about 1e-5 after 1000, 4e-8 after 1e5, in 37 s)
    G_log = _np(sinkhorn(X_s, X_t, eps=0.1, tol=1e-9, max_iter=1000).plan)
    sinkhorn_log = _np(sinkhorn(cost=M, a=a, b=b, eps=0.1, tol=1e-9, max_iter=1000).plan)

    G_m = _np(sinkhorn(X_s, X_t, p=1, eps=1, **TIGHT).plan)
    sinkhorn_m = _np(sinkhorn(cost=M_m, a=a, b=b, eps=1, **TIGHT).plan)

    loss_emp_sinkhorn = _np(sinkhorn(X_s, X_t, eps=1, **TIGHT).cost)
    loss_sinkhorn = _np(sinkhorn(cost=M, a=a, b=b, eps=1, **TIGHT).cost)

    # check constraints
    np.testing.assert_allclose(sinkhorn_sqe.sum(1), G_sqe.sum(1), atol=1e-05)  # metric sqeuclidian
    np.testing.assert_allclose(sinkhorn_sqe.sum(0), G_sqe.sum(0), atol=1e-05)  # metric sqeuclidian
    np.testing.assert_allclose(sinkhorn_log.sum(1), G_log.sum(1), atol=1e-05)  # log
    np.testing.assert_allclose(sinkhorn_log.sum(0), G_log.sum(0), atol=1e-05)  # log
    np.testing.assert_allclose(sinkhorn_m.sum(1), G_m.sum(1), atol=1e-05)  # metric euclidian
    np.testing.assert_allclose(sinkhorn_m.sum(0), G_m.sum(0), atol=1e-05)  # metric euclidian
    np.testing.assert_allclose(loss_emp_sinkhorn, loss_sinkhorn, atol=1e-05)


# POT test_bregman.py::test_geomloss_solver (monge's defaults for GeomLoss, against POT's empirical_sinkhorn)
@pytest.mark.parametrize("metric, p", [("sqeuclidean", 2), ("euclidean", 1)])
def test_geomloss_solver(metric, p):
    # test sinkhorn
    n = 10

    X_s = np.reshape(1.0 * np.arange(n), (n, 1))
    X_t = np.reshape(1.0 * np.arange(0, n), (n, 1))

    G_sqe = ot.bregman.empirical_sinkhorn(X_s, X_t, 1, metric=metric)

    G_geomloss = _np(sinkhorn(X_s, X_t, p=p, eps=1).plan)

    # check equality of plans
    np.testing.assert_allclose(G_sqe, G_geomloss, atol=1e-03)  # metric sqeuclidian

    # check error on wrong metric
    with pytest.raises(TypeError, match="p"):
        sinkhorn(X_s, X_t, p="wrong_metric", eps=1)


# POT test_bregman.py::test_lazy_empirical_sinkhorn (isLazy, batchSize: memory="online", block_rows)
def test_lazy_empirical_sinkhorn():
    # test sinkhorn
    n = 10
    a = ot.unif(n)
    b = ot.unif(n)
    numIterMax = 1000
    options = {"eps": 1, "tol": 1e-9, "max_iter": numIterMax, "memory": "online"}

    X_s = np.reshape(np.arange(n, dtype=np.float64), (n, 1))
    X_t = np.reshape(np.arange(0, n, dtype=np.float64), (n, 1))
    M = ot.dist(X_s, X_t)
    M_m = ot.dist(X_s, X_t, metric="euclidean")

    def plan_from_potentials(r, C):
        f, g = _np(r.f), _np(r.g)
        return a[:, None] * b[None, :] * np.exp((f[:, None] + g[None, :] - C) / 1)

    G_sqe = plan_from_potentials(sinkhorn(X_s, X_t, block_rows=1, **options), M)
    sinkhorn_sqe = _np(sinkhorn(cost=M, a=a, b=b, eps=1, **TIGHT).plan)

    G_log = plan_from_potentials(sinkhorn(X_s, X_t, block_rows=5, **options), M)
    sinkhorn_log = _np(sinkhorn(cost=M, a=a, b=b, eps=1, **TIGHT).plan)

    G_m = plan_from_potentials(sinkhorn(X_s, X_t, p=1, block_rows=1, **options), M_m)
    sinkhorn_m = _np(sinkhorn(cost=M_m, a=a, b=b, eps=1, **TIGHT).plan)

    r_lazy = sinkhorn(X_s, X_t, block_rows=5, **options)
    G_lazy = _np(r_lazy.plan)
    loss_sinkhorn = _np(sinkhorn(cost=M, a=a, b=b, eps=1, **TIGHT).cost)

    loss_emp_sinkhorn = _np(sinkhorn(X_s, X_t, block_rows=1, **options).cost)

    # test lazy plan
    np.testing.assert_allclose(G_sqe[1, 1], G_lazy[1, 1], atol=1e-03)  # metric sqeuclidian

    # check constraints
    np.testing.assert_allclose(sinkhorn_sqe.sum(1), G_sqe.sum(1), atol=1e-05)  # metric sqeuclidian
    np.testing.assert_allclose(sinkhorn_sqe.sum(0), G_sqe.sum(0), atol=1e-05)  # metric sqeuclidian
    np.testing.assert_allclose(sinkhorn_log.sum(1), G_log.sum(1), atol=1e-05)  # log
    np.testing.assert_allclose(sinkhorn_log.sum(0), G_log.sum(0), atol=1e-05)  # log
    np.testing.assert_allclose(sinkhorn_m.sum(1), G_m.sum(1), atol=1e-05)  # metric euclidian
    np.testing.assert_allclose(sinkhorn_m.sum(0), G_m.sum(0), atol=1e-05)  # metric euclidian
    np.testing.assert_allclose(loss_emp_sinkhorn, loss_sinkhorn, atol=1e-05)
    np.testing.assert_allclose(G_log, G_lazy, atol=1e-05)


# POT test_bregman.py::test_empirical_sinkhorn_divergence (the definitions differ: both checked)
def test_empirical_sinkhorn_divergence():
    # Test sinkhorn divergence
    n = 10
    a = np.linspace(1, n, n)
    a /= a.sum()
    b = ot.unif(n)
    X_s = np.reshape(np.arange(n, dtype=np.float64), (n, 1))
    X_t = np.reshape(np.arange(0, n * 2, 2, dtype=np.float64), (n, 1))
    M = ot.dist(X_s, X_t)
    M_s = ot.dist(X_s, X_s)
    M_t = ot.dist(X_t, X_t)

    # monge (Feydy et al.): OT_eps(a, b) - OT_eps(a, a) / 2 - OT_eps(b, b) / 2, with POT's OT_eps
    # = <P, M> + reg KL(P | a x b), the value of ot.solve
    sinkhorn_div = (
        ot.solve(M, a, b, reg=1).value
        - 1 / 2 * ot.solve(M_s, a, a, reg=1).value
        - 1 / 2 * ot.solve(M_t, b, b, reg=1).value
    )
    div = _np(sinkhorn_divergence(X_s, X_t, a, b, eps=1, **TIGHT))
    div_torch = _np(sinkhorn_divergence(*(torch.from_numpy(t) for t in (X_s, X_t, a, b)), eps=1, **TIGHT))

    np.testing.assert_allclose(div, div_torch, atol=1e-05)
    np.testing.assert_allclose(div, sinkhorn_div, atol=1e-05)

    # POT: <P_ab, M> - <P_aa, M_s> / 2 - <P_bb, M_t> / 2, with monge's .cost
    emp_sinkhorn_div = ot.bregman.empirical_sinkhorn_divergence(X_s, X_t, 1, a=a, b=b)
    linear_div = (
        _np(sinkhorn(X_s, X_t, a, b, eps=1, **TIGHT).cost)
        - 1 / 2 * _np(sinkhorn(X_s, X_s, a, a, eps=1, **TIGHT).cost)
        - 1 / 2 * _np(sinkhorn(X_t, X_t, b, b, eps=1, **TIGHT).cost)
    )
    np.testing.assert_allclose(linear_div, emp_sinkhorn_div, atol=1e-05)  # cf conv emp sinkhorn


# POT test_bregman.py::test_empirical_sinkhorn_divergence_gradient
def test_empirical_sinkhorn_divergence_gradient():
    # Test sinkhorn divergence
    n = 10
    a = np.linspace(1, n, n)
    a /= a.sum()
    b = ot.unif(n)
    X_s = np.reshape(np.arange(n, dtype=np.float64), (n, 1))
    X_t = np.reshape(np.arange(0, n * 2, 2, dtype=np.float64), (n, 1))

    ab, bb, X_sb, X_tb = (torch.tensor(t, requires_grad=True) for t in (a, b, X_s, X_t))

    emp_sinkhorn_div = sinkhorn_divergence(X_sb, X_tb, ab, bb, eps=1)

    emp_sinkhorn_div.backward()

    for t in (ab, bb, X_sb, X_tb):
        assert t.grad is not None
        assert bool(torch.isfinite(t.grad).all())


# POT test_bregman.py::test_stabilized_vs_sinkhorn_multidim (batched monge against POT, several b)
@GIVEN
def test_stabilized_vs_sinkhorn_multidim(given):
    # test if stable version matches sinkhorn
    # for multidimensional inputs
    n = 100

    # Gaussian distributions
    a = ot.datasets.make_1D_gauss(n, m=20, s=5)  # m= mean, s= std
    b1 = ot.datasets.make_1D_gauss(n, m=60, s=8)
    b2 = ot.datasets.make_1D_gauss(n, m=30, s=4)

    # creating matrix A containing all distributions
    b = np.vstack((b1, b2)).T

    M = ot.utils.dist0(n)
    median = np.median(M)
    M /= median
    x = np.arange(n, dtype=np.float64).reshape(-1, 1) / np.sqrt(median)
    epsilon = 0.1

    G_np, _ = ot.bregman.sinkhorn(a, b, M, reg=epsilon, method="sinkhorn", log=True)
    G = _np(sinkhorn(**_repeat(given, x, M, 2), a=a, b=b.T, eps=epsilon, **TIGHT).cost)
    G2 = np.array([float(sinkhorn(**_given(given, x, x, M), a=a, b=b[:, k], eps=epsilon, **TIGHT).cost)
                   for k in range(2)])

    np.testing.assert_allclose(G_np, G2)
    np.testing.assert_allclose(G, G2)


# ---------------------------------------------------------------------------------------------
# test_1d_solver.py
# ---------------------------------------------------------------------------------------------


# POT test_1d_solver.py::test_emd_1d_emd2_1d_with_weights
@GIVEN
def test_emd_1d_emd2_1d_with_weights(given):
    # test emd1d gives similar results as emd
    n = 20
    m = 30
    rng = np.random.RandomState(0)
    u = rng.randn(n, 1)
    v = rng.randn(m, 1)

    w_u = rng.uniform(0.0, 1.0, n)
    w_u = w_u / w_u.sum()

    w_v = rng.uniform(0.0, 1.0, m)
    w_v = w_v / w_v.sum()

    M = ot.dist(u, v, metric="sqeuclidean")

    r = kantorovich(**_given(given, u, v, M), a=w_u, b=w_v)
    wass = _np(r.cost)
    G = _np(r.plan)
    wass1d_emd2 = _np(transport_1d(u, v, w_u, w_v, p=2).cost)
    wass1d_euc = _np(transport_1d(u, v, w_u, w_v, p=1).cost)

    # check loss is similar
    np.testing.assert_allclose(wass, wass1d_emd2)

    # check loss is similar to scipy's implementation for Euclidean metric
    wass_sp = wasserstein_distance(u.reshape((-1,)), v.reshape((-1,)), w_u, w_v)
    np.testing.assert_allclose(wass_sp, wass1d_euc)

    # check constraints
    np.testing.assert_allclose(w_u, G.sum(1))
    np.testing.assert_allclose(w_v, G.sum(0))

    # check that an error is raised if the cost is not one sorting solves (POT: a non-Minkowski metric)
    np.testing.assert_raises(ValueError, transport_1d, u, v, w_u, w_v, p=0.5)


# POT test_1d_solver.py::test_wasserstein_1d
def test_wasserstein_1d():
    rng = np.random.RandomState(0)

    n = 100
    x = np.linspace(0, 5, n)
    rho_u = np.abs(rng.randn(n))
    rho_u /= rho_u.sum()
    rho_v = np.abs(rng.randn(n))
    rho_v /= rho_v.sum()

    xb, rho_ub, rho_vb = (torch.from_numpy(t) for t in (x, rho_u, rho_v))

    # test 1 : wasserstein_1d should be close to scipy W_1 implementation
    np.testing.assert_almost_equal(
        _np(transport_1d(xb, xb, rho_ub, rho_vb, p=1).cost),
        wasserstein_distance(x, x, rho_u, rho_v),
    )

    # test 2 : wasserstein_1d should be close to one when only translating the support
    np.testing.assert_almost_equal(_np(transport_1d(xb, xb + 1, p=2).cost), 1.0)

    # test 3 : arrays test (one column at a time)
    X = np.stack((np.linspace(0, 5, n), np.linspace(0, 5, n) * 10), -1)
    Xb = torch.from_numpy(X)
    res = [_np(transport_1d(Xb[:, k], Xb[:, k], rho_ub, rho_vb, p=2).cost) for k in range(2)]
    np.testing.assert_almost_equal(100 * res[0], res[1], decimal=4)


# POT test_1d_solver.py::test_wasserstein_1d_type_devices
def test_wasserstein_1d_type_devices():
    rng = np.random.RandomState(0)

    n = 10
    x = np.linspace(0, 5, n)
    rho_u = np.abs(rng.randn(n))
    rho_u /= rho_u.sum()
    rho_v = np.abs(rng.randn(n))
    rho_v /= rho_v.sum()

    for device in DEVICES:
        for dtype in DTYPES:
            xb, rho_ub, rho_vb = (torch.as_tensor(t, dtype=dtype, device=device) for t in (x, rho_u, rho_v))

            res = transport_1d(xb, xb, rho_ub, rho_vb, p=1).cost

            assert res.dtype == xb.dtype
            assert res.device == xb.device


# POT test_1d_solver.py::test_emd_1d_emd2_1d (not the plan comparison: transport_1d forms no plan)
@GIVEN
def test_emd_1d_emd2_1d(given):
    # test emd1d gives similar results as emd
    n = 20
    m = 30
    rng = np.random.RandomState(0)
    u = rng.randn(n, 1)
    v = rng.randn(m, 1)

    M = ot.dist(u, v, metric="sqeuclidean")

    r = kantorovich(**_given(given, u, v, M), a=[], b=[])
    wass = _np(r.cost)
    G = _np(r.plan)
    wass1d_emd2 = _np(transport_1d(u, v, [], [], p=2).cost)
    wass1d_euc = _np(transport_1d(u, v, [], [], p=1).cost)

    # check loss is similar
    np.testing.assert_allclose(wass, wass1d_emd2)

    # check loss is similar to scipy's implementation for Euclidean metric
    wass_sp = wasserstein_distance(u.reshape((-1,)), v.reshape((-1,)))
    np.testing.assert_allclose(wass_sp, wass1d_euc)

    # check constraints
    np.testing.assert_allclose(np.ones((n,)) / n, G.sum(1))
    np.testing.assert_allclose(np.ones((m,)) / m, G.sum(0))

    # check an error is raised if called on non 1d arrays
    u = rng.randn(n, 2)
    v = rng.randn(m, 2)
    with pytest.raises(ValueError):
        transport_1d(u, v, [], [])


# POT test_1d_solver.py::test_emd1d_type_devices
def test_emd1d_type_devices():
    rng = np.random.RandomState(0)

    n = 10
    x = np.linspace(0, 5, n)
    rho_u = np.abs(rng.randn(n))
    rho_u /= rho_u.sum()
    rho_v = np.abs(rng.randn(n))
    rho_v /= rho_v.sum()

    for device in DEVICES:
        for dtype in DTYPES:
            xb, rho_ub, rho_vb = (torch.as_tensor(t, dtype=dtype, device=device) for t in (x, rho_u, rho_v))

            emd2 = transport_1d(xb, xb, rho_ub, rho_vb).cost

            assert emd2.dtype == xb.dtype
            assert emd2.device == xb.device


# ---------------------------------------------------------------------------------------------
# sliced/test_sliced_distances.py (test_sliced.py)
# ---------------------------------------------------------------------------------------------


# POT sliced/test_sliced_distances.py::test_get_random_projections
def test_get_random_projections():
    projections = random_directions(50, 1000, seed=0, like=torch.zeros((), dtype=torch.float64))
    np.testing.assert_almost_equal(np.sum(_np(projections) ** 2, 1), 1.0)


# POT sliced/test_sliced_distances.py::test_sliced_same_dist
def test_sliced_same_dist():
    n = 100
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    u = ot.utils.unif(n)

    res = sliced(x, x, u, u, n_directions=10, seed=0).cost
    np.testing.assert_almost_equal(_np(res), 0.0)


# POT sliced/test_sliced_distances.py::test_sliced_bad_shapes
def test_sliced_bad_shapes():
    n = 100
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    y = rng.randn(n, 4)
    u = ot.utils.unif(n)

    with pytest.raises(ValueError):
        _ = sliced(x, y, u, u, n_directions=10, seed=0)


# POT sliced/test_sliced_distances.py::test_sliced_different_dists
def test_sliced_different_dists():
    n = 100
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    u = ot.utils.unif(n)
    y = rng.randn(n, 2)

    res = sliced(x, y, u, u, n_directions=10, seed=0).cost
    assert float(res) > 0.0


# POT sliced/test_sliced_distances.py::test_1d_sliced_equals_emd
def test_1d_sliced_equals_emd():
    n = 100
    m = 120
    rng = np.random.RandomState(0)

    x = rng.randn(n, 1)
    a = rng.uniform(0, 1, n)
    a /= a.sum()
    y = rng.randn(m, 1)
    u = ot.utils.unif(m)
    res = _np(sliced(x, y, a, u, n_directions=10, seed=42).cost)  # SW_2^2: POT's res**2
    expected = _np(transport_1d(x.squeeze(), y.squeeze(), a, u).cost)
    np.testing.assert_almost_equal(res, expected)
    # and POT's emd2_1d
    np.testing.assert_almost_equal(expected, ot.emd2_1d(x.squeeze(), y.squeeze(), a, u))


# POT sliced/test_sliced_distances.py::test_sliced_same_proj
def test_sliced_same_proj():
    n_projections = 10
    seed = 12
    rng = np.random.RandomState(0)
    X = rng.randn(8, 2)
    Y = rng.randn(8, 2)
    cost1 = sliced(X, Y, seed=seed, n_directions=n_projections).cost
    P = random_directions(10, X.shape[1], seed=seed, like=torch.from_numpy(X))
    cost2 = sliced(X, Y, directions=P).cost

    assert np.isclose(_np(cost1), _np(cost2))

    # POT's directions give POT's value (its (d, L) projections are monge's (L, d) directions)
    P_pot = ot.sliced.get_random_projections(X.shape[1], n_projections=10, seed=seed)
    cost_pot = ot.sliced_wasserstein_distance(X, Y, projections=P_pot)
    assert np.isclose(_np(sliced(X, Y, directions=P_pot.T).cost) ** 0.5, cost_pot)


# POT sliced/test_sliced_distances.py::test_sliced_backend
def test_sliced_backend():
    n = 100
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    y = rng.randn(2 * n, 2)

    P = rng.randn(2, 20)
    P = P / np.sqrt((P**2).sum(0, keepdims=True))

    n_projections = 20

    xb, yb, Pb = (torch.from_numpy(t) for t in (x, y, P))

    val0 = ot.sliced_wasserstein_distance(x, y, projections=P)

    val = sliced(xb, yb, n_directions=n_projections, seed=0).cost
    val2 = sliced(xb, yb, n_directions=n_projections, seed=0).cost

    assert float(val) > 0
    assert float(val) == float(val2)

    valb = _np(wasserstein(xb, yb, method="sliced", directions=Pb.T))

    assert np.allclose(val0, valb)
    assert np.allclose(val0, _np(sliced(x, y, directions=P.T).cost) ** 0.5)

    a = rng.uniform(0, 1, n)
    a /= a.sum()
    b = rng.uniform(0, 1, 2 * n)
    b /= b.sum()
    a_b = torch.from_numpy(a)
    b_b = torch.from_numpy(b)
    val = ot.sliced_wasserstein_distance(x, y, a=a, b=b, projections=P)
    val_b = _np(sliced(xb, yb, a=a_b, b=b_b, directions=Pb.T).cost) ** 0.5
    np.testing.assert_almost_equal(val, val_b)


# POT sliced/test_sliced_distances.py::test_sliced_backend_type_devices
def test_sliced_backend_type_devices():
    n = 100
    rng = np.random.RandomState(0)

    x = rng.randn(n, 2)
    y = rng.randn(2 * n, 2)

    P = rng.randn(2, 20)
    P = P / np.sqrt((P**2).sum(0, keepdims=True))

    for device in DEVICES:
        for dtype in DTYPES:
            xb, yb, Pb = (torch.as_tensor(t, dtype=dtype, device=device) for t in (x, y, P))

            valb = sliced(xb, yb, directions=Pb.T).cost

            assert valb.dtype == xb.dtype
            assert valb.device == xb.device


# ---------------------------------------------------------------------------------------------
# unbalanced/test_sinkhorn.py (test_unbalanced.py): method="sinkhorn", reg_type="kl"
# ---------------------------------------------------------------------------------------------


# POT unbalanced/test_sinkhorn.py::test_unbalanced_convergence (reg_type="kl")
@GIVEN
def test_unbalanced_convergence(given):
    # test generalized sinkhorn for unbalanced OT
    n = 100
    rng = np.random.RandomState(42)

    x = rng.randn(n, 2)
    a = ot.utils.unif(n)

    # make dists unbalanced
    b = ot.utils.unif(n) * 1.5
    M = ot.dist(x, x)

    epsilon = 1.0
    reg_m = 1.0

    r = sinkhorn(**_given(given, x, x, M), a=a, b=b, eps=epsilon, rho=reg_m, **TIGHT)
    G = _np(r.plan)
    loss = _np(r.cost)
    # POT's log["logu"], log["logv"]: P = a_i b_j exp(logu_i + logv_j - M_ij / eps)
    logu, logv = _np(r.f) / epsilon, _np(r.g) / epsilon

    # check fixed point equations
    # in log-domain
    fi = reg_m / (reg_m + epsilon)
    logb = np.log(b + 1e-16)
    loga = np.log(a + 1e-16)
    log_ab = loga[:, None] + logb[None, :]
    logKtu = logsumexp(logu[None, :] - M.T / epsilon + log_ab.T, axis=1)
    logKv = logsumexp(logv[None, :] - M / epsilon + log_ab, axis=1)
    v_final = fi * (logb - logKtu)
    u_final = fi * (loga - logKv)

    np.testing.assert_allclose(u_final, logu, atol=1e-05)
    np.testing.assert_allclose(v_final, logv, atol=1e-05)

    # check if sinkhorn_unbalanced2 returns the correct loss
    np.testing.assert_allclose(np.sum(G * M), loss, atol=1e-5)

    # and POT's plan and loss
    G_pot, log = ot.unbalanced.sinkhorn_unbalanced(a, b, M, reg=epsilon, reg_m=reg_m, reg_type="kl", log=True)
    loss_pot = ot.unbalanced.sinkhorn_unbalanced2(a, b, M, reg=epsilon, reg_m=reg_m, reg_type="kl")
    np.testing.assert_allclose(logu, log["logu"], atol=1e-05)
    np.testing.assert_allclose(logv, log["logv"], atol=1e-05)
    np.testing.assert_allclose(G, G_pot, atol=1e-05)
    np.testing.assert_allclose(loss, loss_pot, atol=1e-5)


# POT unbalanced/test_sinkhorn.py::test_unbalanced_marginals (reg_type="kl")
@GIVEN
def test_unbalanced_marginals(given):
    # test generalized sinkhorn for unbalanced OT
    n = 100
    rng = np.random.RandomState(42)

    x = rng.randn(n, 2)
    a = ot.utils.unif(n)
    b = ot.utils.unif(n)
    M = ot.dist(x, x)

    epsilon = 1.0
    reg_m = 1.0

    r0 = sinkhorn(**_given(given, x, x, M), a=a, b=b, eps=epsilon, rho=reg_m, **TIGHT)

    # check in case no histogram is provided or histogram is None
    a_empty, b_empty = np.array([]), np.array([])

    r_empty = sinkhorn(**_given(given, x, x, M), a=a_empty, b=b_empty, eps=epsilon, rho=reg_m, **TIGHT)

    np.testing.assert_allclose(_np(r_empty.f), _np(r0.f), atol=1e-05)
    np.testing.assert_allclose(_np(r_empty.g), _np(r0.g), atol=1e-05)
    np.testing.assert_allclose(_np(r_empty.plan), _np(r0.plan), atol=1e-05)
    np.testing.assert_allclose(_np(r_empty.cost), _np(r0.cost), atol=1e-5)


# POT unbalanced/test_sinkhorn.py::test_unbalanced_reference_measure (reg_type="kl": c = a b^T)
@GIVEN
def test_unbalanced_reference_measure(given):
    # test generalized sinkhorn for unbalanced OT
    n = 100
    rng = np.random.RandomState(42)

    x = rng.randn(n, 2)
    a = ot.utils.unif(n)
    b = ot.utils.unif(n)
    M = ot.dist(x, x)

    epsilon = 1.0
    reg_m = 1.0

    # monge's reference measure is a x b, given to POT explicitly
    r0 = sinkhorn(**_given(given, x, x, M), a=a, b=b, eps=epsilon, rho=reg_m, **TIGHT)

    c = a[:, None] * b[None, :]

    G, log = ot.unbalanced.sinkhorn_unbalanced(a, b, M, reg=epsilon, reg_m=reg_m, reg_type="kl", c=c, log=True)
    loss = ot.unbalanced.sinkhorn_unbalanced2(a, b, M, reg=epsilon, reg_m=reg_m, reg_type="kl", c=c)

    np.testing.assert_allclose(log["logu"], _np(r0.f) / epsilon, atol=1e-05)
    np.testing.assert_allclose(log["logv"], _np(r0.g) / epsilon, atol=1e-05)
    np.testing.assert_allclose(G, _np(r0.plan), atol=1e-05)
    np.testing.assert_allclose(loss, _np(r0.cost), atol=1e-5)


# ---------------------------------------------------------------------------------------------
# test_solvers.py
# ---------------------------------------------------------------------------------------------


def _assert_close_to_pot(sol, ref, entropic: bool, value=None) -> None:
    """monge's result against POT's ``ot.solve``: value, linear value and plan (np.allclose's tolerances).

    ``value`` replaces ``ref.value`` where POT's differs by definition (see test_solve_grid).
    """
    mine = sol.entropic_cost if entropic else sol.cost
    np.testing.assert_allclose(_np(mine), ref.value if value is None else value, err_msg="value", **ALLCLOSE)
    np.testing.assert_allclose(_np(sol.cost), ref.value_linear, err_msg="value_linear", **ALLCLOSE)
    np.testing.assert_allclose(_np(sol.plan), ref.plan, err_msg="plan", **ALLCLOSE)


# POT test_solvers.py::test_solve
@GIVEN
def test_solve(given):
    n_samples_s = 10
    n_samples_t = 7
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples_s, n_features)
    y = rng.randn(n_samples_t, n_features)
    a = ot.utils.unif(n_samples_s)
    b = ot.utils.unif(n_samples_t)

    M = ot.dist(x, y)
    reg = 1e-1

    # solve unif weights
    sol0 = sinkhorn(**_given(given, x, y, M), eps=reg, **TIGHT)

    # solve signe weights
    sol = sinkhorn(**_given(given, x, y, M), a=a, b=b, eps=reg, **TIGHT)

    _assert_allclose_sol(sol0, sol)
    _assert_close_to_pot(sol, ot.solve(M, a, b, reg=reg), entropic=True)

    # solve in backend (the exact problem)
    ab, bb, xb, yb, Mb = (torch.from_numpy(t) for t in (a, b, x, y, M))
    solb = kantorovich(**_given(given, xb, yb, Mb), a=ab, b=bb)

    _assert_close_to_pot(solb, ot.solve(M, a, b), entropic=False)


# POT test_solvers.py::test_solve_envelope (POT's envelope gradients against monge's)
def test_solve_envelope():
    n_samples_s = 10
    n_samples_t = 7
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples_s, n_features)
    y = rng.randn(n_samples_t, n_features)
    a = ot.utils.unif(n_samples_s)
    b = ot.utils.unif(n_samples_t)
    M = ot.dist(x, y)

    a0 = torch.tensor(a, requires_grad=True)
    b0 = torch.tensor(b, requires_grad=True)
    M0 = torch.tensor(M, requires_grad=True)

    sol0 = ot.solve(M0, a0, b0, reg=10, grad="envelope")
    sol0.value.backward()

    gM0 = M0.grad.clone()
    ga0 = a0.grad.clone()
    gb0 = b0.grad.clone()

    a1 = torch.tensor(a, requires_grad=True)
    b1 = torch.tensor(b, requires_grad=True)
    M1 = torch.tensor(M, requires_grad=True)

    sol = sinkhorn(cost=M1, a=a1, b=b1, eps=10, **TIGHT)
    sol.entropic_cost.backward()

    gM = M1.grad.clone()
    ga = a1.grad.clone()
    gb = b1.grad.clone()

    assert torch.allclose(sol0.value.detach(), sol.entropic_cost.detach())
    # Note, gradients are invariant to change in constant so we center them
    assert torch.allclose(gM0, gM)
    assert torch.allclose(ga0 - ga0.mean(), ga - ga.mean())
    assert torch.allclose(gb0 - gb0.mean(), gb - gb.mean())


# POT test_solvers.py::test_solve_grid (reg_type="KL", unbalanced_type="KL": the cases monge solves)
@pytest.mark.parametrize("reg, unbalanced", [(None, None), (1, None), (1, 0.9)])
@GIVEN
def test_solve_grid(given, reg, unbalanced):
    n_samples_s = 10
    n_samples_t = 7
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples_s, n_features)
    y = rng.randn(n_samples_t, n_features)
    a = ot.utils.unif(n_samples_s)
    b = ot.utils.unif(n_samples_t)

    M = ot.dist(x, y)

    def solve(x, y, M, **weights):
        if reg is None:
            return kantorovich(**_given(given, x, y, M), **weights)
        extra = {} if unbalanced is None else {"rho": unbalanced}
        return sinkhorn(**_given(given, x, y, M), **weights, eps=reg, **extra, **TIGHT)

    # solve unif weights
    sol0 = solve(x, y, M)

    # solve signe weights
    sol = solve(x, y, M, a=a, b=b)

    _assert_allclose_sol(sol0, sol)

    # solve in backend
    ab, bb, xb, yb, Mb = (torch.from_numpy(t) for t in (a, b, x, y, M))
    solb = solve(xb, yb, Mb, a=ab, b=bb)

    _assert_allclose_sol(sol, solb)

    # and POT's solution
    ref = ot.solve(M, a, b, reg=reg, unbalanced=unbalanced)
    value = None
    if unbalanced is not None:
        # POT's value takes KL without its mass terms (nx.kl_div(..., mass=False)), which makes
        # it 0 at the optimum of the unbalanced problem; monge's .entropic_cost is the objective
        # with the generalised KL(p | q) = sum p log(p / q) - p + q, evaluated here at POT's plan
        kl = ot.backend.NumpyBackend().kl_div
        P = ref.plan
        value = (ref.value_linear + reg * kl(P, a[:, None] * b[None, :], mass=True)
                 + unbalanced * (kl(P.sum(1), a, mass=True) + kl(P.sum(0), b, mass=True)))
    _assert_close_to_pot(sol, ref, entropic=reg is not None, value=value)
    f, g = _np(sol.f), _np(sol.g)
    u, v = ref.potentials
    if reg is None:  # the network simplex's potentials: the duality
        np.testing.assert_allclose(a @ f + b @ g, ref.value, **ALLCLOSE)
    elif unbalanced is None:  # POT's log_u, log_v: P = exp(log_u + log_v - M / reg), up to a constant
        fa, gb = f + reg * np.log(a), g + reg * np.log(b)
        np.testing.assert_allclose(fa - fa.mean(), reg * (u - u.mean()), **ALLCLOSE)
        np.testing.assert_allclose(gb - gb.mean(), reg * (v - v.mean()), **ALLCLOSE)
    else:  # POT's logu, logv: P = a_i b_j exp(logu_i + logv_j - M / reg)
        np.testing.assert_allclose(f, reg * u, **ALLCLOSE)
        np.testing.assert_allclose(g, reg * v, **ALLCLOSE)


# POT test_solvers.py::test_solve_sample
def test_solve_sample():
    # test solve_sample when is_Lazy = False
    n = 20
    X_s = np.reshape(1.0 * np.arange(n), (n, 1))
    X_t = np.reshape(1.0 * np.arange(0, n), (n, 1))

    a = ot.utils.unif(X_s.shape[0])
    b = ot.utils.unif(X_t.shape[0])

    M = ot.dist(X_s, X_t)

    # solve with ot.solve
    sol00 = kantorovich(cost=M, a=a, b=b)

    # solve unif weights
    sol0 = kantorovich(X_s, X_t)

    # solve signe weights
    sol = kantorovich(X_s, X_t, a, b)

    _assert_allclose_sol(sol0, sol)
    _assert_allclose_sol(sol0, sol00)

    # solve in backend
    X_sb, X_tb, ab, bb = (torch.from_numpy(t) for t in (X_s, X_t, a, b))
    solb = kantorovich(X_sb, X_tb, ab, bb)

    _assert_allclose_sol(sol, solb)
    # and POT's
    np.testing.assert_allclose(_np(sol.cost), ot.solve_sample(X_s, X_t, a, b).value, **ALLCLOSE)


# POT test_solvers.py::test_solve_sample_lazy (lazy: monge's memory="online")
def test_solve_sample_lazy():
    # test solve_sample when is_Lazy = False
    n = 20
    X_s = np.reshape(1.0 * np.arange(n), (n, 1))
    X_t = np.reshape(1.0 * np.arange(0, n), (n, 1))

    a = ot.utils.unif(X_s.shape[0])
    b = ot.utils.unif(X_t.shape[0])

    M = ot.dist(X_s, X_t)

    # solve with ot.solve
    sol00 = sinkhorn(cost=M, a=a, b=b, eps=1, **TIGHT)

    sol0 = sinkhorn(X_s, X_t, a, b, eps=1, **TIGHT)

    # solve signe weights
    sol = sinkhorn(X_s, X_t, a, b, eps=1, memory="online", **TIGHT)

    _assert_allclose_sol(sol0, sol00)

    np.testing.assert_allclose(_np(sol0.plan), _np(sol.plan), rtol=1e-5, atol=1e-5)
    # and POT's lazy plan
    lazy_plan = ot.solve_sample(X_s, X_t, a, b, reg=1, lazy=True).lazy_plan[:]
    np.testing.assert_allclose(_np(sol.plan), lazy_plan, rtol=1e-5, atol=1e-5)


# POT test_solvers.py::test_solve_sample_lazy_emd (lazy exact from points: monge's x, z)
@pytest.mark.parametrize("metric, p", [("sqeuclidean", 2), ("euclidean", 1)])
def test_solve_sample_lazy_emd(metric, p):
    # test lazy EMD solver (no regularization, computes distances on-the-fly)
    n_s = 20
    n_t = 25
    d = 2
    rng = np.random.RandomState(42)

    X_s = rng.rand(n_s, d)
    X_t = rng.rand(n_t, d)
    a = ot.utils.unif(n_s)
    b = ot.utils.unif(n_t)

    X_sb, X_tb, ab, bb = (torch.from_numpy(t) for t in (X_s, X_t, a, b))

    # Standard solver: pre-compute distance matrix
    M = ot.dist(X_s, X_t, metric=metric)
    sol_standard = kantorovich(cost=M, a=ab, b=bb)

    # Lazy solver: compute distances on-the-fly
    sol_lazy = kantorovich(X_sb, X_tb, ab, bb, p=p)

    # Check that optimal costs match
    np.testing.assert_allclose(
        _np(sol_standard.cost),
        _np(sol_lazy.cost),
        rtol=1e-10,
        atol=1e-10,
        err_msg=f"Lazy EMD cost mismatch for metric {metric}",
    )
    np.testing.assert_allclose(_np(sol_lazy.cost), ot.solve(M, a, b).value, rtol=1e-10, atol=1e-10)

    # Check that the lazy plan has the same cost when evaluated against M
    # (OT can have multiple optimal plans with the same cost)
    cost_standard = np.sum(_np(sol_standard.plan) * M)
    cost_lazy = np.sum(_np(sol_lazy.plan) * M)
    np.testing.assert_allclose(
        cost_standard,
        cost_lazy,
        rtol=1e-10,
        atol=1e-10,
        err_msg=f"Lazy EMD plan cost mismatch for metric {metric}",
    )

    # Check that the lazy plan satisfies marginal constraints
    np.testing.assert_allclose(
        _np(sol_lazy.plan).sum(1),
        a,
        rtol=1e-6,
        atol=1e-8,
        err_msg=f"Lazy EMD row marginal mismatch for metric {metric}",
    )
    np.testing.assert_allclose(
        _np(sol_lazy.plan).sum(0),
        b,
        rtol=1e-6,
        atol=1e-8,
        err_msg=f"Lazy EMD column marginal mismatch for metric {metric}",
    )


# POT test_solvers.py::test_solve_sample_lazy_emd_large
def test_solve_sample_lazy_emd_large():
    # Test larger problem to verify memory savings benefit
    n_large = 100
    d = 2
    rng = np.random.RandomState(42)

    X_s_large = rng.rand(n_large, d)
    X_t_large = rng.rand(n_large, d)
    a_large = ot.utils.unif(n_large)
    b_large = ot.utils.unif(n_large)

    # Standard solver
    M_large = ot.dist(X_s_large, X_t_large, metric="sqeuclidean")
    sol_standard_large = kantorovich(cost=M_large, a=a_large, b=b_large)

    # Lazy solver (avoids storing 100x100 cost matrix)
    sol_lazy_large = kantorovich(X_s_large, X_t_large, a_large, b_large, p=2)

    np.testing.assert_allclose(
        _np(sol_standard_large.cost),
        _np(sol_lazy_large.cost),
        rtol=1e-9,
        atol=1e-9,
        err_msg="Lazy EMD cost mismatch for large problem",
    )


# POT test_solvers.py::test_solve_sample_geomloss (GeomLoss's variants: monge's dense and online modes)
@pytest.mark.parametrize("metric, p", [("sqeuclidean", 2), ("euclidean", 1)])
def test_solve_sample_geomloss(metric, p):
    # test solve_sample when is_Lazy = False
    n_samples_s = 13
    n_samples_t = 7
    n_features = 2
    rng = np.random.RandomState(0)

    x = rng.randn(n_samples_s, n_features)
    y = rng.randn(n_samples_t, n_features)
    a = ot.utils.unif(n_samples_s)
    b = ot.utils.unif(n_samples_t)

    sol0 = ot.solve_sample(x, y, a, b, reg=1, metric=metric)

    # monge's defaults, dense and online
    sol = sinkhorn(x, y, a, b, p=p, eps=1, memory="dense")
    sol1 = sinkhorn(x, y, a, b, p=p, eps=1, memory="online")
    np.testing.assert_allclose(_np(sol1.plan), _np(sol.plan), rtol=1e-5, atol=1e-5)

    # converged, against POT's Sinkhorn
    sol2 = sinkhorn(x, y, a, b, p=p, eps=1, **TIGHT)
    _assert_close_to_pot(sol2, sol0, entropic=True)


# POT test_solvers.py::test_solve_sample_methods (method="1d", one column at a time)
@pytest.mark.parametrize("metric, p", [("sqeuclidean", 2), ("euclidean", 1)])
def test_solve_sample_methods(metric, p):
    n_samples_s = 10
    n_samples_t = 9
    n_features = 2
    rng = np.random.RandomState(42)

    x = rng.randn(n_samples_s, n_features)
    y = rng.randn(n_samples_t, n_features)
    a = ot.utils.unif(n_samples_s)
    b = ot.utils.unif(n_samples_t)

    xb, yb, ab, bb = (torch.from_numpy(t) for t in (x, y, a, b))

    sol = np.array([float(transport_1d(x[:, k], y[:, k], p=p).cost) for k in range(n_features)])
    solb = np.array([float(transport_1d(xb[:, k], yb[:, k], ab, bb, p=p).cost) for k in range(n_features)])

    np.testing.assert_allclose(sol, solb, **ALLCLOSE)
    np.testing.assert_allclose(sol, ot.solve_sample(x, y, method="1d", metric=metric).value, **ALLCLOSE)

    sol2 = np.array([float(transport_1d(x[:, k], x[:, k], p=p).cost) for k in range(n_features)])
    np.testing.assert_allclose(sol2, 0, atol=1e-10)
