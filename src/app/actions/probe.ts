/**
 * The Probe view: which layer of the loaded model knows what the picture is. The data set and the
 * probes run in the probe worker (src/worker/probe.worker.ts); here: choosing the data, Run/Stop,
 * progress into the store, and export as CSV and PNG.
 */
import { probeCsv } from '../../probe/report.ts';
import { ProbeClient } from '../../worker/client.ts';
import type { ProbeDataSpec, ProbeEvent } from '../../worker/protocol.ts';
import { initialProbe, useStore, type ProbeState } from '../store.ts';
import { errorText, loadedSource, loadOptionsFromQuery } from './model.ts';

/** The bundled labelled set (public/probe/): 9 emoji groups, about 200 images each. */
export const EMOJI_SET_URL = `${import.meta.env.BASE_URL}probe/emoji.json`;
export const EMOJI_SET_LABEL = 'Emoji categories (bundled)';

let client: ProbeClient | null = null;
let running: AbortController | null = null;

function worker(): ProbeClient {
  client ??= new ProbeClient();
  return client;
}

export function probeDataSpec(p: Pick<ProbeState, 'data' | 'folder'>): ProbeDataSpec | null {
  if (p.data === 'emoji') return { kind: 'set', url: new URL(EMOJI_SET_URL, location.href).href, label: EMOJI_SET_LABEL };
  return p.folder ? { kind: 'files', files: p.folder.files, label: p.folder.label } : null;
}

/** Reads the chosen set with the model's palette: classes, counts and bad files for the view. */
export async function inspectProbeData(): Promise<void> {
  const st = useStore.getState();
  const spec = probeDataSpec(st.probe);
  const clusters = st.model.info?.manifest.palette.clusters;
  if (!spec || !clusters) return st.setProbe({ dataInfo: null, dataError: null });
  st.setProbe({ inspecting: true, dataError: null });
  try {
    const info = await worker().inspect(spec, clusters);
    if (probeDataSpec(useStore.getState().probe)?.label === spec.label) useStore.getState().setProbe({ dataInfo: info, inspecting: false });
  } catch (e) {
    useStore.getState().setProbe({ dataInfo: null, dataError: errorText(e), inspecting: false });
  }
}

export function chooseProbeData(data: ProbeState['data']): void {
  useStore.getState().setProbe({ data, dataInfo: null, dataError: null });
  void inspectProbeData();
}

/** A picked or dropped folder holding one sub-folder per class. */
export function setProbeFolder(files: { path: string; file: Blob }[], label: string): void {
  const st = useStore.getState();
  if (files.length === 0) return st.setProbe({ data: 'folder', folder: null, dataInfo: null, dataError: `${label}: no files in it` });
  st.setProbe({ data: 'folder', folder: { label, files }, dataInfo: null, dataError: null });
  void inspectProbeData();
}

export function canRunProbe(st = useStore.getState()): boolean {
  return st.model.phase === 'ready' && st.probe.phase !== 'running' && probeDataSpec(st.probe) !== null && loadedSource() !== null;
}

function onEvent(e: ProbeEvent): void {
  const set = useStore.getState().setProbe;
  const p = useStore.getState().probe;
  if (e.type === 'model') set({ stage: 'model' });
  else if (e.type === 'data') set({ stage: 'data', dataInfo: e.info, images: { done: 0, total: e.selected } });
  else if (e.type === 'features') set({ stage: 'features', images: { done: e.done, total: e.total } });
  else set({ stage: 'layers', layers: [...p.layers, e.layer], fitted: { done: e.index + 1, total: e.total } });
}

export async function runProbe(): Promise<void> {
  const st = useStore.getState();
  const source = loadedSource();
  const spec = probeDataSpec(st.probe);
  if (!canRunProbe(st) || !source || !spec) return;
  const { perClass, split, seed } = st.probe;
  const abort = new AbortController();
  running = abort;
  const layers = (st.model.info?.manifest.config.nLayer ?? 0) + 1;
  st.setProbe({
    phase: 'running',
    stage: 'data',
    layers: [],
    result: null,
    error: null,
    images: { done: 0, total: 0 },
    fitted: { done: 0, total: layers },
    startedAt: performance.now(),
    seconds: null,
  });
  const q = loadOptionsFromQuery(location.search);
  try {
    const result = await worker().run(
      { source, backend: q.backend, wasmThreads: q.wasmThreads, data: spec, perClass: perClass ?? undefined, testFraction: split, seed },
      onEvent,
      abort.signal,
    );
    const seconds = (performance.now() - useStore.getState().probe.startedAt) / 1000;
    if (result) useStore.getState().setProbe({ phase: 'done', stage: null, result, layers: result.layers, seconds });
    else useStore.getState().setProbe({ phase: 'stopped', stage: null, seconds });
  } catch (e) {
    useStore.getState().setProbe({ phase: 'error', stage: null, error: `The probe failed: ${errorText(e)}` });
  } finally {
    if (running === abort) running = null;
  }
}

export function stopProbe(): void {
  running?.abort();
}

/** Back to the settings' defaults, keeping the chosen data. */
export function resetProbeSettings(): void {
  const { perClass, split, seed } = initialProbe;
  useStore.getState().setProbe({ perClass, split, seed });
}

function download(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function fileStem(): string {
  const { result, seed } = useStore.getState().probe;
  return `igpt-probe-${(result?.model ?? 'model').replace(/[^\w.-]+/g, '_')}-seed${seed}`;
}

/** The finished run as CSV (src/probe/report.ts probeCsv), or null. */
export function probeCsvText(): string | null {
  const r = useStore.getState().probe.result;
  return r ? probeCsv(r) : null;
}

export function exportProbeCsv(): void {
  const csv = probeCsvText();
  if (csv) download(new Blob([csv], { type: 'text/csv' }), `${fileStem()}.csv`);
}

/** The chart (an <svg> in the page) drawn onto a white canvas at 2x, as PNG. */
export async function chartPng(svg: SVGSVGElement): Promise<Blob> {
  const { width, height } = svg.viewBox.baseVal;
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  const text = new XMLSerializer().serializeToString(clone);
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = width * 2;
  canvas.height = height * 2;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the chart could not be drawn as PNG'))), 'image/png'));
}

export async function exportProbePng(svg: SVGSVGElement | null): Promise<void> {
  if (!svg) return;
  try {
    download(await chartPng(svg), `${fileStem()}.png`);
  } catch (e) {
    useStore.getState().notify('error', `Could not export the chart: ${errorText(e)}`);
  }
}
