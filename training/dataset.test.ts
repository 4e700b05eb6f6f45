import { describe, expect, it } from 'vitest';
import { inflateRawSync } from 'node:zlib';
import {
  HELD_OUT_SETS,
  TRAIN_SETS,
  compositeAndBoxDownsample,
  coloursToPoints,
  detokenize,
  fnv1a32,
  iconToSvg,
  kmeans,
  mulberry32,
  nearest,
  selectIconNames,
  splitKey,
  splitOf,
  toFloat32Values,
  tokenize,
  uniqueColours,
} from './dataset_lib.ts';
import { npyBytes, npzBytes } from './npz.ts';

describe('compositeAndBoxDownsample', () => {
  it('averages factor x factor blocks and rounds half up', () => {
    // 2x2 opaque image -> 1 pixel; channel sums 0+1+1+1=3 -> 0.75 -> 1; 10+11+12+13=46 -> 11.5 -> 12
    const rgba = new Uint8Array([0, 10, 200, 255, 1, 11, 200, 255, 1, 12, 201, 255, 1, 13, 201, 255]);
    expect([...compositeAndBoxDownsample(rgba, 2, 2)]).toEqual([1, 12, 201]);
  });

  it('composites premultiplied pixels on white', () => {
    // transparent black -> white; half-covered premultiplied red (128,0,0,128) -> (255,127,127)
    const rgba = new Uint8Array([0, 0, 0, 0, 128, 0, 0, 128]);
    const out = compositeAndBoxDownsample(new Uint8Array([...rgba, ...rgba]), 2, 1);
    expect([...out.subarray(0, 6)]).toEqual([255, 255, 255, 255, 127, 127]);
  });

  it('keeps block positions (4x4 -> 2x2)', () => {
    const size = 4;
    const rgba = new Uint8Array(size * size * 4);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const p = (y * size + x) * 4;
        rgba.set([x < 2 ? 0 : 255, y < 2 ? 0 : 255, 100, 255], p);
      }
    }
    expect([...compositeAndBoxDownsample(rgba, size, 2)]).toEqual([0, 0, 100, 255, 0, 100, 0, 255, 100, 255, 255, 100]);
  });

  it('rejects a factor that does not divide the size', () => {
    expect(() => compositeAndBoxDownsample(new Uint8Array(9 * 9 * 4), 9, 2)).toThrow(/does not divide/);
    expect(() => compositeAndBoxDownsample(new Uint8Array(10), 2, 1)).toThrow(/expected 2x2 RGBA/);
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

  it('mulberry32 is reproducible and in [0,1)', () => {
    const r1 = mulberry32(42);
    const r2 = mulberry32(42);
    for (let i = 0; i < 100; i++) {
      const v = r1();
      expect(v).toBe(r2());
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
  });
});

describe('tokenize', () => {
  const centres = toFloat32Values(new Float64Array([-1, -1, -1, 1, 1, 1, 0.2, -0.5, 0.1, 0.2, -0.5, 0.1]));

  it('takes the nearest centre, first minimum on ties, with or without a cache', () => {
    const rgb = new Uint8Array([0, 0, 0, 255, 255, 255, 153, 64, 140, 127, 127, 127]);
    const cache = new Int16Array(1 << 24).fill(-1);
    const t = tokenize(rgb, centres, cache);
    expect([...t]).toEqual([0, 1, 2, 2]); // duplicate centre 3 never wins over 2
    expect([...tokenize(rgb, centres)]).toEqual([...t]);
    expect(nearest(0, 0, 0, centres)).toBe(2);
  });

  it('detokenizes with rint(127.5*(c+1)), half to even', () => {
    // 127.5 * (0 + 1) = 127.5 -> 128 (even); 127.5 * (-1/255*... ) etc.
    const c = new Float64Array([0, -1, 1, 1 / 127.5 - 1, 0, 0]);
    expect([...detokenize(new Uint16Array([0, 1]), c)]).toEqual([128, 0, 255, 1, 128, 128]);
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
