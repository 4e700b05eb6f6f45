/**
 * The engine: one code path for the Web Worker, Node (CLI) and tests. Loads a bundle into an
 * onnxruntime-web session (WebGPU where available, wasm otherwise), then runs a batched prefill and
 * token-by-token decoding of B samples at once with a KV cache, each sample with its own sampling
 * settings and seeded generator. Teacher-forced scoring uses the same graph.
 */
import * as ort from 'onnxruntime-web/webgpu';
import {
  NUM_COLOURS,
  loadBundle,
  pickVariant,
  readManifest,
  variantBytes,
  type BundleManifest,
  type BundleSource,
  type BundleStore,
  type BundleVariant,
  type LoadedBundle,
} from '../bundle/index.ts';
import { InputError } from '../errors.ts';
import { checkFit, maxBatch, needsFor, sizeText, whatText, type GpuLimits } from './adapterFit.ts';
import { tokensPerSecond, validateSampleSettings } from './plan.ts';
import { Rng } from './rng.ts';
import { GEN_BLOCK, cpuDecoderGraph, cpuGraphIo, type CpuGraphIo } from './cpuGraph.ts';
import { SamplerScratch, sampleBatch } from './sampler.ts';
import {
  TOP_CANDIDATES,
  type Backend,
  type Engine,
  type EngineInfo,
  type EngineOptions,
  type GenerateOptions,
  type GenerateRequest,
  type GenerateResult,
  type ScoreResult,
  type StepEvent,
} from './types.ts';

/**
 * onnxruntime-web 1.30's WebGPU GroupQueryAttention returns wrong results when one run feeds 32 or
 * more new tokens (measured for head sizes 8 to 64, with and without a past cache; 31 are exact),
 * so on WebGPU longer inputs are fed in chunks of at most this many tokens. The same EP refuses
 * more than one new token per row when the batch has several rows and a past cache, so batched
 * work starts from one row's prefill whose cache is then copied to every row (see expandBatch).
 */
export const WEBGPU_MAX_CHUNK = 31;

/** The prompt is read in chunks of at most this many tokens, yielding between chunks. */
export const PREFILL_CHUNK = 64;

/**
 * Gives the host's event loop a turn (a message or an immediate, not a clamped timer), so a
 * worker's flush timer and incoming Stop messages run while a long run goes on.
 */
