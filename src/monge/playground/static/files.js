// Export (CSV, NPY v1.0 float32 little-endian) and import (CSV of x, y) of points, all client-side.

function shortest(v) { return String(Number(v.toPrecision(8))); }

/** CSV text of an (n, 2) point array [[x, y], ...] with a header line. */
export function toCSV(points, columns = ["x", "y"]) {
  const lines = [columns.join(",")];
  for (const [a, b] of points) lines.push(`${shortest(a)},${shortest(b)}`);
  return lines.join("\n") + "\n";
}

/** Bytes of a .npy file (format 1.0) of an (n, 2) float32 array, little-endian, C order. */
export function toNPY(points) {
  const n = points.length;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, 2), }`;
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header + " ".repeat(total - 10 - header.length - 1) + "\n";
  const bytes = new Uint8Array(total + 8 * n);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  const data = new DataView(bytes.buffer, total);
  points.forEach(([a, b], i) => {
    data.setFloat32(8 * i, a, true);
    data.setFloat32(8 * i + 4, b, true);
  });
  return bytes;
}

/** Start a download of `content` (string or bytes) named `name`, through a link built here. */
export function download(name, content, type) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

/**
 * Points [[x, y], ...] of a CSV text: x, y per line (comma, semicolon, tab or spaces), an optional
 * header line, blank lines and # comments skipped; further columns ignored. Throws an Error naming
 * the line when one holds no two finite numbers, or when a value is outside [-bound, bound].
 */
export function parseCSV(text, { bound = 10, max = 500 } = {}) {
  const points = [];
  let seenData = false;
  const lines = text.split(/\r?\n/);
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k].trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s*[,;\t ]\s*/).filter((f) => f !== "");
    const values = fields.slice(0, 2).map(Number);
    const numeric = fields.length >= 2 && fields.slice(0, 2).every((f) => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(f));
    if (!numeric) {
      if (!seenData && points.length === 0 && k === firstContent(lines)) continue; // the header
      throw new Error(`line ${k + 1}: "${line.slice(0, 40)}"; expected two numbers x, y`);
    }
    seenData = true;
    for (const v of values) {
      if (!Number.isFinite(v) || Math.abs(v) > bound) {
        throw new Error(`line ${k + 1}: ${v}; expected finite values in [-${bound}, ${bound}]`);
      }
    }
    points.push(values);
    if (points.length > max) throw new Error(`${points.length}+ points; expected at most ${max}`);
  }
  if (points.length === 0) throw new Error("no points found; expected lines x, y");
  return points;
}

function firstContent(lines) {
  return lines.findIndex((l) => l.trim() !== "" && !l.trim().startsWith("#"));
}

/** Read a File chosen in an <input type=file> as text. */
export function readText(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsText(file);
  });
}
