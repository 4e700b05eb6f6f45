/**
 * The q4 variant (4-bit weight matrices through onnxruntime's MatMulNBits) of the reference
 * fixture, on wasm and on WebGPU (Dawn + SwiftShader in a child Node process): how far its bits
 * per token are from fp32 (tolerances and measured values in docs/PARITY.md), and that
 * onnxruntime reads our packing as we mean it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseManifest, pickVariant, type BundleManifest } from '../src/bundle/index.ts';
import { writeBundle } from '../src/convert/bundle.ts';
import { openCheckpoint } from '../src/convert/checkpoint.ts';
import { dequantizeQ4, quantizeQ4 } from '../src/convert/q4.ts';
import { createFolderSink } from '../src/cli/fsSink.ts';
import { SWIFTSHADER_ICD } from '../src/cli/nodeWebgpu.ts';
import { loadEngine, type OrtEngine } from '../src/engine/engine.ts';
import type { Engine } from '../src/engine/types.ts';
import { decodeImage, imageToTokens } from '../src/image/index.ts';
import { checkpointFromBundle } from './bundleCheckpoint.ts';
import { exportFixture, type Expected, FIXTURE_ATTENTION_SCALE, FIXTURE_DIR, folderFiles, maxAbsDiff, readExpected } from './fixture.ts';

/**
 * |bits/token(variant) - bits/token(fp32)| per image, on the fixture's image32 and on example
 * images under the trained default model (measured values in docs/PARITY.md).
 */
export const Q4_BITS_TOL = 0.05;
export const FP16_BITS_TOL = 1e-3;

let expected: Expected;
let dir: string;
let manifest: BundleManifest;
const engines: Partial<Record<'fp32' | 'fp16' | 'q4', Engine & OrtEngine>> = {};
const bits: Partial<Record<'fp32' | 'fp16' | 'q4', number>> = {};

beforeAll(async () => {
  expected = await readExpected();
  dir = await exportFixture({ dtypes: ['fp32', 'fp16', 'q4'] });
  manifest = parseManifest(await readFile(join(dir, 'igpt.json'), 'utf8'));
  for (const dtype of ['fp32', 'fp16', 'q4'] as const) {
    const engine = await loadEngine({ kind: 'files', files: await folderFiles(dir), label: dir }, { backend: 'wasm', dtype });
    engines[dtype] = engine;
    bits[dtype] = (await engine.score([expected.image32_tokens]))[0].bitsPerToken;
  }
});

