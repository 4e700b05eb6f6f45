import { encode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { decodeImage, imageToTokens } from '../image/index.ts';
import { readLabelledImages, relativeToDataFolder } from './folder.ts';

const clusters = Array.from({ length: 512 }, (_, i) => [((i >> 6) & 7) / 3.5 - 1, ((i >> 3) & 7) / 3.5 - 1, (i & 7) / 3.5 - 1]);

function png(rgb: [number, number, number], size = 8): Uint8Array {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) data.set(rgb, i * 3);
  return encode({ width: size, height: size, data, channels: 3, depth: 8 });
}

describe('readLabelledImages', () => {
  const entries = [
    { path: 'red/b.png', bytes: png([255, 0, 0]) },
    { path: 'red/a.png', bytes: png([250, 10, 0], 13) },
    { path: 'blue/x/deep.PNG', bytes: png([0, 0, 255]) },
    { path: 'blue/broken.png', bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]) },
    { path: 'blue/notes.txt', bytes: new TextEncoder().encode('hello') },
    { path: 'loose.png', bytes: png([0, 255, 0]) },
  ];

  it('labels images by their top folder (classes sorted), tokenised as an upload', () => {
    const data = readLabelledImages(entries, clusters);
    expect(data.classes).toEqual(['blue', 'red']);
    expect(data.paths).toEqual(['blue/x/deep.PNG', 'red/a.png', 'red/b.png']);
    expect(Array.from(data.labels)).toEqual([0, 1, 1]);
    const upload = imageToTokens(decodeImage(entries[1].bytes, 'a.png'), clusters).tokens;
    expect(Array.from(data.tokens[1])).toEqual(Array.from(upload));
    expect(data.tokens[0].length).toBe(1024);
  });

  it('lists bad and skipped files without stopping', () => {
    const data = readLabelledImages(entries, clusters);
    expect(data.bad.map((b) => b.path)).toEqual(['blue/broken.png']);
    expect(data.bad[0].problem).toMatch(/PNG/);
    expect(data.skipped).toEqual([
      { path: 'blue/notes.txt', reason: 'not a .png, .jpg or .jpeg file' },
      { path: 'loose.png', reason: 'not inside a class sub-folder' },
    ]);
  });

  it('needs two classes with readable images', () => {
    expect(() => readLabelledImages(entries.filter((e) => e.path.startsWith('red/')), clusters, 'my-folder')).toThrow(/my-folder: needs at least 2 class sub-folders.*found 1 \(red\)/);
  });
});

describe('relativeToDataFolder', () => {
  it('drops the picked folder itself, keeps paths that start at the class folders', () => {
    expect(relativeToDataFolder([{ path: 'set/cats/1.png' }, { path: 'set/dogs/2.png' }]).map((e) => e.path)).toEqual(['cats/1.png', 'dogs/2.png']);
    expect(relativeToDataFolder([{ path: 'cats/1.png' }, { path: 'dogs/2.png' }]).map((e) => e.path)).toEqual(['cats/1.png', 'dogs/2.png']);
    expect(relativeToDataFolder([{ path: 'set/cats/1.png' }, { path: 'other/dogs/2.png' }]).map((e) => e.path)).toEqual(['set/cats/1.png', 'other/dogs/2.png']);
  });
});
