/**
 * What travels between the UI thread and the workers (see rpc.ts for how): the two workers' APIs,
 * step events packed into one typed-array batch per flush (about one animation frame, so a
 * 1024-step run costs tens of messages per second, not one per token), and errors as plain objects.
 */
import type { BundleManifest, BundleSource, LoadProgress, WeightDType } from '../bundle/index.ts';
import type { ConvertEvent, ConvertRequest, HubPlan } from '../convert/web/convertToOpfs.ts';
import type { ConvertedModel } from '../convert/web/opfs.ts';
import type { LayerJson, ProbeJson } from '../probe/report.ts';
import { TOP_CANDIDATES, type Backend, type EngineInfo, type GenerateRequest, type GenerateResult, type PrefillProgress, type ScoreResult, type StepEvent } from '../engine/types.ts';

/** How the bundle's files were obtained. */
export type CacheOutcome = 'hit' | 'stored' | 'memory' | 'none';

export interface LoadedInfo extends EngineInfo {
  /** What the user would call this model: its URL or the chosen folder. */
  sourceLabel: string;
  cache: CacheOutcome;
  cacheNote?: string;
}

export interface LoadRequestOptions {
  backend: Backend | 'auto';
  dtype: WeightDType | 'auto';
  /** onnxruntime wasm threads (?threads=N); the engine's default when absent. */
  wasmThreads?: number;
}

export type LoadEvent =
  | { type: 'manifest'; manifest: BundleManifest; sourceLabel: string }
  | { type: 'progress'; progress: LoadProgress & { phase: 'manifest' | 'download' | 'init' } };

/** The engine worker's API. */
export type EngineApi = {
  load: { arg: { source: BundleSource; options: LoadRequestOptions }; result: LoadedInfo; event: LoadEvent };
  generate: { arg: GenerateRequest; result: GenerateResult; event: { steps: StepBatch } | { prefill: PrefillProgress } };
  score: { arg: Int32Array[]; result: ScoreResult[] };
  /** Diagnostics (?debug=1): destroy the WebGPU device, to exercise recovery. */
  loseDevice: { arg: null; result: void };
};

/** Unsolicited: the WebGPU device was lost; this worker's engine is gone. */
export interface DeviceLostNotice {
  type: 'device-lost';
  message: string;
}

/** The convert worker's API: checkpoints to bundles in the browser's storage (src/convert/web). */
export type ConvertApi = {
  /** A hub repo's checkpoint files and sizes, before anything is downloaded. */
  plan: { arg: { endpoint: string; repo: string; revision: string }; result: HubPlan };
  convert: { arg: ConvertRequest; result: ConvertedModel; event: ConvertEvent };
};

/** The image worker's API: an uploaded file to the model's tokens. */
export type ImageApi = {
  tokenize: { arg: { file: Blob; name: string; clusters: number[][] }; result: { tokens: Int32Array; width: number; height: number } };
};

/** A labelled image set for the Probe view: a probe set (index .json + sprite sheet) by URL, or picked files "<class>/<file>". */
export type ProbeDataSpec = { kind: 'set'; url: string; label: string } | { kind: 'files'; files: { path: string; file: Blob }[]; label: string };

export interface ProbeDataInfo {
  label: string;
  classes: string[];
  /** Images per class. */
  counts: number[];
  images: number;
  /** Files that could not be decoded, and files that were not used; neither stops a run. */
  bad: { path: string; problem: string }[];
  skipped: { path: string; reason: string }[];
}

export interface ProbeRunRequest {
  /** The model (the one the app has loaded). */
  source: BundleSource;
  backend: Backend | 'auto';
  wasmThreads?: number;
  data: ProbeDataSpec;
  /** About this many images per class (seeded, as igpt probe --per-class); all when absent. */
  perClass?: number;
  testFraction: number;
  seed: number;
}

export type ProbeEvent =
  | { type: 'data'; info: ProbeDataInfo; selected: number }
  | { type: 'model'; progress: LoadProgress }
  | { type: 'features'; done: number; total: number; backend: Backend }
  | { type: 'layer'; layer: LayerJson; index: number; total: number };

export interface ProbeRunResult extends ProbeJson {
  model: string;
  data: string;
  backend: Backend;
  per_class_cap: number | null;
  seconds: { features: number; probe: number };
}

/** The probe worker's API: pooled features of every layer, then a linear probe per layer (src/probe). */
export type ProbeApi = {
  /** Reads a data set with the model's palette: classes, counts, bad files. */
  inspect: { arg: { data: ProbeDataSpec; clusters: number[][] }; result: ProbeDataInfo };
  run: { arg: ProbeRunRequest; result: ProbeRunResult | null; event: ProbeEvent };
};

