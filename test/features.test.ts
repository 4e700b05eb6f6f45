/**
 * The features graph (src/convert/features.ts) against a plain TypeScript forward pass of the
 * reference fixture (test/referenceForward.ts), through onnxruntime-web's wasm backend: the bundle's
 * own model.features.onnx and the graph built from model.onnx. Tolerance 1e-4 absolute.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/convert/checkpoint.ts';
import { FEATURES_GRAPH_FILE, featuresInput } from '../src/convert/features.ts';
import { attentionScaleFor } from '../src/convert/graph.ts';
import { Rng } from '../src/engine/rng.ts';
import { featuresEntry, openFeatureExtractor, type FeatureExtractor } from '../src/probe/features.ts';
import { validateManifest, type BundleManifest } from '../src/bundle/index.ts';
import { exportFixture, type Expected, FIXTURE_ATTENTION_SCALE, FIXTURE_DIR, folderFiles, maxAbsDiff, readExpected } from './fixture.ts';
import { referenceFeatures, referenceLogits, referenceResiduals, referenceWeights, type ReferenceWeights } from './referenceForward.ts';

const TOL = 1e-4;
let expected: Expected;
let scale: number;
let weights: ReferenceWeights;
let images: number[][];
let reference: Float64Array[];
let withFeatures: string;
let withoutFeatures: string;

beforeAll(async () => {
  expected = await readExpected();
  const ckpt = await openCheckpoint(await folderFiles(FIXTURE_DIR));
  weights = await referenceWeights(ckpt);
  // The fixture was exported from transformers, whose attention scale is 1/int(sqrt(head_dim)).
  scale = attentionScaleFor(FIXTURE_ATTENTION_SCALE, ckpt.config.nEmbd, ckpt.config.nHead).scale;
  const rng = new Rng(5);
  images = [expected.image32_tokens, expected.image_odd_tokens, Array.from({ length: 1024 }, () => Math.floor(rng.nextFloat() * 512))];
  reference = images.map((img) => referenceFeatures(weights, referenceResiduals(weights, featuresInput(img), scale)));
  withFeatures = await exportFixture({ features: true });
  withoutFeatures = await exportFixture();
});

describe('reference forward pass', () => {
  it('reproduces the fixture logits (so it can be trusted as the reference)', () => {
    const residuals = referenceResiduals(weights, expected.full_input_ids, scale);
    expected.full_logits_positions.forEach((p, j) => {
      expect(maxAbsDiff(referenceLogits(weights, residuals, p), expected.full_logits[j])).toBeLessThan(TOL);
    });
  });
});

describe('features graph', () => {
  const open = async (dir: string) => openFeatureExtractor({ kind: 'files', files: await folderFiles(dir), label: dir }, { backend: 'wasm' });

  it('export --features lists model.features.onnx in igpt.json; bundles without it still validate', async () => {
    const manifest = validateManifest(JSON.parse(await readFile(join(withFeatures, 'igpt.json'), 'utf8'))) as BundleManifest;
    const entry = featuresEntry(manifest)!;
    expect(entry).toMatchObject({ graph: FEATURES_GRAPH_FILE, io: { inputIds: 'input_ids', features: 'features' }, layers: 3, sequenceLength: 1024 });
    expect(entry.files.map((f) => f.path)).toEqual([FEATURES_GRAPH_FILE]);
    expect(entry.files[0].bytes).toBe((await readFile(join(withFeatures, FEATURES_GRAPH_FILE))).length);
    const plain = validateManifest(JSON.parse(await readFile(join(withoutFeatures, 'igpt.json'), 'utf8')));
    expect(featuresEntry(plain)).toBeNull();
    expect(() => featuresEntry({ ...manifest, features: { ...entry, layers: 2 } })).toThrow(/invalid "features" entry/);
  });

  for (const [label, dir] of [
    ['model.features.onnx of the bundle', () => withFeatures],
    ['the graph built from model.onnx', () => withoutFeatures],
  ] as const) {
    it(`${label}: features of 3 images, batched, equal the direct computation within 1e-4`, async () => {
      const fx: FeatureExtractor = await open(dir());
      try {
        expect(fx.graphSource).toBe(label.startsWith('model.features') ? 'bundle' : 'decoder');
        expect([fx.layers, fx.width]).toEqual([3, 32]);
        const progress: number[] = [];
        const result = await fx.extract(images, { batchSize: 2, onProgress: (done) => progress.push(done) });
        expect(result).toMatchObject({ done: 3, aborted: false });
        expect(progress).toEqual([2, 3]);
        expect(result.features.length).toBe(3 * 3 * 32);
        images.forEach((_, i) => {
          expect(maxAbsDiff(result.features.subarray(i * 96, (i + 1) * 96), reference[i])).toBeLessThan(TOL);
        });
        // Layers differ from one another (the pooling is per layer, not one stream repeated).
        expect(maxAbsDiff(result.features.subarray(0, 32), result.features.subarray(64, 96))).toBeGreaterThan(1e-2);
      } finally {
        await fx.dispose();
      }
    });
  }

  it('weights in external data files: the bundle graph with model.features.onnx.data, and the graph built from model.onnx.data', async () => {
    for (const features of [true, false]) {
      const dir = await exportFixture({ features, externalDataThreshold: 1 });
      const manifest = validateManifest(JSON.parse(await readFile(join(dir, 'igpt.json'), 'utf8')));
      expect(manifest.variants[0].files.map((f) => f.path)).toEqual(['model.onnx', 'model.onnx.data']);
      if (features) expect(featuresEntry(manifest)!.files.map((f) => f.path)).toEqual([FEATURES_GRAPH_FILE, `${FEATURES_GRAPH_FILE}.data`]);
      const fx = await open(dir);
      try {
        const result = await fx.extract(images.slice(0, 1));
        expect(maxAbsDiff(result.features, reference[0])).toBeLessThan(TOL);
      } finally {
        await fx.dispose();
      }
    }
  });

  it('stops between batches when aborted, returning the images done', async () => {
    const fx = await open(withFeatures);
    try {
      const controller = new AbortController();
      const result = await fx.extract(images, { batchSize: 1, signal: controller.signal, onProgress: () => controller.abort() });
      expect(result).toMatchObject({ done: 1, aborted: true });
      expect(maxAbsDiff(result.features, reference[0])).toBeLessThan(TOL);
      await expect(fx.extract([[1, 2, 3]])).rejects.toThrow(/has 3 tokens, expected 1024/);
    } finally {
      await fx.dispose();
    }
  });
});