export function yieldToHost(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  if (g.setImmediate) return new Promise((resolve) => g.setImmediate!(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** The backend an engine will use, and why. */
export interface BackendChoice {
  backend: Backend;
  /** Adapter description, or 'wasm (CPU)'. */
  adapter: string;
  /** The adapter offers shader-f16 (fp16 weights can run). */
  fp16: boolean;
  fallbackReason?: string;
  /** The WebGPU adapter's buffer limits, which onnxruntime's device gets (see adapterFit.ts). */
  limits?: GpuLimits;
}

/** 'auto' takes WebGPU when an adapter is there, else wasm (saying why); 'webgpu' insists. */
export async function chooseBackend(requested: Backend | 'auto' = 'auto'): Promise<BackendChoice> {
  const wasm = (fallbackReason?: string): BackendChoice => ({ backend: 'wasm', adapter: 'wasm (CPU)', fp16: false, fallbackReason });
  if (requested === 'wasm') return wasm();
  const fail = (reason: string): BackendChoice => {
    if (requested === 'webgpu') throw new InputError('backend webgpu', reason);
    return wasm(reason);
  };
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return fail('WebGPU is not available here (no navigator.gpu)');
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return fail(`WebGPU adapter request failed: ${(err as Error).message}`);
  }
  if (!adapter) return fail('WebGPU is available but no adapter was found');
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter((x) => x);
  const name = parts.join(' ') || 'unknown adapter';
  const software = info?.isFallbackAdapter || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software/i.test(name);
  if (software && requested === 'auto') {
    return wasm(`the only WebGPU adapter (${name}) is a software emulation on the CPU, slower than wasm (add ?backend=webgpu to use it anyway)`);
  }
  const limits = { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize };
  return { backend: 'webgpu', adapter: name, fp16: adapter.features.has('shader-f16'), limits };
}

/** The device's memory in bytes where the browser says (navigator.deviceMemory, in GiB), else undefined. */
function deviceMemoryBytes(): number | undefined {
  const gb = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
  return typeof gb === 'number' && gb > 0 ? gb * 1024 ** 3 : undefined;
}

/**
 * The backend and variant to open, once the variant is compared with the backend's limits
 * (adapterFit.ts), before anything is read: a variant too big for the WebGPU adapter falls back to
 * wasm with the reason as the notice ('auto'), or is refused ('webgpu' asked for by name); one that
 * fits nowhere is refused, naming what does not fit and which precision would.
 */
export function fitBackend(
  manifest: BundleManifest,
  choice: BackendChoice,
  dtype: EngineOptions['dtype'] = 'auto',
  requested: Backend | 'auto' = 'auto',
): { choice: BackendChoice; variant: BundleVariant } {
  const memory = deviceMemoryBytes();
  let variant = variantFor(manifest, choice, dtype);
  if (choice.backend === 'webgpu') {
    const gpu = checkFit(manifest, variant, { backend: 'webgpu', limits: choice.limits, deviceMemoryBytes: memory }, choice.fp16);
    if (gpu.fits) return { choice, variant };
    if (requested === 'webgpu') throw new InputError(manifest.name, gpu.message!);
    const wasmChoice: BackendChoice = { backend: 'wasm', adapter: 'wasm (CPU)', fp16: false, fallbackReason: `${manifest.name}: ${gpu.message!.replace(/\.$/, '')}` }; // the notice adds its own full stop
    const wasmVariant = variantFor(manifest, wasmChoice, dtype);
    const wasm = checkFit(manifest, wasmVariant, { backend: 'wasm', deviceMemoryBytes: memory }, false);
    if (wasm.fits) return { choice: wasmChoice, variant: wasmVariant };
    throw new InputError(
      manifest.name,
      `${whatText(variant)} does not fit on this WebGPU adapter (${gpu.problems.join('; ')}), and ${whatText(wasmVariant)} does not fit on wasm (${wasm.problems.join('; ')}). ${gpu.advice}`,
    );
  }
  const wasm = checkFit(manifest, variant, { backend: 'wasm', deviceMemoryBytes: memory }, false);
  if (!wasm.fits) throw new InputError(manifest.name, wasm.message!);
  return { choice, variant };
}

/** Runs one session call at a time: onnxruntime sessions must never run concurrently. */
class RunQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * A batch of B sequences sharing one KV cache per layer. `feed` appends S tokens to every row and
 * returns the logits of those positions, [B, S, 512].
 */
export class Decoder {
  private past: ort.Tensor[] | null = null;
  private length = 0;
  /** WebGPU: one GPU buffer per layer for K and V, [B, H, nPositions, headDim], updated in place. */
  private staticCache: { device: GPUDevice; buffers: GPUBuffer[]; tensors: ort.Tensor[] } | null = null;

  /**
   * The CPU graph (cpuGraph.ts): the shared prompt's keys/values, one row [H, P, D] per layer, and
   * each row's generated ones [B, H, cap, D] (cap a multiple of GEN_BLOCK, the first `genLength`
   * positions used). Only the new tokens' keys and values come out of a run.
   */
  private split: {
    io: CpuGraphIo;
    prefixK: Float32Array[];
    prefixV: Float32Array[];
    prefixLength: number;
    /** New tokens extend the prefix while the decoder has one row and has not been expanded. */
    prefixOpen: boolean;
    genK: Float32Array[];
    genV: Float32Array[];
    genLength: number;
    genCap: number;
    mask: Float32Array;
  } | null = null;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly manifest: BundleManifest,
    private readonly cacheType: 'float32' | 'float16',
    private batchSize: number,
    readonly maxChunk = Infinity,
    private readonly useStaticCache = false,
    cpuGraph = false,
  ) {
    if (cpuGraph) {
      const L = manifest.config.nLayer;
      const empty = () => Array.from({ length: L }, () => new Float32Array(0));
      this.split = {
        io: cpuGraphIo(L),
        prefixK: empty(),
        prefixV: empty(),
        prefixLength: 0,
        prefixOpen: batchSize === 1,
        genK: empty(),
        genV: empty(),
        genLength: 0,
        genCap: 0,
        mask: new Float32Array(0),
      };
    }
  }

  private get bytesPerValue(): number {
    return this.cacheType === 'float16' ? 2 : 4;
  }

  private cacheRowBytes(): number {
    const { config } = this.manifest;
    return config.nHead * config.nPositions * (config.nEmbd / config.nHead) * this.bytesPerValue;
  }

  private async allocateStaticCache(batch: number): Promise<NonNullable<Decoder['staticCache']>> {
    const { config } = this.manifest;
    const device = (await ort.env.webgpu.device) as GPUDevice;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const dims = [batch, config.nHead, config.nPositions, config.nEmbd / config.nHead];
    const buffers: GPUBuffer[] = [];
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < 2 * config.nLayer; i++) {
      const buffer = device.createBuffer({ size: batch * this.cacheRowBytes(), usage });
      buffers.push(buffer);
      tensors.push(ort.Tensor.fromGpuBuffer(buffer, { dataType: this.cacheType, dims }));
    }
    return { device, buffers, tensors };
  }

  get batch(): number {
    return this.batchSize;
  }

  /** Copies the cache of a one-row decoder to `batch` rows (all samples share the prompt). */
  async expandBatch(batch: number): Promise<void> {
    if (this.batchSize !== 1) throw new Error('expandBatch: only a one-row decoder can be expanded');
    const split = this.split;
    if (split) {
      // The prompt stays one shared row; generated positions (if any) are tiled to every row.
      split.prefixOpen = false;
      if (batch > 1 && split.genCap > 0) {
        const tile = (a: Float32Array) => {
          const t = new Float32Array(a.length * batch);
          for (let b = 0; b < batch; b++) t.set(a, b * a.length);
          return t;
        };
        split.genK = split.genK.map(tile);
        split.genV = split.genV.map(tile);
      }
      this.batchSize = batch;
      return;
    }
    if (batch === 1 || (!this.past && !this.staticCache)) {
      this.batchSize = batch;
      return;
    }
    if (this.staticCache) {
      const from = this.staticCache;
      const to = await this.allocateStaticCache(batch);
      const rowBytes = this.cacheRowBytes();
      const encoder = from.device.createCommandEncoder();
      from.buffers.forEach((src, i) => {
        for (let b = 0; b < batch; b++) encoder.copyBufferToBuffer(src, 0, to.buffers[i], b * rowBytes, rowBytes);
      });
      from.device.queue.submit([encoder.finish()]);
      for (const buffer of from.buffers) buffer.destroy();
      this.staticCache = to;
      this.batchSize = batch;
      return;
    }
    const expanded: ort.Tensor[] = [];
    for (const t of this.past ?? []) {
      const data = (t.location === 'cpu' ? t.data : await t.getData()) as Float32Array | Uint16Array;
      const tiled = new (data.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(data.length * batch);
      for (let b = 0; b < batch; b++) tiled.set(data, b * data.length);
      const [, h, l, d] = t.dims;
      expanded.push(new ort.Tensor(this.cacheType, tiled as never, [batch, h, l, d]));
      t.dispose();
    }
    this.past = expanded;
    this.batchSize = batch;
  }

  get sequenceLength(): number {
    return this.length;
  }

  async feed(tokens: ArrayLike<number>, seqLen: number): Promise<Float32Array> {
    const B = this.batch;
    if (B > 1 && seqLen > 1 && Number.isFinite(this.maxChunk) && (this.past || seqLen > this.maxChunk)) {
      throw new Error('feed: on WebGPU a multi-row batch takes one token per row once it has a cache; prefill one row and expandBatch');
    }
    if (seqLen <= this.maxChunk) return this.feedChunk(tokens, seqLen);
    const out = new Float32Array(B * seqLen * NUM_COLOURS);
    for (let start = 0; start < seqLen; start += this.maxChunk) {
      const n = Math.min(this.maxChunk, seqLen - start);
      const chunk = new Int32Array(B * n);
      for (let b = 0; b < B; b++) for (let s = 0; s < n; s++) chunk[b * n + s] = tokens[b * seqLen + start + s];
      const logits = await this.feedChunk(chunk, n);
      for (let b = 0; b < B; b++) out.set(logits.subarray(b * n * NUM_COLOURS, (b + 1) * n * NUM_COLOURS), (b * seqLen + start) * NUM_COLOURS);
    }
    return out;
  }

  private async feedChunk(tokens: ArrayLike<number>, seqLen: number): Promise<Float32Array> {
    const { io, config } = this.manifest;
    const B = this.batch;
    if (tokens.length !== B * seqLen) throw new Error(`feed: ${tokens.length} tokens for batch ${B} x ${seqLen}`);
    const total = this.length + seqLen;
    if (total > config.nPositions) throw new Error(`sequence of ${total} tokens exceeds the model's ${config.nPositions} positions`);
    const ids = new BigInt64Array(B * seqLen);
    const positions = new BigInt64Array(B * seqLen);
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < seqLen; s++) {
        ids[b * seqLen + s] = BigInt(tokens[b * seqLen + s]);
        positions[b * seqLen + s] = BigInt(this.length + s);
      }
    }
    const headDim = config.nEmbd / config.nHead;
    if (this.split) return this.feedSplit(ids, positions, seqLen, total);
    const feeds: Record<string, ort.Tensor> = {
      [io.inputIds]: new ort.Tensor('int64', ids, [B, seqLen]),
      [io.positionIds]: new ort.Tensor('int64', positions, [B, seqLen]),
      [io.seqlensK]: new ort.Tensor('int32', new Int32Array(B).fill(total - 1), [B]),
      [io.totalSequenceLength]: new ort.Tensor('int32', Int32Array.of(total), []),
    };
    if (this.useStaticCache) {
      this.staticCache ??= await this.allocateStaticCache(B);
      const fetches: Record<string, ort.Tensor | null> = { [io.logits]: null };
      for (let i = 0; i < config.nLayer; i++) {
        feeds[io.pastKey[i]] = fetches[io.presentKey[i]] = this.staticCache.tensors[2 * i];
        feeds[io.pastValue[i]] = fetches[io.presentValue[i]] = this.staticCache.tensors[2 * i + 1];
      }
      const out = await this.session.run(feeds, fetches as ort.InferenceSession.FetchesType);
      this.length = total;
      const logits = out[io.logits];
      return (logits.location === 'cpu' ? logits.data : await logits.getData()) as Float32Array;
    }
    for (let i = 0; i < config.nLayer; i++) {
      const empty = () =>
        this.cacheType === 'float16'
          ? new ort.Tensor('float16', new Uint16Array(0), [B, config.nHead, 0, headDim])
          : new ort.Tensor('float32', new Float32Array(0), [B, config.nHead, 0, headDim]);
      feeds[io.pastKey[i]] = this.past ? this.past[2 * i] : empty();
      feeds[io.pastValue[i]] = this.past ? this.past[2 * i + 1] : empty();
    }
    const out = await this.session.run(feeds);
    const previous = this.past;
    this.past = [];
    for (let i = 0; i < config.nLayer; i++) this.past.push(out[io.presentKey[i]], out[io.presentValue[i]]);
    if (previous) for (const t of previous) t.dispose();
    this.length = total;
    const logits = out[io.logits];
    const data = (logits.location === 'cpu' ? logits.data : await logits.getData()) as Float32Array;
    return data;
  }

  /** One run of the CPU graph: the cache goes in as prefix + generated parts; S new positions come out. */
  private async feedSplit(ids: BigInt64Array, positions: BigInt64Array, S: number, total: number): Promise<Float32Array> {
    const split = this.split!;
    const { io, config } = this.manifest;
    const B = this.batch;
    const H = config.nHead;
    const D = config.nEmbd / H;
    const L = config.nLayer;
    const feeds: Record<string, ort.Tensor> = {
      [io.inputIds]: new ort.Tensor('int64', ids, [B, S]),
      [io.positionIds]: new ort.Tensor('int64', positions, [B, S]),
      [split.io.genMask]: new ort.Tensor('float32', split.mask, [split.genCap]),
    };
    for (let i = 0; i < L; i++) {
      feeds[split.io.prefixKey[i]] = new ort.Tensor('float32', split.prefixK[i], [1, H, split.prefixLength, D]);
      feeds[split.io.prefixValue[i]] = new ort.Tensor('float32', split.prefixV[i], [1, H, split.prefixLength, D]);
      feeds[split.io.pastKey[i]] = new ort.Tensor('float32', split.genK[i], [B, H, split.genCap, D]);
      feeds[split.io.pastValue[i]] = new ort.Tensor('float32', split.genV[i], [B, H, split.genCap, D]);
    }
    const out = await this.session.run(feeds);
    const toPrefix = split.prefixOpen && B === 1;
    if (!toPrefix && split.genLength + S > split.genCap) {
      // Grow the generated part to the next multiple of GEN_BLOCK and move each row's positions.
      const cap = Math.ceil((split.genLength + S) / GEN_BLOCK) * GEN_BLOCK;
      const old = split.genCap;
      const regrow = (a: Float32Array) => {
        const t = new Float32Array(B * H * cap * D);
        if (old > 0) for (let r = 0; r < B * H; r++) t.set(a.subarray(r * old * D, (r * old + split.genLength) * D), r * cap * D);
        return t;
      };
      split.genK = split.genK.map(regrow);
      split.genV = split.genV.map(regrow);
      split.genCap = cap;
      split.mask = new Float32Array(cap).fill(-Infinity);
      split.mask.fill(0, 0, split.genLength);
    }
    for (let i = 0; i < L; i++) {
      const nk = out[split.io.newKey[i]].data as Float32Array;
      const nv = out[split.io.newValue[i]].data as Float32Array;
      if (toPrefix) {
        const P = split.prefixLength;
        const grow = (a: Float32Array, n: Float32Array) => {
          const t = new Float32Array(H * (P + S) * D);
          for (let h = 0; h < H; h++) {
            t.set(a.subarray(h * P * D, (h + 1) * P * D), h * (P + S) * D);
            t.set(n.subarray(h * S * D, (h + 1) * S * D), (h * (P + S) + P) * D);
          }
          return t;
        };
        split.prefixK[i] = grow(split.prefixK[i], nk);
        split.prefixV[i] = grow(split.prefixV[i], nv);
      } else {
        const cap = split.genCap;
        const G = split.genLength;
        for (let r = 0; r < B * H; r++) {
          split.genK[i].set(nk.subarray(r * S * D, (r + 1) * S * D), (r * cap + G) * D);
          split.genV[i].set(nv.subarray(r * S * D, (r + 1) * S * D), (r * cap + G) * D);
        }
      }
    }
    if (toPrefix) split.prefixLength += S;
    else {
      split.mask.fill(0, split.genLength, split.genLength + S);
      split.genLength += S;
    }
    for (const name of Object.keys(out)) if (name !== io.logits) out[name].dispose();
    this.length = total;
    return out[io.logits].data as Float32Array;
  }

  /**
   * The cache as keys and values [B, H, length, D] per layer, whatever form holds it (a float32
   * cache on the CPU: wasm, both graphs). For tests that compare the two graphs.
   */
  readCache(): { keys: Float32Array[]; values: Float32Array[] } {
    const { config } = this.manifest;
    const B = this.batch;
    const H = config.nHead;
    const D = config.nEmbd / H;
    const N = this.length;
    const split = this.split;
    if (split) {
      const P = split.prefixLength;
      const G = split.genLength;
      const cap = split.genCap;
      const join = (prefix: Float32Array, gen: Float32Array) => {
        const t = new Float32Array(B * H * N * D);
        for (let b = 0; b < B; b++) {
          for (let h = 0; h < H; h++) {
            const at = ((b * H + h) * N) * D;
            t.set(prefix.subarray(h * P * D, (h + 1) * P * D), at);
            const r = b * H + h;
            if (G > 0) t.set(gen.subarray(r * cap * D, (r * cap + G) * D), at + P * D);
          }
        }
        return t;
      };
      return { keys: split.prefixK.map((k, i) => join(k, split.genK[i])), values: split.prefixV.map((v, i) => join(v, split.genV[i])) };
    }
    if (this.staticCache || this.cacheType !== 'float32') throw new Error('readCache: only a float32 cache held on the CPU can be read');
    const past = this.past ?? [];
    const data = (i: number) => {
      const t = past[i];
      if (!t) return new Float32Array(0);
      if (t.dims[2] !== N) throw new Error(`readCache: cache holds ${t.dims[2]} positions, expected ${N}`);
      return (t.data as Float32Array).slice();
    };
    return { keys: past.length ? Array.from({ length: config.nLayer }, (_, i) => data(2 * i)) : [], values: past.length ? Array.from({ length: config.nLayer }, (_, i) => data(2 * i + 1)) : [] };
  }

  dispose(): void {
    this.split = null;
    if (this.past) for (const t of this.past) t.dispose();
    this.past = null;
    if (this.staticCache) for (const buffer of this.staticCache.buffers) buffer.destroy();
    this.staticCache = null;
  }
}