describe('q4 variant', () => {
  it('is written as model.q4.onnx with MatMulNBits for the four weight matrices of each layer', async () => {
    const q4 = manifest.variants.find((v) => v.dtype === 'q4')!;
    const fp32 = manifest.variants.find((v) => v.dtype === 'fp32')!;
    expect(q4.graph).toBe('model.q4.onnx');
    expect(q4.quantization).toEqual({ op: 'MatMulNBits', bits: 4, blockSize: 32, symmetric: false });
    expect(q4.nodesPerLayer).toBe(fp32.nodesPerLayer);
    expect(q4.files[0].bytes).toBeLessThan(fp32.files[0].bytes);
    const model = onnxProto.onnx.ModelProto.decode(await readFile(join(dir, 'model.q4.onnx')));
    const nbits = model.graph!.node!.filter((n) => n.opType === 'MatMulNBits');
    expect(nbits.map((n) => n.name)).toEqual([0, 1].flatMap((i) => ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map((w) => `h.${i}.${w}`)));
    const attrs = Object.fromEntries(nbits[3].attribute!.map((a) => [a.name, Number(a.i)]));
    expect(attrs).toEqual({ K: 128, N: 32, bits: 4, block_size: 32 }); // mlp.c_proj: [4d, d]
    expect(nbits[0].input).toEqual(['h.0.ln_1.out', 'h.0.attn.c_attn.weight.q4', 'h.0.attn.c_attn.weight.scales', 'h.0.attn.c_attn.weight.zero_points']);
    const init = (name: string) => model.graph!.initializer!.find((t) => t.name === name)!;
    expect(init('h.0.mlp.c_proj.weight.q4').dims!.map(Number)).toEqual([32, 4, 16]);
    expect(init('h.0.mlp.c_proj.weight.scales').dims!.map(Number)).toEqual([32, 4]);
    expect(init('h.0.mlp.c_proj.weight.zero_points').dims!.map(Number)).toEqual([32, 2]);
    expect(model.graph!.node!.filter((n) => n.opType === 'MatMul').map((n) => n.name)).toEqual(['lm_head']);
  });

  it("is never picked by 'auto' unless it is the only variant", () => {
    expect(pickVariant(manifest, 'auto', false).dtype).toBe('fp32');
    expect(pickVariant(manifest, 'auto', true).dtype).toBe('fp16');
    expect(pickVariant({ ...manifest, variants: manifest.variants.filter((v) => v.dtype !== 'fp32') }, 'auto', false).dtype).toBe('fp16');
    expect(pickVariant({ ...manifest, variants: manifest.variants.filter((v) => v.dtype === 'q4') }, 'auto', true).dtype).toBe('q4');
    expect(pickVariant(manifest, 'q4', false).dtype).toBe('q4');
  });

  it('onnxruntime reads the packing as meant: q4 logits = fp32 logits of the dequantised weights', async () => {
    const ckpt = await openCheckpoint(await folderFiles(FIXTURE_DIR));
    const tensors = new Map(ckpt.tensors);
    for (const [name, t] of ckpt.tensors) {
      if (!/^h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/.test(name)) continue;
      const [K, N] = t.shape;
      tensors.set(name, { ...t, read: async () => dequantizeQ4(quantizeQ4(await t.read(), K, N, 'kn', false)) });
    }
    const out = join(await mkdtemp(join(tmpdir(), 'igpt-q4-')), 'dequantised');
    await writeBundle({ ...ckpt, tensors }, await createFolderSink(out), { name: 'dq', dtypes: ['fp32'], source: 'test', attentionScale: FIXTURE_ATTENTION_SCALE });
    const dq = await loadEngine({ kind: 'files', files: await folderFiles(out), label: out }, { backend: 'wasm' });
    const a = await dq.logits(expected.batch_input_ids);
    const b = await engines.q4!.logits(expected.batch_input_ids);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);
    // ... while q4 is far from the unquantised model's logits
    expect(maxAbsDiff(b, expected.batch_logits.flat(2))).toBeGreaterThan(0.05);
    await dq.dispose();
  });

  it('wasm: bits per token within the stated tolerances of fp32 (q4 0.05, fp16 0.001)', () => {
    expect(Math.abs(bits.fp32! - expected.image32_bits_per_token)).toBeLessThan(1e-4);
    const dq4 = bits.q4! - bits.fp32!;
    const dfp16 = bits.fp16! - bits.fp32!;
    console.log(`bits/token: fp32 ${bits.fp32}, fp16 ${bits.fp16} (${dfp16}), q4 ${bits.q4} (${dq4})`);
    expect(Math.abs(dq4)).toBeLessThan(Q4_BITS_TOL);
    expect(Math.abs(dq4)).toBeGreaterThan(1e-4); // it is quantised
    expect(Math.abs(dfp16)).toBeLessThan(FP16_BITS_TOL);
  });

  it('a symmetric q4 export (no zero points) also runs, and is further from fp32 than the asymmetric one', async () => {
    const sym = await exportFixture({ dtypes: ['q4'], q4Symmetric: true });
    const m = parseManifest(await readFile(join(sym, 'igpt.json'), 'utf8'));
    expect(m.variants[0].quantization?.symmetric).toBe(true);
    const model = onnxProto.onnx.ModelProto.decode(await readFile(join(sym, 'model.q4.onnx')));
    expect(model.graph!.node!.find((n) => n.opType === 'MatMulNBits')!.input).toHaveLength(3);
    const engine = await loadEngine({ kind: 'files', files: await folderFiles(sym), label: sym }, { backend: 'wasm' });
    expect(engine.info.dtype).toBe('q4'); // the only variant
    const [s] = await engine.score([expected.image32_tokens]);
    expect(Math.abs(s.bitsPerToken - bits.fp32!)).toBeLessThan(Q4_BITS_TOL);
    expect(Math.abs(s.bitsPerToken - bits.fp32!)).toBeGreaterThan(Math.abs(bits.q4! - bits.fp32!));
    await engine.dispose();
  });
});

