/**
 * Converting the real iGPT in the page: hub plans (sizes before a download), conversions in the
 * convert worker with their progress, the list of converted models in OPFS, and opening one.
 * A failed conversion keeps the model already loaded.
 */
import { create } from 'zustand';
import type { WeightDType } from '../../bundle/index.ts';
import type { AttentionScaleChoice, ConvertEvent, ConvertRequest, ConvertStage, HubPlan } from '../../convert/web/convertToOpfs.ts';
import { DEFAULT_HUB } from '../../convert/web/hub.ts';
import { deleteConverted, listConverted, openConverted, opfsAvailable, type ConvertedModel } from '../../convert/web/opfs.ts';
import { ConvertClient } from '../../worker/convertClient.ts';
import type { PickedFile } from '../files.ts';
import { useStore } from '../store.ts';
import { errorText, loadModel } from './model.ts';

/** The official checkpoints, with parameter counts computed from their shapes (weights in fp32 = 4 bytes each). */
export const PRESETS = [
  { label: 'iGPT-S', repo: 'openai/imagegpt-small', nLayer: 24, nEmbd: 512 },
  { label: 'iGPT-M', repo: 'openai/imagegpt-medium', nLayer: 36, nEmbd: 1024 },
  { label: 'iGPT-L', repo: 'openai/imagegpt-large', nLayer: 48, nEmbd: 1536 },
].map((p) => ({ ...p, params: parameterCount(p.nLayer, p.nEmbd) }));

/** Parameters of an ImageGPT: embeddings (513 + 1024 positions), 12d²+13d per layer, final norm, 512-way head. */
export function parameterCount(nLayer: number, d: number): number {
  return (513 + 1024 + 2 + 512) * d + nLayer * (12 * d * d + 13 * d);
}

export const CONVERTED_PREFIX = 'converted:';

export interface ConvertProgress {
  stage: ConvertStage;
  text: string;
  loaded: number;
  total: number;
  speed: number;
  etaSeconds: number | null;
  file: string;
}

interface ConvertState {
  endpoint: string;
  plan: HubPlan | null;
  planError: string | null;
  planFor: string | null;
  running: boolean;
  /** The bundle id being written (kept when the list is cleaned of unfinished folders). */
  runningId: string | null;
  progress: ConvertProgress | null;
  error: string | null;
  models: ConvertedModel[];
  canFp16: boolean | null;
}

const HUB_KEY = 'igpt.hubEndpoint';

/** The hub endpoint: the URL parameter `hub=`, else the saved setting, else huggingface.co. */
export function initialEndpoint(): string {
  const q = new URLSearchParams(location.search).get('hub');
  if (q) return q;
  try {
    return localStorage.getItem(HUB_KEY) || DEFAULT_HUB;
  } catch {
    return DEFAULT_HUB;
  }
}

export const useConvert = create<ConvertState>(() => ({
  endpoint: initialEndpoint(),
  plan: null,
  planError: null,
  planFor: null,
  running: false,
  runningId: null,
  progress: null,
  error: null,
  models: [],
  canFp16: null,
}));

export function setEndpoint(endpoint: string): void {
  useConvert.setState({ endpoint, plan: null, planFor: null, planError: null });
  try {
    if (!new URLSearchParams(location.search).get('hub')) localStorage.setItem(HUB_KEY, endpoint);
  } catch {
    // storage refused: the setting lasts for this page only
  }
}

let client: ConvertClient | null = null;
const converter = () => (client ??= new ConvertClient());
let abort: AbortController | null = null;
let planSeq = 0;

/** Sizes of a hub repo's checkpoint, before anything is downloaded. */
export async function planRepo(repo: string, revision: string): Promise<void> {
  const key = `${repo}@${revision}`;
  const seq = ++planSeq;
  useConvert.setState({ planFor: key, plan: null, planError: null });
  try {
    const plan = await converter().plan({ endpoint: useConvert.getState().endpoint, repo, revision });
    if (seq === planSeq) useConvert.setState({ plan });
  } catch (e) {
    if (seq === planSeq) useConvert.setState({ planError: errorText(e) });
  }
}

/** Whether the WebGPU adapter offers shader-f16 (fp16 is then the default precision). */
export async function detectFp16(): Promise<void> {
  let ok = false;
  try {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    const adapter = await gpu?.requestAdapter();
    ok = !!adapter?.features.has('shader-f16');
  } catch {
    ok = false;
  }
  useConvert.setState({ canFp16: ok });
}

