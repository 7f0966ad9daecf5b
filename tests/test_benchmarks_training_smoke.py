"""Smoke test of the training benchmark suite: structure and agreement only, no timings."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import harness  # noqa: E402
import run as bench_run  # noqa: E402
import suite_training  # noqa: E402


def test_suite_is_registered():
    assert bench_run.SUITES["training"] is suite_training
    assert bench_run.parse(["--suite", "training", "--quick"]).suite == ["training"]
    assert all(p["epochs"] <= 2 for p in suite_training.cases(quick=True))


def test_one_tiny_training_case_in_process():
    record = suite_training.run_case({"data": "digits", "model": "two-layer", "epochs": 1}, repeats=1, seed=0)
    stats = record["stats"]
    assert set(stats) == set(suite_training.COLUMNS)
    for s in stats.values():
        assert len(s["times"]) == 1 and s["min"] <= s["median"] <= s["max"]
    assert record["identical"], "monge's loop and the bare loop must train the same weights"
    assert record["ratio"] > 0 and record["evaluation_share"] < 1  # timings: no bounds beyond the obvious
    row = suite_training.row(record)
    assert len(row) == len(suite_training.HEADERS) and row[-1] == "yes"
    markdown, targets = bench_run.report(harness.machine(), {"threads": 1, "repeats": 1, "seed": 0},
                                         {"training": [record]})
    assert "### training" in markdown and all(isinstance(met, bool) for _, met in targets["training"])
