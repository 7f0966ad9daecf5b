// The transport board (chapter 2): two clouds, x (blue) and z (red), and the optimal plan between
// them as the server's solvers find it: Monge's matching, Kantorovich's plan or Sinkhorn's blur.
import { Axes, fitCanvas, fmt } from "./plot.js";
import { FIGURE_2_2, randomClouds } from "./clouds.js";
import { drawCloud, drawHistogram, drawPlan } from "./transport_views.js";
import { download, parseCSV, readText, toCSV, toNPY } from "./files.js";

const MAX_POINTS = 500; // the protocol's cap per cloud (exact transport is O(n^3))
const HIT = 9; // pixels: a click this close to a point grabs it
export const TRANSPORT_DEFAULTS = { p: 2, method: "exact", eps: 0.01, n: 20, m: 20, seed: 1, weights: false };

function cleanInt(raw, lo, hi) {
  const v = Math.round(Number(raw));
  return raw === "" || !Number.isFinite(v) ? undefined : Math.min(hi, Math.max(lo, v));
}

export class TransportBoard {
  constructor(app) {
    this.app = app;
    this.state = { ...TRANSPORT_DEFAULTS };
    this.preset = false;
    this.cloud = "x"; // the cloud that clicks and imports edit
    this.x = []; this.z = [];
    this.view = [0, 1, 0, 1];
    this.nextId = 0; this.shownId = -1; this.permId = -1;
    this.sent = new Map(); // id -> the clouds of that request (what a solution is drawn with)
    this.solution = null; this.pending = null; this.raf = 0;
    this.permutations = null;
    this.drag = null;
    this.timings = [];
    this.stats = { board: "transport", frames: 0, x: [], z: [], cost: null, p: 2, method: null, seconds: null };
    this.el = (id) => document.getElementById(id);
    this.wire();
    this.regenerate(false);
    this.syncControls();
  }

  // ---- controls ---------------------------------------------------------------------------------

  wire() {
    this.el("tr-p").addEventListener("change", (e) => this.set("p", Number(e.target.value)));
    this.el("tr-method").addEventListener("change", (e) => this.set("method", e.target.value));
    const eps = this.el("tr-eps");
    eps.addEventListener("input", () => this.set("eps", Number((10 ** Number(eps.value)).toPrecision(3))));
    this.el("tr-weights").addEventListener("change", (e) => this.set("weights", e.target.checked));
    for (const [name, hi] of [["n", MAX_POINTS], ["m", MAX_POINTS], ["seed", 2 ** 31 - 1]]) {
      const input = this.el(`tr-${name}`);
      input.addEventListener("change", () => {
        const v = cleanInt(input.value, name === "seed" ? 0 : 1, hi);
        if (v !== undefined) { this.state[name] = v; this.regenerate(); } else this.syncControls();
      });
    }
    this.el("tr-random").addEventListener("click", () => { this.state.seed = (this.state.seed + 1) % 2 ** 31; this.regenerate(); });
    this.el("tr-preset").addEventListener("click", () => this.figure22());
    this.el("tr-clear").addEventListener("click", () => { this.x = []; this.z = []; this.preset = false; this.changed(true); });
    for (const id of ["tr-cloud-x", "tr-cloud-z"]) {
      this.el(id).addEventListener("change", (e) => { if (e.target.checked) this.cloud = e.target.value; this.syncControls(); });
    }
    this.el("tr-export-csv").addEventListener("click", () => this.export("csv"));
    this.el("tr-export-npy").addEventListener("click", () => this.export("npy"));
    this.el("tr-import").addEventListener("change", (e) => this.importCSV(e.target));
    const canvas = this.el("tr-canvas");
    canvas.addEventListener("pointerdown", (e) => this.pointerDown(e));
    canvas.addEventListener("pointermove", (e) => this.pointerMove(e));
    canvas.addEventListener("pointerup", () => { this.drag = null; });
    canvas.addEventListener("pointercancel", () => { this.drag = null; });
  }

  set(name, value) {
    this.state[name] = value;
    this.syncControls();
    this.request();
    this.render();
    this.app.writeHash();
  }

