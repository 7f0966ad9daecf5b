// The transport board's drawings: the plan between the clouds (Monge's segments, Kantorovich's
// widths, Sinkhorn's opacities), the clouds, and the histogram of the 720 permutations' Distances.
import { Axes, fitCanvas, fmt } from "./plot.js";

/** The solution's plan, with the clouds it was solved for. */
export function drawPlan(ctx, ax, { frame, clouds }) {
  const { x, z } = clouds;
  ctx.lineCap = "round";
  if (frame.data.permutation) {
    const perm = frame.data.permutation.data;
    ctx.strokeStyle = "rgba(29, 35, 43, 0.75)";
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    for (let i = 0; i < perm.length; i++) {
      const q = z[perm[i]];
      if (!q) continue;
      ctx.moveTo(ax.sx(x[i][0]), ax.sy(x[i][1]));
      ctx.lineTo(ax.sx(q[0]), ax.sy(q[1]));
    }
    ctx.stroke();
    return;
  }
  const { data, shape } = frame.data.plan;
  const [n, m] = shape;
  let max = 0;
  for (let k = 0; k < data.length; k++) if (data[k] > max) max = data[k];
  if (!(max > 0)) return;
  if (frame.method === "sinkhorn") {
    // opacity = mass, in 16 levels (one path per level), the faintest 1% left out
    const LEVELS = 16, paths = Array.from({ length: LEVELS }, () => new Path2D());
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const r = data[i * m + j] / max;
        if (r < 0.01) continue;
        const path = paths[Math.min(LEVELS - 1, Math.floor(r * LEVELS))];
        path.moveTo(ax.sx(x[i][0]), ax.sy(x[i][1]));
        path.lineTo(ax.sx(z[j][0]), ax.sy(z[j][1]));
      }
    }
    ctx.lineWidth = 1.4;
    paths.forEach((path, level) => {
      ctx.strokeStyle = `rgba(29, 35, 43, ${((level + 1) / LEVELS).toFixed(3)})`;
      ctx.stroke(path);
    });
    return;
  }
  // Kantorovich: line width = mass (a mass 1 / max(n, m) is 2 pixels wide)
  const unit = 2 * Math.max(n, m);
  ctx.strokeStyle = "rgba(29, 35, 43, 0.7)";
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const mass = data[i * m + j];
      if (mass <= max * 1e-6) continue;
      ctx.lineWidth = Math.max(0.5, mass * unit);
      ctx.beginPath();
      ctx.moveTo(ax.sx(x[i][0]), ax.sy(x[i][1]));
      ctx.lineTo(ax.sx(z[j][0]), ax.sy(z[j][1]));
      ctx.stroke();
    }
  }
}

/** A cloud: discs (area = mass with weights), numbered from 1 for Figure 2.2. */
export function drawCloud(ctx, ax, cloud, color, labels, weighted) {
  const total = weighted ? cloud.reduce((s, q) => s + q.w, 0) : 0;
  const base = cloud.length > 200 ? 3 : 4.5;
  ctx.fillStyle = color;
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 1;
  for (const q of cloud) {
    const r = weighted ? Math.max(1.5, base * Math.sqrt((q.w / total) * cloud.length)) : base;
    ctx.beginPath();
    ctx.arc(ax.sx(q.x), ax.sy(q.y), r, 0, 2 * Math.PI);
    ctx.fill();
    if (cloud.length <= 200) ctx.stroke();
  }
  if (!labels) return;
  ctx.font = "600 13px system-ui, sans-serif";
  ctx.textAlign = "left";
  ctx.textBaseline = "bottom";
  cloud.forEach((q, i) => ctx.fillText(String(i + 1), ax.sx(q.x) + 6, ax.sy(q.y) - 3));
}

/** The 720 permutations' Distances (a histogram) with the optimum marked; hidden without them. */
export function drawHistogram(b) {
  const panel = b.el("tr-hist-panel");
  const perms = b.permutations;
  panel.hidden = !perms;
  if (!perms) return;
  const costs = perms.data.costs.data;
  const { ctx, w, h } = fitCanvas(b.el("tr-hist"));
  let lo = Infinity, hi = -Infinity;
  for (const c of costs) { lo = Math.min(lo, c); hi = Math.max(hi, c); }
  if (!(hi > lo)) hi = lo + 1;
  const BINS = 36, counts = new Array(BINS).fill(0);
  for (const c of costs) counts[Math.min(BINS - 1, Math.floor(((c - lo) / (hi - lo)) * BINS))]++;
  const top = Math.max(...counts);
  const pad = 0.05 * (hi - lo);
  const ax = new Axes(w, h, [lo - pad, hi + pad, 0, top * 1.25], { left: 30, bottom: 22 });
  ax.frame(ctx);
  ctx.fillStyle = "#9aa6b3";
  const bw = (hi - lo) / BINS;
  counts.forEach((c, k) => {
    const x0 = ax.sx(lo + k * bw), x1 = ax.sx(lo + (k + 1) * bw);
    ctx.fillRect(x0 + 0.5, ax.sy(c), Math.max(1, x1 - x0 - 1), ax.sy(0) - ax.sy(c));
  });
  const best = costs[perms.best];
  ctx.strokeStyle = "#1f8a4c";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(ax.sx(best), ax.y0 + 16);
  ctx.lineTo(ax.sx(best), ax.y1);
  ctx.stroke();
  ctx.fillStyle = "#1f8a4c";
  ctx.font = "600 11px system-ui, sans-serif";
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText("optimum", ax.sx(best) - 4, ax.y0 + 3);
  const order = Array.from(perms.data.best_permutation.data, (s) => s + 1).join(", ");
  let note = `optimum of 720 (brute force, green): s = (${order}), Distance = ${fmt(best, 5)}`;
  const sol = b.solution;
  if (sol && sol.frame.method === "matching" && sol.frame.id === perms.id) {
    note += `; the matching solver's: ${fmt(6 * sol.frame.cost, 5)}`;
  }
  b.el("tr-hist-note").textContent = note;
}
