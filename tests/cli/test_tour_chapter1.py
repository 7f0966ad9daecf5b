"""Chapter 1 of ``monge tour --quick`` (the tour's shared run): the networks of chapter 1 on real data, toys, universal approximation.

Quick targets (the quick chapter's settings, seed 0; measured 99.1%, 99.6%, 99.2%, slopes -1.65 and -1.93):
the two-layer network on the digits (squared error, 40 epochs) at least 95% test accuracy, the convnet
(8 epochs) at least 97%, 4 neurons on the moons at least 95%; the approximation error falling with
width, the root-mean-square error about like width^-2.
"""

import json
import re

import pytest
import torch

from monge.experiments.tour import chapter1

from .conftest import read_json

SUB_RUNS = {"classify-digits-two-layer": "classify", "classify-digits-convnet": "classify",
            "classify-moons-width4": "classify", "approximate-sine": "approximate"}


pytestmark = pytest.mark.xdist_group("tour")


@pytest.fixture(scope="module")
def tour(quick_tour):
    return quick_tour


@pytest.fixture(scope="module")
def results(tour):
    return read_json(tour / "summary.json")["chapter1"]


def test_results_are_plain_numbers(results):
    expected = {"digits_two_layer_accuracy", "digits_two_layer_train_accuracy", "digits_two_layer_parameters",
                "digits_two_layer_seconds", "digits_convnet_accuracy", "digits_convnet_parameters",
                "digits_convnet_seconds", "moons_width", "moons_accuracy", "approximation_max_width",
                "approximation_sup_error", "approximation_l2_error", "approximation_slope_sup",
                "approximation_slope_l2"}
    assert set(results) == expected
    assert all(type(v) in (int, float) for v in results.values())
    assert results["digits_two_layer_parameters"] == 64 * 256 + 256 + 256 * 10 + 10  # Figure 1.1, width 256


def test_networks_meet_the_quick_targets(results):
    assert results["digits_two_layer_accuracy"] >= 0.95
    assert results["digits_two_layer_train_accuracy"] >= results["digits_two_layer_accuracy"] - 0.02
    assert results["digits_convnet_accuracy"] >= 0.97
    assert results["moons_width"] == 4 and results["moons_accuracy"] >= 0.95


def test_approximation_error_falls_with_width(tour, results):
    s = read_json(tour / "approximate-sine" / "summary.json")
    assert s["widths"][-1] == results["approximation_max_width"] == 256
    assert results["approximation_sup_error"] == s["sup_error"][-1] < s["sup_error"][0] / 100
    assert -2.5 < results["approximation_slope_l2"] < -1.5
    assert results["approximation_slope_sup"] < -1.2


def test_sub_runs_hold_their_settings(tour):
    for folder, command in SUB_RUNS.items():
        config = read_json(tour / folder / "config.json")
        assert config["command"] == command and config["seed"] == 0, folder
        assert (tour / folder / "summary.json").is_file()
    assert read_json(tour / "classify-digits-two-layer" / "config.json")["loss"] == "squared"
    assert read_json(tour / "classify-digits-convnet" / "config.json")["epochs"] == chapter1.QUICK.convnet_epochs


def test_steps_are_timed_and_logged(tour, results):
    steps = [json.loads(line) for line in (tour / "metrics.jsonl").read_text().splitlines()]
    steps = [s for s in steps if s["step"].startswith("chapter 1")]
    assert len(steps) >= 3 and all(s["seconds"] >= 0 for s in steps)
    neurons = next(s for s in steps if "neurons" in s["step"])
    assert neurons["accuracy"] == results["moons_accuracy"] and 1 <= neurons["lines_in_view"] <= 4


def test_every_figure_is_in_both_reports(tour, results):
    figures = read_json(tour / "summary.json")["figures"]
    assert len(figures) >= 8 and len(set(figures)) == len(figures)
    assert all((tour / path).is_file() for path in figures)
    assert {"figures/chapter1_accuracy.png", "figures/chapter1_neurons.png"} <= set(figures)
    html = (tour / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(figures)
    md = (tour / "report.md").read_text()
    assert re.findall(r"!\[[^]]*\]\(([^)]+)\)", md) == figures
    assert "## Chapter 1. Discriminative networks" in md
    for name in ("digits_two_layer_accuracy", "digits_convnet_accuracy", "moons_accuracy"):
        assert f"{100 * results[name]:.2f}%" in md  # the measured numbers are in the paragraphs
    assert f"{results['approximation_slope_l2']:.2f}" in md


def test_full_sizes_are_larger_than_quick():
    full, quick = chapter1.FULL, chapter1.QUICK
    assert full.convnet_epochs is None and full.mnist1d and full.spiral_widths
    assert quick.widths == full.widths[:len(quick.widths)] and len(quick.widths) < len(full.widths)
    jobs = chapter1._jobs(full)
    assert {"classify-mnist1d-convnet", "classify-mnist1d-two-layer", "classify-spiral-width64"} <= set(jobs)
    assert set(chapter1._jobs(quick)) == {name for name in SUB_RUNS if name.startswith("classify")}
