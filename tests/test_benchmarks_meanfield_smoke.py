"""Smoke test of the mean-field benchmark suite: structure and agreement only, no timings."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import harness  # noqa: E402
import run as bench_run  # noqa: E402
import suite_meanfield  # noqa: E402


def test_suite_is_registered():
    assert bench_run.SUITES["meanfield"] is suite_meanfield
    assert bench_run.parse(["--suite", "meanfield", "--quick"]).suite == ["meanfield"]
    assert {p["case"] for p in suite_meanfield.cases(quick=True)} == {"step", "rbf"}


def test_tiny_cases_in_process():
    step = suite_meanfield.run_case({"case": "step", "n": 60, "m": 50, "d": 4}, repeats=1, seed=0)
    assert set(step["stats"]) == {suite_meanfield.MONGE, suite_meanfield.AUTOGRAD, suite_meanfield.MATMUL}
    assert step["agree"], "monge's closed-form step and the autograd step must agree"
    assert step["ratio_vs_matmul"] > 0 and step["speedup_vs_autograd"] > 0  # timings: no bounds
    rbf = suite_meanfield.run_case({"case": "rbf", "n": 10, "t": 0.2}, repeats=1, seed=0)
    assert rbf["agree"] and rbf["energy_final"] < rbf["energy_initial"]
    for record in (step, rbf):
        assert len(suite_meanfield.row(record)) == len(suite_meanfield.HEADERS)
    markdown, targets = bench_run.report(harness.machine(), {"threads": 1, "repeats": 1, "seed": 0},
                                         {"meanfield": [step, rbf]})
    assert "### meanfield" in markdown and len(targets["meanfield"]) == 4
