import json
import re

import pytest

from monge.cli.tour import CHAPTERS

from .conftest import read_json


@pytest.fixture(scope="module")
def quick_tour(tmp_path_factory):
    from monge.cli.main import main

    out = tmp_path_factory.mktemp("tour") / "run"
    assert main(["tour", "--quick", "--out", str(out), "--quiet"]) == 0
    return out


def test_tour_writes_its_run_folder(quick_tour):
    config = read_json(quick_tour / "config.json")
    assert config["command"] == "tour" and config["quick"] is True and config["chapters"] == [2]
    summary = read_json(quick_tour / "summary.json")
    assert summary["chapters"] == [2] and summary["seconds"] > 0
    steps = [json.loads(line) for line in (quick_tour / "metrics.jsonl").read_text().splitlines()]
    assert len(steps) >= 2 and all(s["seconds"] >= 0 and s["step"].startswith("chapter 2") for s in steps)
    example = read_json(quick_tour / "monge6" / "summary.json")
    assert example["crossings_optimal"] == 0
    assert example["distance_optimal"] <= example["distance_text_permutation"]
    assert read_json(quick_tour / "monge6" / "config.json")["command"] == "transport"


def test_tour_compares_exact_and_sliced_transport(quick_tour):
    step = [json.loads(line) for line in (quick_tour / "metrics.jsonl").read_text().splitlines()][1]
    exact, lp, sliced = step["results"]
    assert exact["cost"] == pytest.approx(lp["cost"], rel=1e-9)
    assert sliced["cost"] <= exact["cost"]
    assert all(row["seconds"] >= 0 for row in step["results"])


def test_reports(quick_tour):
    md = (quick_tour / "report.md").read_text()
    assert "Figure 2.2" in md and "## Chapter 2." in md
    for path in re.findall(r"!\[[^]]*\]\(([^)]+)\)", md):
        assert (quick_tour / path).is_file(), path
    html = (quick_tour / "report.html").read_text()
    images = re.findall(r"<img [^>]*src='([^']*)'", html)
    assert len(images) == len(re.findall(r"!\[", md)) >= 2
    assert all(src.startswith("data:image/png;base64,") for src in images)  # self-contained


def test_tour_prints_progress_and_the_report(monge, tmp_path):
    code, out, err = monge("tour", "--quick", "--out", tmp_path / "run")
    assert code == 0, err
    assert re.search(r"\[1\] chapter 2: .* \d+\.\d\d s", out)
    assert str(tmp_path / "run" / "report.html") in out


def test_unknown_chapter(monge, tmp_path):
    code, _, err = monge("tour", "--chapters", "1", "--out", tmp_path / "run")
    assert code == 2
    assert err.startswith("monge tour: error: --chapters: 1 not available")
    assert not (tmp_path / "run").exists()


def test_chapters_are_a_list_of_functions():
    assert 2 in CHAPTERS
    title, chapter = CHAPTERS[2]
    assert isinstance(title, str) and callable(chapter)
