/**
 * App state (zustand). Only coarse state lives here: pixels of running samples are painted
 * outside React (see painter.ts). Actions are small and synchronous; side effects live in
 * actions/, which react to this state through subscriptions.
 */
import { create } from 'zustand';
import type { ScoreResult } from '../engine/types.ts';
import type { LayerJson } from '../probe/report.ts';
import type { LoadEvent, LoadedInfo, ProbeDataInfo, ProbeRunResult } from '../worker/protocol.ts';
import { pushHistory, redo as redoHistory, undo as undoHistory, type History, type Tool } from './drawing';
import type { Palette } from './palette';
import { DEFAULT_SETTINGS, clampSettings, clampTemperature, randomSeed, type SampleLayout, type Settings } from './settings';


export type ModelPhase = 'idle' | 'loading' | 'ready' | 'error';
export type RunPhase = 'idle' | 'running' | 'done' | 'stopped' | 'error';
export type ViewMode = 'colour' | 'uncertainty';
/** Display speed: pixels painted per frame per sample ('max' = everything that has arrived). */
export type Speed = 'max' | 'slow' | 'slower';

export interface Notice {
  id: number;
  level: 'info' | 'warning' | 'error';
  text: string;
}

export interface ModelState {
  phase: ModelPhase;
  info: LoadedInfo | null;
  /** What is being loaded now. */
  loadingLabel: string | null;
  progress: Extract<LoadEvent, { type: 'progress' }>['progress'] | null;
  error: string | null;
  /** The WebGPU device was lost: the next run starts a fresh engine worker. */
  deviceLost: boolean;
}

export interface RunState {
  phase: RunPhase;
  /** Increments per run; the painter tags its data with it. */
  id: number;
  layout: SampleLayout | null;
  keptRows: number;
  totalTokens: number;
  paintedTokens: number;
  /** Per sample, decode only (plan.ts tokensPerSecond). */
  tokensPerSecond: number;
  /** Per sample, over the last seconds (plan.ts recentTokensPerSecond); 0 until known. */
  recentTokensPerSecond: number;
  elapsedMs: number;
  /** performance.now() when the run started, for a ticking clock. */
  startedAt: number;
  /** Reading the prompt: tokens done of total (until the first pixel). */
  prefill: { done: number; total: number } | null;
  /** The whole image the run started from (the prompt may change afterwards). */
  prompt: Int32Array | null;
  error: string | null;
}

export interface PromptState {
  tokens: Int32Array | null;
  /** Where it came from, for display: a file name, "drawing", an example title, "link". */
  label: string;
  version: number;
  /** The uploaded file it was made from (quantised again when the palette changes); null for drawings. */
  upload: { blob: Blob; name: string } | null;
}

export type Page = 'playground' | 'probe';

/** Images per class the Probe view uses by default: about a minute of features on the bundled model on wasm. */
export const DEFAULT_PROBE_PER_CLASS = 4;

export interface ProbeState {
  data: 'emoji' | 'folder';
  /** A picked or dropped folder with one sub-folder per class. */
  folder: { label: string; files: { path: string; file: Blob }[] } | null;
  /** Classes and counts of the chosen set (read with the model's palette), or why it cannot be used. */
  dataInfo: ProbeDataInfo | null;
  dataError: string | null;
  inspecting: boolean;
  /** null: every image. */
  perClass: number | null;
  split: number;
  seed: number;
  phase: 'idle' | 'running' | 'done' | 'stopped' | 'error';
  stage: 'model' | 'data' | 'features' | 'layers' | null;
  /** Images featurised / layers fitted. */
  images: { done: number; total: number };
  fitted: { done: number; total: number };
  /** Layers fitted so far (the chart fills in), then the whole result. */
  layers: LayerJson[];
  result: ProbeRunResult | null;
  error: string | null;
  /** performance.now() at the start of the run, and seconds when it ended. */
  startedAt: number;
  seconds: number | null;
}

export const initialProbe: ProbeState = {
  data: 'emoji',
  folder: null,
  dataInfo: null,
  dataError: null,
  inspecting: false,
  perClass: DEFAULT_PROBE_PER_CLASS,
  split: 0.2,
  seed: 1,
  phase: 'idle',
  stage: null,
  images: { done: 0, total: 0 },
  fitted: { done: 0, total: 0 },
  layers: [],
  result: null,
  error: null,
  startedAt: 0,
  seconds: null,
};

