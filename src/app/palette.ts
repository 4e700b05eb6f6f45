/**
 * Palette helpers for painting tokens (pure).
 */
import type { BundleManifest } from '../bundle/index.ts';

export interface Palette {
  /** 512 x RGB, 0-255. */
  rgb: Uint8Array;
  /** Raw clusters in [-1, 1], for quantizing uploads. */
  clusters: number[][];
}

export function paletteFromManifest(m: BundleManifest): Palette {
  const rgb = new Uint8Array(512 * 3);
  m.palette.rgb.forEach((c, i) => {
    rgb[3 * i] = c[0];
    rgb[3 * i + 1] = c[1];
    rgb[3 * i + 2] = c[2];
  });
  return { rgb, clusters: m.palette.clusters };
}

/** Write token colours into RGBA pixels [start, end). */
export function paintTokens(
  data: Uint8ClampedArray,
  tokens: ArrayLike<number>,
  rgb: Uint8Array,
  start = 0,
  end = tokens.length,
): void {
  for (let i = start; i < end; i++) {
    const t = tokens[i];
    data[4 * i] = rgb[3 * t];
    data[4 * i + 1] = rgb[3 * t + 1];
    data[4 * i + 2] = rgb[3 * t + 2];
    data[4 * i + 3] = 255;
  }
}

/** The palette token closest to an RGB colour. */
export function nearestToken(rgb: Uint8Array, r: number, g: number, b: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let t = 0; t < 512; t++) {
    const dr = rgb[3 * t] - r;
    const dg = rgb[3 * t + 1] - g;
    const db = rgb[3 * t + 2] - b;
    const d = dr * dr + dg * dg + db * db;
    if (d < bestD) {
      bestD = d;
      best = t;
    }
  }
  return best;
}

/** Palette tokens ordered for display: by hue band, then lightness. */
export function paletteOrder(rgb: Uint8Array): number[] {
  const keyed = Array.from({ length: 512 }, (_, t) => {
    const r = rgb[3 * t] / 255;
    const g = rgb[3 * t + 1] / 255;
    const b = rgb[3 * t + 2] / 255;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const l = (max + min) / 2;
    const c = max - min;
    let h = 0;
    if (c > 1e-6) {
      if (max === r) h = ((g - b) / c + 6) % 6;
      else if (max === g) h = (b - r) / c + 2;
      else h = (r - g) / c + 4;
    }
    const grey = c < 0.12;
    const band = grey ? -1 : Math.floor(h * 2); // 12 hue bands
    return { t, band, l };
  });
  keyed.sort((a, b) => a.band - b.band || a.l - b.l);
  return keyed.map((k) => k.t);
}

/** A perceptual-ish colour map (dark blue -> yellow) for values in [0, 1]. */
export function heatColor(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, v));
  const stops: [number, number, number][] = [
    [13, 8, 135],
    [126, 3, 168],
    [204, 71, 120],
    [248, 149, 64],
    [240, 249, 33],
  ];
  const f = x * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(f));
  const u = f - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u].map(Math.round) as [
    number,
    number,
    number,
  ];
}
