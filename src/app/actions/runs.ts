/**
 * Runs: plan a run from the settings (the same plan as `igpt complete`), stream its steps to the
 * painter, Stop, and the prompt's likelihood. A model starting to load stops the run.
 */
import { IMAGE_SIZE, IMAGE_TOKENS } from '../../bundle/index.ts';
import { planRun } from '../../engine/plan.ts';
import type { GenerateResult } from '../../engine/types.ts';
import { WorkerCallError } from '../../worker/protocol.ts';
import { painter } from '../painter.ts';
import { runSettings } from '../settings.ts';
import { initialRun, useStore } from '../store.ts';
import { engine, errorText, restartEngine } from './model.ts';

let current: { runId: number; abort: AbortController } | null = null;

export function canGenerate(): boolean {
  const st = useStore.getState();
  return st.model.phase === 'ready' && !!st.model.info && !!st.prompt.tokens && !!st.palette && st.run.phase !== 'running' && !st.promptBusy;
}

export async function generate(): Promise<void> {
  if (!canGenerate()) return;
  if (useStore.getState().model.deviceLost && !(await restartEngine())) return;
  const st = useStore.getState();
  const image = st.prompt.tokens!;
  let plan;
  try {
    plan = planRun(image, runSettings(st.settings));
  } catch (e) {
    st.notify('error', `Cannot generate: ${errorText(e)}`);
    return;
  }
  const runId = st.run.id + 1;
  const keptLen = plan.prompt.length;
  painter.begin({ id: runId, prompt: image, keptLen, batch: plan.samples.length, rgb: st.palette!.rgb });
  st.setRun({
    ...initialRun,
    phase: 'running',
    id: runId,
    layout: { rows: plan.rows, cols: plan.cols, temperatures: plan.temperatures },
    keptRows: keptLen / IMAGE_SIZE,
    totalTokens: IMAGE_TOKENS - keptLen,
    startedAt: performance.now(),
    prompt: image,
  });
  const abort = new AbortController();
  current = { runId, abort };
  let lastPrefillUpdate = 0;
  let result: GenerateResult;
  try {
    result = await engine().generate({ prompt: plan.prompt, samples: plan.samples, maxNewTokens: plan.maxNewTokens }, {
      signal: abort.signal,
      onStep: (e) => painter.push(runId, e),
      onPrefill: (p) => {
        // At most a few updates a second (the clock ticks by itself in between).
        const now = performance.now();
        if (useStore.getState().run.id !== runId || (now - lastPrefillUpdate < 200 && p.done < p.total)) return;
        lastPrefillUpdate = now;
        useStore.getState().setRun({ prefill: { done: p.done, total: p.total }, elapsedMs: p.elapsedMs });
      },
    });
  } catch (e) {
    painter.stop();
    const lost = e instanceof WorkerCallError && e.deviceLost;
    if (lost) useStore.getState().setModel({ deviceLost: true });
    const msg = lost ? `The GPU device was lost (${errorText(e)}). The model will be recreated on the next run.` : `Generation failed: ${errorText(e)}`;
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
  current.abort.abort();
  painter.stop();
}

export function toggleRun(): void {
  if (useStore.getState().run.phase === 'running') stop();
  else void generate();
}

export async function scorePrompt(): Promise<void> {
  const st = useStore.getState();
  const tokens = st.prompt.tokens;
  if (!tokens || st.model.phase !== 'ready' || st.scoring) return;
  const version = st.prompt.version;
  st.set({ scoring: true });
  try {
    const [r] = await engine().score([tokens]);
    useStore.getState().set({ likelihood: { ...r, promptVersion: version } });
  } catch (e) {
    useStore.getState().notify('error', `Scoring failed: ${errorText(e)}`);
  } finally {
    useStore.getState().set({ scoring: false });
  }
}

/** Painter progress to the store; a model that starts loading stops the run. */
export function watchRuns(): () => void {
  painter.onProgress = (p) => {
    const st = useStore.getState();
    if (st.run.id !== p.runId || st.run.phase !== 'running') return;
    st.setRun({ paintedTokens: p.painted, elapsedMs: p.elapsedMs, tokensPerSecond: p.tokensPerSecond, recentTokensPerSecond: p.recentTokensPerSecond });
  };
  return useStore.subscribe((s, prev) => {
    if (s.model.phase === 'loading' && prev.model.phase !== 'loading' && s.run.phase === 'running') stop();
  });
}
