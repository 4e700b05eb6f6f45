/**
 * The engine in its worker, seen from the UI thread as an `Engine` (the same interface as the
 * in-page engine, src/engine): load a bundle, then generate, score, dispose.
 */
import type { BundleSource } from '../bundle/index.ts';
import type { Engine, GenerateOptions, GenerateRequest, GenerateResult, ScoreResult } from '../engine/types.ts';
import {
  unpackSteps,
  type DeviceLostNotice,
  type EngineApi,
  type LoadEvent,
  type LoadRequestOptions,
  type LoadedInfo,
  type ProbeApi,
  type ProbeDataInfo,
  type ProbeDataSpec,
  type ProbeEvent,
  type ProbeRunRequest,
  type ProbeRunResult,
} from './protocol.ts';
import { RpcClient } from './rpc.ts';

export class EngineClient implements Engine {
  private readonly rpc: RpcClient<EngineApi>;
  private loaded: LoadedInfo | null = null;

  constructor(onDeviceLost?: (message: string) => void, worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' })) {
    this.rpc = new RpcClient<EngineApi>(worker, 'engine', (n) => onDeviceLost?.((n as DeviceLostNotice).message));
  }

  /** What is loaded (after a successful load). */
  get info(): LoadedInfo {
    if (!this.loaded) throw new Error('No model is loaded');
    return this.loaded;
  }

  /** Loads a bundle; the model loaded before stays in use if this fails. */
  async load(source: BundleSource, options: LoadRequestOptions, onEvent?: (e: LoadEvent) => void, signal?: AbortSignal): Promise<LoadedInfo> {
    this.loaded = await this.rpc.call('load', { source, options }, { onEvent, signal });
    return this.loaded;
  }

  generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    const prompt = Int32Array.from(request.prompt as ArrayLike<number>);
    return this.rpc.call(
      'generate',
      { ...request, prompt },
      {
        signal: options.signal,
        transfer: [prompt.buffer],
        onEvent: (e) => {
          if ('prefill' in e) options.onPrefill?.(e.prefill);
          else if (options.onStep) for (const ev of unpackSteps(e.steps)) options.onStep(ev);
        },
      },
    );
  }

  score(images: ArrayLike<number>[]): Promise<ScoreResult[]> {
    return this.rpc.call('score', images.map((a) => Int32Array.from(a)));
  }

  /** Diagnostics: destroy the WebGPU device in the worker. */
  debugLoseDevice(): Promise<void> {
    return this.rpc.call('loseDevice', null);
  }

  async dispose(): Promise<void> {
    this.rpc.terminate('The engine worker was restarted');
  }
}

/** The probe worker, seen from the UI thread: inspect a labelled set, run the probes of a model. */
export class ProbeClient {
  private readonly rpc: RpcClient<ProbeApi>;

  constructor(worker = new Worker(new URL('./probe.worker.ts', import.meta.url), { type: 'module' })) {
    this.rpc = new RpcClient<ProbeApi>(worker, 'probe');
  }

  inspect(data: ProbeDataSpec, clusters: number[][]): Promise<ProbeDataInfo> {
    return this.rpc.call('inspect', { data, clusters });
  }

  /** Resolves to null when stopped. */
  run(request: ProbeRunRequest, onEvent: (e: ProbeEvent) => void, signal?: AbortSignal): Promise<ProbeRunResult | null> {
    return this.rpc.call('run', request, { onEvent, signal });
  }

  dispose(): void {
    this.rpc.terminate('The probe worker was stopped');
  }
}
