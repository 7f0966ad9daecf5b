"""Smoke test of the entropic benchmark suites (``sinkhorn``, ``sliced``): structure only, no timings.

GeomLoss, pykeops and POT are optional: a contender whose package is missing is reported absent.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import harness  # noqa: E402
import run as bench_run  # noqa: E402
import suite_sinkhorn  # noqa: E402
import suite_sliced  # noqa: E402

HAVE_GEOMLOSS = importlib.util.find_spec("geomloss") is not None
HAVE_POT = importlib.util.find_spec("ot") is not None


def test_suites_are_registered():
    assert bench_run.SUITES["sinkhorn"] is suite_sinkhorn and bench_run.SUITES["sliced"] is suite_sliced
    assert bench_run.parse(["--suite", "sinkhorn", "--suite", "sliced", "--quick"]).suite == ["sinkhorn", "sliced"]
    assert all(p["n"] <= 300 for p in suite_sinkhorn.cases(quick=True))


def test_one_tiny_sinkhorn_case_in_process():
    record = suite_sinkhorn.run_case({"n": 200}, repeats=1, seed=0)
    stats, absent = record["stats"], record["absent"]
    assert set(suite_sinkhorn.ONLINE) | {suite_sinkhorn.MONGE_DENSE} <= set(stats)
    if not HAVE_GEOMLOSS:
        assert {suite_sinkhorn.GL_TENSORIZED, suite_sinkhorn.GL_ONLINE} <= set(absent)
    if not HAVE_POT:
        assert suite_sinkhorn.POT in absent
    assert set(stats) | set(absent) == set(suite_sinkhorn.COLUMNS)
    for name, s in stats.items():
        assert len(s["times"]) == 1 and s["min"] <= s["median"] <= s["max"]
        assert math.isfinite(s["marginal_error"]) and math.isfinite(s["ot_eps"]), name
    assert stats[suite_sinkhorn.MONGE]["marginal_error"] < 2 * suite_sinkhorn.TOL
    assert stats[suite_sinkhorn.MONGE_TIGHT]["marginal_error"] < 1e-4
    ref = stats[suite_sinkhorn.MONGE_TIGHT]["ot_eps"]
    assert abs(stats[suite_sinkhorn.MONGE]["ot_eps"] - ref) < 1e-2 * ref
    row = suite_sinkhorn.row(record)
    assert len(row) == len(suite_sinkhorn.HEADERS)
    assert all(row[1 + suite_sinkhorn.COLUMNS.index(name)] == "absent" for name in absent)
    markdown, targets = bench_run.report(harness.machine(), {"threads": 1, "repeats": 1, "seed": 0},
                                         {"sinkhorn": [record]})
    assert "### sinkhorn" in markdown and all(isinstance(met, bool) for _, met in targets["sinkhorn"])


def test_missing_packages_are_reported_absent(monkeypatch):
    monkeypatch.setattr(suite_sinkhorn, "_available", lambda module: f"{module} not importable")
    record = suite_sinkhorn.run_case({"n": 100}, repeats=1, seed=0)
    assert set(record["absent"]) == set(suite_sinkhorn.ANCHORS)
    assert "fastest_anchor" not in record
    row = suite_sinkhorn.row(record)
    assert row.count("absent") == len(suite_sinkhorn.ANCHORS) and row[-3] == row[-2] == "-"
    assert suite_sinkhorn.targets([record]) == []


def test_forward_backward_case_in_process():
    record = suite_sinkhorn.run_case({"n": 150, "task": "grad"}, repeats=1, seed=0)
    s = record["stats"][suite_sinkhorn.MONGE]
    assert s["grad_rel_diff"] < 0.05 and abs(s["loss"] - record["reference_loss"]) < 1e-2 * record["reference_loss"]
    assert len(suite_sinkhorn.row(record)) == len(suite_sinkhorn.HEADERS)


def test_one_tiny_sliced_case_in_process():
    record = suite_sliced.run_case({"n": 500, "d": 4, "dtype": "float64"}, repeats=1, seed=0)
    stats = record["stats"]
    assert record["monge_vs_float64_same_directions"] < 1e-9
    if HAVE_POT:
        assert record["pot_same_directions_rel_diff"] < 1e-9
        assert suite_sliced.POT_NUMPY in stats
    else:
        assert suite_sliced.POT_NUMPY in record["absent"]
    assert len(suite_sliced.row(record)) == len(suite_sliced.HEADERS)
    assert all(isinstance(met, bool) for _, met in suite_sliced.targets([record]))
