import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManifest, variantBytes, type BundleManifest, type BundleVariant, type WeightDType } from '../bundle/index.ts';
import { checkFit, estimateWeightBytes, GIB, largestTensor, maxBatch, misfits, needsFor, WASM_WEIGHT_BUDGET } from './adapterFit.ts';
import { fitBackend } from './engine.ts';

const shipped = parseManifest(readFileSync('models/default/igpt.json', 'utf8'));

/** The shipped manifest with another shape, holding variants of the given sizes (as igpt export would list them). */
function model(nLayer: number, nEmbd: number, variants: [WeightDType, number][]): BundleManifest {
  const vs: BundleVariant[] = variants.map(([dtype, bytes]) => ({ dtype, files: [{ path: `model_${dtype}.onnx`, bytes, sha256: '0'.repeat(64) }], graph: `model_${dtype}.onnx`, nodesPerLayer: 10, nodeCount: 10 * nLayer }));
  return { ...shipped, name: `imagegpt-${nEmbd}`, config: { ...shipped.config, nLayer, nEmbd, nInner: 4 * nEmbd, nHead: nEmbd / 64 }, variants: vs };
}

/** iGPT-L's shape (48 layers, width 1536) and iGPT-M's (36, 1024). */
const L = model(48, 1536, [['fp32', 5_440_000_000]]);
const M = model(36, 1024, [['fp32', 1_610_000_000]]);
const DEFAULT_LIMITS = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };

describe('sizes from the shape', () => {
  it('estimates the weights of the shipped bundle to within its graph overhead', () => {
    const real = variantBytes(shipped.variants[0]);
    const est = estimateWeightBytes(shipped.config, 'fp32');
    expect(est).toBeLessThanOrEqual(real);
    expect(real - est).toBeLessThan(real * 0.002);
  });

  it('finds the largest weight of each precision', () => {
    // c_fc [1536, 6144] in fp32 and fp16; in q4 the layers' matrices are 4-bit and wpe [1024, 1536] fp32 is largest.
    expect(largestTensor(L.config, 'fp32')).toEqual({ name: 'h.*.mlp.c_fc.weight', bytes: 1536 * 6144 * 4 });
    expect(largestTensor(L.config, 'fp16')).toEqual({ name: 'h.*.mlp.c_fc.weight', bytes: 1536 * 6144 * 2 });
    expect(largestTensor(L.config, 'q4')).toEqual({ name: 'wpe', bytes: 1024 * 1536 * 4 });
  });

  it('puts iGPT-L at about 5.4 GB in fp32, half in fp16 and about 0.9 GB in q4', () => {
    const fp32 = estimateWeightBytes(L.config, 'fp32');
    expect(fp32 / 1e9).toBeCloseTo(5.45, 2);
    expect(estimateWeightBytes(L.config, 'fp16')).toBe(fp32 / 2);
    const q4 = estimateWeightBytes(L.config, 'q4');
    expect(q4 / fp32).toBeGreaterThan(0.15);
    expect(q4 / fp32).toBeLessThan(0.17);
  });

  it('counts how many samples fit a cache buffer', () => {
    // One sample's cache of one layer: 1024 positions x 1536 x 4 bytes = 6 MiB; 128 MiB hold 21.
    expect(maxBatch(needsFor(L, 'fp32'), DEFAULT_LIMITS)).toBe(21);
    expect(maxBatch(needsFor(L, 'fp16'), DEFAULT_LIMITS)).toBe(42);
  });
});