export async function refreshConverted(): Promise<void> {
  if (!opfsAvailable()) return;
  const { runningId } = useConvert.getState();
  const models = await listConverted(new Set(runningId ? [runningId] : [])).catch(() => [] as ConvertedModel[]);
  useConvert.setState({ models });
}

function onEvent(e: ConvertEvent): void {
  const prev = useConvert.getState().progress;
  const base: ConvertProgress = prev ?? { stage: 'metadata', text: '', loaded: 0, total: 0, speed: 0, etaSeconds: null, file: '' };
  if (e.type === 'stage') useConvert.setState({ progress: { ...base, stage: e.stage, text: e.text, loaded: 0, total: 0, speed: 0, etaSeconds: null, file: '' } });
  else if (e.type === 'download') useConvert.setState({ progress: { ...base, ...e.progress } });
  else if (e.type === 'write') useConvert.setState({ progress: { ...base, file: e.file, loaded: e.written, total: Math.max(e.estimate, e.written), speed: 0, etaSeconds: null } });
  else if (e.type === 'id') useConvert.setState({ runningId: e.id });
}

/** Runs a conversion; on success the converted model is opened. */
export async function convert(req: ConvertRequest): Promise<boolean> {
  if (useConvert.getState().running) return false;
  abort = new AbortController();
  useConvert.setState({ running: true, runningId: null, error: null, progress: null });
  // Ask that the site's storage is not evicted under pressure (a multi-GB model); refusal is fine.
  await navigator.storage?.persist?.().catch(() => false);
  // The estimate after that request (persistence can change the quota); the worker checks it.
  const est = await navigator.storage?.estimate?.().catch(() => undefined);
  if (est) req = { ...req, storage: { quota: est.quota, usage: est.usage } };
  try {
    const entry = await converter().convert(req, onEvent, abort.signal);
    useConvert.setState({ running: false, runningId: null, progress: null });
    await refreshConverted();
    return await openConvertedModel(entry.id);
  } catch (e) {
    const cancelled = abort?.signal.aborted;
    if (cancelled) client = null;
    const msg = cancelled ? 'Conversion cancelled; a download in progress resumes on the next try.' : `Could not convert: ${errorText(e)}`;
    useConvert.setState({ running: false, runningId: null, progress: null, error: msg });
    await refreshConverted();
    const st = useStore.getState();
    const current = st.model.info?.manifest.name;
    st.notify(cancelled ? 'info' : 'error', current && !cancelled ? `${msg}. Still using ${current}.` : msg);
    return false;
  } finally {
    abort = null;
  }
}

export function cancelConvert(): void {
  abort?.abort();
}

export function convertHub(repo: string, revision: string, dtype: WeightDType, attentionScale: AttentionScaleChoice): Promise<boolean> {
  return convert({ source: { kind: 'hub', endpoint: useConvert.getState().endpoint, repo: repo.trim(), revision: revision.trim() || 'main' }, dtype, attentionScale });
}

/** Picked or dropped Hugging Face files; a common top folder is dropped from their paths. */
export function convertFiles(picked: PickedFile[], dtype: WeightDType, attentionScale: AttentionScaleChoice): Promise<boolean> {
  if (picked.length === 0) return Promise.resolve(false);
  const tops = new Set(picked.map((f) => (f.path.includes('/') ? f.path.split('/')[0] : '')));
  const top = tops.size === 1 && !tops.has('') ? [...tops][0] : null;
  const files = picked.map((f) => ({ path: top ? f.path.slice(top.length + 1) : f.path, file: f.file as Blob }));
  const label = top ?? (picked.length === 1 ? picked[0].path : 'local files');
  return convert({ source: { kind: 'files', files, label }, dtype, attentionScale });
}

/** Opens a converted model from OPFS (works offline). */
export async function openConvertedModel(id: string): Promise<boolean> {
  let opened;
  try {
    opened = await openConverted(id);
  } catch (e) {
    useStore.getState().notify('error', `Could not load the model: ${errorText(e)}`);
    return false;
  }
  return loadModel({ kind: 'files', files: opened.files, label: CONVERTED_PREFIX + id }, opened.entry.name);
}

export async function deleteConvertedModel(id: string): Promise<void> {
  await deleteConverted(id).catch((e) => useStore.getState().notify('error', `Could not delete ${id}: ${errorText(e)}`));
  await refreshConverted();
}
