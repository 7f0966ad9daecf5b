// The flow board (chapter 3): N neurons as particles of the Wasserstein gradient flow, f_mu against
// the target, the energy and its dissipation. The server computes; this file draws and sends controls.
import { fmt } from "./plot.js";
import { DRAW_BINS, DRAW_BOX, TRAIL, binX, drawEnergy, drawFit, drawParticles, growBox, particleBox } from "./flow_views.js";
import { download, parseCSV, readText, toCSV, toNPY } from "./files.js";

const TRAIL_EVERY = 80; // ms of wall-clock time between two kept positions (a trail spans 1.6 s)
const HISTORY = 4000; // energy samples kept (then every other one is dropped)
export const FLOW_DEFAULTS = { n: 200, dt: 0.01, speed: 1, lam: 0, scaling: "mean-field", start: "good", seed: 0, target: "rbf" };
// the default steps of `monge flow` per target (monge/experiments/_flow_problems.py's DT)
const DT_DEFAULT = { rbf: 0.01, "relu-teacher": 0.05, drawn: 0.01 };
// [lo, hi, integer]: the protocol's bounds
const BOUNDS = { n: [10, 2000, true], dt: [1e-4, 1, false], speed: [0.1, 10, false], lam: [0, 10, false], seed: [0, 2 ** 31 - 1, true] };
const CHOICES = { scaling: ["mean-field", "lazy"], start: ["good", "bad"], target: ["rbf", "relu-teacher", "drawn"] };
const MAX_DRAWN = 80; // points sent (and kept in the URL) for a drawn target

/** A parameter read from a control or the URL, checked and clamped; undefined when unusable. */
export function cleanFlow(name, raw) {
  if (name in CHOICES) return CHOICES[name].includes(raw) ? raw : undefined;
  if (!(name in BOUNDS)) return undefined;
  const [lo, hi, integer] = BOUNDS[name];
  let v = Number(raw);
  if (raw === "" || raw === null || !Number.isFinite(v)) return undefined;
  if (integer) v = Math.round(v);
  return Math.min(hi, Math.max(lo, v));
}

export class FlowBoard {
  constructor(app) {
    this.app = app;
    this.state = { ...FLOW_DEFAULTS };
    this.drawn = new Float64Array(DRAW_BINS).fill(NaN); // the target drawn so far, per bin
    this.points = null; // the drawn target's points as sent
    this.playing = true; // what the user asked for
    this.frame = null; // the latest frame drawn
    this.pending = null; // the latest frame received, not drawn yet
    this.raf = 0;
    this.drawTimes = [];
    this.stats = { board: "flow", frames: 0, fps: 0, t: 0, energy: null, n: 0, paused: true, step: 0 };
    this.resetViews();
    this.el = (id) => document.getElementById(id);
    this.wire();
    this.syncControls();
  }

  resetViews() {
    this.trail = null; this.trailLen = 0; this.trailHead = 0; this.trailTime = -Infinity;
    this.hist = { t: [], e: [], d: [] };
    this.pbox = null; this.fbox = null;
  }

  // ---- controls ---------------------------------------------------------------------------------

  wire() {
    for (const name of ["n", "dt", "speed", "lam", "seed", "scaling", "start", "target"]) {
      const input = this.el(`flow-${name}`);
      input.addEventListener("change", () => this.set(name, input.value));
    }
    this.el("flow-play").addEventListener("click", () => this.control("play"));
    this.el("flow-pause").addEventListener("click", () => this.control("pause"));
    this.el("flow-step").addEventListener("click", () => this.control("step"));
    this.el("flow-reset").addEventListener("click", () => this.control("reset"));
    this.el("flow-export-csv").addEventListener("click", () => this.export("csv"));
    this.el("flow-export-npy").addEventListener("click", () => this.export("npy"));
    this.el("flow-draw-clear").addEventListener("click", () => this.clearDrawing());
    this.el("flow-import").addEventListener("change", (event) => this.importCSV(event.target));
    const canvas = this.el("flow-fmu");
    canvas.addEventListener("pointerdown", (e) => this.strokeStart(e));
    canvas.addEventListener("pointermove", (e) => this.strokeMove(e));
    canvas.addEventListener("pointerup", (e) => this.strokeEnd(e));
    canvas.addEventListener("pointercancel", (e) => this.strokeEnd(e));
  }

