// Build the emoji dataset for the default iGPT model.
//   npx tsx training/build_dataset.ts [--out training/data] [--limit N] [--workers N]
// Renders the training icon sets (never the held-out ones) at 128x128 on white, brings them to
// 32x32 with the app's own image pipeline (src/image), learns a 512-colour palette with k-means,
// and tokenises with src/image's quantiser (the same code as an upload in the app).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encode as encodePng } from 'fast-png';
import { Rng } from '../src/engine/rng.ts';
import { dequantize, preparePalette, quantize } from '../src/image/index.ts';
import {
  HELD_OUT_SETS,
  IMAGE_SIZE,
  PALETTE_SIZE,
  SEQ_LEN,
  TRAIN_SETS,
  coloursToPoints,
  kmeans,
  selectIconNames,
  splitOf,
  toFloat32Values,
  uniqueColours,
} from './dataset_lib.ts';
import { npzBytes } from './npz.ts';
import { renderAll } from './render_pool.ts';
import { loadIconSet } from './render.ts';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'training/data' },
    limit: { type: 'string' }, // icons per set, for quick runs
    workers: { type: 'string', default: String(Math.max(1, cpus().length)) },
    'render-size': { type: 'string', default: '128' },
    'sample-pixels': { type: 'string', default: '4000000' },
    'kmeans-iters': { type: 'string', default: '40' },
    seed: { type: 'string', default: '1234' },
    'val-per-mille': { type: 'string', default: '50' },
  },
});

const require = createRequire(import.meta.url);
const out = args.out!;
const renderSize = Number(args['render-size']);
const seed = Number(args.seed);
const limit = args.limit ? Number(args.limit) : Infinity;
const valPerMille = Number(args['val-per-mille']);
for (const s of TRAIN_SETS) {
  if ((HELD_OUT_SETS as readonly string[]).includes(s)) throw new Error(`held-out set ${s} listed for training`);
}
mkdirSync(out, { recursive: true });

const t0 = performance.now();
const jobs = TRAIN_SETS.map((set) => ({ set, names: selectIconNames(set, loadIconSet(set)).slice(0, limit) }));
console.log(`rendering ${jobs.reduce((a, j) => a + j.names.length, 0)} icons from ${TRAIN_SETS.join(', ')}`);
let lastLog = 0;
const results = await renderAll(jobs, {
  workers: Number(args.workers),
  batchSize: 128,
  renderSize,
  onProgress: (done, total) => {
    if (performance.now() - lastLog > 5000 || done === total) {
      lastLog = performance.now();
      console.log(`  rendered ${done}/${total}`);
    }
  },
});
const tRender = (performance.now() - t0) / 1000;

interface Item {
  set: string;
  name: string;
  rgb: Uint8Array;
}
const split: Record<'train' | 'val', Item[]> = { train: [], val: [] };
const perSet: Record<string, unknown> = {};
for (const { set, names } of jobs) {
  const info = JSON.parse(readFileSync(require.resolve(`@iconify-json/${set}/info.json`), 'utf8'));
  const pkg = JSON.parse(readFileSync(require.resolve(`@iconify-json/${set}/package.json`), 'utf8'));
  const failed: { name: string; error: string }[] = [];
  const counts = { train: 0, val: 0 };
  for (const name of names) {
    const r = results.get(`${set}:${name}`)!;
    if (!r.rgb) {
      failed.push({ name, error: r.error ?? 'unknown' });
      continue;
    }
    const s = splitOf(name, valPerMille);
    split[s].push({ set, name, rgb: r.rgb });
    counts[s]++;
  }
  perSet[set] = {
    package: `@iconify-json/${set}@${pkg.version}`,
    name: info.name,
    author: info.author,
    license: info.license,
    icons: names.length,
    rendered: names.length - failed.length,
    failed: failed.length,
    failures: failed,
    train: counts.train,
    val: counts.val,
  };
  console.log(`${set}: rendered ${names.length - failed.length}, failed ${failed.length} (train ${counts.train}, val ${counts.val})`);
}

// Palette: k-means on (a seeded subsample of) the training pixels, deduplicated with counts.
const t1 = performance.now();
const totalPixels = split.train.length * SEQ_LEN;
const samplePixels = Math.min(totalPixels, Number(args['sample-pixels']));
const sample = new Uint8Array(samplePixels * 3);
{
  const rng = new Rng(seed);
  const rand = () => rng.nextFloat();
  const all = samplePixels === totalPixels;
  for (let s = 0; s < samplePixels; s++) {
    const p = all ? s : Math.floor(rand() * totalPixels);
    const img = split.train[Math.floor(p / SEQ_LEN)].rgb;
    const q = (p % SEQ_LEN) * 3;
    sample[s * 3] = img[q];
    sample[s * 3 + 1] = img[q + 1];
    sample[s * 3 + 2] = img[q + 2];
  }
}
const { colours, counts } = uniqueColours(sample);
const km = kmeans(coloursToPoints(colours), counts, PALETTE_SIZE, Number(args['kmeans-iters']), seed);
const centres = toFloat32Values(km.centres);
const tPalette = (performance.now() - t1) / 1000;
console.log(
  `palette: ${samplePixels} sampled pixels, ${colours.length} distinct colours, ${km.iterations} iterations, ` +
    `inertia/pixel ${(km.inertia / samplePixels).toExponential(3)}, ${tPalette.toFixed(1)} s`,
);

