"""``monge tour``: the quick tour end to end (run once, in one xdist worker), its report and its figures.

The chapters' own checks of their figures are in ``test_tour_chapter*.py``, on the same run.
"""

import json
import math
import re

import pytest

from monge.experiments.tour import CHAPTERS
from monge.experiments.tour.common import Job, continued, run_jobs, workers

from .conftest import read_json

pytestmark = pytest.mark.xdist_group("tour")


def test_tour_writes_its_run_folder(quick_tour):
    config = read_json(quick_tour / "config.json")
    assert config["command"] == "tour" and config["quick"] is True and config["chapters"] == [1, 2, 3]
    summary = read_json(quick_tour / "summary.json")
    assert summary["chapters"] == [1, 2, 3] and summary["seconds"] > 0
    assert summary["report"] == ["report.html", "report.md"]
    for k in (1, 2, 3):
        results = summary[f"chapter{k}"]
        assert results, k
        for name, value in results.items():
            assert isinstance(value, (bool, int, str)) or math.isfinite(value), (name, value)
    steps = [json.loads(line) for line in (quick_tour / "metrics.jsonl").read_text().splitlines()]
    assert all(s["seconds"] >= 0 for s in steps)
    assert {s["step"].split(":")[0] for s in steps} == {"chapter 1", "chapter 2", "chapter 3"}


def test_report_embeds_every_figure_of_the_summary(quick_tour):
    summary = read_json(quick_tour / "summary.json")
    figures = summary["figures"]
    assert len(figures) >= 12 and len(set(figures)) == len(figures)
    html = (quick_tour / "report.html").read_text()
    images = re.findall(r"<img [^>]*src='([^']*)'", html)
    assert len(images) == len(figures)
    assert all(src.startswith("data:image/png;base64,") for src in images)  # self-contained
    md = (quick_tour / "report.md").read_text()
    assert re.findall(r"!\[[^]]*\]\(([^)]+)\)", md) == figures
    for path in figures:
        assert (quick_tour / path).read_bytes().startswith(b"\x89PNG"), path


def test_report_explains_and_tabulates(quick_tour):
    md = (quick_tour / "report.md").read_text()
    for k, (title, _) in CHAPTERS.items():
        assert f"## Chapter {k}. {title}" in md
    assert "Figure 2.2" in md and "Figure 2.3" in md
    # the last table lists every measured figure of summary.json
    summary = read_json(quick_tour / "summary.json")
    table = md[md.index("## All measured figures"):]
    for k in (1, 2, 3):
        for name in summary[f"chapter{k}"]:
            assert f"| {k} | {name} |" in table, name
    html = (quick_tour / "report.html").read_text()
    assert html.count("<h2 id='chapter") == 3 and "<figcaption>" in html


def test_chapter_2_transport(quick_tour):
    results = read_json(quick_tour / "summary.json")["chapter2"]
    assert results["monge6_crossings_optimal"] == 0
    assert results["monge6_distance_optimal"] <= results["monge6_distance_text"]
    assert results["matching_equals_kantorovich"] is True
    # the entropic plan at the smallest eps: close to the permutation's cost, and a real spread
    assert 0 < results["sharpening_cost_excess"] < 0.02 and 0 < results["sharpening_mass_off_permutation"] < 0.9
    step = [json.loads(line) for line in (quick_tour / "metrics.jsonl").read_text().splitlines()
            if "matching vs kantorovich" in json.loads(line)["step"]][0]
    exact, lp, sliced = step["results"]
    assert exact["cost"] == pytest.approx(lp["cost"], rel=1e-9) and sliced["cost"] <= exact["cost"]


def test_chapter_2_generators_at_quick_sizes(quick_tour):
    results = read_json(quick_tour / "summary.json")["chapter2"]
    # 600 steps of exact matching and 250 of the Sinkhorn divergence already find every mode
    assert results["gaussians8_exact_modes"] == 8 and results["gaussians8_exact_high_quality"] > 0.4
    assert results["gaussians8_sinkhorn_modes"] == 8 and results["gaussians8_sinkhorn_high_quality"] > 0.3
    # 300 steps of digits: near the floor, classes near uniform (the quick judge: 8 epochs)
    for loss in ("exact", "sinkhorn"):
        assert results[f"digits_{loss}_w2_ratio"] < 1.3 and results[f"digits_{loss}_class_tv"] < 0.2
    for name in ("generate-digits-exact", "generate-digits-sinkhorn", "generate-gaussians8-wgan-gp"):
        assert read_json(quick_tour / name / "config.json")["command"] == "generate"
    # chapter 1's convnet judges the generated digits: trained once for both chapters
    digits = read_json(quick_tour / "generate-digits-exact" / "summary.json")
    assert digits["judge"] == str((quick_tour / "classify-digits-convnet").resolve())
    assert not (quick_tour / "generate-digits-exact" / "classifier").exists()
    steps = [json.loads(line) for line in (quick_tour / "metrics.jsonl").read_text().splitlines()]
    generators = next(s for s in steps if "generators" in s["step"])
    assert "classify-digits-convnet" not in generators["seconds_per_job"]


