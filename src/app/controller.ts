/**
 * Side effects: the engine worker, the image worker, runs, the URL hash. Components call these;
 * state goes to the store, pixels to the painter.
 */
import type { BundleSource, GenerateResult } from '../engine/types';
import { bundleFileMap, resolveBundleUrl } from '../worker/bundles';
import { EngineClient } from '../worker/client';
import type { ImageWorkerRequest, ImageWorkerResponse } from '../worker/image-protocol';
import { EngineWorkerError, type LoadRequestOptions } from '../worker/protocol';
import { decodeHash, encodeHash } from './hash';
import { Painter } from './painter';
import { nearestToken, paletteFromManifest } from './palette';
import { IMAGE_TOKENS, sampleLayout } from './settings';
import { initialRun, useStore } from './store';

/** The bundled default model (a folder served next to the app). */
export const DEFAULT_MODEL_URL = `${import.meta.env.BASE_URL}models/default/`;
export const EXAMPLES_URL = `${import.meta.env.BASE_URL}examples/`;

export const painter = new Painter();

let client: EngineClient | null = null;
let current: { runId: number; abort: () => void } | null = null;
let lastUpload: { blob: Blob; name: string } | null = null;
let hashReady = false;
/** The loaded model's source, to reload it in a fresh worker after a lost GPU device. */
let lastSource: { source: BundleSource; label: string } | null = null;
let gpuLost = false;

function errorText(e: unknown): string {
  if (e instanceof EngineWorkerError && e.input && e.problem) return `${e.input}: ${e.problem}`;
  return e instanceof Error ? e.message : String(e);
}

/** Backend and dtype from the page's query string (?backend=wasm&dtype=fp32). */
export function loadOptionsFromQuery(search: string): LoadRequestOptions {
  const q = new URLSearchParams(search);
  const b = q.get('backend');
  const d = q.get('dtype');
  return {
    backend: b === 'wasm' || b === 'webgpu' ? b : 'auto',
    dtype: d === 'fp32' || d === 'fp16' ? d : 'auto',
  };
}

function getClient(): EngineClient {
  if (client) return client;
  const st = useStore.getState;
  client = new EngineClient({
    onProgress: (progress) => st().setModel({ progress }),
    onManifest: (manifest) => {
      // The palette is known before the weights arrive: drawing can start. A model that is
      // already loaded keeps its palette until the new one has loaded.
      if (!st().model.info) applyPalette(manifest);
    },
    onLoaded: (info) => {
      const prev = st().model.info;
      st().setModel({ phase: 'ready', info, progress: null, loadingLabel: null, error: null });
      applyPalette(info.manifest);
      if (info.backend === 'wasm' && prev?.backend !== 'wasm') st().notify('warning', wasmNotice(info));
    },
    onDeviceLost: (message) => {
      if (gpuLost) return;
      gpuLost = true;
      st().notify('warning', `The GPU device was lost (${message}). The model will be reloaded on the next run.`);
    },
    onFatal: (message) => st().setModel({ phase: 'error', error: message, loadingLabel: null, progress: null }),
  });
  return client;
}

export function wasmNotice(info: { fallbackReason?: string }): string {
  return `WebGPU is not in use: running on wasm (CPU), which is slower. ${
    info.fallbackReason ? `Reason: ${info.fallbackReason}.` : 'wasm was requested (?backend=wasm).'
  }`;
}

function applyPalette(manifest: Parameters<typeof paletteFromManifest>[0]): void {
  const st = useStore.getState();
  const prev = st.palette;
  const next = paletteFromManifest(manifest);
  if (prev && prev.rgb.every((v, i) => v === next.rgb[i])) return;
  st.setPalette(next);
  if (!prev) st.set({ colour: nearestToken(next.rgb, 0, 0, 0) });
  if (lastUpload && prev) void quantizeUpload(lastUpload.blob, lastUpload.name, st.prompt.label);
  if (!st.prompt.tokens) void loadDefaultExample();
}

