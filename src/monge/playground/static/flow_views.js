// The flow board's three panels drawn from a frame: the particles with their trails, f_mu against
// the target, the energy and dissipation on a log axis; and the views' boxes.
import { Axes, fitCanvas, polyline } from "./plot.js";

export const TRAIL = 20; // positions kept per particle
// a drawn target lives in x in [-4, 4], y in [-3, 3] (the protocol's bounds), on bins 0.05 apart
export const DRAW_BOX = [-4, 4, -3, 3];
export const DRAW_BINS = 161;

/** The particles as points of parameter space (columns[1] across, columns[0] up), with their trails. */
export function drawParticles(b) {
  const f = b.frame, n = f.n, xy = f.data.particles.data;
  const { ctx, w, h } = fitCanvas(b.el("flow-particles"));
  const [cv, ch] = f.columns; // drawn as (horizontal, vertical) = (columns[1], columns[0])
  const ax = new Axes(w, h, [b.pbox[2], b.pbox[3], b.pbox[0], b.pbox[1]]);
  ax.frame(ctx, { xlabel: ch, ylabel: cv });
  b.el("flow-particles-caption").textContent = `${n} neurons in parameter space (${cv}, ${ch}), last ${TRAIL} positions`;
  ctx.save();
  ax.clip(ctx);
  if (b.trailLen > 0) { // the kept positions, then the current one
    ctx.strokeStyle = n > 1000 ? "rgba(70, 82, 100, 0.22)" : "rgba(70, 82, 100, 0.35)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    const len = b.trailLen, head = b.trailHead, tr = b.trail;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < len; k++) {
        const slot = (head - len + k + TRAIL) % TRAIL, o = slot * 2 * n + 2 * i;
        const px = ax.sx(tr[o + 1]), py = ax.sy(tr[o]);
        if (k === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
      }
      ctx.lineTo(ax.sx(xy[2 * i + 1]), ax.sy(xy[2 * i]));
    }
    ctx.stroke();
  }
  const s = n <= 300 ? 4 : n <= 1000 ? 3 : 2.4, r = s / 2;
  for (const [positive, color] of [[true, "#2563c9"], [false, "#cf3b32"]]) {
    ctx.fillStyle = color;
    for (let i = 0; i < n; i++) {
      if ((xy[2 * i] >= 0) !== positive) continue;
      ctx.fillRect(ax.sx(xy[2 * i + 1]) - r, ax.sy(xy[2 * i]) - r, s, s);
    }
  }
  ctx.restore();
}

/** f_mu's panel; returns its Axes (a drawing is read through them). */
export function drawFit(b) {
  const f = b.frame;
  const { ctx, w, h } = fitCanvas(b.el("flow-fmu"));
  const x = f.data.x.data, fmu = f.data.f_mu.data, target = f.data.target.data;
  const drawing = b.state.target === "drawn";
  if (drawing) b.fbox = [...DRAW_BOX];
  else if (!b.fbox || b.fbox.drawn) b.fbox = fitBox(x, [target, fmu]);
  else growFit(b.fbox, [target, fmu]);
  const ax = new Axes(w, h, b.fbox);
  const angle = f.columns[0] === "omega";
  ax.frame(ctx, { xlabel: angle ? "angle φ of x" : "x" });
  ctx.save();
  ax.clip(ctx);
  if (drawing) drawDrawn(b, ctx, ax);
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#1d232b";
  polyline(ctx, ax, x, target);
  ctx.strokeStyle = "#2563c9";
  polyline(ctx, ax, x, fmu);
  ctx.restore();
  if (drawing) b.fbox.drawn = true; // leaving the drawing area fits the box again
  return ax;
}

/** The drawn target's bins, as dots. */
export function drawDrawn(b, ctx, ax) {
  ctx.fillStyle = "rgba(224, 138, 30, 0.85)";
  for (let k = 0; k < DRAW_BINS; k++) {
    const y = b.drawn[k];
    if (Number.isFinite(y)) ctx.fillRect(ax.sx(binX(k)) - 1.5, ax.sy(y) - 1.5, 3, 3);
  }
}

