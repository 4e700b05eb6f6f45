import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { buildSheet, parseProbeSet, probeSetTokens, type ProbeSetIndex } from './probeSet.ts';

const clusters = Array.from({ length: 512 }, (_, i) => [((i >> 6) & 7) / 3.5 - 1, ((i >> 3) & 7) / 3.5 - 1, (i & 7) / 3.5 - 1]);

describe('probe sets', () => {
  it('a sheet round-trips through PNG: pixels and tokens per image', () => {
    const count = 5;
    const rgb = new Uint8Array(count * 3072);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 31 + Math.floor(i / 3072) * 7) & 255;
    const sheet = buildSheet(rgb, count, 2);
    expect([sheet.width, sheet.height]).toEqual([64, 96]);
    const index: ProbeSetIndex = {
      format: 'igpt-probe-set',
      version: 1,
      name: 't',
      description: '',
      sheet: 't.png',
      columns: 2,
      count,
      classes: ['a', 'b'],
      labels: [0, 1, 0, 1, 1],
      groups: ['1', '2', '3', '4', '5'],
      items: ['s:1', 's:2', 's:3', 's:4', 's:5'],
      sources: {},
      build: {},
    };
    const set = parseProbeSet(index, encode({ width: sheet.width, height: sheet.height, data: sheet.data, channels: 3, depth: 8 }));
    expect(set.rgb).toEqual(rgb);
    expect(Array.from(set.labels)).toEqual([0, 1, 0, 1, 1]);
    const tokens = probeSetTokens(set, clusters);
    expect(tokens).toHaveLength(5);
    expect(tokens[4].length).toBe(1024);
    expect(() => parseProbeSet({ ...index, labels: [0, 1, 2, 0, 0] }, new Uint8Array())).toThrow(/labels must be class indices/);
    expect(() => parseProbeSet({ ...index, count: 9 }, new Uint8Array())).toThrow(/labels must have 9 entries/);
  });

  it('the shipped emoji set: 9 emoji groups of about 200 images, sources and licences recorded', () => {
    const dir = fileURLToPath(new URL('../../public/probe/', import.meta.url));
    const index = JSON.parse(readFileSync(dir + 'emoji.json', 'utf8')) as ProbeSetIndex;
    const set = parseProbeSet(index, new Uint8Array(readFileSync(dir + index.sheet)), 'emoji');
    expect(set.classes.length).toBeGreaterThanOrEqual(6);
    for (let c = 0; c < set.classes.length; c++) expect(set.labels.filter((l) => l === c).length).toBeGreaterThanOrEqual(150);
    for (const item of set.items) expect(Object.keys(index.sources)).toContain(item.split(':')[0]);
    expect(Object.values(index.sources).map((s) => s.licence).sort()).toEqual(['Apache-2.0', 'CC-BY-4.0', 'MIT']);
    expect(Object.values(index.sources).reduce((n, s) => n + s.images, 0)).toBe(set.count);
  });
});