export class OrtEngine implements Engine {
  private readonly queue = new RunQueue();
  private readonly scratch = new SamplerScratch();

  constructor(
    readonly info: EngineInfo,
    readonly session: ort.InferenceSession,
    /** WebGPU: keep the KV cache in fixed GPU buffers updated in place (else a growing cache). */
    readonly staticCache = true,
    /** The session runs the CPU form of the graph (cpuGraph.ts): wasm, float32 cache. */
    readonly cpuGraph = false,
  ) {}

  private get cacheType(): 'float32' | 'float16' {
    return this.info.dtype === 'fp16' ? 'float16' : 'float32';
  }

  /** A fresh decoder over this engine's session (run it inside `exclusive`). */
  decoder(batch: number): Decoder {
    const webgpu = this.info.backend === 'webgpu';
    return new Decoder(this.session, this.info.manifest, this.cacheType, batch, webgpu ? WEBGPU_MAX_CHUNK : Infinity, webgpu && this.staticCache, this.cpuGraph);
  }

  /** Runs fn with exclusive use of the session. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  /** Full forward pass of B equal-length rows from an empty cache: logits [B, S, 512]. */
  logits(rows: number[][]): Promise<Float32Array> {
    const S = rows[0]?.length ?? 0;
    if (!rows.every((r) => r.length === S) || S === 0) throw new Error('logits: rows must be non-empty and of equal length');
    return this.exclusive(async () => {
      if (this.info.backend !== 'webgpu') {
        const dec = this.decoder(rows.length);
        try {
          return await dec.feed(rows.flat(), S);
        } finally {
          dec.dispose();
        }
      }
      const out = new Float32Array(rows.length * S * NUM_COLOURS);
      for (let r = 0; r < rows.length; r++) {
        const dec = this.decoder(1);
        try {
          out.set(await dec.feed(rows[r], S), r * S * NUM_COLOURS);
        } finally {
          dec.dispose();
        }
      }
      return out;
    });
  }