  /** A control changed: check it, send it (the server applies dt, speed, lam without a reset), write the URL. */
  set(name, raw) {
    const value = cleanFlow(name, raw);
    if (value === undefined) {
      this.message(`${name}: "${raw}"; expected ${name in BOUNDS ? `a number in [${BOUNDS[name][0]}, ${BOUNDS[name][1]}]` : CHOICES[name].join(" | ")}`);
      this.syncControls();
      return;
    }
    const params = { [name]: value };
    if (name === "target") {
      const old = this.state.target;
      if (this.state.dt === DT_DEFAULT[old] && DT_DEFAULT[value] !== this.state.dt) {
        params.dt = this.state.dt = DT_DEFAULT[value];
      }
      this.state.target = value;
      if (value === "drawn") {
        if (!this.points) { // nothing to fit yet: keep the current target running until a stroke ends
          delete params.target;
          this.message("Draw the target with the mouse on f_μ's panel (strokes from left to right).", "info");
        } else params.points = this.points;
      }
    } else {
      this.state[name] = value;
    }
    this.syncControls();
    if (name === "target") this.render(); // the panel switches to (or from) the drawing area now
    if (Object.keys(params).length) this.app.send({ type: "flow", params });
    this.app.writeHash();
  }

  control(action) {
    if (action === "play") { this.playing = true; this.message(null); }
    if (action === "pause" || action === "step") this.playing = false;
    this.app.send({ type: "control", action });
    this.showState();
  }

  /** Everything the server needs to rebuild this board's session (on (re)connection). */
  params() {
    const p = { ...this.state };
    if (p.target === "drawn") {
      if (this.points) p.points = this.points; else delete p.target;
    }
    return p;
  }

  onOpen(active) {
    this.app.send({ type: "flow", params: this.params() });
    this.app.send({ type: "control", action: this.playing && active ? "play" : "pause" });
  }

  syncControls() {
    for (const name of Object.keys(FLOW_DEFAULTS)) this.el(`flow-${name}`).value = String(this.state[name]);
    this.el("flow-start").disabled = this.state.target !== "rbf"; // the bad start is the RBF example's
    const drawing = this.state.target === "drawn";
    this.el("flow-fmu").classList.toggle("drawing", drawing);
    this.el("flow-draw-note").hidden = !drawing;
    this.el("flow-draw-clear").hidden = !drawing;
  }

  hashEntries() {
    const s = this.state;
    const out = [["n", s.n], ["start", s.start], ["seed", s.seed], ["dt", s.dt], ["speed", s.speed], ["lam", s.lam],
      ["scaling", s.scaling], ["target", s.target]];
    if (s.target === "drawn" && this.points) out.push(["pts", this.points.map(([x, y]) => `${x}:${y}`).join(",")]);
    return out;
  }

  applyHash(map) {
    for (const name of Object.keys(FLOW_DEFAULTS)) {
      if (!map.has(name)) continue;
      const value = cleanFlow(name, map.get(name));
      if (value !== undefined) this.state[name] = value;
    }
    if (map.has("pts")) {
      const points = map.get("pts").split(",").map((pair) => pair.split(":").map(Number))
        .filter((p) => p.length === 2 && p.every(Number.isFinite));
      this.drawn.fill(NaN);
      for (const [x, y] of points) this.paint(x, y, null);
      this.points = this.resample();
    }
    this.syncControls();
  }

  // ---- frames -----------------------------------------------------------------------------------

