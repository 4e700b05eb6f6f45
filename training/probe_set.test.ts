import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { decodeImage, imageToTokens } from '../src/image/index.ts';
import { parseProbeSet, probeSetTokens, type ProbeSetIndex } from '../src/probe/probeSet.ts';
import { selectProbeItems, toneBase, type SetCatalogue } from './probe_set_lib.ts';
import { loadIconSet, renderIcon } from './render.ts';

describe('probe set selection', () => {
  it('recognises skin-tone variants only when the base icon exists', () => {
    const icons = new Set(['artist', 'artist-dark-skin-tone', 'artist-medium-light', 'black-medium-square', 'handshake', 'handshake-light-skin-tone-dark-skin-tone']);
    expect(toneBase('artist-dark-skin-tone', icons)).toBe('artist');
    expect(toneBase('artist-medium-light', icons)).toBe('artist');
    expect(toneBase('handshake-light-skin-tone-dark-skin-tone', icons)).toBe('handshake');
    expect(toneBase('black-medium-square', icons)).toBeNull();
    expect(toneBase('artist', icons)).toBeNull();
  });

  it('takes whole groups across sets up to the cap, without tones, deterministically', () => {
    const names = Array.from({ length: 10 }, (_, i) => `thing-${i}`);
    const cat = (set: string, extra: string[] = []): SetCatalogue => ({
      set,
      icons: new Set([...names, 'face', 'face-dark', ...extra]),
      categories: { Objects: names, People: ['face', 'face-dark'] },
    });
    const catalogues = [cat('a'), cat('b', ['only-b']), cat('c')];
    const one = selectProbeItems(catalogues, { perClass: 7, seed: 1 });
    expect(one.classes).toEqual(['Objects', 'People']);
    const objects = one.items.filter((x) => x.label === 0);
    expect(objects.length).toBe(9); // three groups of three: whole groups until >= 7
    expect(new Set(objects.map((x) => x.group)).size).toBe(3);
    expect(one.items.filter((x) => x.label === 1).map((x) => `${x.set}:${x.name}`)).toEqual(['a:face', 'b:face', 'c:face']);
    expect(selectProbeItems(catalogues, { perClass: 7, seed: 1 })).toEqual(one);
    expect(selectProbeItems(catalogues, { perClass: 7, seed: 2 }).items).not.toEqual(one.items);
  });
});

describe('the shipped emoji set', () => {
  it('holds, for a few icons, the pixels an upload of their 128 px render is tokenised from', () => {
    const dir = fileURLToPath(new URL('../public/probe/', import.meta.url));
    const index = JSON.parse(readFileSync(dir + 'emoji.json', 'utf8')) as ProbeSetIndex;
    const set = parseProbeSet(index, new Uint8Array(readFileSync(dir + index.sheet)));
    const clusters = (JSON.parse(readFileSync(fileURLToPath(new URL('../models/default/igpt.json', import.meta.url)), 'utf8')) as { palette: { clusters: number[][] } }).palette.clusters;
    const size = index.build.renderSize as number;
    for (const i of [0, 700, 1400, set.count - 1]) {
      const [iconSet, name] = set.items[i].split(':');
      const rgba = renderIcon(loadIconSet(iconSet), name, size);
      const upload = encodePng({ width: size, height: size, data: rgba, channels: 4, depth: 8 });
      const fromUpload = imageToTokens(decodeImage(upload, name), clusters).tokens;
      const [fromSet] = probeSetTokens({ rgb: set.rgb.subarray(i * 3072, (i + 1) * 3072), count: 1 }, clusters);
      expect(Array.from(fromSet), set.items[i]).toEqual(Array.from(fromUpload));
    }
  });
});
