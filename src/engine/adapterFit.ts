/**
 * Whether a bundle variant fits the backend it is about to be opened on, decided before anything
 * is read or a session is created, and said plainly: what does not fit, and which precision would.
 *
 * - WebGPU: every weight is one GPU buffer bound as a storage buffer, so the largest weight tensor
 *   must fit the adapter's `maxStorageBufferBindingSize` and `maxBufferSize` (onnxruntime asks for
 *   the adapter's own limits, not the defaults). Each layer's key and value cache is one buffer too,
 *   of `batch` rows: its size sets the most samples one run can hold (`maxBatch`).
 * - wasm: onnxruntime holds the weights in its WebAssembly memory, at most 4 GiB (32-bit), next to
 *   the working memory of a run: the weights may take at most `WASM_WEIGHT_BUDGET` of it.
 * - Both: the worker reads the whole bundle into memory before the session takes it, so weights
 *   beyond the device's memory (`navigator.deviceMemory`, where the browser gives it) do not fit.
 *
 * WebGPU does not say how much GPU memory there is: running out of it is caught while the session
 * is created (engine.ts), not predicted here. Sizes come from the manifest's config, so precisions
 * the bundle does not hold can be proposed too.
 */
import { NUM_COLOURS, variantBytes, type BundleManifest, type BundleVariant, type WeightDType } from '../bundle/index.ts';
import type { Backend } from './types.ts';

export const GIB = 1024 ** 3;
/** The weights' share of onnxruntime's 4 GiB wasm memory (the rest: the graph, activations, the cache). */
export const WASM_WEIGHT_BUDGET = 3.5 * GIB;
const Q4_BLOCK = 32;

export interface GpuLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

type Config = BundleManifest['config'];

/** One weight tensor: its name (a pattern for per-layer weights) and its bytes in a precision. */
export interface TensorSize {
  name: string;
  bytes: number;
}

/** What a precision of a model needs. */
export interface VariantNeeds {
  dtype: WeightDType;
  /** Bytes of all weights (for a variant of the bundle: the sizes of its files). */
  weightBytes: number;
  largest: TensorSize;
  /** One sample's key (or value) cache of one layer: nPositions x nEmbd values. */
  cacheRowBytes: number;
}

/** The weight matrices of each layer, [K, N] as `x @ W`. */
function layerMatrices(c: Config): { name: string; K: number; N: number }[] {
  return [
    { name: 'h.*.attn.c_attn.weight', K: c.nEmbd, N: 3 * c.nEmbd },
    { name: 'h.*.attn.c_proj.weight', K: c.nEmbd, N: c.nEmbd },
    { name: 'h.*.mlp.c_fc.weight', K: c.nEmbd, N: c.nInner },
    { name: 'h.*.mlp.c_proj.weight', K: c.nInner, N: c.nEmbd },
  ];
}

/** Bytes of a [K, N] matrix as MatMulNBits' initializers: packed 4-bit weights, fp32 scales, zero points. */
function q4Parts(K: number, N: number): { packed: number; scales: number; zeroPoints: number } {
  const blocks = Math.ceil(K / Q4_BLOCK);
  return { packed: N * blocks * (Q4_BLOCK / 2), scales: N * blocks * 4, zeroPoints: N * Math.ceil(blocks / 2) };
}

/** Every weight tensor of the graph in `dtype`: the embeddings, the head, each layer's. */
function tensors(c: Config, dtype: WeightDType): { sizes: TensorSize[]; perLayer: number } {
  const d = c.nEmbd;
  // Embeddings, final norm and head stay float (fp32 in q4); norms and biases are vectors.
  const floatBytes = dtype === 'fp16' ? 2 : 4;
  const sizes: TensorSize[] = [
    { name: 'wte', bytes: c.vocabSize * d * floatBytes },
    { name: 'wpe', bytes: c.nPositions * d * floatBytes },
    { name: 'lm_head', bytes: d * NUM_COLOURS * floatBytes },
    { name: 'ln_f.weight', bytes: d * floatBytes },
  ];
  let perLayer = (2 * d + 3 * d + d + c.nInner + d) * floatBytes; // two norms, four biases
  for (const m of layerMatrices(c)) {
    if (dtype === 'q4') {
      const q = q4Parts(m.K, m.N);
      sizes.push({ name: m.name.replace('.weight', '.q4'), bytes: q.packed }, { name: m.name.replace('.weight', '.scales'), bytes: q.scales });
      perLayer += q.packed + q.scales + q.zeroPoints;
    } else {
      sizes.push({ name: m.name, bytes: m.K * m.N * floatBytes });
      perLayer += m.K * m.N * floatBytes;
    }
  }
  return { sizes, perLayer };
}

/** The largest single weight tensor of the model in `dtype`. */
export function largestTensor(c: Config, dtype: WeightDType): TensorSize {
  return tensors(c, dtype).sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
}

/** The weights' bytes of the model in `dtype`, from its shape (all biases counted). */
export function estimateWeightBytes(c: Config, dtype: WeightDType): number {
  const { sizes, perLayer } = tensors(c, dtype);
  const global = sizes.filter((t) => !t.name.startsWith('h.*')).reduce((n, t) => n + t.bytes, 0);
  return global + c.nLayer * perLayer;
}