  onFrame(frame) {
    this.pending = frame; // a newer frame replaces one not drawn yet (the server waits for acks anyway)
    if (!this.raf) this.raf = requestAnimationFrame(() => this.drawPending());
  }

  onDiverged(text) {
    this.playing = false;
    this.message(text);
    if (this.frame) this.frame.paused = true;
    this.stats = { ...this.stats, paused: true };
    this.showState();
  }

  drawPending() {
    this.raf = 0;
    const frame = this.pending;
    if (!frame) return;
    this.pending = null;
    this.absorb(frame);
    this.frame = frame;
    this.render();
    this.app.send({ type: "ack", frame: frame.frame });
    const now = performance.now();
    this.drawTimes.push(now);
    while (this.drawTimes.length > 2 && now - this.drawTimes[0] > 1000) this.drawTimes.shift();
    const span = now - this.drawTimes[0];
    const fps = span > 0 ? ((this.drawTimes.length - 1) * 1000) / span : 0;
    this.stats = {
      board: "flow", frames: this.stats.frames + 1, fps, t: frame.t, energy: Number.isFinite(frame.energy) ? frame.energy : null,
      n: frame.n, paused: !!frame.paused, step: frame.step,
    };
    this.showState();
  }

  /** Trails, energy history and views from a new frame; a rebuilt or reset flow starts them again. */
  absorb(frame) {
    const last = this.frame;
    const n = frame.n;
    const xy = frame.data.particles.data;
    const reset = !last || last.n !== n || frame.step < last.step || frame.step === 0
      || String(last.columns) !== String(frame.columns) || String(last.domain) !== String(frame.domain);
    if (reset) {
      this.resetViews();
      this.trail = new Float32Array(TRAIL * n * 2);
      this.pbox = particleBox(xy, frame);
    }
    const now = performance.now();
    if (reset || (frame.step !== last.step && now - this.trailTime >= TRAIL_EVERY)) {
      this.trail.set(xy.subarray(0, 2 * n), this.trailHead * 2 * n);
      this.trailHead = (this.trailHead + 1) % TRAIL;
      this.trailLen = Math.min(TRAIL, this.trailLen + 1);
      this.trailTime = now;
    }
    if (reset || frame.step !== last.step) {
      const h = this.hist;
      h.t.push(frame.t); h.e.push(frame.energy); h.d.push(frame.dissipation);
      if (h.t.length > HISTORY) for (const k of ["t", "e", "d"]) h[k] = h[k].filter((_, i) => i % 2 === 0);
    }
    growBox(this.pbox, xy, n);
  }

  // ---- drawing ----------------------------------------------------------------------------------

  render() {
    if (!this.frame) return;
    drawParticles(this);
    this.renderFit();
    drawEnergy(this);
    const f = this.frame;
    this.el("flow-t").textContent = fmt(f.t, 4);
    this.el("flow-stepcount").textContent = String(f.step);
    this.el("flow-F").textContent = fmt(f.energy, 4);
    this.el("flow-D").textContent = fmt(f.dissipation, 4);
    this.el("flow-N").textContent = String(f.n);
    this.el("flow-fps").textContent = fmt(this.stats.fps, 3);
  }





  renderFit() { this.fmuAxes = drawFit(this); }

  showState() {
    const paused = this.frame ? this.frame.paused : !this.playing;
    this.el("flow-state").textContent = paused ? "paused" : "playing";
    this.el("flow-play").classList.toggle("active", !paused);
    this.el("flow-pause").classList.toggle("active", !!paused);
  }

  message(text, kind = "error") {
    const box = this.el("flow-message");
    box.hidden = !text;
    box.textContent = text || "";
    box.classList.toggle("info", kind === "info");
  }

  // ---- a target drawn with the mouse ------------------------------------------------------------

  strokeStart(event) {
    if (this.state.target !== "drawn" || !this.fmuAxes || event.button !== 0) return;
    event.currentTarget.setPointerCapture(event.pointerId);
    this.stroking = true;
    this.lastPaint = null;
    this.strokeMove(event);
  }