export async function loadModel(source: BundleSource, label: string): Promise<boolean> {
  const st = useStore.getState();
  if (st.run.phase === 'running') stop();
  st.setModel({ phase: 'loading', loadingLabel: label, progress: null, error: null });
  const hadModel = st.model.info !== null;
  try {
    await getClient().load(source, loadOptionsFromQuery(location.search));
    lastSource = { source, label };
    if (source.kind === 'url') void refreshCacheList();
    writeHashSoon();
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

// ---- cached bundles (listing lives in the UI; refreshed after downloads) ----

type CacheListener = () => void;
const cacheListeners = new Set<CacheListener>();
export function onCacheChange(f: CacheListener): () => void {
  cacheListeners.add(f);
  return () => cacheListeners.delete(f);
}
export async function refreshCacheList(): Promise<void> {
  for (const f of cacheListeners) f();
}

// ---- prompt ----

let imageWorker: Worker | null = null;
let imageReq = 1;
const imagePending = new Map<number, (r: ImageWorkerResponse) => void>();

function getImageWorker(): Worker {
  if (imageWorker) return imageWorker;
  imageWorker = new Worker(new URL('../worker/image.worker.ts', import.meta.url), { type: 'module' });
  imageWorker.onmessage = (ev: MessageEvent<ImageWorkerResponse>) => {
    imagePending.get(ev.data.id)?.(ev.data);
    imagePending.delete(ev.data.id);
  };
  return imageWorker;
}

async function quantizeUpload(blob: Blob, name: string, label = name): Promise<boolean> {
  const st = useStore.getState();
  const palette = st.palette;
  if (!palette) {
    st.notify('warning', `${name}: wait for the model's palette before adding an image`);
    return false;
  }
  const id = imageReq++;
  const res = await new Promise<ImageWorkerResponse>((resolve) => {
    imagePending.set(id, resolve);
    getImageWorker().postMessage({ id, file: blob, name, clusters: palette.clusters } satisfies ImageWorkerRequest);
  });
  if (!res.ok) {
    const e = res.error;
    st.notify('error', `Could not use the image: ${e.input && e.problem ? `${e.input}: ${e.problem}` : e.message}`);
    return false;
  }
  useStore.getState().setPrompt(res.tokens, label, { recordHistory: true });
  return true;
}

export async function uploadImage(blob: Blob, name: string): Promise<boolean> {
  const ok = await quantizeUpload(blob, name);
  if (ok) lastUpload = { blob, name };
  return ok;
}

export interface Example {
  file: string;
  title: string;
}

let examplesCache: Promise<Example[]> | null = null;
export function listExamples(): Promise<Example[]> {
  examplesCache ??= fetch(`${EXAMPLES_URL}index.json`)
    .then((r) => (r.ok ? r.json() : []))
    .catch(() => []) as Promise<Example[]>;
  return examplesCache;
}

export async function loadExample(ex: Example): Promise<boolean> {
  try {
    const res = await fetch(EXAMPLES_URL + ex.file);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const blob = await res.blob();
    const ok = await quantizeUpload(blob, ex.file, ex.title);
    if (ok) lastUpload = { blob, name: ex.file };
    return ok;
  } catch (e) {
    useStore.getState().notify('error', `Could not load the example ${ex.file}: ${errorText(e)}`);
    return false;
  }
}

async function loadDefaultExample(): Promise<void> {
  const list = await listExamples();
  if (list.length > 0 && !useStore.getState().prompt.tokens) await loadExample(list[0]);
}

/** Drawing edits replace the prompt; the upload is no longer the source. */
export function forgetUpload(): void {
  lastUpload = null;
}

// ---- runs ----

export function canGenerate(): boolean {
  const st = useStore.getState();
  return st.model.phase === 'ready' && !!st.model.info && !!st.prompt.tokens && !!st.palette && st.run.phase !== 'running';
}

/** After a lost GPU device: a fresh worker (new wasm module, new device) with the same model. */
async function restartEngine(): Promise<boolean> {
  gpuLost = false;
  client?.terminate();
  client = null;
  if (!lastSource) return false;
  return loadModel(lastSource.source, lastSource.label);
}

export async function generate(): Promise<void> {
  if (!canGenerate()) return;
  if (gpuLost && !(await restartEngine())) return;
  const st = useStore.getState();
  const prompt = st.prompt.tokens!;
  const palette = st.palette!;
  const layout = sampleLayout(st.settings);
  const keptLen = st.settings.rowsToKeep * 32;
  const runId = st.run.id + 1;
  painter.begin({ id: runId, prompt, keptLen, batch: layout.samples.length, rgb: palette.rgb });
  st.setRun({
    ...initialRun,
    phase: 'running',
    id: runId,
    layout,
    keptRows: st.settings.rowsToKeep,
    totalTokens: IMAGE_TOKENS - keptLen,
  });
  writeHashSoon();
  const h = getClient().generate({ prompt: prompt.subarray(0, keptLen), samples: layout.samples }, (b) =>
    painter.push(runId, b),
  );
  current = { runId, abort: h.abort };
  let result: GenerateResult;
  try {
    result = await h.promise;
  } catch (e) {
    painter.stop();
    const err = e instanceof EngineWorkerError ? e : null;
    if (err?.deviceLost) gpuLost = true;
    const msg = err?.deviceLost
      ? `The GPU device was lost (${errorText(e)}). The model will be recreated on the next run.`
      : `Generation failed: ${errorText(e)}`;
    if (current?.runId === runId) current = null;
    useStore.getState().setRun({ phase: 'error', error: msg });
    useStore.getState().notify('error', msg);
    return;
  }
  if (!result.aborted) await painter.drain(runId);
  painter.finish(runId, result.tokens);
  if (current?.runId === runId) current = null;
  const s = useStore.getState();
  if (s.run.id !== runId) return;
  s.setRun({
    phase: result.aborted ? 'stopped' : 'done',
    paintedTokens: result.aborted ? s.run.paintedTokens : s.run.totalTokens,
    tokensPerSecond: result.tokensPerSecond,
    elapsedMs: result.prefillMs + result.decodeMs,
  });
}

export function stop(): void {
  if (!current) return;
  current.abort();
  painter.stop();
}

export function toggleRun(): void {
  if (useStore.getState().run.phase === 'running') stop();
  else void generate();
}

painter.onProgress = (p) => {
  const st = useStore.getState();
  if (st.run.id !== p.runId || st.run.phase !== 'running') return;
  st.setRun({
    paintedTokens: p.painted,
    elapsedMs: p.elapsedMs,
    tokensPerSecond: p.elapsedMs > 0 ? (p.painted * (st.run.layout?.samples.length ?? 1) * 1000) / p.elapsedMs : 0,
  });
};

export async function scorePrompt(): Promise<void> {
  const st = useStore.getState();
  const tokens = st.prompt.tokens;
  if (!tokens || st.model.phase !== 'ready' || st.scoring) return;
  const version = st.prompt.version;
  st.set({ scoring: true });
  try {
    const [r] = await getClient().score([tokens.slice()]);
    useStore.getState().set({ likelihood: { ...r, promptVersion: version } });
  } catch (e) {
    useStore.getState().notify('error', `Scoring failed: ${errorText(e)}`);
  } finally {
    useStore.getState().set({ scoring: false });
  }
}

// ---- URL hash ----

let hashTimer: ReturnType<typeof setTimeout> | null = null;

export function currentHash(): string {
  const st = useStore.getState();
  const modelUrl = st.model.info?.sourceLabel;
  const defaultUrl = new URL(DEFAULT_MODEL_URL, location.href).href;
  return encodeHash({
    settings: st.settings,
    prompt: st.prompt.tokens ?? undefined,
    model: modelUrl && /^https?:/.test(modelUrl) && modelUrl !== defaultUrl ? modelUrl : undefined,
  });
}

export function writeHashSoon(): void {
  if (!hashReady) return;
  if (hashTimer) clearTimeout(hashTimer);
  hashTimer = setTimeout(() => {
    hashTimer = null;
    const h = currentHash();
    if (h !== location.hash) history.replaceState(null, '', `${location.pathname}${location.search}${h}`);
  }, 250);
}

/** Read the hash, then load the model it names (or the default). */
export async function start(): Promise<void> {
  const st = useStore.getState();
  if (new URLSearchParams(location.search).has('debug')) {
    (window as unknown as { igptDebug: unknown }).igptDebug = {
      /** Destroy the worker's WebGPU device, to see the app recover. */
      loseDevice: () => getClient().debugLoseDevice(),
    };
  }
  const fromHash = decodeHash(location.hash);
  if (location.hash.length > 1) {
    st.setSettings(fromHash.settings);
    if (fromHash.prompt) st.setPrompt(fromHash.prompt, 'link');
    for (const e of fromHash.errors) st.notify('warning', e);
  }
  hashReady = true;
  useStore.subscribe((s, prev) => {
    if (s.settings !== prev.settings || s.prompt !== prev.prompt) writeHashSoon();
  });
  painter.speed = st.speed;
  painter.view = st.view;
  useStore.subscribe((s, prev) => {
    if (s.speed !== prev.speed) painter.speed = s.speed;
    if (s.view !== prev.view) painter.setView(s.view);
  });
  const model = fromHash.model;
  if (model) {
    const ok = await loadModelFromUrl(model);
    if (ok) return;
  }
  await loadModel({ kind: 'url', url: new URL(DEFAULT_MODEL_URL, location.href).href }, 'default model');
}

// ---- export ----

/** The grid (original + samples, one row per temperature) as a PNG download. */
export async function exportGrid(scale = 8): Promise<void> {
  const st = useStore.getState();
  const layout = st.run.layout;
  if (!layout || !st.palette) return;
  const cell = 32 * scale;
  const gap = scale * 2;
  const labelW = layout.rows > 1 ? 12 * scale : 0;
  const cols = layout.cols + 1;
  const canvas = document.createElement('canvas');
  canvas.width = labelW + cols * cell + (cols + 1) * gap;
  canvas.height = layout.rows * cell + (layout.rows + 1) * gap;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#111318';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  const tile = document.createElement('canvas');
  tile.width = 32;
  tile.height = 32;
  const tctx = tile.getContext('2d')!;
  const draw = (img: ImageData, col: number, row: number) => {
    tctx.putImageData(img, 0, 0);
    ctx.drawImage(tile, labelW + gap + col * (cell + gap), gap + row * (cell + gap), cell, cell);
  };
  if (st.prompt.tokens) {
    const img = new ImageData(32, 32);
    for (let i = 0; i < 1024; i++) {
      const t = st.prompt.tokens[i];
      img.data.set([st.palette.rgb[3 * t], st.palette.rgb[3 * t + 1], st.palette.rgb[3 * t + 2], 255], 4 * i);
    }
    draw(img, 0, 0);
  }
  ctx.fillStyle = '#cfd3dc';
  ctx.font = `${3 * scale}px system-ui, sans-serif`;
  ctx.textBaseline = 'middle';
  for (let r = 0; r < layout.rows; r++) {
    if (labelW) ctx.fillText(`T=${layout.temperatures[r].toFixed(2)}`, gap, gap + r * (cell + gap) + cell / 2);
    for (let c = 0; c < layout.cols; c++) {
      const img = painter.imageData(r * layout.cols + c);
      if (img) draw(img, c + 1, r);
    }
  }
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `igpt-seed${st.settings.seed}-rows${st.run.keptRows}.png`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---- keyboard ----

export function toggleFullscreen(): void {
  if (document.fullscreenElement) void document.exitFullscreen();
  else void document.documentElement.requestFullscreen?.().catch(() => undefined);
}

/** Space generate/stop, R new seed, Left/Right temperature, F fullscreen, P presentation, Ctrl+Z/Y undo/redo. */
export function handleKey(e: KeyboardEvent): void {
  const t = e.target as HTMLElement | null;
  const tag = t?.tagName;
  const typing =
    tag === 'TEXTAREA' || tag === 'SELECT' || (tag === 'INPUT' && !['range', 'checkbox', 'radio', 'button'].includes((t as HTMLInputElement).type));
  if (typing) return;
  const st = useStore.getState();
  if ((e.ctrlKey || e.metaKey) && !e.altKey) {
    if (e.key === 'z' && !e.shiftKey) {
      st.undo();
      e.preventDefault();
    } else if (e.key === 'y' || (e.key === 'z' && e.shiftKey) || e.key === 'Z') {
      st.redo();
      e.preventDefault();
    }
    return;
  }
  if (e.altKey || e.metaKey) return;
  switch (e.key) {
    case ' ':
      if (tag === 'BUTTON' || tag === 'INPUT') return; // let the focused control act
      e.preventDefault();
      toggleRun();
      break;
    case 'r':
    case 'R':
      st.newSeed();
      break;
    case 'ArrowLeft':
    case 'ArrowRight':
      if (tag === 'INPUT') return; // sliders use arrows themselves
      e.preventDefault();
      st.nudgeTemperature(e.key === 'ArrowLeft' ? -0.05 : 0.05);
      break;
    case 'f':
    case 'F':
      toggleFullscreen();
      break;
    case 'p':
    case 'P':
      st.set({ presentation: !st.presentation });
      break;
    case 'Escape':
      if (st.presentation && !document.fullscreenElement) st.set({ presentation: false });
      break;
  }
}