  syncControls() {
    const s = this.state;
    this.el("tr-p").value = String(s.p);
    this.el("tr-method").value = s.method;
    this.el("tr-eps").value = String(Math.log10(s.eps));
    this.el("tr-eps-out").textContent = fmt(s.eps, 3);
    this.el("tr-eps-label").classList.toggle("disabled", s.method !== "sinkhorn");
    this.el("tr-eps").disabled = s.method !== "sinkhorn";
    this.el("tr-weights").checked = s.weights;
    this.el("tr-n").value = String(s.n);
    this.el("tr-m").value = String(s.m);
    this.el("tr-seed").value = String(s.seed);
    this.el(`tr-cloud-${this.cloud}`).checked = true;
    this.el("tr-export-csv").textContent = `${this.cloud}.csv`;
    this.el("tr-export-npy").textContent = `${this.cloud}.npy`;
    this.el("tr-cost-name").innerHTML = s.p === 2 ? "W<sub>2</sub><sup>2</sup>" : "W<sub>1</sub>";
  }

  hashEntries() {
    const s = this.state;
    const out = [["p", s.p], ["method", s.method], ["eps", s.eps], ["n", s.n]];
    if (s.m !== s.n) out.push(["m", s.m]);
    out.push(["seed", s.seed]);
    if (s.weights) out.push(["weights", 1]);
    if (this.preset) out.push(["preset", "fig2.2"]);
    return out;
  }

  applyHash(map) {
    const s = this.state;
    if (map.has("p") && ["1", "2"].includes(map.get("p"))) s.p = Number(map.get("p"));
    if (map.has("method") && ["exact", "sinkhorn"].includes(map.get("method"))) s.method = map.get("method");
    if (map.has("eps")) {
      const eps = Number(map.get("eps"));
      if (Number.isFinite(eps) && eps > 0) s.eps = Math.min(1, Math.max(1e-4, eps));
    }
    for (const [name, lo, hi] of [["n", 1, MAX_POINTS], ["m", 1, MAX_POINTS], ["seed", 0, 2 ** 31 - 1]]) {
      const v = map.has(name) ? cleanInt(map.get(name), lo, hi) : undefined;
      if (v !== undefined) s[name] = v;
    }
    if (map.has("n") && !map.has("m")) s.m = s.n;
    s.weights = map.get("weights") === "1";
    if (map.get("preset") === "fig2.2") this.figure22(false); else this.regenerate(false);
    this.syncControls();
  }

  /** New clouds from (n, m, seed). */
  regenerate(send = true) {
    const { x, z } = randomClouds(this.state.n, this.state.m, this.state.seed);
    this.x = x; this.z = z;
    this.preset = false;
    if (send) this.changed(true);
    else this.fitView();
  }

  figure22(send = true) {
    this.x = FIGURE_2_2.x.map(([x, y]) => ({ x, y, w: 1 }));
    this.z = FIGURE_2_2.z.map(([x, y]) => ({ x, y, w: 1 }));
    this.state.p = 1; // the text's Euclidean cost
    this.state.method = "exact";
    this.state.weights = false;
    this.preset = true;
    this.syncControls();
    if (send) this.changed(true);
    else this.fitView();
  }

  /** The clouds were replaced or edited: solve again, redraw, write the URL. */
  changed(refit = false) {
    if (refit) this.fitView();
    this.syncControls();
    this.request();
    this.render();
    this.app.writeHash();
  }

  fitView() {
    const box = [0, 1, 0, 1];
    for (const q of [...this.x, ...this.z]) {
      box[0] = Math.min(box[0], q.x); box[1] = Math.max(box[1], q.x);
      box[2] = Math.min(box[2], q.y); box[3] = Math.max(box[3], q.y);
    }
    const mx = 0.06 * (box[1] - box[0]), my = 0.06 * (box[3] - box[2]);
    this.view = [box[0] - mx, box[1] + mx, box[2] - my, box[3] + my];
  }

  // ---- requests and solutions -------------------------------------------------------------------