/** Several consecutive step events of one run, packed. */
export interface StepBatch {
  count: number;
  /** Samples per step (batch rows). */
  batch: number;
  steps: Int32Array;
  positions: Int32Array;
  elapsedMs: Float64Array;
  /** count x batch */
  tokens: Int32Array;
  entropy: Float32Array;
  /** count x batch x TOP_CANDIDATES */
  candidates: Int32Array;
  candidateProbs: Float32Array;
}

/** Collects step events into a batch: one copy per step, out of the engine's reused buffers. */
export class StepBatcher {
  private b: StepBatch | null = null;

  get size(): number {
    return this.b?.count ?? 0;
  }

  add(e: StepEvent): void {
    const B = e.tokens.length;
    const K = TOP_CANDIDATES;
    let b = this.b;
    if (!b || b.count === b.steps.length) b = this.b = grow(b, B);
    const i = b.count++;
    b.steps[i] = e.step;
    b.positions[i] = e.position;
    b.elapsedMs[i] = e.elapsedMs;
    b.tokens.set(e.tokens, i * B);
    b.entropy.set(e.entropy, i * B);
    b.candidates.set(e.candidates.subarray(0, B * K), i * B * K);
    b.candidateProbs.set(e.candidateProbs.subarray(0, B * K), i * B * K);
  }

  /** The batch so far and its buffers (for postMessage's transfer list); the batcher starts afresh. */
  take(): { batch: StepBatch; transfer: ArrayBuffer[] } | null {
    const b = this.b;
    this.b = null;
    if (!b || b.count === 0) return null;
    const transfer = [b.steps, b.positions, b.elapsedMs, b.tokens, b.entropy, b.candidates, b.candidateProbs].map((a) => a.buffer as ArrayBuffer);
    return { batch: b, transfer };
  }
}

function grow(old: StepBatch | null, batch: number): StepBatch {
  const cap = old ? old.steps.length * 2 : 32;
  const K = TOP_CANDIDATES;
  const b: StepBatch = {
    count: old?.count ?? 0,
    batch,
    steps: new Int32Array(cap),
    positions: new Int32Array(cap),
    elapsedMs: new Float64Array(cap),
    tokens: new Int32Array(cap * batch),
    entropy: new Float32Array(cap * batch),
    candidates: new Int32Array(cap * batch * K),
    candidateProbs: new Float32Array(cap * batch * K),
  };
  if (old) for (const k of ['steps', 'positions', 'elapsedMs', 'tokens', 'entropy', 'candidates', 'candidateProbs'] as const) b[k].set(old[k] as never);
  return b;
}

/** The steps of a batch as StepEvents whose arrays are views of the batch (no copy). */
export function* unpackSteps(b: StepBatch): Generator<StepEvent> {
  const B = b.batch;
  const K = TOP_CANDIDATES;
  for (let i = 0; i < b.count; i++) {
    yield {
      type: 'step',
      step: b.steps[i],
      position: b.positions[i],
      elapsedMs: b.elapsedMs[i],
      tokens: b.tokens.subarray(i * B, (i + 1) * B),
      entropy: b.entropy.subarray(i * B, (i + 1) * B),
      candidates: b.candidates.subarray(i * B * K, (i + 1) * B * K),
      candidateProbs: b.candidateProbs.subarray(i * B * K, (i + 1) * B * K),
    };
  }
}

export interface WorkerError {
  name: string;
  message: string;
  /** For input errors: the file or URL at fault, and what is wrong with it. */
  input?: string;
  problem?: string;
  /** The WebGPU device was lost. */
  deviceLost?: boolean;
}

const DEVICE_LOST = /device (was |is |has been )?lost|lost (the )?device|device.?lost|DEVICE_REMOVED|device (is )?destroyed|GPUDevice.*(lost|destroyed)/i;

export function isDeviceLostMessage(message: string): boolean {
  return DEVICE_LOST.test(message);
}

/** Turn anything thrown into a structured, cloneable error. */
export function serializeError(e: unknown): WorkerError {
  const o = (e && typeof e === 'object' ? e : {}) as { name?: unknown; message?: unknown; input?: unknown; problem?: unknown };
  const message = typeof o.message === 'string' ? o.message : String(e);
  const out: WorkerError = { name: typeof o.name === 'string' ? o.name : 'Error', message };
  if (typeof o.input === 'string') out.input = o.input;
  if (typeof o.problem === 'string') out.problem = o.problem;
  if (isDeviceLostMessage(message)) out.deviceLost = true;
  return out;
}

/** An Error rebuilt on the UI side from a WorkerError. */
export class WorkerCallError extends Error {
  readonly input?: string;
  readonly problem?: string;
  readonly deviceLost: boolean;
  constructor(e: WorkerError) {
    super(e.message);
    this.name = e.name;
    this.input = e.input;
    this.problem = e.problem;
    this.deviceLost = e.deviceLost ?? false;
  }
}
