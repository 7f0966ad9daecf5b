"""Measure the playground's page in headless chromium and take the README's screenshots.

    .venv/bin/python benchmarks/playground_browser.py [--screenshots docs/]

Prints: frames drawn per second at N = 200 and N = 2000; ms from a control change (N, then the
seed) to the first frame drawn with the change; ms from a drag's request to its solution drawn at
n = 200 per cloud (exact, and Sinkhorn with eps = 1e-3 of the diameter^p), with the solver's own
seconds. Uses tests/playground/conftest.py's server and chromium launch.
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "playground"))

from conftest import CHROMIUM, VIEWPORT, start_server, stop_server  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

FPS = """async (seconds) => {
  const s0 = playground.stats, t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const s1 = playground.stats;
  return {fps: (s1.frames - s0.frames) * 1000 / (performance.now() - t0), t: s1.t - s0.t, steps: s1.step - s0.step};
}"""

# Change a control and wait (requestAnimationFrame by requestAnimationFrame) for the first drawn frame showing it.
LATENCY = """async ([id, value, kind]) => {
  const el = document.getElementById(id);
  const before = playground.stats;
  const t0 = performance.now();
  el.value = String(value);
  el.dispatchEvent(new Event("change"));
  for (;;) {
    await new Promise((r) => requestAnimationFrame(r));
    const s = playground.stats;
    if (kind === "n" ? s.n === value : s.frames > before.frames && s.step < before.step) return performance.now() - t0;
    if (performance.now() - t0 > 5000) return null;
  }
}"""


def fps(page, n, seconds=4.0):
    page.goto("about:blank")
    page.goto(URL + f"#board=flow&n={n}&seed=0&speed=1")
    page.wait_for_function(f"playground.stats.n === {n} && playground.stats.frames > 10", timeout=30_000)
    page.wait_for_timeout(1000)
    return page.evaluate(FPS, seconds)


def latency(page):
    page.goto("about:blank")
    page.goto(URL + "#board=flow&n=200&seed=0&speed=1")
    page.wait_for_function("playground.stats.frames > 10", timeout=30_000)
    out = {"n": [], "seed": []}
    for k in range(6):
        out["n"].append(page.evaluate(LATENCY, ["flow-n", 300 if k % 2 == 0 else 200, "n"]))
        page.wait_for_timeout(300)
        out["seed"].append(page.evaluate(LATENCY, ["flow-seed", k + 1, "seed"]))
        page.wait_for_timeout(300)
    return out


def drag(page, method, moves=60):
    page.goto("about:blank")
    page.goto(URL + f"#board=transport&p=2&method={method}&eps=0.001&n=200&seed=1")
    page.wait_for_function("playground.stats.frames >= 1", timeout=30_000)
    page.wait_for_timeout(500)
    x0 = page.evaluate("playground.stats.x[0]")
    start = page.evaluate(f"playground.transport.toClient({x0[0]}, {x0[1]})")
    page.evaluate("playground.transport.timings.length = 0")
    frames0 = page.evaluate("playground.stats.frames")
    page.mouse.move(*start)
    page.mouse.down()
    t0 = time.perf_counter()
    for k in range(moves):  # a loop of 60 moves, one every ~16 ms like a hand
        a = 2 * math.pi * k / moves
        page.mouse.move(start[0] + 60 * math.sin(a), start[1] - 60 * (1 - math.cos(a)) / 2)
        page.wait_for_timeout(16)
    page.mouse.up()
    page.wait_for_timeout(800)
    wall = time.perf_counter() - t0
    timings = page.evaluate("playground.transport.timings.slice()")
    s = page.evaluate("({frames: playground.stats.frames, seconds: playground.stats.seconds, method: playground.stats.method})")
    render = page.evaluate("(() => { const t = performance.now(); for (let i = 0; i < 20; i++) playground.transport.render(); "
                           "return (performance.now() - t) / 20; })()")
    return {"latency_ms": timings, "drawn": s["frames"] - frames0, "moves": moves, "wall_s": wall, "render_ms": render,
            "solver_s_last": s["seconds"], "method": s["method"]}


def screenshots(page, folder: Path):
    from PIL import Image

    def save(name):
        png = page.screenshot()
        image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MAXCOVERAGE)
        image.save(folder / name, optimize=True)
        print(f"{folder / name}: {(folder / name).stat().st_size / 1024:.0f} KiB")

    page.goto("about:blank")
    page.goto(URL + "#board=flow&n=300&start=good&seed=2&speed=1")
    page.wait_for_function("playground.stats.t >= 2.2", timeout=30_000)
    save("playground-flow.png")
    page.goto("about:blank")
    page.goto(URL + "#board=transport")
    page.wait_for_function("playground.stats.frames >= 1", timeout=30_000)
    page.click("#tr-preset")
    page.wait_for_function("playground.transport.permutations && playground.stats.x.length === 6", timeout=30_000)
    page.wait_for_timeout(300)
    save("playground-transport.png")


def summary(values):
    values = sorted(v for v in values if v is not None)
    p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
    return (f"median {statistics.median(values):.1f}, 90th percentile {p90:.1f}, min {values[0]:.1f}, "
            f"max {values[-1]:.1f} (of {len(values)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshots", type=Path)
    parser.add_argument("--skip-measure", action="store_true")
    args = parser.parse_args()
    server, thread, URL = start_server()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = browser.new_page(viewport=VIEWPORT)
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            if not args.skip_measure:
                for n in (200, 2000):
                    r = fps(page, n)
                    print(f"flow N = {n}: {r['fps']:.1f} frames drawn/s ({r['steps']} steps, simulated t += {r['t']:.2f} in 4 s)")
                lat = latency(page)
                print(f"control change -> first changed frame, N 200<->300: {summary(lat['n'])} ms")
                print(f"control change -> first changed frame, seed: {summary(lat['seed'])} ms")
                for method in ("exact", "sinkhorn"):
                    r = drag(page, method)
                    print(f"drag at n = m = 200, {method} ({r['method']}): request -> solution drawn "
                          f"{summary(r['latency_ms'])} ms; {r['drawn']} solutions drawn for {r['moves']} moves; "
                          f"in {r['wall_s']:.1f} s; last solver time {1000 * r['solver_s_last']:.1f} ms; page redraw {r['render_ms']:.1f} ms")
            if args.screenshots:
                screenshots(page, args.screenshots)
            print("console errors:", errors)
            browser.close()
    finally:
        stop_server(server, thread)
