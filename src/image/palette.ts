/**
 * iGPT colour palette: pixels <-> the 512 cluster ids, as transformers' ImageGPT image processor.
 *
 * quantize: the processor normalises with `rescale(image, 1/127.5)` (float64 product cast to
 * float32) then `- 1` (float32), and `color_quantize` computes
 * `d = sum(x**2) - 2 * x @ C.T + sum(C**2)` where `sum(x**2)` is float32 (x is float32) and the
 * rest is float64 (clusters come from JSON as float64), then `argmin` (first minimum on ties).
 * This module reproduces that arithmetic operation by operation; the matmul is evaluated as
 * `x0*c0 + x1*c1 + x2*c2` in float64 (BLAS may fuse multiply-adds, which could only matter for
 * distances equal to within ~1e-16).
 */

const f32 = Math.fround;

/** Float32 normalised value for each 8-bit level: fround(fround(v * (1/127.5)) - 1). */
const LEVEL = (() => {
  const t = new Float64Array(256);
  const scale = 1 / 127.5;
  for (let v = 0; v < 256; v++) t[v] = f32(f32(v * scale) - 1);
  return t;
})();

/** A palette prepared for fast repeated quantisation. */
export interface PreparedPalette {
  readonly size: number;
  /** Flat float64 [c0, c1, c2] per cluster. */
  readonly flat: Float64Array;
  /** float64 sum of squares per cluster, ((c0² + c1²) + c2²). */
  readonly norms: Float64Array;
}

const prepared = new WeakMap<number[][], PreparedPalette>();

export function preparePalette(clusters: number[][]): PreparedPalette {
  const cached = prepared.get(clusters);
  if (cached) return cached;
  if (!Array.isArray(clusters) || clusters.length === 0) {
    throw new RangeError('palette: clusters must be a non-empty array of [r, g, b] triples');
  }
  const n = clusters.length;
  const flat = new Float64Array(n * 3);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = clusters[i];
    if (!c || c.length !== 3 || !c.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new RangeError(`palette: cluster ${i} is not a triple of finite numbers`);
    }
    flat[i * 3] = c[0];
    flat[i * 3 + 1] = c[1];
    flat[i * 3 + 2] = c[2];
    norms[i] = c[0] * c[0] + c[1] * c[1] + c[2] * c[2];
  }
  const p = { size: n, flat, norms };
  prepared.set(clusters, p);
  return p;
}

/** Nearest cluster of one 8-bit RGB colour (reference arithmetic, first minimum wins). */
export function nearestCluster(r: number, g: number, b: number, palette: PreparedPalette): number {
  const x0 = LEVEL[r];
  const x1 = LEVEL[g];
  const x2 = LEVEL[b];
  const a2 = f32(f32(f32(x0 * x0) + f32(x1 * x1)) + f32(x2 * x2));
  const { flat, norms, size } = palette;
  let best = 0;
  let bestD = Infinity;
  for (let k = 0; k < size; k++) {
    const ab = x0 * flat[k * 3] + x1 * flat[k * 3 + 1] + x2 * flat[k * 3 + 2];
    const d = a2 - 2 * ab + norms[k];
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

/**
 * Quantise packed 8-bit RGB (length a multiple of 3, normally 32*32*3) to cluster ids.
 * Colours are memoised per call, so flat images are cheap.
 */
export function quantize(rgb: Uint8Array | Uint8ClampedArray, clusters: number[][] | PreparedPalette): Int32Array {
  if (rgb.length % 3 !== 0) throw new RangeError(`quantize: ${rgb.length} values is not a multiple of 3`);
  const palette = Array.isArray(clusters) ? preparePalette(clusters) : clusters;
  const n = rgb.length / 3;
  const out = new Int32Array(n);
  const memo = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = rgb[i * 3];
    const g = rgb[i * 3 + 1];
    const b = rgb[i * 3 + 2];
    const key = (r << 16) | (g << 8) | b;
    let t = memo.get(key);
    if (t === undefined) {
      t = nearestCluster(r, g, b, palette);
      memo.set(key, t);
    }
    out[i] = t;
  }
  return out;
}

/** numpy.rint: round half to even. */
export function rintHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** One cluster value in [-1, 1] to 8 bits: clip(rint(127.5 * (c + 1)), 0, 255), half to even. */
export function clusterValueToByte(c: number): number {
  const v = rintHalfEven(127.5 * (c + 1));
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** RGB of every cluster id. */
export function paletteRgb(clusters: number[][]): number[][] {
  return clusters.map((c) => [clusterValueToByte(c[0]), clusterValueToByte(c[1]), clusterValueToByte(c[2])]);
}

/** Token ids to packed RGB. Throws RangeError on an id outside the palette. */
export function dequantize(tokens: ArrayLike<number>, clusters: number[][]): Uint8Array {
  const n = clusters.length;
  const lut = new Uint8Array(n * 3);
  for (let k = 0; k < n; k++) {
    for (let ch = 0; ch < 3; ch++) lut[k * 3 + ch] = clusterValueToByte(clusters[k][ch]);
  }
  const out = new Uint8Array(tokens.length * 3);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!Number.isInteger(t) || t < 0 || t >= n) {
      throw new RangeError(`dequantize: token ${t} at position ${i} is not a palette id (0..${n - 1})`);
    }
    out[i * 3] = lut[t * 3];
    out[i * 3 + 1] = lut[t * 3 + 1];
    out[i * 3 + 2] = lut[t * 3 + 2];
  }
  return out;
}
