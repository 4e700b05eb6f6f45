/// <reference lib="webworker" />
/**
 * The module worker that hosts the engine, behind the typed RPC of rpc.ts (EngineApi). Calls run
 * one at a time; Stop cancels a run at once. Step events are batched and flushed about once per
 * animation frame, their buffers transferred.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { loadBundle, readManifest, sourceLabel } from '../bundle/index.ts';
import { chooseBackend, createEngine, fitBackend } from '../engine/engine.ts';
import type { Engine } from '../engine/types.ts';
import { CacheStore } from './cache.ts';
import { StepBatcher, serializeError, type DeviceLostNotice, type EngineApi, type LoadedInfo } from './protocol.ts';
import { serve } from './rpc.ts';

declare const self: DedicatedWorkerGlobalScope;

const FLUSH_MS = 16;
let engine: Engine | null = null;
let deviceLost = false;

function current(): Engine {
  if (deviceLost) throw new Error('The WebGPU device was lost: reload the model');
  if (!engine) throw new Error('No model is loaded');
  return engine;
}

/** A lost WebGPU device makes this worker's engine unusable: tell the page, which starts a new worker. */
async function watchDevice(e: Engine): Promise<void> {
  if (e.info.backend !== 'webgpu') return;
  const device = await ort.env.webgpu.device;
  void device.lost.then((info) => {
    deviceLost = true;
    rpc.notice({ type: 'device-lost', message: `${info.reason}: ${info.message}`.trim() } satisfies DeviceLostNotice);
  });
}

const rpc = serve<EngineApi>(
  {
    async load({ source, options }, { emit, signal }) {
      const label = sourceLabel(source);
      emit({ type: 'progress', progress: { phase: 'manifest', loaded: 0, total: 0, file: 'igpt.json' } });
      const store = source.kind === 'url' ? await CacheStore.open() : undefined;
      const read = await readManifest(source, { store, signal });
      emit({ type: 'manifest', manifest: read.manifest, sourceLabel: label });
      // The variant is compared with the backend's limits before anything is read (adapterFit.ts).
      const { choice, variant } = fitBackend(read.manifest, await chooseBackend(options.backend), options.dtype, options.backend);
      const bundle = await loadBundle(source, read, variant, {
        store,
        signal,
        onProgress: (p) => emit({ type: 'progress', progress: { ...p, phase: 'download' } }),
      });
      emit({ type: 'progress', progress: { phase: 'init', loaded: 0, total: 0, file: variant.graph } });
      // The new engine is built first: if this fails, the one already loaded stays usable.
      const made = await createEngine(bundle, choice, { wasmThreads: options.wasmThreads });
      const old = engine;
      engine = made;
      if (old) await old.dispose().catch(() => undefined);
      void watchDevice(made).catch(() => undefined);
      const info: LoadedInfo = { ...made.info, sourceLabel: label, cache: store?.outcome ?? 'none' };
      if (store?.note) info.cacheNote = store.note;
      return info;
    },

    async generate(request, { emit, signal }) {
      const e = current();
      const batcher = new StepBatcher();
      let timer: ReturnType<typeof setTimeout> | null = null;
      const flush = () => {
        timer = null;
        const out = batcher.take();
        if (out) emit({ steps: out.batch }, out.transfer);
      };
      try {
        return await e.generate(request, {
          signal,
          onPrefill: (prefill) => emit({ prefill }),
          onStep: (ev) => {
            batcher.add(ev);
            timer ??= setTimeout(flush, FLUSH_MS);
          },
        });
      } catch (err) {
        if (e.info.backend === 'webgpu' && (deviceLost || serializeError(err).deviceLost)) {
          deviceLost = true;
          throw new Error(`The WebGPU device was lost (${(err as Error).message})`);
        }
        throw err;
      } finally {
        if (timer !== null) clearTimeout(timer);
        flush();
      }
    },

    score: (images) => current().score(images),

    async loseDevice() {
      (await ort.env.webgpu.device).destroy();
    },
  },
  self,
);