// Tokenize with the app's quantiser (src/image), against the palette as the bundle will carry it.
const clusters: number[][] = [];
for (let j = 0; j < PALETTE_SIZE; j++) clusters.push([centres[j * 3], centres[j * 3 + 1], centres[j * 3 + 2]]);
const palette = preparePalette(clusters);
const toTokens = (items: Item[]) => {
  const tokens = new Uint16Array(items.length * SEQ_LEN);
  items.forEach((it, i) => tokens.set(quantize(it.rgb, palette), i * SEQ_LEN));
  return tokens;
};
const train = toTokens(split.train);
const val = toTokens(split.val);

// Mean squared quantisation error of the training pixels, in [-1,1] units.
let qerr = 0;
for (let i = 0; i < train.length; i++) {
  const img = split.train[Math.floor(i / SEQ_LEN)].rgb;
  const q = (i % SEQ_LEN) * 3;
  for (let c = 0; c < 3; c++) qerr += (img[q + c] / 127.5 - 1 - centres[train[i] * 3 + c]) ** 2;
}
qerr /= train.length * 3;

const u8 = (a: Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
writeFileSync(join(out, 'train.bin'), u8(train));
writeFileSync(join(out, 'val.bin'), u8(val));
writeFileSync(join(out, 'palette.json'), JSON.stringify({ clusters }));
writeFileSync(
  join(out, 'index.json'),
  JSON.stringify({ train: split.train.map((i) => `${i.set}:${i.name}`), val: split.val.map((i) => `${i.set}:${i.name}`) }),
);
const npz = npzBytes({
  train: { dtype: 'uint16', shape: [split.train.length, SEQ_LEN], data: train },
  val: { dtype: 'uint16', shape: [split.val.length, SEQ_LEN], data: val },
  clusters: { dtype: 'float32', shape: [PALETTE_SIZE, 3], data: Float32Array.from(centres) },
});
writeFileSync(join(out, 'dataset.npz'), npz);

// A preview sheet: the first 16x16 training images after quantisation, plus the palette.
{
  const cols = 16;
  const rows = Math.min(16, Math.ceil(split.train.length / cols));
  const w = cols * IMAGE_SIZE;
  const h = rows * IMAGE_SIZE + (PALETTE_SIZE / 128) * 4;
  const sheet = new Uint8Array(w * h * 3).fill(255);
  const step = Math.max(1, Math.floor(split.train.length / (cols * rows)));
  for (let k = 0; k < cols * rows && k * step < split.train.length; k++) {
    const rgb = dequantize(train.subarray(k * step * SEQ_LEN, (k * step + 1) * SEQ_LEN), clusters);
    const ox = (k % cols) * IMAGE_SIZE;
    const oy = Math.floor(k / cols) * IMAGE_SIZE;
    for (let y = 0; y < IMAGE_SIZE; y++) sheet.set(rgb.subarray(y * IMAGE_SIZE * 3, (y + 1) * IMAGE_SIZE * 3), ((oy + y) * w + ox) * 3);
  }
  const pal = dequantize(Uint16Array.from({ length: PALETTE_SIZE }, (_, i) => i), clusters);
  for (let j = 0; j < PALETTE_SIZE; j++) {
    const ox = (j % 128) * 4;
    const oy = rows * IMAGE_SIZE + Math.floor(j / 128) * 4;
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) sheet.set(pal.subarray(j * 3, j * 3 + 3), ((oy + y) * w + ox + x) * 3);
  }
  writeFileSync(join(out, 'preview.png'), encodePng({ width: w, height: h, data: sheet, channels: 3, depth: 8 }));
}

const stats = {
  created: new Date().toISOString(),
  renderSize,
  resize: 'src/image resizeTo32 (torch flavour, antialiased bilinear)',
  imageSize: IMAGE_SIZE,
  valPerMille,
  seed,
  heldOutSets: HELD_OUT_SETS,
  sets: perSet,
  images: { train: split.train.length, val: split.val.length },
  tokens: { train: train.length, val: val.length },
  palette: {
    k: PALETTE_SIZE,
    sampledPixels: samplePixels,
    distinctColours: colours.length,
    iterations: km.iterations,
    inertiaPerSampledPixel: km.inertia / samplePixels,
    trainQuantisationMse: qerr,
    seconds: tPalette,
  },
  renderSeconds: tRender,
  files: { 'dataset.npz': npz.length, 'train.bin': train.byteLength, 'val.bin': val.byteLength },
};
writeFileSync(join(out, 'stats.json'), JSON.stringify(stats, null, 2));
console.log(
  `train ${split.train.length} images, val ${split.val.length}; dataset.npz ${(npz.length / 2 ** 20).toFixed(2)} MiB; ` +
    `total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
