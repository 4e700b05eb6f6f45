import { describe, expect, it } from 'vitest';
import { inflateRawSync } from 'node:zlib';
import { encode as encodePng } from 'fast-png';
import { Rng } from '../src/engine/rng.ts';
import { compositeOnWhite, decodeImage, imageToTokens, quantize } from '../src/image/index.ts';
import {
  HELD_OUT_SETS,
  TRAIN_SETS,
  coloursToPoints,
  fnv1a32,
  iconToSvg,
  kmeans,
  renderToRgb32,
  selectIconNames,
  splitKey,
  splitOf,
  uniqueColours,
} from './dataset_lib.ts';
import { loadIconSet, renderIcon } from './render.ts';
import { npyBytes, npzBytes } from './npz.ts';

describe('renders to tokens with the app pipeline', () => {
  // A few real icons of each training set, rendered as the builder renders them. The builder's
  // tokens (renderToRgb32, then quantize against the palette) must equal what the app computes for
  // the same render uploaded as a PNG (decodeImage, then imageToTokens).
  const renderSize = 128;
  const clusters = Array.from({ length: 512 }, (_, j) => {
    const rng = new Rng(j + 1);
    return [0, 1, 2].map(() => Math.fround(rng.nextFloat() * 2 - 1));
  });
  clusters[0] = [1, 1, 1];

  it.each(TRAIN_SETS.map((s) => [s]))('%s', (set) => {
    const json = loadIconSet(set);
    const names = selectIconNames(set, json).filter((_, i) => i % 97 === 0).slice(0, 3);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const rgba = renderIcon(json, name, renderSize);
      const datasetTokens = quantize(renderToRgb32(rgba, renderSize), clusters);
      const png = encodePng({ width: renderSize, height: renderSize, data: compositeOnWhite({ width: renderSize, height: renderSize, data: rgba }), channels: 3, depth: 8 });
      const app = imageToTokens(decodeImage(png, `${name}.png`), clusters);
      expect([...datasetTokens]).toEqual([...app.tokens]);
      expect(new Set(datasetTokens).size).toBeGreaterThan(1); // a real drawing, not a blank frame
    }
  });

  it('rejects a render of the wrong size', () => {
    expect(() => renderToRgb32(new Uint8Array(10), 2)).toThrow(/expected 2x2 RGBA/);
  });
});

describe('split', () => {
  it('is deterministic and groups skin tones and sets', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c); // FNV-1a 32-bit test vector
    expect(splitKey('thumbs-up-medium-dark-skin-tone')).toBe('thumbs-up');
    expect(splitKey('thumbs-up-tone3')).toBe('thumbs-up');
    expect(splitKey('gb-1x1')).toBe('gb');
    expect(splitOf('thumbs-up-light-skin-tone')).toBe(splitOf('thumbs-up'));
    const names = Array.from({ length: 4000 }, (_, i) => `icon-${i}`);
    const first = names.map((n) => splitOf(n));
    expect(names.map((n) => splitOf(n))).toEqual(first);
    const val = first.filter((s) => s === 'val').length / names.length;
    expect(val).toBeGreaterThan(0.035);
    expect(val).toBeLessThan(0.065);
  });

  it('never trains on the held-out sets', () => {
    for (const s of HELD_OUT_SETS) expect(TRAIN_SETS as readonly string[]).not.toContain(s);
  });
});

describe('icons', () => {
  it('builds a square SVG with the icon view box and keeps 1x1 flags only', () => {
    const json = { prefix: 'x', width: 36, height: 36, icons: { a: { body: '<path d="M0 0h1v1z"/>' }, 'b-4x3': { body: '', width: 640 }, 'b-1x1': { body: '' } } };
    expect(iconToSvg(json, 'a', 128)).toContain('width="128" height="128" viewBox="0 0 36 36"><path d="M0 0h1v1z"/></svg>');
    expect(iconToSvg(json, 'b-4x3', 64)).toContain('viewBox="0 0 640 36"');
    expect(() => iconToSvg(json, 'missing', 32)).toThrow(/x:missing not found/);
    expect(selectIconNames('flag', json)).toEqual(['b-1x1']);
    expect(selectIconNames('twemoji', json)).toEqual(['a', 'b-1x1', 'b-4x3']);
  });
});

describe('kmeans', () => {
  // Three tight groups of colours with different weights.
  const rgb = new Uint8Array([
    ...[0, 0, 0, 2, 0, 0, 0, 2, 0],
    ...[255, 255, 255, 253, 255, 255, 255, 255, 255, 255, 255, 255],
    ...[200, 0, 0, 202, 0, 0],
  ]);
  const { colours, counts } = uniqueColours(rgb);

  it('deduplicates colours with counts', () => {
    expect(colours.length).toBe(7);
    expect([...counts].reduce((a, b) => a + b, 0)).toBe(rgb.length / 3);
    expect(counts[colours.indexOf(0xffffff)]).toBe(3);
  });

  it('is deterministic for a seed and finds the weighted group means', () => {
    const pts = coloursToPoints(colours);
    const a = kmeans(pts, counts, 3, 50, 7);
    const b = kmeans(pts, counts, 3, 50, 7);
    expect([...a.centres]).toEqual([...b.centres]);
    const found = [0, 1, 2].map((j) => [...a.centres.subarray(j * 3, j * 3 + 3)].map((v) => Math.round((v + 1) * 127.5 * 100) / 100));
    found.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
    expect(found).toEqual([
      [2 / 3, 2 / 3, 0].map((v) => Math.round(v * 100) / 100),
      [201, 0, 0],
      [254.5, 255, 255],
    ]);
    expect(a.inertia).toBeGreaterThan(0);
  });

  it('rejects fewer distinct points than clusters', () => {
    expect(() => kmeans(new Float64Array(6), new Float64Array(2), 3, 5, 1)).toThrow(/2 distinct points for 3 clusters/);
  });
});

describe('npz', () => {
  it('writes a valid .npy header', () => {
    const b = npyBytes({ dtype: 'uint16', shape: [2, 3], data: new Uint16Array([1, 2, 3, 4, 5, 65535]) });
    expect([...b.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const hlen = b[8] | (b[9] << 8);
    expect((10 + hlen) % 64).toBe(0);
    const header = new TextDecoder().decode(b.subarray(10, 10 + hlen));
    expect(header).toMatch(/^\{'descr': '<u2', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    expect([...new Uint16Array(b.slice(10 + hlen).buffer)]).toEqual([1, 2, 3, 4, 5, 65535]);
    expect(() => npyBytes({ dtype: 'float32', shape: [4], data: new Float32Array(3) })).toThrow(/does not hold 3/);
  });

  it('zips members that inflate back to the .npy bytes', () => {
    const arr = { dtype: 'float32' as const, shape: [3], data: new Float32Array([1.5, -2, 0]) };
    const z = npzBytes({ clusters: arr });
    const dv = new DataView(z.buffer);
    expect(dv.getUint32(0, true)).toBe(0x04034b50);
    const nameLen = dv.getUint16(26, true);
    const compSize = dv.getUint32(18, true);
    expect(new TextDecoder().decode(z.subarray(30, 30 + nameLen))).toBe('clusters.npy');
    const data = inflateRawSync(z.subarray(30 + nameLen, 30 + nameLen + compSize));
    expect([...data]).toEqual([...npyBytes(arr)]);
    expect(dv.getUint32(z.length - 22, true)).toBe(0x06054b50);
  });
});