  weightsOf(cloud) {
    if (!this.state.weights) return null;
    const total = cloud.reduce((s, q) => s + q.w, 0);
    return cloud.map((q) => q.w / total);
  }

  /** Ask for a solve of the clouds as they are now (the server solves the newest when free). */
  request() {
    if (!this.x.length || !this.z.length) {
      this.solution = null; this.permutations = null;
      this.showSolution();
      return;
    }
    const id = ++this.nextId;
    const x = this.x.map((q) => [q.x, q.y]), z = this.z.map((q) => [q.x, q.y]);
    const a = this.weightsOf(this.x), b = this.weightsOf(this.z);
    const s = this.state;
    this.sent.set(id, { x, z, a, b, t0: performance.now() });
    if (this.sent.size > 256) this.sent.delete(this.sent.keys().next().value);
    this.app.send({ type: "transport", x, z, a, b, p: s.p, method: s.method, eps: s.eps, id });
    if (x.length === 6 && z.length === 6) this.app.send({ type: "permutations", x, z, p: s.p, id });
    else this.permutations = null;
  }

  /** Re-send what the board shows (after a reconnection). */
  onOpen() { this.request(); }

  onFrame(frame) {
    if (frame.type === "permutations") {
      if (frame.id < this.permId) return;
      this.permId = frame.id;
      this.permutations = frame;
      if (!this.raf) this.raf = requestAnimationFrame(() => this.drawPending());
      return;
    }
    if (frame.id < this.shownId || !this.sent.has(frame.id)) return; // an older solve than the one shown
    this.pending = { frame, clouds: this.sent.get(frame.id) };
    if (!this.raf) this.raf = requestAnimationFrame(() => this.drawPending());
  }

  drawPending() {
    this.raf = 0;
    const next = this.pending;
    this.pending = null;
    if (next) {
      this.solution = next;
      this.shownId = next.frame.id;
      for (const id of this.sent.keys()) if (id < this.shownId) this.sent.delete(id);
    }
    this.render();
    if (!next) return;
    this.timings.push(performance.now() - next.clouds.t0);
    if (this.timings.length > 500) this.timings.splice(0, 250);
    this.showSolution();
    this.publish();
  }

  publish() {
    const { frame, clouds } = this.solution;
    const stats = {
      board: "transport", frames: this.stats.frames + 1, x: clouds.x, z: clouds.z,
      cost: frame.cost, p: frame.p, method: frame.method, seconds: frame.seconds,
    };
    if (frame.data.permutation) stats.permutation = Array.from(frame.data.permutation.data);
    else {
      const { data, shape } = frame.data.plan;
      let rows = null;
      Object.defineProperty(stats, "plan", {
        enumerable: true,
        get() { // nested arrays only when read (up to 500 x 500 numbers)
          rows = rows || Array.from({ length: shape[0] }, (_, i) => Array.from(data.subarray(i * shape[1], (i + 1) * shape[1])));
          return rows;
        },
      });
    }
    this.stats = stats;
  }

  showSolution() {
    const sol = this.solution;
    this.el("tr-count-x").textContent = String(this.x.length);
    this.el("tr-count-z").textContent = String(this.z.length);
    if (!sol) {
      for (const id of ["tr-cost", "tr-solver", "tr-time"]) this.el(id).textContent = "–";
      return;
    }
    const f = sol.frame;
    this.el("tr-cost").textContent = Number.isFinite(f.cost) ? Number(f.cost.toPrecision(6)).toString() : "–";
    this.el("tr-cost-name").innerHTML = f.p === 2 ? "W<sub>2</sub><sup>2</sup>" : "W<sub>1</sub>";
    this.el("tr-solver").textContent = f.method;
    this.el("tr-time").textContent = `${fmt(f.seconds * 1000, 3)} ms`;
    const captions = {
      matching: "Monge's matching: each x to one z (segments)",
      kantorovich: "Kantorovich's plan: line width = mass",
      sinkhorn: `Sinkhorn's plan, eps = ${fmt(this.state.eps, 3)} × diameter^p: opacity = mass`,
    };
    this.el("tr-caption").textContent = captions[f.method] || f.method;
  }

