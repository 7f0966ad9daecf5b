// The transport board's clouds: random ones from a seed (reproducible from the URL), and Figure 2.2's.

// Figure 2.2 of the text: `monge transport --example monge6`'s six x and six z (spread_points(12, seed 0))
export const FIGURE_2_2 = {
  x: [[0.637, 0.27], [0.041, 0.017], [0.813, 0.913], [0.607, 0.729], [0.544, 0.935], [0.816, 0.003]],
  z: [[0.863, 0.541], [0.3, 0.423], [0.997, 0.981], [0.135, 0.721], [0.934, 0.358], [0.392, 0.89]],
};

/** A reproducible uniform generator on [0, 1) (mulberry32): clouds from the URL's seed. */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Clouds drawn from the seed: x a Gaussian blob on the left, z a ring on the right; weights in [0.25, 1]. */
export function randomClouds(n, m, seed) {
  const u = generator(seed * 2654435761 + 12345);
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const clip = (v) => Math.min(0.98, Math.max(0.02, v));
  const x = Array.from({ length: n }, () => ({ x: clip(0.28 + 0.12 * normal()), y: clip(0.55 + 0.13 * normal()), w: 0.25 + 0.75 * u() }));
  const z = Array.from({ length: m }, () => {
    const angle = 2 * Math.PI * u(), radius = 0.14 + 0.14 * u();
    return { x: clip(0.68 + radius * Math.cos(angle)), y: clip(0.45 + radius * Math.sin(angle)), w: 0.25 + 0.75 * u() };
  });
  return { x, z };
}

