// Canvas 2-D helpers: sizing to the device's pixels, linear and log axes, ticks, number formats.

/** Size the canvas's pixels to its CSS box; return {ctx, w, h} with w, h in CSS pixels. */
export function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, canvas.clientWidth), h = Math.max(1, canvas.clientHeight);
  const pw = Math.round(w * dpr), ph = Math.round(h * dpr);
  if (canvas.width !== pw || canvas.height !== ph) {
    canvas.width = pw;
    canvas.height = ph;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

/** Ticks at 1, 2 or 5 times a power of ten, about `count` of them in [lo, hi]. */
export function ticks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** A number for a label: 4 significant digits, exponent notation far from 1; never "NaN". */
export function fmt(v, digits = 4) {
  if (!Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(Math.max(0, digits - 1)).replace("e+", "e");
  return String(Number(v.toPrecision(digits)));
}

/**
 * A rectangle of the canvas (the plot area inside margins) and the box of data it shows;
 * `ylog` puts y on a log10 scale (box y0, y1 are then log10 values).
 */
export class Axes {
  constructor(w, h, box, { left = 44, right = 10, top = 8, bottom = 26, ylog = false, equal = false } = {}) {
    this.x0 = left; this.x1 = w - right; this.y0 = top; this.y1 = h - bottom;
    this.ylog = ylog;
    let [bx0, bx1, by0, by1] = box;
    if (equal) { // same scale on both axes: widen the box along the shorter direction
      const sx = (this.x1 - this.x0) / (bx1 - bx0), sy = (this.y1 - this.y0) / (by1 - by0);
      if (sx > sy) { const c = (bx0 + bx1) / 2, half = (this.x1 - this.x0) / sy / 2; bx0 = c - half; bx1 = c + half; }
      else { const c = (by0 + by1) / 2, half = (this.y1 - this.y0) / sx / 2; by0 = c - half; by1 = c + half; }
    }
    this.box = [bx0, bx1, by0, by1];
    this.kx = (this.x1 - this.x0) / (bx1 - bx0);
    this.ky = (this.y1 - this.y0) / (by1 - by0);
  }

  sx(x) { return this.x0 + (x - this.box[0]) * this.kx; }

  sy(y) {
    const v = this.ylog ? Math.log10(y) : y;
    return this.y1 - (v - this.box[2]) * this.ky;
  }

  /** data coordinates of a point of the canvas (CSS pixels) */
  invert(px, py) {
    return [this.box[0] + (px - this.x0) / this.kx, this.box[2] + (this.y1 - py) / this.ky];
  }

  /** frame, grid and tick labels; xlabel/ylabel at the ends of the axes */
  frame(ctx, { xlabel = "", ylabel = "", grid = true } = {}) {
    const [bx0, bx1, by0, by1] = this.box;
    ctx.save();
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#5d6875";
    ctx.strokeStyle = "#e6e9ed";
    ctx.lineWidth = 1;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of ticks(bx0, bx1, Math.max(2, Math.round((this.x1 - this.x0) / 80)))) {
      const px = Math.round(this.sx(t)) + 0.5;
      if (grid) { ctx.beginPath(); ctx.moveTo(px, this.y0); ctx.lineTo(px, this.y1); ctx.stroke(); }
      ctx.fillText(fmt(t, 3), px, this.y1 + 4);
    }
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const yt = this.ylog ? logTicks(by0, by1) : ticks(by0, by1, Math.max(2, Math.round((this.y1 - this.y0) / 45)));
    for (const t of yt) {
      const py = Math.round(this.ylog ? this.sy(10 ** t) : this.sy(t)) + 0.5;
      if (grid) { ctx.beginPath(); ctx.moveTo(this.x0, py); ctx.lineTo(this.x1, py); ctx.stroke(); }
      ctx.fillText(this.ylog ? `1e${t}` : fmt(t, 3), this.x0 - 4, py);
    }
    ctx.strokeStyle = "#aab3bd";
    ctx.strokeRect(this.x0 + 0.5, this.y0 + 0.5, this.x1 - this.x0, this.y1 - this.y0);
    ctx.fillStyle = "#1d232b";
    if (xlabel) { ctx.textAlign = "right"; ctx.textBaseline = "bottom"; ctx.fillText(xlabel, this.x1 - 3, this.y1 - 3); }
    if (ylabel) { ctx.textAlign = "left"; ctx.textBaseline = "top"; ctx.fillText(ylabel, this.x0 + 4, this.y0 + 3); }
    ctx.restore();
  }

  clip(ctx) {
    ctx.beginPath();
    ctx.rect(this.x0, this.y0, this.x1 - this.x0, this.y1 - this.y0);
    ctx.clip();
  }
}

function logTicks(lo, hi) {
  const a = Math.ceil(lo), b = Math.floor(hi);
  const every = Math.max(1, Math.ceil((b - a + 1) / 6));
  const out = [];
  for (let t = a; t <= b; t += every) out.push(t);
  return out;
}

/** A polyline through (xs[i], ys[i]) for the finite values (a gap where a value is not finite). */
export function polyline(ctx, ax, xs, ys) {
  ctx.beginPath();
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (!Number.isFinite(y) || (ax.ylog && !(y > 0))) { pen = false; continue; }
    const px = ax.sx(xs[i]), py = ax.sy(y);
    if (pen) ctx.lineTo(px, py); else { ctx.moveTo(px, py); pen = true; }
  }
  ctx.stroke();
}
