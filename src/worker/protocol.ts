/**
 * The message protocol between the UI thread and the engine worker.
 *
 * Every request carries an id; every response names the request it answers. Step events are
 * packed into one typed-array batch per flush (about one animation frame) so a 1024-step run
 * costs tens of postMessage calls per second, not one per token. Errors travel as plain objects.
 */
import type {
  Backend,
  BundleManifest,
  BundleSource,
  EngineInfo,
  GenerateRequest,
  GenerateResult,
  LoadProgress,
  ScoreResult,
  StepEvent,
} from '../engine/types';
import { TOP_CANDIDATES } from '../engine/types';

export interface LoadRequestOptions {
  backend: Backend | 'auto';
  dtype: 'fp32' | 'fp16' | 'auto';
}

/** How the bundle's files were obtained. */
export type CacheOutcome = 'hit' | 'stored' | 'memory' | 'none';

export interface LoadedInfo extends EngineInfo {
  /** What the user would call this model: its URL or the chosen folder. */
  sourceLabel: string;
  cache: CacheOutcome;
  cacheNote?: string;
}

export type WorkerRequest =
  | { id: number; type: 'load'; source: BundleSource; options: LoadRequestOptions }
  | { id: number; type: 'generate'; request: SerializedGenerateRequest }
  | { id: number; type: 'abort'; target: number }
  | { id: number; type: 'score'; images: Int32Array[] }
  | { id: number; type: 'dispose' }
  /** Diagnostics (?debug=1): destroy the WebGPU device, to exercise recovery. */
  | { id: number; type: 'debug-lose-device' };

export interface SerializedGenerateRequest extends Omit<GenerateRequest, 'prompt'> {
  prompt: Int32Array;
}

export interface LoadProgressMessage extends LoadProgress {
  phase: 'manifest' | 'download' | 'init';
}

/** Several consecutive step events of one run, packed. */
export interface StepBatch {
  /** Number of steps in this batch. */
  count: number;
  /** Samples per step (batch rows). */
  batch: number;
  /** Step index and pixel position of each step. */
  steps: Int32Array;
  positions: Int32Array;
  /** count x batch */
  tokens: Int32Array;
  entropy: Float32Array;
  /** count x batch x TOP_CANDIDATES */
  candidates: Int32Array;
  candidateProbs: Float32Array;
  /** elapsedMs of the last step. */
  elapsedMs: number;
}

export type WorkerResponse =
  | { id: number; type: 'progress'; progress: LoadProgressMessage }
  | { id: number; type: 'manifest'; manifest: BundleManifest; sourceLabel: string }
  | { id: number; type: 'loaded'; info: LoadedInfo }
  | { id: number; type: 'steps'; batch: StepBatch }
  | { id: number; type: 'generated'; result: GenerateResult }
  | { id: number; type: 'scored'; results: ScoreResult[] }
  | { id: number; type: 'done' }
  | { id: number; type: 'error'; error: WorkerError }
  /** Unsolicited: the WebGPU device was lost (id 0). The engine in this worker is gone. */
  | { id: number; type: 'device-lost'; message: string };

export interface WorkerError {
  name: string;
  message: string;
  /** For input errors: the file or URL at fault, and what is wrong with it. */
  input?: string;
  problem?: string;
  /** The WebGPU device was lost; the worker recreates the engine on the next request. */
  deviceLost?: boolean;
}

/** Pack step events (all of one run, consecutive) into one batch. */
export function packSteps(events: StepEvent[]): StepBatch {
  const count = events.length;
  const batch = count > 0 ? events[0].tokens.length : 0;
  const k = TOP_CANDIDATES;
  const out: StepBatch = {
    count,
    batch,
    steps: new Int32Array(count),
    positions: new Int32Array(count),
    tokens: new Int32Array(count * batch),
    entropy: new Float32Array(count * batch),
    candidates: new Int32Array(count * batch * k),
    candidateProbs: new Float32Array(count * batch * k),
    elapsedMs: count > 0 ? events[count - 1].elapsedMs : 0,
  };
  events.forEach((e, i) => {
    out.steps[i] = e.step;
    out.positions[i] = e.position;
    out.tokens.set(e.tokens.subarray(0, batch), i * batch);
    out.entropy.set(e.entropy.subarray(0, batch), i * batch);
    const c = e.candidates.subarray(0, batch * k);
    out.candidates.set(c, i * batch * k);
    out.candidateProbs.set(e.candidateProbs.subarray(0, batch * k), i * batch * k);
  });
  return out;
}

/** The buffers of a batch, for postMessage's transfer list. */
export function batchTransferables(b: StepBatch): ArrayBuffer[] {
  return [b.steps, b.positions, b.tokens, b.entropy, b.candidates, b.candidateProbs].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

const DEVICE_LOST = /device (was |is |has been )?lost|lost (the )?device|device.?lost|DEVICE_REMOVED|device (is )?destroyed|GPUDevice.*(lost|destroyed)/i;

export function isDeviceLostMessage(message: string): boolean {
  return DEVICE_LOST.test(message);
}

/** Turn anything thrown into a structured, cloneable error. */
export function serializeError(e: unknown): WorkerError {
  if (e && typeof e === 'object') {
    const o = e as { name?: unknown; message?: unknown; input?: unknown; problem?: unknown };
    const message = typeof o.message === 'string' ? o.message : String(e);
    const out: WorkerError = { name: typeof o.name === 'string' ? o.name : 'Error', message };
    if (typeof o.input === 'string') out.input = o.input;
    if (typeof o.problem === 'string') out.problem = o.problem;
    if (isDeviceLostMessage(message)) out.deviceLost = true;
    return out;
  }
  const message = String(e);
  return { name: 'Error', message, ...(isDeviceLostMessage(message) ? { deviceLost: true } : {}) };
}

/** An Error rebuilt on the UI side from a WorkerError. */
export class EngineWorkerError extends Error {
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