  async generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    const { config } = this.info.manifest;
    const nPixels = config.nPositions;
    // The model's input for the prefill: the start token, then the kept prompt (one copy).
    const input = new Int32Array(request.prompt.length + 1);
    input[0] = config.startToken;
    input.set(request.prompt, 1);
    const promptLength = request.prompt.length;
    if (promptLength >= nPixels) throw new InputError('prompt', `has ${promptLength} tokens; at most ${nPixels - 1} can be kept`);
    for (let i = 1; i < input.length; i++) {
      const t = input[i];
      if (!(t >= 0 && t < NUM_COLOURS) || t !== request.prompt[i - 1]) throw new InputError('prompt', `token ${request.prompt[i - 1]} is not a palette index 0..${NUM_COLOURS - 1}`);
    }
    const B = request.samples.length;
    if (B < 1) throw new InputError('samples', 'at least one sample is needed');
    const most = this.info.maxBatch;
    if (most !== undefined && B > most) {
      throw new InputError('samples', `${B} samples at once are more than this model's attention cache allows on this WebGPU adapter (at most ${most}: each layer's cache is one GPU buffer, within maxStorageBufferBindingSize and maxBufferSize)`);
    }
    request.samples.forEach((s) => validateSampleSettings(s));
    const room = nPixels - promptLength;
    const maxNew = Math.min(room, request.maxNewTokens ?? room);
    if (!(maxNew >= 0) || !Number.isInteger(maxNew)) throw new InputError('maxNewTokens', `must be a whole number, got ${request.maxNewTokens}`);

