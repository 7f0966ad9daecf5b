"""The tour's "how the solvers scale" (chapter 2, full tour only), at tiny sizes: its table, figure and text."""

import json

from monge.experiments.tour import chapter2
from monge.experiments.tour.common import TourConfig
from monge.runs import Run


def test_scaling_times_every_solver_where_it_runs_and_none_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setattr(chapter2, "SIZES", (20, 40))
    monkeypatch.setattr(chapter2, "LARGE_SIZES", (80, 160))
    monkeypatch.setattr(chapter2, "SPARSE_UP_TO", 80)
    run = Run.create("tour", {}, tmp_path / "tour", quiet=True)
    section = chapter2._scaling(run, TourConfig(chapters=(2,)))
    table = section.table
    assert [row["n"] for row in table] == [20, 40, 80, 160]
    for row in table:
        assert list(row) == ["n", "matching", "kantorovich", "sliced", "sparse"]
        dense, sparse = row["n"] <= 40, row["n"] <= 80
        for key in ("matching", "kantorovich"):
            assert (row[key] is not None) == dense, (row, key)
        assert (row["sparse"] is not None) == sparse and row["sliced"] is not None, row
        assert all(v > 0 for k, v in row.items() if k != "n" and v is not None), row
    assert (tmp_path / "tour" / "figures" / "chapter2_times.png").read_bytes()[:4] == b"\x89PNG"
    (step,) = [json.loads(line) for line in (tmp_path / "tour" / "metrics.jsonl").read_text().splitlines()]
    assert step["times"] == table  # the record holds the same table, None as null
    text = " ".join(section.paragraphs)
    assert "n = 40 the dense exact matching" in text and "at n = 80, where one dense cost matrix" in text
    assert "from n = 40 (" in text and "to n = 80 its time grew" in text
    assert "at n = 160." in text and section.title == "How the solvers scale"



def test_scaling_text_says_where_the_sparse_line_stops(monkeypatch):
    """The text says the tour stopped the sparse matching only where it did not reach the last size."""
    monkeypatch.setattr(chapter2, "SIZES", (20, 40))
    def row(n, sparse):
        dense = n <= 40
        return {"n": n, "matching": 0.1 if dense else None, "kantorovich": 0.2 if dense else None, "sliced": 0.01,
                "sparse": sparse}

    stopped = " ".join(chapter2._scaling_text([row(20, 0.1), row(40, 0.2), row(80, 0.4), row(160, None)]))
    reached = " ".join(chapter2._scaling_text([row(20, 0.1), row(40, 0.2), row(80, 0.4), row(160, 0.9)]))
    assert "the tour stops it there" in stopped
    assert "the tour stops it there" not in reached and "0.9 s at n = 160" in reached
