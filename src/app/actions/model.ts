/**
 * The model: the engine worker, loading bundles (URL, picked files, the default), and the palette
 * that comes with a model. A failed load keeps the model already loaded.
 */
import { bundleFileMap, resolveBundleUrl, type BundleManifest, type BundleSource } from '../../bundle/index.ts';
import { EngineClient } from '../../worker/client.ts';
import { WorkerCallError, type LoadRequestOptions } from '../../worker/protocol.ts';
import { nearestToken, paletteFromManifest } from '../palette.ts';
import { useStore } from '../store.ts';

/** The bundled default model (a folder served next to the app). */
export const DEFAULT_MODEL_URL = `${import.meta.env.BASE_URL}models/default/`;

let client: EngineClient | null = null;
/** What is loaded, to load it again into a fresh worker after a lost GPU device. */
let loaded: { source: BundleSource; label: string } | null = null;

/** The source of the model loaded last (the Probe view probes it). */
export function loadedSource(): BundleSource | null {
  return loaded?.source ?? null;
}

export function errorText(e: unknown): string {
  if (e instanceof WorkerCallError && e.input && e.problem) return `${e.input}: ${e.problem}`;
  return e instanceof Error ? e.message : String(e);
}

/** Backend, dtype and wasm threads from the page's query string (?backend=wasm&dtype=fp32&threads=2). */
export function loadOptionsFromQuery(search: string): LoadRequestOptions {
  const q = new URLSearchParams(search);
  const b = q.get('backend');
  const d = q.get('dtype');
  const options: LoadRequestOptions = { backend: b === 'wasm' || b === 'webgpu' ? b : 'auto', dtype: d === 'fp32' || d === 'fp16' ? d : 'auto' };
  const t = Number(q.get('threads'));
  if (Number.isInteger(t) && t >= 1 && t <= 16) options.wasmThreads = t;
  return options;
}

export function wasmNotice(info: { fallbackReason?: string }): string {
  return `WebGPU is not in use: running on wasm (CPU), which is slower. ${
    info.fallbackReason ? `Reason: ${info.fallbackReason}.` : 'wasm was requested (?backend=wasm).'
  }`;
}

/** The engine of the loaded model. */
export function engine(): EngineClient {
  client ??= new EngineClient((message) => {
    const st = useStore.getState();
    if (st.model.deviceLost) return;
    st.setModel({ deviceLost: true });
    st.notify('warning', `The GPU device was lost (${message}). The model will be reloaded on the next run.`);
  });
  return client;
}

function applyPalette(manifest: BundleManifest): void {
  const st = useStore.getState();
  const next = paletteFromManifest(manifest);
  if (st.palette && st.palette.rgb.every((v, i) => v === next.rgb[i])) return;
  st.setPalette(next);
  if (!st.palette) st.set({ colour: nearestToken(next.rgb, 0, 0, 0) });
}

export async function loadModel(source: BundleSource, label: string): Promise<boolean> {
  const st = useStore.getState();
  const hadModel = st.model.info !== null;
  st.setModel({ phase: 'loading', loadingLabel: label, progress: null, error: null });
  try {
    const info = await engine().load(source, loadOptionsFromQuery(location.search), (e) => {
      if (e.type === 'progress') useStore.getState().setModel({ progress: e.progress });
      // The palette is known before the weights arrive: drawing can start. A model already
      // loaded keeps its palette until the new one has loaded.
      else if (!useStore.getState().model.info) applyPalette(e.manifest);
    });
    loaded = { source, label };
    const s = useStore.getState();
    s.setModel({ phase: 'ready', info, progress: null, loadingLabel: null, error: null, deviceLost: false });
    applyPalette(info.manifest);
    if (info.backend === 'wasm') s.notify('warning', wasmNotice(info));
    if (source.kind === 'url') s.set({ cacheVersion: s.cacheVersion + 1 });
    return true;
  } catch (e) {
    const msg = `Could not load the model: ${errorText(e)}`;
    const s = useStore.getState();
    s.setModel({ phase: hadModel ? 'ready' : 'error', loadingLabel: null, progress: null, error: msg });
    s.notify('error', hadModel ? `${msg}. Still using ${s.model.info?.manifest.name}.` : msg);
    return false;
  }
}

export function loadModelFromUrl(input: string): Promise<boolean> {
  let url: string;
  try {
    url = resolveBundleUrl(input, location.href);
  } catch (e) {
    useStore.getState().notify('error', `Could not load the model: ${errorText(e)}`);
    return Promise.resolve(false);
  }
  return loadModel({ kind: 'url', url }, url);
}

export function loadModelFromFiles(entries: { path: string; file: File }[], label: string): Promise<boolean> {
  let files: Map<string, Blob>;
  try {
    files = bundleFileMap(entries, label);
  } catch (e) {
    useStore.getState().notify('error', `Could not load the model: ${errorText(e)}`);
    return Promise.resolve(false);
  }
  return loadModel({ kind: 'files', files, label }, label);
}

export function loadDefaultModel(): Promise<boolean> {
  return loadModel({ kind: 'url', url: new URL(DEFAULT_MODEL_URL, location.href).href }, 'default model');
}

/** After a lost GPU device: a fresh worker (new wasm module, new device) with the same model. */
export async function restartEngine(): Promise<boolean> {
  await client?.dispose();
  client = null;
  useStore.getState().setModel({ deviceLost: false });
  return loaded ? loadModel(loaded.source, loaded.label) : false;
}