def test_tour_prints_progress_and_the_report(monge, tmp_path, monkeypatch):
    from monge.experiments.tour import chapter2

    monkeypatch.setattr(chapter2, "generators", lambda run, config: ([], {}))  # the transport half only
    code, out, err = monge("tour", "--quick", "--chapters", "2", "--out", tmp_path / "run")
    assert code == 0, err
    assert re.search(r"\[1\] chapter 2: .*? \d+\.\d\d s", out, re.S)  # (a KeOps banner may break the line)
    assert str(tmp_path / "run" / "report.html") in out


def test_experiments_run_two_at_a_time_after_their_prerequisite(tmp_path, capsys):
    from monge.runs import Run

    tour = Run.create("tour", {}, tmp_path / "tour")
    jobs = {name: Job("transport", {"example": "monge6"}) for name in ("first", "second", "third")}
    done = run_jobs(tour, jobs, 3, "three examples", after={"third": "first"})
    assert list(done) == ["first", "second", "third"]
    assert all(read_json(path / "config.json")["seed"] == 3 for path, _ in done.values())
    out = capsys.readouterr().out
    assert "[1] three examples ..." in out and re.search(r"first \(\d+ s\)", out)
    if workers() > 1:
        assert out.index("first (") < out.index("third (")
    with pytest.raises(ValueError, match="after: names fourth"):
        run_jobs(tour, jobs, 3, "bad", after={"third": "fourth"})


@pytest.mark.parametrize("chapters, message", [
    ("4", "chapters (--chapters): 4 not available"),
    ("1,x", "chapters (--chapters): '1,x'; expected chapter numbers"),
    ("", "expected chapter numbers"),
])
def test_unknown_chapter(monge, tmp_path, chapters, message):
    code, _, err = monge("tour", "--chapters", chapters, "--out", tmp_path / "run")
    assert code == 2
    assert err.startswith("monge tour: error: ") and message in err
    assert not (tmp_path / "run").exists()


def test_chapters_are_modules_with_a_title_and_a_function():
    assert sorted(CHAPTERS) == [1, 2, 3]
    for title, chapter in CHAPTERS.values():
        assert isinstance(title, str) and callable(chapter)


def test_a_tour_started_again_keeps_what_finished(tmp_path, capsys):
    from monge.runs import Run

    tour = Run.create("tour", {}, tmp_path / "tour")
    jobs = {"moons": Job("classify", {"data": "moons", "model": "two-layer", "epochs": 3, "width": 4}),
            "example": Job("transport", {"example": "monge6"})}
    first = run_jobs(tour, jobs, 0, "first")
    capsys.readouterr()
    # finished parts are kept as they are
    assert continued(jobs["moons"], tour.path / "moons") is None
    again = run_jobs(tour, jobs, 0, "again")
    assert "kept from before: moons, example" in capsys.readouterr().out
    assert again["moons"][1] == first["moons"][1]
    # an interrupted training continues from its checkpoint (here: the run that lost its summary)
    (tour.path / "moons" / "summary.json").unlink()
    assert continued(jobs["moons"], tour.path / "moons") is True
    assert continued(jobs["example"], tour.path / "elsewhere") is False
    resumed = run_jobs(tour, {"moons": jobs["moons"]}, 0, "resumed")
    assert resumed["moons"][1]["test_accuracy"] == first["moons"][1]["test_accuracy"]
    assert read_json(tour.path / "moons" / "config.json")["epochs"] == 3


def test_a_tour_continues_only_with_its_own_settings(monge, tmp_path, monkeypatch):
    from monge.experiments.tour import chapter2

    monkeypatch.setattr(chapter2, "generators", lambda run, config: ([], {}))
    assert monge("tour", "--quick", "--chapters", "2", "--out", tmp_path / "run", "--quiet")[0] == 0
    code, _, err = monge("tour", "--chapters", "2", "--out", tmp_path / "run")
    assert code == 2 and "quick (--quick): False, but" in err and "quick = True" in err
    code, _, err = monge("tour", "--quick", "--chapters", "2", "--seed", "4", "--out", tmp_path / "run")
    assert code == 2 and "seed (--seed): 4" in err
    code, out, err = monge("tour", "--quick", "--chapters", "2", "--out", tmp_path / "run")
    assert code == 0, err