/** What `dtype` needs; `weightBytes` from the variant's files when the bundle holds it, else estimated. */
export function needsFor(manifest: BundleManifest, dtype: WeightDType, variant?: BundleVariant): VariantNeeds {
  const c = manifest.config;
  return {
    dtype,
    weightBytes: variant ? variantBytes(variant) : estimateWeightBytes(c, dtype),
    largest: largestTensor(c, dtype),
    cacheRowBytes: c.nPositions * c.nEmbd * (dtype === 'fp16' ? 2 : 4),
  };
}

export interface FitTarget {
  backend: Backend;
  /** The WebGPU adapter's limits (WebGPU only). */
  limits?: GpuLimits;
  /** The device's memory in bytes, where known (navigator.deviceMemory). */
  deviceMemoryBytes?: number;
}

/** Bytes as a person reads them: "37.7 MB", "5.50 GB". */
export function sizeText(n: number): string {
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** What does not fit, one sentence each; empty when everything fits. */
export function misfits(needs: VariantNeeds, target: FitTarget): string[] {
  const out: string[] = [];
  const { largest, weightBytes } = needs;
  if (target.backend === 'webgpu' && target.limits) {
    const { maxStorageBufferBindingSize: bind, maxBufferSize: buf } = target.limits;
    if (largest.bytes > bind) out.push(`its largest weight (${largest.name}, ${sizeText(largest.bytes)}) is more than a storage binding of this adapter holds (maxStorageBufferBindingSize ${sizeText(bind)})`);
    else if (largest.bytes > buf) out.push(`its largest weight (${largest.name}, ${sizeText(largest.bytes)}) is more than one buffer of this adapter holds (maxBufferSize ${sizeText(buf)})`);
    if (needs.cacheRowBytes > Math.min(bind, buf)) out.push(`one sample's attention cache of one layer (${sizeText(needs.cacheRowBytes)}) is more than one buffer of this adapter holds`);
  }
  if (target.backend === 'wasm' && weightBytes > WASM_WEIGHT_BUDGET) {
    out.push(`its weights (${sizeText(weightBytes)}) are more than wasm can hold (onnxruntime's WebAssembly memory is at most 4 GiB; ${sizeText(WASM_WEIGHT_BUDGET)} for weights)`);
  }
  if (target.deviceMemoryBytes && weightBytes > target.deviceMemoryBytes) {
    out.push(`its weights (${sizeText(weightBytes)}) are more than this device's memory (about ${sizeText(target.deviceMemoryBytes)}, navigator.deviceMemory)`);
  }
  return out;
}

/** The most samples one run holds on WebGPU: each layer's cache buffer has one row per sample. */
export function maxBatch(needs: VariantNeeds, limits: GpuLimits): number {
  return Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / needs.cacheRowBytes);
}

export interface FitReport {
  fits: boolean;
  /** What does not fit (empty when it fits). */
  problems: string[];
  /** Other precisions that would fit, best first, with their weights' size and whether the bundle holds them. */
  alternatives: { dtype: WeightDType; weightBytes: number; inBundle: boolean }[];
  /** Which precision would fit, and how to get it (empty when it fits). */
  advice: string;
  /** A sentence for the page or the CLI when it does not fit: what, where, why, and the advice. */
  message: string | null;
}

/** Precisions from the most exact to the smallest. */
const ORDER: WeightDType[] = ['fp32', 'fp16', 'q4'];

const whereText = (backend: Backend) => (backend === 'webgpu' ? 'on this WebGPU adapter' : 'on wasm');

/**
 * Compares `variant` of `manifest` with `target` and, when it does not fit, names what does not
 * and which precision would. fp16 is proposed on WebGPU only where the adapter has shader-f16.
 */
export function checkFit(manifest: BundleManifest, variant: BundleVariant, target: FitTarget, canFp16: boolean): FitReport {
  const problems = misfits(needsFor(manifest, variant.dtype, variant), target);
  if (problems.length === 0) return { fits: true, problems, alternatives: [], advice: '', message: null };
  const alternatives = ORDER.filter((d) => d !== variant.dtype && (d !== 'fp16' || target.backend !== 'webgpu' || canFp16))
    .map((dtype) => {
      const held = manifest.variants.find((v) => v.dtype === dtype);
      return { dtype, needs: needsFor(manifest, dtype, held), inBundle: !!held };
    })
    .filter((a) => misfits(a.needs, target).length === 0)
    .map((a) => ({ dtype: a.dtype, weightBytes: a.needs.weightBytes, inBundle: a.inBundle }));
  let advice: string;
  if (alternatives.length === 0) advice = `No precision of this model fits ${whereText(target.backend)}.`;
  else {
    const best = alternatives[0];
    const how = best.inBundle ? `this bundle has a ${best.dtype} variant: load that one` : `convert the checkpoint again with precision ${best.dtype}`;
    const others = alternatives.slice(1).map((a) => `${a.dtype} (${sizeText(a.weightBytes)})`);
    advice = `${best.dtype} would fit (${sizeText(best.weightBytes)} of weights): ${how}${others.length ? `; so would ${others.join(', ')}` : ''}.`;
  }
  const message = `${whatText(variant)} does not fit ${whereText(target.backend)}: ${problems.join('; ')}. ${advice}`;
  return { fits: false, problems, alternatives, advice, message };
}

/** "the fp32 variant (5.44 GB)" */
export const whatText = (variant: BundleVariant) => `the ${variant.dtype} variant (${sizeText(variantBytes(variant))})`;