  // ---- drawing ----------------------------------------------------------------------------------

  render() {
    const { ctx, w, h } = fitCanvas(this.el("tr-canvas"));
    const ax = new Axes(w, h, this.view, { equal: true, left: 34, bottom: 22 });
    this.axes = ax;
    ax.frame(ctx);
    ctx.save();
    ax.clip(ctx);
    if (this.solution) drawPlan(ctx, ax, this.solution);
    const labels = this.preset && this.x.length === 6 && this.z.length === 6;
    drawCloud(ctx, ax, this.x, "#2563c9", labels, this.state.weights);
    drawCloud(ctx, ax, this.z, "#cf3b32", labels, this.state.weights);
    ctx.restore();
    drawHistogram(this);
  }




  // ---- pointer: click adds, drag moves, shift-click removes ---------------------------------------

  local(event) {
    const rect = this.el("tr-canvas").getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  hit(px, py) {
    let best = null, bestD = HIT * HIT;
    for (const name of ["x", "z"]) {
      this[name].forEach((q, index) => {
        const dx = this.axes.sx(q.x) - px, dy = this.axes.sy(q.y) - py, d = dx * dx + dy * dy;
        if (d <= bestD) { bestD = d; best = { cloud: name, index }; }
      });
    }
    return best;
  }

  pointerDown(event) {
    if (event.button !== 0 || !this.axes) return;
    const [px, py] = this.local(event);
    const found = this.hit(px, py);
    if (event.shiftKey) {
      if (found) { this[found.cloud].splice(found.index, 1); this.changed(); }
      return;
    }
    event.currentTarget.setPointerCapture(event.pointerId);
    if (found) { this.drag = found; return; }
    const cloud = this[this.cloud];
    if (cloud.length >= MAX_POINTS) { this.message(`${this.cloud}: ${MAX_POINTS} points at most (exact transport is O(n^3))`); return; }
    const [x, y] = this.clamp(this.axes.invert(px, py));
    cloud.push({ x, y, w: 0.25 + 0.75 * Math.random() });
    this.drag = { cloud: this.cloud, index: cloud.length - 1 };
    this.changed();
  }

  pointerMove(event) {
    if (!this.drag) return;
    const [x, y] = this.clamp(this.axes.invert(...this.local(event)));
    const q = this[this.drag.cloud][this.drag.index];
    if (!q || (q.x === x && q.y === y)) return;
    q.x = x; q.y = y;
    this.request(); // every move: the server solves the newest request when it is free
    this.render();
  }

  clamp([x, y]) {
    const b = this.axes.box;
    return [Math.min(b[1], Math.max(b[0], x)), Math.min(b[3], Math.max(b[2], y))];
  }

  /** Client (page) coordinates of the data point (x, y): for scripts and tests. */
  toClient(x, y) {
    const rect = this.el("tr-canvas").getBoundingClientRect();
    return [rect.left + this.axes.sx(x), rect.top + this.axes.sy(y)];
  }

  message(text) {
    const box = this.el("tr-message");
    box.hidden = !text;
    box.textContent = text || "";
    clearTimeout(this.messageTimer);
    if (text) this.messageTimer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  // ---- files ------------------------------------------------------------------------------------

  export(kind) {
    const points = this[this.cloud].map((q) => [q.x, q.y]);
    if (kind === "csv") download(`${this.cloud}.csv`, toCSV(points), "text/csv");
    else download(`${this.cloud}.npy`, toNPY(points), "application/octet-stream");
  }

  async importCSV(input) {
    const file = input.files && input.files[0];
    if (!file) return;
    input.value = "";
    try {
      const points = parseCSV(await readText(file), { bound: 10, max: MAX_POINTS });
      this[this.cloud] = points.map(([x, y]) => ({ x, y, w: 1 }));
      this.preset = false;
      this.message(null);
      this.changed(true);
    } catch (error) {
      this.message(`${file.name}: ${error.message}`);
    }
  }
}
