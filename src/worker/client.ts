/**
 * UI-side handle on the engine worker: promise-returning calls over the message protocol.
 */
import type { BundleManifest, BundleSource, GenerateRequest, GenerateResult, ScoreResult } from '../engine/types';
import {
  EngineWorkerError,
  type LoadProgressMessage,
  type LoadRequestOptions,
  type LoadedInfo,
  type StepBatch,
  type WorkerRequest,
  type WorkerResponse,
} from './protocol';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type CallRequest = DistributiveOmit<Exclude<WorkerRequest, { type: 'abort' }>, 'id'>;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onSteps?: (b: StepBatch) => void;
}

export interface ClientEvents {
  /** Load progress, for explicit loads and for reloads after a lost device. */
  onProgress?: (p: LoadProgressMessage) => void;
  /** A manifest read before the weights are downloaded. */
  onManifest?: (m: BundleManifest, sourceLabel: string) => void;
  /** An engine was (re)created, also implicitly after a lost device. */
  onLoaded?: (info: LoadedInfo) => void;
  /** The WebGPU device was lost; this worker should be replaced. */
  onDeviceLost?: (message: string) => void;
  /** The worker itself failed (script error). */
  onFatal?: (message: string) => void;
}

export class EngineClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly events: ClientEvents = {}) {
    this.worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent<WorkerResponse>) => this.receive(ev.data);
    this.worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      const message = `The engine worker failed to start: ${ev.message || 'script error'}`;
      this.events.onFatal?.(message);
      for (const p of this.pending.values()) p.reject(new Error(message));
      this.pending.clear();
    };
  }

  private receive(msg: WorkerResponse): void {
    const p = this.pending.get(msg.id);
    switch (msg.type) {
      case 'progress':
        this.events.onProgress?.(msg.progress);
        return;
      case 'manifest':
        this.events.onManifest?.(msg.manifest, msg.sourceLabel);
        return;
      case 'loaded':
        this.events.onLoaded?.(msg.info);
        // A reload inside generate() also sends 'loaded'; only a load request resolves here.
        if (p && (p as Pending & { kind?: string }).kind === 'load') {
          this.pending.delete(msg.id);
          p.resolve(msg.info);
        }
        return;
      case 'steps':
        p?.onSteps?.(msg.batch);
        return;
      case 'generated':
        this.settle(msg.id, msg.result);
        return;
      case 'scored':
        this.settle(msg.id, msg.results);
        return;
      case 'done':
        this.settle(msg.id, undefined);
        return;
      case 'device-lost':
        this.events.onDeviceLost?.(msg.message);
        return;
      case 'error':
        if (p) {
          this.pending.delete(msg.id);
          p.reject(new EngineWorkerError(msg.error));
        }
        return;
    }
  }

  private settle(id: number, value: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.resolve(value);
  }

  private call<T>(
    req: CallRequest,
    extra: { onSteps?: (b: StepBatch) => void; transfer?: Transferable[] } = {},
  ): { id: number; promise: Promise<T> } {
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      const entry: Pending & { kind: string } = {
        resolve: resolve as (v: unknown) => void,
        reject,
        onSteps: extra.onSteps,
        kind: req.type,
      };
      this.pending.set(id, entry);
    });
    this.worker.postMessage({ ...req, id } as WorkerRequest, extra.transfer ?? []);
    return { id, promise };
  }

  load(source: BundleSource, options: LoadRequestOptions): Promise<LoadedInfo> {
    return this.call<LoadedInfo>({ type: 'load', source, options }).promise;
  }

  /** Start a run; `abort()` on the returned handle stops it (the promise then resolves with aborted: true). */
  generate(
    request: GenerateRequest,
    onSteps: (b: StepBatch) => void,
  ): { promise: Promise<GenerateResult>; abort: () => void } {
    const prompt = Int32Array.from(request.prompt as ArrayLike<number>);
    const { id, promise } = this.call<GenerateResult>(
      { type: 'generate', request: { ...request, prompt } },
      { onSteps, transfer: [prompt.buffer] },
    );
    return { promise, abort: () => this.worker.postMessage({ id: this.nextId++, type: 'abort', target: id } satisfies WorkerRequest) };
  }

  score(images: Int32Array[]): Promise<ScoreResult[]> {
    return this.call<ScoreResult[]>({ type: 'score', images: images.map((a) => a.slice()) }).promise;
  }

  /** Diagnostics: destroy the WebGPU device in the worker. */
  debugLoseDevice(): Promise<void> {
    return this.call<void>({ type: 'debug-lose-device' }).promise;
  }

  /** Stop the worker; pending calls are rejected. */
  terminate(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error('The engine worker was restarted'));
    this.pending.clear();
  }
}
