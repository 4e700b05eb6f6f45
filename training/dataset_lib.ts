// Pure helpers of the emoji dataset builder: icon -> SVG, render -> 32x32 RGB (the app's own
// image pipeline), deterministic train/val split, seeded k-means++ palette.
// No Node APIs here, so the pieces can be unit-tested in isolation.
import { Rng } from '../src/engine/rng.ts';
import { compositeOnWhite, resizeTo32 } from '../src/image/index.ts';

/** Icon sets used for training and for the palette. */
export const TRAIN_SETS = ['twemoji', 'fluent-emoji-flat', 'emojione', 'noto', 'noto-v1', 'streamline-emojis', 'flag'] as const;
/** Icon sets held out for evaluation only: never in training data or the palette. */
export const HELD_OUT_SETS = ['fxemoji', 'emojione-v1'] as const;

export const IMAGE_SIZE = 32;
export const SEQ_LEN = IMAGE_SIZE * IMAGE_SIZE;
export const PALETTE_SIZE = 512;

/** The subset of an iconify icon set JSON that the builder reads. */
export interface IconifyIcon {
  body: string;
  width?: number;
  height?: number;
  left?: number;
  top?: number;
}
export interface IconifyJSON {
  prefix: string;
  icons: Record<string, IconifyIcon>;
  width?: number;
  height?: number;
  left?: number;
  top?: number;
}

/** Which icons of a set are rendered (aliases are never used: they duplicate icons). */
export function selectIconNames(set: string, json: IconifyJSON): string[] {
  let names = Object.keys(json.icons);
  // flag-icons ships every flag twice (4x3 and 1x1); the square version fills the frame.
  if (set === 'flag') names = names.filter((n) => n.endsWith('-1x1'));
  return names.sort();
}

/** A standalone SVG document for one icon, `size` pixels square (non-square view boxes are centred). */
export function iconToSvg(json: IconifyJSON, name: string, size: number): string {
  const icon = json.icons[name];
  if (!icon) throw new Error(`icon ${json.prefix}:${name} not found`);
  const left = icon.left ?? json.left ?? 0;
  const top = icon.top ?? json.top ?? 0;
  const width = icon.width ?? json.width ?? 16;
  const height = icon.height ?? json.height ?? 16;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
    `width="${size}" height="${size}" viewBox="${left} ${top} ${width} ${height}">${icon.body}</svg>`
  );
}

/**
 * One rendered icon (RGBA from resvg, drawn on an opaque white background) to the 32x32 RGB that
 * the model sees: exactly what the app does with an uploaded image (`src/image`: composite on
 * white, antialiased bilinear resize in the 'torch' flavour). Quantising this with `quantize` (or
 * the whole path with `imageToTokens`) gives the dataset's tokens.
 */
export function renderToRgb32(rgba: Uint8Array, size: number): Uint8Array {
  if (rgba.length !== size * size * 4) throw new Error(`expected ${size}x${size} RGBA, got ${rgba.length} bytes`);
  return resizeTo32(compositeOnWhite({ width: size, height: size, data: rgba }), size, size, 'torch');
}

/** 32-bit FNV-1a over the UTF-16 code units of a string. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The split key of an icon: its name without skin-tone modifiers, and without the set name, so
 * that all tones of an emoji, and the same emoji drawn by different sets, fall in one split.
 */
export function splitKey(name: string): string {
  return name
    .replace(/-(light|medium-light|medium|medium-dark|dark)-skin-tone/g, '')
    .replace(/-tone[1-5]/g, '')
    .replace(/-1x1$/, '');
}

/** Deterministic split: about `valPerMille`/1000 of the split keys go to validation. */
export function splitOf(name: string, valPerMille = 50): 'train' | 'val' {
  return fnv1a32(splitKey(name)) % 1000 < valPerMille ? 'val' : 'train';
}

