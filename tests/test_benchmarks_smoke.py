"""Smoke test of the benchmark harness and of ``monge bench``'s parser: structure only, no timings."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import harness  # noqa: E402
import run as bench_run  # noqa: E402
import suite_matching  # noqa: E402
import suite_sparse  # noqa: E402
import suite_sparse_weighted  # noqa: E402


def test_one_tiny_matching_case_in_process():
    record = suite_matching.run_case({"n": 50, "d": 2}, repeats=1, seed=0)
    stats = record["stats"]
    expected = {f"monge {m}" for m in suite_matching.METHODS} | {"cdist", *suite_matching.ANCHORS}
    assert set(stats) == expected
    for name, s in stats.items():
        assert len(s["times"]) == 1 and s["min"] <= s["median"] <= s["max"]
        if name != "cdist":
            assert s["optimal"], name
    assert record["all_optimal"]
    assert record["fastest_anchor"] in suite_matching.ANCHORS
    assert record["ratio_auto_vs_anchor_with_cost"] > 0
    assert len(suite_matching.row(record)) == len(suite_matching.HEADERS)
    markdown, targets = bench_run.report(harness.machine(), {"threads": 1, "repeats": 1, "seed": 0},
                                         {"matching": [record]})
    assert "### matching" in markdown and all(isinstance(met, bool) for _, met in targets["matching"])


@pytest.mark.parametrize("law", ["uniform", "gaussian"])
def test_one_tiny_sparse_case_in_process(law):
    record = suite_sparse.run_case({"n": 60, "d": 2, "law": law}, repeats=1, seed=0)
    stats = record["stats"]
    expected = {"monge sparse", "cdist", *suite_sparse.ANCHORS} - ({"lap lapjv"} if law == "gaussian" else set())
    assert set(stats) == expected
    assert record["all_optimal"] and all(stats[name]["optimal"] for name in stats if name != "cdist")
    assert stats["monge sparse"]["certificate"]["rounds"] >= 1
    assert record["fastest_anchor"] in suite_sparse.ANCHORS and record["ratio_with_cost"] > 0
    assert len(suite_sparse.row(record)) == len(suite_sparse.HEADERS)
    markdown, targets = bench_run.report(harness.machine(), {"threads": 1, "repeats": 1, "seed": 0},
                                         {"sparse": [record]})
    assert "### sparse" in markdown and targets["sparse"] == []  # no target case among n = 60


@pytest.mark.parametrize("law", ["uniform", "gaussian", "repeated"])
def test_one_tiny_weighted_sparse_case_in_process(law):
    record = suite_sparse_weighted.run_case({"n": 60, "law": law}, repeats=1, seed=0)
    stats = record["stats"]
    assert set(stats) == {"monge sparse", "cdist", "POT emd"} | ({"scipy lsa"} if law == "repeated" else set())
    assert record["all_optimal"] and all(stats[name]["optimal"] for name in stats if name != "cdist")
    assert stats["monge sparse"]["rounds"] >= 1 and record["ratio_with_cost"] > 0
    assert len(suite_sparse_weighted.row(record)) == len(suite_sparse_weighted.HEADERS)
    markdown, targets = bench_run.report(harness.machine(), {"threads": 1, "repeats": 1, "seed": 0},
                                         {"sparse_weighted": [record]})
    assert "### sparse_weighted" in markdown and [met for _, met in targets["sparse_weighted"]] == [True]


def test_compare_alternates_and_measures_memory():
    order = []
    contenders = [harness.Contender(name, lambda name=name: order.append(name) or len(order), lambda v: v)
                  for name in "AB"]
    stats = harness.compare(contenders, repeats=2)
    assert order == ["A", "B"] * 3  # the memory pass, then two timed rounds
    assert stats["B"]["value"] == 6 and len(stats["A"]["times"]) == 2 and stats["A"]["rss_extra_mib"] is not None


def test_bench_cli_registers_and_refuses_without_benchmarks(monkeypatch, tmp_path, capsys):
    from monge.cli import bench

    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers())
    args = parser.parse_args(["bench", "--quick", "--suite", "batched", "--out", str(tmp_path), "--seed", "3"])
    assert args.func is bench.run and args.quick and args.suite == ["batched"] and args.seed == 3
    assert bench.SCRIPT.is_file()  # the repository's benchmarks, found from the package source
    monkeypatch.setattr(bench, "SCRIPT", tmp_path / "missing" / "run.py")
    assert bench.run(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install -e" in err


@pytest.mark.parametrize("argv", [["--repeats", "0"], ["--suite", "nope"]])
def test_run_rejects_bad_options(argv):
    with pytest.raises(SystemExit):
        bench_run.parse(argv)


def test_busy_case_is_run_again(monkeypatch):
    """With --wait-idle, a case disturbed by other processes is repeated (here: busy, then quiet)."""
    busy = iter([0.5, 0.0])
    monkeypatch.setattr(harness, "wait_until_idle", lambda *a, **k: 0.0)
    monkeypatch.setattr(harness, "in_subprocess", lambda *a, **k: {"others_cpu": next(busy)})
    args = bench_run.parse(["--wait-idle", "1"])
    assert bench_run.run_isolated(args, "matching", {"n": 50, "d": 2}, 1, lambda *a: None) == {"others_cpu": 0.0}