/** F(mu_t) and -dF/dt against t, log scale, from the board's history. */
export function drawEnergy(b) {
  const { ctx, w, h } = fitCanvas(b.el("flow-energy"));
  const hist = b.hist;
  let lo = Infinity, hi = -Infinity;
  for (const series of [hist.e, hist.d]) for (const v of series) if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!(hi >= lo)) { lo = 1e-3; hi = 1; }
  const l0 = Math.floor(Math.log10(lo) - 0.05), l1 = Math.ceil(Math.log10(hi) + 0.05);
  const tmax = Math.max(hist.t[hist.t.length - 1] || 0, 1e-9);
  const ax = new Axes(w, h, [0, tmax, l0, Math.max(l1, l0 + 1)], { ylog: true });
  ax.frame(ctx, { xlabel: "t" });
  ctx.save();
  ax.clip(ctx);
  ctx.lineWidth = 1.6;
  ctx.strokeStyle = "#e08a1e";
  polyline(ctx, ax, hist.t, hist.d);
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#1d232b";
  polyline(ctx, ax, hist.t, hist.e);
  ctx.restore();
}

export function binX(k) { return DRAW_BOX[0] + ((DRAW_BOX[1] - DRAW_BOX[0]) * k) / (DRAW_BINS - 1); }

/** [lo0, hi0, lo1, hi1] over (columns[0], columns[1]) holding the particles (and the domain for bumps), padded. */
export function particleBox(xy, frame) {
  const box = [-1, 1, Infinity, -Infinity];
  if (frame.columns[1] === "y" && frame.domain) { box[2] = frame.domain[0]; box[3] = frame.domain[1]; }
  for (let i = 0; i < frame.n; i++) {
    const a = xy[2 * i], b = xy[2 * i + 1];
    if (a < box[0]) box[0] = a; if (a > box[1]) box[1] = a;
    if (b < box[2]) box[2] = b; if (b > box[3]) box[3] = b;
  }
  if (!(box[3] > box[2])) { box[2] -= 1; box[3] += 1; }
  return pad(box, 0.08);
}

export function growBox(box, xy, n) {
  let grow = false;
  for (let i = 0; i < n && !grow; i++) {
    const a = xy[2 * i], b = xy[2 * i + 1];
    grow = a < box[0] || a > box[1] || b < box[2] || b > box[3];
  }
  if (!grow) return;
  const inner = [box[0], box[1], box[2], box[3]];
  for (let i = 0; i < n; i++) {
    const a = xy[2 * i], b = xy[2 * i + 1];
    if (a < inner[0]) inner[0] = a; if (a > inner[1]) inner[1] = a;
    if (b < inner[2]) inner[2] = b; if (b > inner[3]) inner[3] = b;
  }
  const padded = pad(inner, 0.1);
  for (let k = 0; k < 4; k++) if (inner[k] !== box[k]) box[k] = padded[k];
}

function pad(box, frac) {
  const w0 = box[1] - box[0], w1 = box[3] - box[2];
  return [box[0] - frac * w0, box[1] + frac * w0, box[2] - frac * w1, box[3] + frac * w1];
}

export function fitBox(x, series) {
  let lo = Infinity, hi = -Infinity;
  for (const s of series) for (const v of s) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (!(hi > lo)) { lo -= 1; hi += 1; }
  const m = 0.12 * (hi - lo);
  return [x[0], x[x.length - 1], lo - m, hi + m];
}

export function growFit(box, series) {
  let lo = box[2], hi = box[3];
  for (const s of series) for (const v of s) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (lo < box[2]) box[2] = lo - 0.1 * (box[3] - lo);
  if (hi > box[3]) box[3] = hi + 0.1 * (hi - box[2]);
}