/** Unique RGB colours of a packed RGB byte array, with their pixel counts (sorted by colour). */
export function uniqueColours(rgb: Uint8Array): { colours: Uint32Array; counts: Float64Array } {
  const counts = new Map<number, number>();
  for (let i = 0; i < rgb.length; i += 3) {
    const key = (rgb[i] << 16) | (rgb[i + 1] << 8) | rgb[i + 2];
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const colours = Uint32Array.from(counts.keys()).sort();
  const c = new Float64Array(colours.length);
  for (let i = 0; i < colours.length; i++) c[i] = counts.get(colours[i])!;
  return { colours, counts: c };
}

/** Packed 0xRRGGBB colours -> float64 points in [-1, 1]^3 (x / 127.5 - 1). */
export function coloursToPoints(colours: Uint32Array): Float64Array {
  const pts = new Float64Array(colours.length * 3);
  for (let i = 0; i < colours.length; i++) {
    const c = colours[i];
    pts[i * 3] = ((c >>> 16) & 255) / 127.5 - 1;
    pts[i * 3 + 1] = ((c >>> 8) & 255) / 127.5 - 1;
    pts[i * 3 + 2] = (c & 255) / 127.5 - 1;
  }
  return pts;
}

/** Index of the nearest centre (squared distance, float64, first minimum on ties). */
export function nearest(x: number, y: number, z: number, centres: Float64Array): number {
  let best = 0;
  let bestD = Infinity;
  for (let j = 0, o = 0; o < centres.length; j++, o += 3) {
    const dx = x - centres[o];
    const dy = y - centres[o + 1];
    const dz = z - centres[o + 2];
    const d = dx * dx + dy * dy + dz * dz;
    if (d < bestD) {
      bestD = d;
      best = j;
    }
  }
  return best;
}

export interface KMeansResult {
  centres: Float64Array; // k * 3
  iterations: number;
  inertia: number; // weighted sum of squared distances at the end
}

/**
 * Weighted k-means (Lloyd) with k-means++ initialisation from a seeded PRNG, all in float64.
 * `points` is n*3, `weights` n (pixel counts). Deterministic for a given input and seed.
 * A cluster that loses all its points is moved to the point farthest from its centre.
 */
export function kmeans(points: Float64Array, weights: Float64Array, k: number, iterations: number, seed: number): KMeansResult {
  const n = weights.length;
  if (points.length !== n * 3) throw new Error('kmeans: points must be n*3');
  if (n < k) throw new Error(`kmeans: ${n} distinct points for ${k} clusters`);
  const rng = new Rng(seed);
  const rand = () => rng.nextFloat();
  const centres = new Float64Array(k * 3);
  const d2 = new Float64Array(n);

  // k-means++: first centre by weight, next ones by weight * squared distance.
  const pick = (score: Float64Array | null): number => {
    let total = 0;
    for (let i = 0; i < n; i++) total += score ? score[i] * weights[i] : weights[i];
    let r = rand() * total;
    for (let i = 0; i < n; i++) {
      r -= score ? score[i] * weights[i] : weights[i];
      if (r < 0) return i;
    }
    for (let i = n - 1; i >= 0; i--) if ((score ? score[i] * weights[i] : weights[i]) > 0) return i;
    return n - 1;
  };
  const setCentre = (j: number, i: number) => {
    centres[j * 3] = points[i * 3];
    centres[j * 3 + 1] = points[i * 3 + 1];
    centres[j * 3 + 2] = points[i * 3 + 2];
  };
  setCentre(0, pick(null));
  d2.fill(Infinity);
  for (let j = 1; j < k; j++) {
    const cx = centres[(j - 1) * 3];
    const cy = centres[(j - 1) * 3 + 1];
    const cz = centres[(j - 1) * 3 + 2];
    for (let i = 0; i < n; i++) {
      const dx = points[i * 3] - cx;
      const dy = points[i * 3 + 1] - cy;
      const dz = points[i * 3 + 2] - cz;
      const d = dx * dx + dy * dy + dz * dz;
      if (d < d2[i]) d2[i] = d;
    }
    setCentre(j, pick(d2));
  }

  const assign = new Int32Array(n).fill(-1);
  const sums = new Float64Array(k * 3);
  const mass = new Float64Array(k);
  let it = 0;
  let inertia = 0;
  for (; it < iterations; it++) {
    let changed = 0;
    inertia = 0;
    for (let i = 0; i < n; i++) {
      const x = points[i * 3];
      const y = points[i * 3 + 1];
      const z = points[i * 3 + 2];
      const a = nearest(x, y, z, centres);
      if (a !== assign[i]) {
        assign[i] = a;
        changed++;
      }
      const dx = x - centres[a * 3];
      const dy = y - centres[a * 3 + 1];
      const dz = z - centres[a * 3 + 2];
      d2[i] = dx * dx + dy * dy + dz * dz;
      inertia += weights[i] * d2[i];
    }
    if (changed === 0) break;
    sums.fill(0);
    mass.fill(0);
    for (let i = 0; i < n; i++) {
      const a = assign[i];
      const w = weights[i];
      sums[a * 3] += w * points[i * 3];
      sums[a * 3 + 1] += w * points[i * 3 + 1];
      sums[a * 3 + 2] += w * points[i * 3 + 2];
      mass[a] += w;
    }
    for (let j = 0; j < k; j++) {
      if (mass[j] > 0) {
        centres[j * 3] = sums[j * 3] / mass[j];
        centres[j * 3 + 1] = sums[j * 3 + 1] / mass[j];
        centres[j * 3 + 2] = sums[j * 3 + 2] / mass[j];
      } else {
        // Empty cluster: take the point with the largest squared distance (first maximum).
        let far = 0;
        for (let i = 1; i < n; i++) if (d2[i] > d2[far]) far = i;
        setCentre(j, far);
        d2[far] = 0;
        assign[far] = j;
      }
    }
  }
  return { centres, iterations: it, inertia };
}

/** Round every value to the nearest float32, so float32 and float64 readers agree exactly. */
export function toFloat32Values(values: Float64Array): Float64Array {
  return values.map((v) => Math.fround(v));
}
