/// <reference lib="webworker" />
/**
 * The module worker that hosts the engine. Requests run one at a time (ORT must never run two
 * session.run() at once); aborts are handled immediately. Step events are batched and flushed
 * about once per animation frame.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { InputError } from '../convert/types';
import { loadEngine } from '../engine/engine';
import type { BundleSource, Engine, LoadProgress, StepEvent } from '../engine/types';
import { MANIFEST_FILE, chooseVariant, downloadBundle, fetchManifest, validateManifest } from './bundles';
import {
  batchTransferables,
  packSteps,
  serializeError,
  type CacheOutcome,
  type LoadRequestOptions,
  type LoadedInfo,
  type WorkerRequest,
  type WorkerResponse,
} from './protocol';

declare const self: DedicatedWorkerGlobalScope;

const FLUSH_MS = 16;

let engine: Engine | null = null;
let loaded: { source: BundleSource; options: LoadRequestOptions; label: string; cache: CacheOutcome; note?: string } | null =
  null;
let needsReload = false;
const aborts = new Map<number, AbortController>();
let chain: Promise<void> = Promise.resolve();

function post(msg: WorkerResponse, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

async function hasShaderF16(): Promise<boolean> {
  try {
    const gpu = (self.navigator as Navigator & { gpu?: GPU }).gpu;
    const adapter = await gpu?.requestAdapter();
    return !!adapter?.features.has('shader-f16');
  } catch {
    return false;
  }
}

/** Resolve the source to a file map (downloading through the cache) and create an engine. */
async function createEngine(
  id: number,
  source: BundleSource,
  options: LoadRequestOptions,
): Promise<{ engine: Engine; label: string; cache: CacheOutcome; note?: string }> {
  let files: Map<string, Blob>;
  let label: string;
  let cache: CacheOutcome = 'none';
  let note: string | undefined;
  post({ id, type: 'progress', progress: { phase: 'manifest', loaded: 0, total: 0, file: MANIFEST_FILE } });
  const shaderF16 = options.dtype === 'auto' && options.backend !== 'wasm' ? await hasShaderF16() : false;
  let dtype: 'fp32' | 'fp16';
  if (source.kind === 'url') {
    label = source.url;
    const m = await fetchManifest(source.url);
    post({ id, type: 'manifest', manifest: m.manifest, sourceLabel: label });
    const variant = chooseVariant(m.manifest, { ...options, shaderF16 });
    dtype = variant.dtype;
    const got = await downloadBundle(source.url, m, variant, (loadedBytes, total, file) =>
      post({ id, type: 'progress', progress: { phase: 'download', loaded: loadedBytes, total, file } }),
    );
    files = got.files;
    cache = got.cache;
    note = got.note;
  } else {
    label = source.label ?? 'local files';
    files = source.files;
    const mBlob = files.get(MANIFEST_FILE);
    if (!mBlob) throw new InputError(label, `contains no ${MANIFEST_FILE}`);
    let json: unknown;
    try {
      json = JSON.parse(await mBlob.text());
    } catch {
      throw new InputError(`${label}/${MANIFEST_FILE}`, 'is not valid JSON');
    }
    const manifest = validateManifest(json, `${label}/${MANIFEST_FILE}`);
    post({ id, type: 'manifest', manifest, sourceLabel: label });
    const variant = chooseVariant(manifest, { ...options, shaderF16 });
    dtype = variant.dtype;
    for (const f of variant.files) {
      const b = files.get(f.path);
      if (!b) throw new InputError(`${label}/${f.path}`, 'is missing (listed in igpt.json)');
      if (f.bytes > 0 && b.size !== f.bytes) {
        throw new InputError(`${label}/${f.path}`, `has ${b.size} bytes, igpt.json says ${f.bytes}`);
      }
    }
  }
  const e = await loadEngine(
    { kind: 'files', files, label },
    {
      backend: options.backend,
      dtype,
      onProgress: (p: LoadProgress) => post({ id, type: 'progress', progress: { ...p, phase: 'init' } }),
    },
  );
  return { engine: e, label, cache, note };
}

/** Watch the WebGPU device of a new engine: a lost device makes the worker unusable for WebGPU. */
let deviceLost = false;
async function watchDevice(e: Engine): Promise<void> {
  if (e.info.backend !== 'webgpu') return;
  try {
    const device = await ort.env.webgpu.device;
    void device.lost.then((info) => {
      deviceLost = true;
      needsReload = true;
      post({ id: 0, type: 'device-lost', message: `${info.reason}: ${info.message}`.trim() });
    });
  } catch {
    /* no device to watch */
  }
}