  strokeMove(event) {
    if (!this.stroking) return;
    const rect = event.currentTarget.getBoundingClientRect();
    const [x, y] = this.fmuAxes.invert(event.clientX - rect.left, event.clientY - rect.top);
    this.lastPaint = this.paint(x, y, this.lastPaint);
    if (this.frame) this.renderFit();
  }

  strokeEnd() {
    if (!this.stroking) return;
    this.stroking = false;
    this.commitDrawing();
  }

  /** Send the drawn target (it rebuilds the particles, keeping the seed). */
  commitDrawing() {
    const points = this.resample();
    if (points.length < 4) {
      this.message("The drawn target needs at least 4 distinct x: draw across more of the panel.");
      return;
    }
    this.points = points;
    this.message(null);
    this.app.send({ type: "flow", params: { target: "drawn", points } });
    this.app.writeHash();
  }

  /** Set the bins from the last painted bin to (x, y), linearly; return this bin. */
  paint(x, y, last) {
    const xc = Math.min(DRAW_BOX[1], Math.max(DRAW_BOX[0], x));
    const yc = Math.min(DRAW_BOX[3], Math.max(DRAW_BOX[2], y));
    const k = Math.round(((xc - DRAW_BOX[0]) / (DRAW_BOX[1] - DRAW_BOX[0])) * (DRAW_BINS - 1));
    if (last && last.k !== k) {
      const step = k > last.k ? 1 : -1;
      for (let j = last.k + step; j !== k; j += step) this.drawn[j] = last.y + ((yc - last.y) * (j - last.k)) / (k - last.k);
    }
    this.drawn[k] = yc;
    return { k, y: yc };
  }

  /** The painted bins as at most MAX_DRAWN points [x, y], rounded to 0.01 (what the URL keeps). */
  resample() {
    const filled = [];
    for (let k = 0; k < DRAW_BINS; k++) if (Number.isFinite(this.drawn[k])) filled.push(k);
    const pick = filled.length <= MAX_DRAWN ? filled
      : Array.from({ length: MAX_DRAWN }, (_, j) => filled[Math.round((j * (filled.length - 1)) / (MAX_DRAWN - 1))]);
    return pick.map((k) => [round2(binX(k)), round2(this.drawn[k])]);
  }

  /** Client (page) coordinates of the point (x, f) of f_mu's panel: for scripts and tests. */
  toClient(x, y) {
    const rect = this.el("flow-fmu").getBoundingClientRect();
    return [rect.left + this.fmuAxes.sx(x), rect.top + this.fmuAxes.sy(y)];
  }

  clearDrawing() {
    this.drawn.fill(NaN);
    if (this.frame) this.renderFit();
  }

  // ---- files ------------------------------------------------------------------------------------

  export(kind) {
    if (!this.frame) { this.message("No neurons yet: wait for the first frame."); return; }
    const n = this.frame.n, xy = this.frame.data.particles.data;
    const points = Array.from({ length: n }, (_, i) => [xy[2 * i], xy[2 * i + 1]]);
    if (kind === "csv") download("neurons.csv", toCSV(points, this.frame.columns), "text/csv");
    else download("neurons.npy", toNPY(points), "application/octet-stream");
  }

  /** A CSV of points (x, f(x)) becomes the drawn target. */
  async importCSV(input) {
    const file = input.files && input.files[0];
    if (!file) return;
    input.value = "";
    try {
      const points = parseCSV(await readText(file), { bound: 4, max: 400 });
      if (points.some(([, y]) => Math.abs(y) > 3)) throw new Error("values f(x) outside [-3, 3]");
      this.drawn.fill(NaN);
      for (const [x, y] of points) this.paint(x, y, null);
      this.state.target = "drawn";
      this.syncControls();
      this.commitDrawing();
    } catch (error) {
      this.message(`${file.name}: ${error.message}`);
    }
  }
}

function round2(v) { return Math.round(v * 100) / 100; }
