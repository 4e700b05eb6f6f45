/**
 * The engine's public API: the same in a Web Worker, in Node (CLI) and in tests. The app talks to
 * an `Engine`, whether it runs in the page or behind the worker (src/worker/client.ts).
 */
import type { BundleManifest, LoadProgress, WeightDType } from '../bundle/index.ts';

export type { LoadProgress } from '../bundle/index.ts';

export type Backend = 'webgpu' | 'wasm';

export interface SampleSettings {
  /** 0 means greedy. */
  temperature: number;
  /** 0 means off. */
  topK: number;
  /** 1 means off. */
  topP: number;
  /** 32-bit unsigned seed of this sample's own PRNG. */
  seed: number;
}

export interface GenerateRequest {
  /** Palette tokens of the kept prefix (raster order), without the start token. Length 0..1023. */
  prompt: ArrayLike<number>;
  /** One entry per sample (batch row). */
  samples: SampleSettings[];
  /** Default: fill the image (1024 - prompt.length). */
  maxNewTokens?: number;
}

/**
 * Emitted after each decode step. The arrays may be views of buffers the engine reuses: they are
 * valid during the callback only (copy what you keep).
 */
export interface StepEvent {
  type: 'step';
  /** 0-based index of the generated token; its pixel position is prompt.length + step. */
  step: number;
  position: number;
  /** The token drawn for each sample at this step. */
  tokens: Int32Array;
  /** Entropy in bits of each sample's (temperature-adjusted, truncated) distribution. */
  entropy: Float32Array;
  /** Top candidates of each sample's distribution: B x TOP_CANDIDATES tokens and probabilities. */
  candidates: Int32Array;
  candidateProbs: Float32Array;
  elapsedMs: number;
}

export const TOP_CANDIDATES = 5;

export interface GenerateResult {
  /** Generated tokens only, per sample. */
  tokens: Int32Array[];
  prefillMs: number;
  decodeMs: number;
  steps: number;
  tokensPerSecond: number;
  aborted: boolean;
}

export interface ScoreResult {
  /** Mean negative log2-likelihood per token, teacher forced. */
  bitsPerToken: number;
  /** Per position (1024), -log2 p(token). */
  bits: Float32Array;
}

export interface EngineInfo {
  backend: Backend;
  /** Adapter description, or why wasm was used. */
  adapter: string;
  fallbackReason?: string;
  dtype: WeightDType;
  modelBytes: number;
  manifest: BundleManifest;
  /** wasm backend: the threads onnxruntime runs on (more than 1 only when cross-origin isolated). */
  wasmThreads?: number;
  /** WebGPU: the most samples one run holds (each layer's attention cache is one buffer; adapterFit.ts). */
  maxBatch?: number;
}

export interface EngineOptions {
  /** 'auto' tries WebGPU then falls back to wasm. */
  backend?: Backend | 'auto';
  dtype?: WeightDType | 'auto';
  onProgress?: (p: LoadProgress) => void;
  /** onnxruntime wasm threads (default: 1, or every core, at most 8, when the page is cross-origin isolated). */
  wasmThreads?: number;
  /**
   * wasm: 'cpu' (default) runs the CPU form of the graph (src/engine/cpuGraph.ts: the KV cache
   * never leaves as an output, the prompt's cache is shared by all rows); 'bundle' runs the
   * bundle's GroupQueryAttention graph as it is (for comparison). fp16 always runs the bundle's.
   */
  wasmGraph?: 'cpu' | 'bundle';
}

/** Reading the prompt (the prefill), chunk by chunk: tokens done of total, time since the start. */
export interface PrefillProgress {
  done: number;
  total: number;
  elapsedMs: number;
}

export interface GenerateOptions {
  onStep?: (event: StepEvent) => void;
  onPrefill?: (progress: PrefillProgress) => void;
  /** Aborting ends the run within one step (or one prefill chunk); the result says aborted. */
  signal?: AbortSignal;
}

export interface Engine {
  readonly info: EngineInfo;
  generate(request: GenerateRequest, options?: GenerateOptions): Promise<GenerateResult>;
  /** Teacher-forced scores of full 1024-token images. */
  score(images: ArrayLike<number>[]): Promise<ScoreResult[]>;
  dispose(): Promise<void>;
}