    return this.exclusive(async () => {
      const rngs = request.samples.map((s) => new Rng(s.seed));
      const generated = request.samples.map(() => new Int32Array(maxNew));
      const tokens = new Int32Array(B);
      const entropy = new Float32Array(B);
      const candidates = new Int32Array(B * TOP_CANDIDATES);
      const candidateProbs = new Float32Array(B * TOP_CANDIDATES);
      const last = new Float32Array(B * NUM_COLOURS);
      const start = now();
      let prefillMs = 0;
      let steps = 0;
      let aborted = false;
      const dec = this.decoder(1);
      try {
        for (let step = 0; step < maxNew; step++) {
          if (options.signal?.aborted) {
            aborted = true;
            break;
          }
          let logits: Float32Array;
          if (step === 0) {
            // Every sample shares the prompt: prefill one row in chunks (progress, Stop), then
            // copy its cache to all rows.
            const S = input.length;
            const chunk = Math.min(PREFILL_CHUNK, dec.maxChunk);
            for (let done = 0; done < S && !options.signal?.aborted; ) {
              const n = Math.min(chunk, S - done);
              const out = await dec.feed(input.subarray(done, done + n), n);
              done += n;
              if (done === S) for (let b = 0; b < B; b++) last.set(out.subarray((n - 1) * NUM_COLOURS, n * NUM_COLOURS), b * NUM_COLOURS);
              options.onPrefill?.({ done, total: S, elapsedMs: now() - start });
              await yieldToHost();
            }
            if (options.signal?.aborted) {
              aborted = true;
              break;
            }
            await dec.expandBatch(B);
            logits = last;
            prefillMs = now() - start;
          } else {
            logits = await dec.feed(tokens, 1);
          }
          sampleBatch(logits, NUM_COLOURS, request.samples, rngs, this.scratch, { tokens, entropy, candidates, candidateProbs });
          for (let b = 0; b < B; b++) generated[b][step] = tokens[b];
          steps = step + 1;
          // Views of this run's own buffers, overwritten by the next step (see StepEvent).
          options.onStep?.({ type: 'step', step, position: promptLength + step, tokens, entropy, candidates, candidateProbs, elapsedMs: now() - start });
          // Let the host's event loop run between steps: flush timers and Stop act within a step.
          await yieldToHost();
        }
      } finally {
        dec.dispose();
      }
      const decodeMs = Math.max(0, now() - start - prefillMs);
      const decodeSteps = Math.max(0, steps - 1);
      return {
        tokens: generated.map((g) => g.slice(0, steps)),
        prefillMs,
        decodeMs,
        steps,
        tokensPerSecond: tokensPerSecond(decodeSteps, decodeMs),
        aborted,
      };
    });
  }

  async score(images: ArrayLike<number>[]): Promise<ScoreResult[]> {
    const { config } = this.info.manifest;
    const n = config.nPositions;
    const rows = images.map((img, i) => {
      const t = Array.from(img);
      if (t.length !== n) throw new InputError(`image ${i + 1}`, `has ${t.length} tokens, expected ${n}`);
      for (const v of t) if (!Number.isInteger(v) || v < 0 || v >= NUM_COLOURS) throw new InputError(`image ${i + 1}`, `token ${v} is not a palette index`);
      return t;
    });
    const results: ScoreResult[] = [];
    const chunk = 4;
    for (let i = 0; i < rows.length; i += chunk) {
      const part = rows.slice(i, i + chunk);
      const logits = await this.logits(part.map((t) => [config.startToken, ...t.slice(0, n - 1)]));
      part.forEach((t, r) => {
        const bits = new Float32Array(n);
        let sum = 0;
        for (let p = 0; p < n; p++) {
          const off = (r * n + p) * NUM_COLOURS;
          let max = -Infinity;
          for (let v = 0; v < NUM_COLOURS; v++) max = Math.max(max, logits[off + v]);
          let z = 0;
          for (let v = 0; v < NUM_COLOURS; v++) z += Math.exp(logits[off + v] - max);
          const nll = (Math.log(z) + max - logits[off + t[p]]) / Math.LN2;
          bits[p] = nll;
          sum += nll;
        }
        results.push({ bitsPerToken: sum / n, bits });
      });
    }
    return results;
  }

  async dispose(): Promise<void> {
    await this.queue.run(() => this.session.release());
  }
}