describe('checkFit', () => {
  it('lets the real checkpoints through with WebGPU default limits', () => {
    for (const m of [L, M]) expect(checkFit(m, m.variants[0], { backend: 'webgpu', limits: DEFAULT_LIMITS }, true)).toMatchObject({ fits: true, problems: [], message: null });
  });

  it('names the weight that is larger than a storage binding, and the precision that fits', () => {
    const limits = { maxStorageBufferBindingSize: 32 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };
    const r = checkFit(L, L.variants[0], { backend: 'webgpu', limits }, true);
    expect(r.fits).toBe(false);
    expect(r.problems).toEqual(['its largest weight (h.*.mlp.c_fc.weight, 37.7 MB) is more than a storage binding of this adapter holds (maxStorageBufferBindingSize 33.6 MB)']);
    expect(r.alternatives.map((a) => a.dtype)).toEqual(['fp16', 'q4']);
    expect(r.message).toBe(
      'the fp32 variant (5.44 GB) does not fit on this WebGPU adapter: its largest weight (h.*.mlp.c_fc.weight, 37.7 MB) is more than a storage binding of this adapter holds ' +
        '(maxStorageBufferBindingSize 33.6 MB). fp16 would fit (2.73 GB of weights): convert the checkpoint again with precision fp16; so would q4 (886.4 MB).',
    );
  });

  it('does not propose fp16 to an adapter without shader-f16, and says when the bundle holds the variant', () => {
    const both = model(48, 1536, [['fp32', 5_440_000_000], ['q4', 890_000_000]]);
    const limits = { maxStorageBufferBindingSize: 32 * 2 ** 20, maxBufferSize: 32 * 2 ** 20 };
    const r = checkFit(both, both.variants[0], { backend: 'webgpu', limits }, false);
    expect(r.alternatives).toEqual([{ dtype: 'q4', weightBytes: 890_000_000, inBundle: true }]);
    expect(r.message).toContain('q4 would fit (890.0 MB of weights): this bundle has a q4 variant: load that one.');
  });

  it('checks one buffer as well as one binding, and the attention cache', () => {
    const limits = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 3 * 2 ** 20 };
    const r = checkFit(M, M.variants[0], { backend: 'webgpu', limits }, true);
    expect(r.problems).toEqual([
      'its largest weight (h.*.mlp.c_fc.weight, 16.8 MB) is more than one buffer of this adapter holds (maxBufferSize 3.1 MB)',
      "one sample's attention cache of one layer (4.2 MB) is more than one buffer of this adapter holds",
    ]);
    // Every precision has a weight of 4 MiB or more (wpe is 1024 x 1024 fp32 in q4).
    expect(r.message).toMatch(/No precision of this model fits on this WebGPU adapter\.$/);
  });

  it('refuses weights beyond wasm memory, proposing fp16 and q4', () => {
    const r = checkFit(L, L.variants[0], { backend: 'wasm' }, false);
    expect(r.problems).toEqual([`its weights (5.44 GB) are more than wasm can hold (onnxruntime's WebAssembly memory is at most 4 GiB; ${(WASM_WEIGHT_BUDGET / 1e9).toFixed(2)} GB for weights)`]);
    expect(r.alternatives.map((a) => a.dtype)).toEqual(['fp16', 'q4']);
    expect(checkFit(M, M.variants[0], { backend: 'wasm' }, false).fits).toBe(true);
  });

  it("compares the weights with the device's memory where the browser gives it", () => {
    const r = checkFit(M, M.variants[0], { backend: 'webgpu', limits: DEFAULT_LIMITS, deviceMemoryBytes: 1 * GIB }, true);
    expect(r.problems).toEqual(["its weights (1.61 GB) are more than this device's memory (about 1.07 GB, navigator.deviceMemory)"]);
    expect(r.alternatives.map((a) => a.dtype)).toEqual(['fp16', 'q4']);
    expect(misfits(needsFor(M, 'q4'), { backend: 'wasm', deviceMemoryBytes: 1 * GIB })).toEqual([]);
  });
});

describe('fitBackend (engine.ts): the backend and variant a load takes', () => {
  const small = { maxStorageBufferBindingSize: 32 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };
  const gpu = { backend: 'webgpu' as const, adapter: 'test adapter', fp16: true, limits: small };

  it('keeps WebGPU when the variant fits', () => {
    const { choice, variant } = fitBackend(M, gpu, 'auto', 'auto');
    expect(choice).toBe(gpu);
    expect(variant.dtype).toBe('fp32');
  });

  it('falls back to wasm with the reason when the variant does not fit the adapter, unless WebGPU was asked for', () => {
    // iGPT-M's c_fc is 16.8 MB in fp32: more than a binding of 8 MiB; wasm holds its 1.6 GB.
    const tight = { ...gpu, limits: { maxStorageBufferBindingSize: 8 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 } };
    const { choice, variant } = fitBackend(M, tight, 'auto', 'auto');
    expect(choice.backend).toBe('wasm');
    expect(choice.fallbackReason).toMatch(/^imagegpt-1024: the fp32 variant \(1\.61 GB\) does not fit on this WebGPU adapter: its largest weight \(h\.\*\.mlp\.c_fc\.weight, 16\.8 MB\)/);
    expect(variant.dtype).toBe('fp32');
    expect(() => fitBackend(M, tight, 'auto', 'webgpu')).toThrow(/^imagegpt-1024: the fp32 variant .* does not fit on this WebGPU adapter.*fp16 would fit/);
  });

  it('refuses, naming both, when neither WebGPU nor wasm can hold it', () => {
    const big = model(48, 1536, [['fp32', 5_440_000_000]]);
    const tooSmall = { ...gpu, limits: { maxStorageBufferBindingSize: 16 * 2 ** 20, maxBufferSize: 16 * 2 ** 20 } };
    expect(() => fitBackend(big, tooSmall, 'auto', 'auto')).toThrow(
      /^imagegpt-1536: the fp32 variant \(5\.44 GB\) does not fit on this WebGPU adapter \(its largest weight .*\), and the fp32 variant \(5\.44 GB\) does not fit on wasm \(its weights .* more than wasm can hold .*\)\. q4 would fit \(886\.4 MB of weights\): convert the checkpoint again with precision q4\.$/,
    );
    expect(() => fitBackend(big, { backend: 'wasm', adapter: 'wasm (CPU)', fp16: false }, 'auto', 'wasm')).toThrow(/does not fit on wasm/);
  });
});