function infoOf(e: Engine, label: string, cache: CacheOutcome, note?: string): LoadedInfo {
  const info: LoadedInfo = { ...e.info, sourceLabel: label, cache };
  if (note) info.cacheNote = note;
  return info;
}

async function handleLoad(id: number, source: BundleSource, options: LoadRequestOptions): Promise<void> {
  // Build the new engine first; the old one stays usable if this fails.
  const made = await createEngine(id, source, options);
  const old = engine;
  engine = made.engine;
  needsReload = false;
  loaded = { source, options, label: made.label, cache: made.cache, note: made.note };
  if (old) await old.dispose().catch(() => undefined);
  void watchDevice(engine);
  post({ id, type: 'loaded', info: infoOf(engine, made.label, made.cache, made.note) });
}

async function ensureEngine(id: number): Promise<Engine> {
  if (engine && !needsReload) return engine;
  if (!loaded) throw new Error('No model is loaded');
  // Recreate after a lost GPU device.
  const made = await createEngine(id, loaded.source, loaded.options);
  engine = made.engine;
  needsReload = false;
  post({ id, type: 'loaded', info: infoOf(engine, made.label, made.cache, made.note) });
  return engine;
}

async function handleGenerate(id: number, msg: Extract<WorkerRequest, { type: 'generate' }>): Promise<void> {
  const controller = aborts.get(id) ?? new AbortController();
  if (controller.signal.aborted) {
    const empty = msg.request.samples.map(() => new Int32Array(0));
    post({ id, type: 'generated', result: { tokens: empty, prefillMs: 0, decodeMs: 0, steps: 0, tokensPerSecond: 0, aborted: true } });
    return;
  }
  const e = await ensureEngine(id);
  let pending: StepEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    if (pending.length === 0) return;
    const batch = packSteps(pending);
    pending = [];
    post({ id, type: 'steps', batch }, batchTransferables(batch));
  };
  try {
    const result = await e.generate(msg.request, {
      signal: controller.signal,
      onStep: (ev) => {
        // The engine may reuse its arrays: copy what we keep.
        pending.push({
          ...ev,
          tokens: ev.tokens.slice(),
          entropy: ev.entropy.slice(),
          candidates: ev.candidates.slice(),
          candidateProbs: ev.candidateProbs.slice(),
        });
        if (timer === null) timer = setTimeout(flush, FLUSH_MS);
      },
    });
    if (timer !== null) clearTimeout(timer);
    flush();
    post({ id, type: 'generated', result });
  } catch (err) {
    if (timer !== null) clearTimeout(timer);
    flush();
    const se = serializeError(err);
    if (se.deviceLost || deviceLost || (e.info.backend === 'webgpu' && /lost|destroyed/i.test(se.message))) {
      se.deviceLost = true;
      needsReload = true;
      engine = null;
      await e.dispose().catch(() => undefined);
    }
    post({ id, type: 'error', error: se });
  }
}

async function handle(msg: WorkerRequest): Promise<void> {
  const { id } = msg;
  try {
    switch (msg.type) {
      case 'load':
        await handleLoad(id, msg.source, msg.options);
        break;
      case 'generate':
        await handleGenerate(id, msg);
        break;
      case 'score': {
        const e = await ensureEngine(id);
        const results = await e.score(msg.images);
        post({ id, type: 'scored', results });
        break;
      }
      case 'dispose':
        if (engine) await engine.dispose();
        engine = null;
        loaded = null;
        post({ id, type: 'done' });
        break;
      case 'abort':
        break;
      case 'debug-lose-device': {
        const device = await ort.env.webgpu.device;
        device.destroy();
        post({ id, type: 'done' });
        break;
      }
    }
  } catch (err) {
    const se = serializeError(err);
    if (se.deviceLost) {
      needsReload = true;
      engine = null;
    }
    post({ id, type: 'error', error: se });
  } finally {
    aborts.delete(id);
  }
}

self.onmessage = (ev: MessageEvent<WorkerRequest>) => {
  const msg = ev.data;
  if (msg.type === 'abort') {
    aborts.get(msg.target)?.abort();
    return;
  }
  if (msg.type === 'generate') aborts.set(msg.id, new AbortController());
  chain = chain.then(() => handle(msg));
};