/** Threads beyond this gain little at these model sizes (docs/PERF.md). */
const MAX_WASM_THREADS = 8;

/**
 * wasm threads: the caller's choice, else every core when cross-origin isolated (threads need it;
 * the engine runs in its own worker, so the page stays responsive), else one. Always set explicitly: onnxruntime's own default reaches for
 * `require('node:os')` where there is no `navigator`, which fails in ES modules.
 */
function configureWasm(threads?: number): void {
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  const cores = g.navigator?.hardwareConcurrency ?? 1;
  ort.env.wasm.numThreads = threads ?? (g.crossOriginIsolated ? Math.min(MAX_WASM_THREADS, cores) : 1);
}

/**
 * The graph a session runs: on wasm with a float32 cache (fp32, q4), the CPU form made from the
 * bundle's graph (cpuGraph.ts), unless asked for the bundle's own; else the bundle's graph.
 */
function sessionGraph(bundle: LoadedBundle, backend: Backend, wasmGraph: EngineOptions['wasmGraph'] = 'cpu'): { graph: Uint8Array; cpuGraph: boolean } {
  if (backend !== 'wasm' || wasmGraph === 'bundle' || bundle.variant.dtype === 'fp16') return { graph: bundle.graph, cpuGraph: false };
  return { graph: cpuDecoderGraph(bundle.graph, bundle.manifest), cpuGraph: true };
}