describe('q4 of a trained model (models/default, read back from its ONNX graph)', () => {
  it('scores example images within the q4 tolerance of fp32', async () => {
    const { ckpt, manifest: m } = await checkpointFromBundle(fileURLToPath(new URL('../models/default/', import.meta.url)));
    const out = join(await mkdtemp(join(tmpdir(), 'igpt-q4-default-')), 'bundle');
    await writeBundle(ckpt, await createFolderSink(out), { name: 'default-q4', dtypes: ['fp32', 'q4'], source: 'models/default', attentionScale: m.config.attentionScale });
    const images = await Promise.all(
      ['red-apple.png', 'sunset.png'].map(async (f) => {
        const bytes = new Uint8Array(await readFile(fileURLToPath(new URL(`../public/examples/${f}`, import.meta.url))));
        return imageToTokens(decodeImage(bytes, f), m.palette.clusters).tokens;
      }),
    );
    const scores: Record<string, number[]> = {};
    for (const dtype of ['fp32', 'q4'] as const) {
      const engine = await loadEngine({ kind: 'files', files: await folderFiles(out), label: out }, { backend: 'wasm', dtype });
      scores[dtype] = (await engine.score(images)).map((s) => s.bitsPerToken);
      await engine.dispose();
    }
    console.log(`default model bits/token: fp32 ${scores.fp32.join(', ')}; q4 ${scores.q4.join(', ')}`);
    scores.q4.forEach((b, i) => {
      expect(Math.abs(b - scores.fp32[i])).toBeLessThan(Q4_BITS_TOL);
      expect(b).not.toBe(scores.fp32[i]);
    });
  }, 600_000);
});

describe('q4 on WebGPU (Dawn in Node)', () => {
  const swiftshader = existsSync(SWIFTSHADER_ICD);
  it.skipIf(!swiftshader)(
    'runs every node on the GPU and gives the wasm bits per token',
    () => {
      const root = fileURLToPath(new URL('../', import.meta.url));
      const script = `
        import { readFileSync } from 'node:fs';
        import * as ort from 'onnxruntime-web/webgpu';
        import { setupNodeWebGPU } from ${JSON.stringify(join(root, 'src/cli/nodeWebgpu.ts'))};
        import { loadEngine } from ${JSON.stringify(join(root, 'src/engine/engine.ts'))};
        import { folderFiles } from ${JSON.stringify(join(root, 'test/fixture.ts'))};
        const dir = ${JSON.stringify(dir)};
        if (!(await setupNodeWebGPU((r) => console.log('no webgpu:', r)))) process.exit(3);
        // Node placement, from onnxruntime's verbose session log.
        const session = await ort.InferenceSession.create(readFileSync(dir + '/model.q4.onnx'), { executionProviders: ['webgpu'], logSeverityLevel: 0, logVerbosityLevel: 0 });
        await session.release();
        const engine = await loadEngine({ kind: 'files', files: await folderFiles(dir), label: dir }, { backend: 'webgpu', dtype: 'q4' });
        const tokens = JSON.parse(readFileSync(${JSON.stringify(join(FIXTURE_DIR, 'expected.json'))}, 'utf8')).image32_tokens;
        const [score] = await engine.score([tokens]);
        console.log('RESULT ' + JSON.stringify({ backend: engine.info.backend, dtype: engine.info.dtype, bits: score.bitsPerToken }));
        process.exit(0);`;
      const env = { ...process.env, LD_LIBRARY_PATH: '/usr/lib/chromium', VK_ICD_FILENAMES: SWIFTSHADER_ICD };
      const r = spawnSync(process.execPath, ['--liftoff-only', '--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        env,
        cwd: root,
        timeout: 540_000,
        maxBuffer: 64 << 20,
      });
      const out = `${r.stdout}\n${r.stderr}`;
      expect(r.status, out.slice(-3000)).toBe(0);
      const placement = out.split('\n').filter((l) => /VerifyEachNodeIsAssignedToAnEp|placed on \[/.test(l));
      console.log(placement.join('\n'));
      expect(out).toMatch(/All nodes placed on \[WebGpuExecutionProvider\]/);
      expect(out).not.toMatch(/placed on \[CPUExecutionProvider\]/);
      const result = JSON.parse(out.split('\n').find((l) => l.startsWith('RESULT '))!.slice(7));
      expect(result).toMatchObject({ backend: 'webgpu', dtype: 'q4' });
      expect(Math.abs(result.bits - bits.q4!)).toBeLessThan(1e-4);
      expect(Math.abs(result.bits - bits.fp32!)).toBeLessThan(Q4_BITS_TOL);
    },
    600_000,
  );
});