export interface AppState {
  page: Page;
  probe: ProbeState;
  settings: Settings;
  model: ModelState;
  palette: Palette | null;
  prompt: PromptState;
  history: History;
  run: RunState;
  likelihood: (ScoreResult & { promptVersion: number }) | null;
  scoring: boolean;
  notices: Notice[];
  /** Bumped when the browser's model cache changes, so the list is read again. */
  cacheVersion: number;
  /** An image being read into the prompt (its name), while the image worker works. */
  promptBusy: string | null;
  /** Recording of runs as video: armed for the next run, or recording one. */
  recording: 'off' | 'armed' | 'recording';
  recordingFile: { url: string; bytes: number; type: string } | null;
  view: ViewMode;
  speed: Speed;
  presentation: boolean;
  tool: Tool;
  brushSize: number;
  colour: number;

  setSettings: (patch: Partial<Settings>) => void;
  newSeed: () => void;
  nudgeTemperature: (delta: number) => void;
  setPrompt: (tokens: Int32Array, label: string, opts?: { recordHistory?: boolean; upload?: PromptState['upload'] }) => void;
  undo: () => void;
  redo: () => void;
  setModel: (patch: Partial<ModelState>) => void;
  setPalette: (p: Palette) => void;
  setRun: (patch: Partial<RunState>) => void;
  setProbe: (patch: Partial<ProbeState>) => void;
  notify: (level: Notice['level'], text: string) => void;
  dismiss: (id: number) => void;
  set: (patch: Partial<Pick<AppState, 'view' | 'speed' | 'presentation' | 'tool' | 'brushSize' | 'colour' | 'likelihood' | 'scoring' | 'cacheVersion' | 'recording' | 'recordingFile' | 'promptBusy' | 'page'>>) => void;
}

let noticeId = 1;

export const initialRun: RunState = {
  phase: 'idle',
  id: 0,
  layout: null,
  keptRows: 0,
  totalTokens: 0,
  paintedTokens: 0,
  tokensPerSecond: 0,
  recentTokensPerSecond: 0,
  elapsedMs: 0,
  startedAt: 0,
  prefill: null,
  prompt: null,
  error: null,
};

export const useStore = create<AppState>()((set, get) => ({
  page: 'playground',
  probe: initialProbe,
  settings: DEFAULT_SETTINGS,
  model: { phase: 'idle', info: null, loadingLabel: null, progress: null, error: null, deviceLost: false },
  palette: null,
  prompt: { tokens: null, label: '', version: 0, upload: null },
  history: { past: [], future: [] },
  run: initialRun,
  likelihood: null,
  scoring: false,
  notices: [],
  cacheVersion: 0,
  recording: 'off',
  recordingFile: null,
  promptBusy: null,
  view: 'colour',
  speed: 'max',
  presentation: false,
  tool: 'brush',
  brushSize: 2,
  colour: 0,

  setSettings: (patch) => set({ settings: clampSettings({ ...get().settings, ...patch }) }),
  newSeed: () => set({ settings: { ...get().settings, seed: randomSeed() } }),
  nudgeTemperature: (delta) => {
    const s = get().settings;
    set({ settings: { ...s, temperature: clampTemperature(s.temperature + delta) } });
  },
  setPrompt: (tokens, label, opts = {}) => {
    const { prompt, history } = get();
    set({
      prompt: { tokens, label, version: prompt.version + 1, upload: opts.upload ?? null },
      history: opts.recordHistory && prompt.tokens ? pushHistory(history, prompt.tokens) : history,
    });
  },
  undo: () => {
    const { prompt, history } = get();
    if (!prompt.tokens) return;
    const r = undoHistory(history, prompt.tokens);
    if (r) set({ history: r.history, prompt: { tokens: r.tokens, label: 'drawing', version: prompt.version + 1, upload: null } });
  },
  redo: () => {
    const { prompt, history } = get();
    if (!prompt.tokens) return;
    const r = redoHistory(history, prompt.tokens);
    if (r) set({ history: r.history, prompt: { tokens: r.tokens, label: 'drawing', version: prompt.version + 1, upload: null } });
  },
  setModel: (patch) => set({ model: { ...get().model, ...patch } }),
  setPalette: (palette) => set({ palette }),
  setRun: (patch) => set({ run: { ...get().run, ...patch } }),
  setProbe: (patch) => set({ probe: { ...get().probe, ...patch } }),
  notify: (level, text) => {
    const id = noticeId++;
    set({ notices: [...get().notices.filter((n) => n.text !== text), { id, level, text }].slice(-5) });
  },
  dismiss: (id) => set({ notices: get().notices.filter((n) => n.id !== id) }),
  set: (patch) => set(patch),
}));