async function createSession(bundle: LoadedBundle, backend: Backend, graph: Uint8Array): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [backend === 'webgpu' ? { name: 'webgpu' } : { name: 'wasm' }],
    graphOptimizationLevel: 'all',
  };
  if (bundle.externalData.length) options.externalData = bundle.externalData.map(({ path, data }) => ({ path, data }));
  if (backend === 'webgpu') {
    const io = bundle.manifest.io;
    const location: Record<string, ort.Tensor.DataLocation> = { [io.logits]: 'cpu' };
    for (const name of [...io.presentKey, ...io.presentValue]) location[name] = 'gpu-buffer';
    options.preferredOutputLocation = location;
  }
  const name = `${bundle.label}/${bundle.variant.graph}`;
  try {
    const create = ort.InferenceSession.create(graph, options);
    return await (backend === 'webgpu' ? watchGpu(create, name, variantBytes(bundle.variant)) : create);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const message = (err as Error).message;
    if (backend === 'webgpu' && GPU_OUT_OF_MEMORY.test(message)) throw gpuOutOfMemory(name, variantBytes(bundle.variant), message);
    throw new InputError(name, `could not be loaded by onnxruntime (${backend}): ${message}`);
  }
}

const GPU_OUT_OF_MEMORY = /out of memory|OutOfMemory|\bOOM\b|failed to allocate|allocation failed|Not enough memory/i;

const gpuOutOfMemory = (name: string, bytes: number, detail: string) =>
  new InputError(
    name,
    `the GPU ran out of memory while taking its ${sizeText(bytes)} of weights (${detail}). Close other tabs or programs that use the GPU, or use a smaller precision (fp16 halves the weights, q4 takes about a sixth of fp32)`,
  );

