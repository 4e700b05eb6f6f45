// A simple reference score for the held-out renders: a "left and up neighbour" counting model.
// P(token | left, up) from counts over the training tokens, interpolated with P(token | left) and
// P(token) (add-one), scored on PNGs tokenised by src/image exactly as `igpt score` does.
//   npx tsx training/baseline.ts [--data training/data] DIR...   (prints mean bits/token per folder)
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage, imageToTokens, preparePalette } from '../src/image/index.ts';

const { values: args, positionals } = parseArgs({ options: { data: { type: 'string', default: 'training/data' } }, allowPositionals: true });
const K = 512;
const W = 32;
const START = K; // context value outside the image (first row / first column)
const raw = readFileSync(join(args.data!, 'train.bin'));
const train = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
const clusters: number[][] = JSON.parse(readFileSync(join(args.data!, 'palette.json'), 'utf8')).clusters;

const uni = new Float64Array(K);
const byLeft = new Map<number, Float64Array>();
const byBoth = new Map<number, Float64Array>();
const ctx = (tokens: ArrayLike<number>, i: number) => {
  const x = i % W;
  const y = (i - x) / W;
  const left = x > 0 ? tokens[i - 1] : START;
  const up = y > 0 ? tokens[i - W] : START;
  return [left, left * (K + 1) + up] as const;
};
const bump = (m: Map<number, Float64Array>, key: number, t: number) => {
  let a = m.get(key);
  if (!a) m.set(key, (a = new Float64Array(K + 1))); // last slot: total
  a[t]++;
  a[K]++;
};
for (let img = 0; img < train.length / 1024; img++) {
  const tokens = train.subarray(img * 1024, (img + 1) * 1024);
  for (let i = 0; i < 1024; i++) {
    const [l, b] = ctx(tokens, i);
    uni[tokens[i]]++;
    bump(byLeft, l, tokens[i]);
    bump(byBoth, b, tokens[i]);
  }
}
const total = train.length;
// Witten-Bell style interpolation: weight of a context's counts = n / (n + distinct).
const distinct = (a: Float64Array) => {
  let d = 0;
  for (let t = 0; t < K; t++) if (a[t] > 0) d++;
  return d;
};
const cacheD = new Map<Float64Array, number>();
const mix = (a: Float64Array | undefined, t: number, lower: number) => {
  if (!a) return lower;
  let d = cacheD.get(a);
  if (d === undefined) cacheD.set(a, (d = distinct(a)));
  const lambda = a[K] / (a[K] + d);
  return lambda * (a[t] / a[K]) + (1 - lambda) * lower;
};
const palette = preparePalette(clusters);
for (const dir of positionals) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
  let sum = 0;
  for (const f of files) {
    const { tokens } = imageToTokens(decodeImage(readFileSync(join(dir, f)), f), palette);
    let bits = 0;
    for (let i = 0; i < 1024; i++) {
      const t = tokens[i];
      const [l, b] = ctx(tokens, i);
      const p0 = (uni[t] + 1) / (total + K);
      const p1 = mix(byLeft.get(l), t, p0);
      const p2 = mix(byBoth.get(b), t, p1);
      bits -= Math.log2(p2);
    }
    sum += bits / 1024;
  }
  console.log(`${dir}: ${files.length} images, left-and-up counting model ${(sum / files.length).toFixed(4)} bits/token`);
}
