"""The playground's page in a real browser: headless Debian chromium driven by Playwright, against
the real server (:mod:`monge.playground`) on a free port (fixtures in ``conftest.py``).

What a person sees is checked through ``window.playground.stats`` (the page's live figures) and the
page's own text; the mathematics is checked against monge's solvers, computed here with torch.
A missing chromium or Playwright fails these tests (see ``conftest.py``); they are never skipped.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from monge import transport

# one worker runs them all: one server and one browser for the module
pytestmark = pytest.mark.xdist_group("playground-browser")

STATS = "window.playground.stats"


def stats(page) -> dict:
    return page.evaluate(STATS)


def wait_for(page, condition: str, timeout: float = 20_000):
    """Wait until the JavaScript expression ``condition`` (over ``s``, the stats) holds."""
    page.wait_for_function(f"(() => {{ const s = {STATS}; return !!(s && ({condition})); }})()", timeout=timeout)


def energy_history(page) -> tuple[np.ndarray, np.ndarray]:
    h = page.evaluate("({t: playground.flow.hist.t, e: playground.flow.hist.e})")
    return np.array(h["t"]), np.array(h["e"])


def assert_no_console_errors(page):
    assert page.console_errors == [], page.console_errors


def drag(page, start, end, steps: int = 12):
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


# -- loading ----------------------------------------------------------------------------------------

def test_page_loads_without_console_errors(open_page):
    page = open_page()
    wait_for(page, "s.board === 'flow' && s.frames >= 3")
    assert page.title() == "monge playground"
    assert page.locator("#connection").inner_text() == "connected"
    assert page.locator("#board-transport").is_hidden()
    page.click("#tab-transport")
    wait_for(page, "s.board === 'transport' && s.frames >= 1")
    assert "board=transport" in page.evaluate("location.hash")
    assert_no_console_errors(page)


# -- the flow board ---------------------------------------------------------------------------------

def test_flow_frames_arrive_and_the_energy_falls(open_page):
    page = open_page("board=flow&n=200&seed=0&speed=10")
    wait_for(page, "s.frames >= 3")
    first = stats(page)
    wait_for(page, "s.t >= 4")
    later = stats(page)
    assert later["frames"] > first["frames"]
    t, e = energy_history(page)
    assert t[0] == 0.0 and np.all(np.diff(t) > 0)
    assert np.all(np.isfinite(e))
    assert later["energy"] < 0.5 * e[0], (e[0], later)
    assert later["n"] == 200 and later["paused"] is False
    assert "NaN" not in page.inner_text("body")
    assert_no_console_errors(page)


def test_pause_stops_the_frame_counter(open_page):
    page = open_page("board=flow&n=100&speed=2")
    wait_for(page, "s.frames >= 3")
    page.click("#flow-pause")
    wait_for(page, "s.paused === true")
    page.wait_for_timeout(300)  # a frame in flight when pause was sent
    before = stats(page)
    page.wait_for_timeout(700)
    after = stats(page)
    assert after["frames"] == before["frames"] and after["step"] == before["step"] and after["paused"] is True
    page.click("#flow-step")  # one step while paused
    wait_for(page, f"s.step === {before['step'] + 1}")
    page.click("#flow-play")
    wait_for(page, f"s.frames >= {after['frames'] + 3} && !s.paused")
    assert_no_console_errors(page)


def test_the_bad_start_stalls_above_the_good_one(open_page):
    horizon = 4.0
    found = {}
    for start in ("good", "bad"):
        page = open_page(f"board=flow&n=200&seed=1&speed=10&start={start}")
        wait_for(page, f"s.t >= {horizon}")
        page.click("#flow-pause")
        t, e = energy_history(page)
        page.close()
        assert t[0] == 0.0
        found[start] = (t, e)
    # the energy decreases along each flow: the good start's F(horizon) is at most its last value
    # before the horizon, the bad start's at least its first value after it
    t, e = found["good"]
    good = e[t <= horizon][-1]
    t, e = found["bad"]
    bad = e[t >= horizon][0]
    assert bad > 2 * good, (bad, good)


def test_a_drawn_target_is_fitted(open_page):
    page = open_page("board=flow&n=200&seed=0&speed=10")
    wait_for(page, "s.frames >= 2")
    page.select_option("#flow-target", "drawn")
    xs = np.linspace(-3.5, 3.5, 36)
    points = [page.evaluate(f"playground.flow.toClient({x}, {1.5 * math.sin(x)})") for x in xs]
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=2)
    page.mouse.up()
    # the rebuilt flow fits the drawn curve on its interval [-3.5, 3.5]
    wait_for(page, "playground.flow.frame && playground.flow.frame.domain[0] > -3.6 && playground.flow.frame.domain[0] < -3.4")
    assert "target=drawn" in page.evaluate("location.hash") and "pts=" in page.evaluate("location.hash")
    wait_for(page, "s.t >= 4")
    t, e = energy_history(page)
    assert t[0] == 0.0
    target = np.array(page.evaluate("Array.from(playground.flow.frame.data.target.data)"))
    grid = np.array(page.evaluate("Array.from(playground.flow.frame.data.x.data)"))
    np.testing.assert_allclose(target, 1.5 * np.sin(grid), atol=0.15)  # the curve as drawn, within a pixel or two
    assert stats(page)["energy"] < 0.3 * e[0], (e[0], stats(page))
    assert_no_console_errors(page)

    shared = page.evaluate("location.hash").lstrip("#")  # the drawing travels in the URL
    again = open_page(shared)
    wait_for(again, "s.frames >= 1 && playground.flow.frame.domain[0] > -3.6")
    assert again.input_value("#flow-target") == "drawn"
    restored = np.array(again.evaluate("Array.from(playground.flow.frame.data.target.data)"))
    np.testing.assert_array_equal(restored, target)
    assert_no_console_errors(again)


def test_a_diverging_step_pauses_with_a_message(open_page):
    page = open_page("board=flow&n=50&seed=0&dt=1&lam=10")  # V = 5 |xi|^2: stiff, dt = 1 overshoots
    message = page.locator("#flow-message")
    message.wait_for(state="visible", timeout=20_000)
    assert "reduce dt" in message.inner_text()
    wait_for(page, "s.paused === true && Number.isFinite(s.energy)")
    assert "NaN" not in page.inner_text("body")
    assert page.locator("#flow-state").inner_text() == "paused"
    assert_no_console_errors(page)


def test_flow_exports_the_neurons_and_imports_a_target(open_page, tmp_path):
    page = open_page("board=flow&n=30&seed=2")
    wait_for(page, "s.frames >= 2")
    page.click("#flow-pause")
    wait_for(page, "s.paused === true")
    page.wait_for_timeout(200)
    particles = np.array(page.evaluate("Array.from(playground.flow.frame.data.particles.data)"), np.float32)
    with page.expect_download() as info:
        page.click("#flow-export-npy")
    info.value.save_as(tmp_path / "neurons.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "neurons.npy"), particles.reshape(30, 2))
    with page.expect_download() as info:
        page.click("#flow-export-csv")
    info.value.save_as(tmp_path / "neurons.csv")
    assert (tmp_path / "neurons.csv").read_text().splitlines()[0] == "c,y"

    rows = "x,f\n" + "\n".join(f"{x:.2f},{abs(x) - 1:.2f}" for x in np.linspace(-2, 2, 21))
    page.set_input_files("#flow-import", files=[{"name": "v.csv", "mimeType": "text/csv", "buffer": rows.encode()}])
    wait_for(page, "playground.flow.frame.domain[0] === -2 && playground.flow.frame.domain[1] === 2")
    assert page.input_value("#flow-target") == "drawn"
    target = np.array(page.evaluate("Array.from(playground.flow.frame.data.target.data)"))
    grid = np.array(page.evaluate("Array.from(playground.flow.frame.data.x.data)"))
    np.testing.assert_allclose(target, np.abs(grid) - 1, atol=0.03)
    assert_no_console_errors(page)


def test_the_url_restores_a_state(open_page):
    page = open_page("board=flow&n=50&start=bad&seed=3")
    assert page.input_value("#flow-n") == "50"
    assert page.input_value("#flow-start") == "bad"
    assert page.input_value("#flow-seed") == "3"
    assert page.get_attribute("#tab-flow", "aria-selected") == "true"
    wait_for(page, "s.n === 50 && s.frames >= 1")
    page.fill("#flow-seed", "7")
    page.dispatch_event("#flow-seed", "change")
    assert "seed=7" in page.evaluate("location.hash") and "n=50" in page.evaluate("location.hash")
    page.close()

    page = open_page("board=transport&p=1&method=sinkhorn&eps=0.001&n=12&m=9&seed=4")
    assert page.get_attribute("#tab-transport", "aria-selected") == "true"
    assert page.input_value("#tr-p") == "1" and page.input_value("#tr-method") == "sinkhorn"
    wait_for(page, "s.frames >= 1")
    s = stats(page)
    assert (s["p"], s["method"], len(s["x"]), len(s["z"])) == (1, "sinkhorn", 12, 9)
    assert np.asarray(s["plan"]).shape == (12, 9)
    assert_no_console_errors(page)


# -- the transport board ----------------------------------------------------------------------------

def _moves_that_change(x: np.ndarray, z: np.ndarray, perm: np.ndarray, i: int):
    """Positions for x[i] in the unit square where the optimal matching differs from ``perm``, robustly
    (also at the four neighbours 0.01 away: the mouse lands within a pixel)."""
    def changed(point):
        moved = x.copy()
        moved[i] = point
        return not np.array_equal(transport.matching(torch.from_numpy(moved), torch.from_numpy(z), p=2)
                                  .permutation.numpy(), perm)

    for gx in np.linspace(0.05, 0.95, 10):
        for gy in np.linspace(0.05, 0.95, 10):
            point = np.array([gx, gy])
            if np.linalg.norm(point - x[i]) < 0.15:
                continue
            if all(changed(point + d) for d in ([0, 0], [0.01, 0], [-0.01, 0], [0, 0.01], [0, -0.01])):
                yield point


def test_a_drag_changes_the_matching_and_the_cost_is_matchings(open_page):
    page = open_page("board=transport&p=2&method=exact&n=8&seed=1")
    wait_for(page, "s.frames >= 1 && s.permutation")
    s = stats(page)
    x, z, perm = np.array(s["x"]), np.array(s["z"]), np.array(s["permutation"])
    assert s["method"] == "matching" and s["p"] == 2
    target = next(_moves_that_change(x, z, perm, 0))
    start = page.evaluate(f"playground.transport.toClient({x[0, 0]}, {x[0, 1]})")
    end = page.evaluate(f"playground.transport.toClient({target[0]}, {target[1]})")
    frames = s["frames"]
    drag(page, start, end)
    wait_for(page, f"s.frames > {frames} && Math.abs(s.x[0][0] - {target[0]}) < 0.01 && Math.abs(s.x[0][1] - {target[1]}) < 0.01")
    page.wait_for_timeout(200)  # the last move's solve
    s = stats(page)
    x, z = torch.tensor(s["x"], dtype=torch.float64), torch.tensor(s["z"], dtype=torch.float64)
    assert not np.array_equal(np.array(s["permutation"]), perm)
    expected = transport.matching(x, z, p=2)
    assert s["permutation"] == expected.permutation.tolist()
    assert s["cost"] == pytest.approx(float(expected.cost), rel=1e-6)
    shown = float(page.inner_text("#tr-cost"))
    assert shown == pytest.approx(float(expected.cost), rel=1e-5)
    assert_no_console_errors(page)


def test_unequal_clouds_get_kantorovichs_plan(open_page):
    page = open_page("board=transport&p=2&method=exact&n=5&m=7&seed=2")
    wait_for(page, "s.frames >= 1 && s.plan")
    s = stats(page)
    plan = np.array(s["plan"])
    x, z = torch.tensor(s["x"], dtype=torch.float64), torch.tensor(s["z"], dtype=torch.float64)
    expected = transport.kantorovich(x, z, p=2)
    assert s["method"] == "kantorovich" and plan.shape == (5, 7)
    np.testing.assert_allclose(plan.sum(1), np.full(5, 1 / 5), atol=1e-6)
    np.testing.assert_allclose(plan.sum(0), np.full(7, 1 / 7), atol=1e-6)
    assert s["cost"] == pytest.approx(float(expected.cost), rel=1e-6)
    assert "line width = mass" in page.inner_text("#tr-caption")
    assert_no_console_errors(page)


def test_figure_2_2_shows_the_720_permutations(open_page):
    page = open_page("board=transport")
    wait_for(page, "s.frames >= 1")
    page.click("#tr-preset")
    page.locator("#tr-hist-panel").wait_for(state="visible")
    wait_for(page, "s.p === 1 && s.x.length === 6 && s.permutation && playground.transport.permutations")
    s = stats(page)
    perms = page.evaluate("(() => { const f = playground.transport.permutations; return {best: f.best, "
                          "costs: Array.from(f.data.costs.data), order: Array.from(f.data.best_permutation.data)}; })()")
    x, z = torch.tensor(s["x"], dtype=torch.float64), torch.tensor(s["z"], dtype=torch.float64)
    best = transport.brute_force(x, z, p=1)
    assert len(perms["costs"]) == 720
    assert perms["order"] == best.permutation.tolist() == s["permutation"]
    assert min(perms["costs"]) == pytest.approx(float(best.distance), rel=1e-5)
    assert "preset=fig2.2" in page.evaluate("location.hash")
    assert "optimum of 720" in page.inner_text("#tr-hist-note")
    assert_no_console_errors(page)


def test_export_npy_and_import_csv(open_page, tmp_path):
    page = open_page("board=transport&n=10&seed=5")
    wait_for(page, "s.frames >= 1")
    s = stats(page)
    with page.expect_download() as info:
        page.click("#tr-export-npy")
    path = tmp_path / "x.npy"
    info.value.save_as(path)
    assert info.value.suggested_filename == "x.npy"
    np.testing.assert_array_equal(np.load(path), np.array(s["x"], dtype=np.float32))
    with page.expect_download() as info:
        page.click("#tr-export-csv")
    info.value.save_as(tmp_path / "x.csv")
    np.testing.assert_allclose(np.loadtxt(tmp_path / "x.csv", delimiter=",", skiprows=1), np.array(s["x"]), rtol=1e-6)

    page.check("#tr-cloud-z")
    rows = b"x,y\n0.1,0.2\n0.3,0.4\n0.5,0.9\n"
    page.set_input_files("#tr-import", files=[{"name": "z.csv", "mimeType": "text/csv", "buffer": rows}])
    wait_for(page, "s.z.length === 3 && s.plan")
    s = stats(page)
    assert s["z"] == [[0.1, 0.2], [0.3, 0.4], [0.5, 0.9]] and s["method"] == "kantorovich"
    page.set_input_files("#tr-import", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"1,2\n3,oops\n"}])
    message = page.locator("#tr-message")
    message.wait_for(state="visible")
    assert "line 2" in message.inner_text()
    assert_no_console_errors(page)