/**
 * Session creation on WebGPU, watched: a device lost or an out-of-memory error from WebGPU while
 * the weights are uploaded ends it with a clear error instead of a session that never comes or
 * fails later. onnxruntime makes its device during the first creation, so it is looked for until then.
 */
export async function watchGpu(create: Promise<ort.InferenceSession>, name: string, bytes: number): Promise<ort.InferenceSession> {
  let done = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let device: GPUDevice | undefined;
  let onError: ((e: Event) => void) | undefined;
  // Devices already looked at: one destroyed on purpose (onnxruntime releases its device with its
  // last session, and a lost device is destroyed before the next load) is not this load's failure.
  const seen = new Set<GPUDevice>();
  const failed = new Promise<never>((_, reject) => {
    onError = (e: Event) => {
      const error = (e as GPUUncapturedErrorEvent).error;
      if (error?.constructor?.name === 'GPUOutOfMemoryError' || GPU_OUT_OF_MEMORY.test(error?.message ?? '')) reject(gpuOutOfMemory(name, bytes, error.message || 'GPUOutOfMemoryError'));
    };
    const attach = (d: GPUDevice) => {
      if (done || typeof d?.lost?.then !== 'function') return;
      seen.add(d);
      device = d;
      d.addEventListener('uncapturederror', onError!);
      void d.lost.then((info) => {
        if (done) return;
        d.removeEventListener('uncapturederror', onError!);
        if (info.reason === 'destroyed') {
          // Destroyed by code, not lost by the GPU: wait for the device onnxruntime makes next.
          device = undefined;
          timer = setTimeout(look, 50);
          return;
        }
        reject(new InputError(name, `the WebGPU device was lost while the model was being loaded (${`${info.reason}: ${info.message}`.trim()}); reload the page, or use a smaller precision`));
      });
    };
    const look = () => {
      if (done) return;
      // A GPUDevice once onnxruntime has made it (a promise of one in older versions).
      const d = (ort.env.webgpu as unknown as { device?: GPUDevice | Promise<GPUDevice> }).device;
      if (d)
        void Promise.resolve(d).then(
          (dev) => (seen.has(dev) ? (timer = setTimeout(look, 50)) : attach(dev)),
          () => undefined,
        );
      else timer = setTimeout(look, 50);
    };
    look();
  });
  try {
    return await Promise.race([create, failed]);
  } catch (err) {
    // A session that still comes after the failure is released.
    void create.then((s) => s.release()).catch(() => undefined);
    throw err;
  } finally {
    done = true;
    clearTimeout(timer);
    if (device && onError) device.removeEventListener('uncapturederror', onError);
  }
}

/** An engine over a loaded, verified bundle on the chosen backend. */
export async function createEngine(bundle: LoadedBundle, choice: BackendChoice, options: Pick<EngineOptions, 'wasmThreads' | 'wasmGraph'> = {}): Promise<OrtEngine> {
  configureWasm(options.wasmThreads);
  const { graph, cpuGraph } = sessionGraph(bundle, choice.backend, options.wasmGraph);
  const session = await createSession(bundle, choice.backend, graph);
  const { backend, adapter, fallbackReason } = choice;
  const info: EngineInfo = { backend, adapter, fallbackReason, dtype: bundle.variant.dtype, modelBytes: variantBytes(bundle.variant), manifest: bundle.manifest };
  if (backend === 'webgpu' && choice.limits) info.maxBatch = maxBatch(needsFor(bundle.manifest, bundle.variant.dtype, bundle.variant), choice.limits);
  if (backend === 'wasm') info.wasmThreads = ort.env.wasm.numThreads; // as onnxruntime settled it
  return new OrtEngine(info, session, true, cpuGraph);
}

/** Picks the dtype variant this backend can run: fp16 only where the adapter has shader-f16. */
export function variantFor(manifest: BundleManifest, choice: BackendChoice, dtype: EngineOptions['dtype'] = 'auto') {
  if (dtype === 'fp16' && choice.backend === 'webgpu' && !choice.fp16) {
    throw new InputError('dtype fp16', `the WebGPU adapter (${choice.adapter}) has no shader-f16 support; use fp32`);
  }
  return pickVariant(manifest, dtype, choice.backend === 'webgpu' && choice.fp16);
}

/** Reads, verifies and opens a bundle: manifest, backend, variant, files, session. */
export async function loadEngine(source: BundleSource, options: EngineOptions & { store?: BundleStore; signal?: AbortSignal } = {}): Promise<OrtEngine> {
  const read = await readManifest(source, options);
  const { choice, variant } = fitBackend(read.manifest, await chooseBackend(options.backend ?? 'auto'), options.dtype, options.backend ?? 'auto');
  const bundle = await loadBundle(source, read, variant, options);
  return createEngine(bundle, choice, options);
}
