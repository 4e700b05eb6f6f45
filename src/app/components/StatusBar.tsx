import { useStore } from '../store';
import { formatBytes } from '../files';

function modelText(): { text: string; state: string } {
  const { model } = useStore.getState();
  if (model.phase === 'loading') {
    const p = model.progress;
    const pct = p && p.total > 0 ? ` ${Math.floor((100 * p.loaded) / p.total)}%` : '';
    const what = p?.phase === 'init' ? 'starting' : p?.phase === 'download' ? 'downloading' : 'loading';
    return { text: `Loading model (${what}${pct})`, state: 'loading' };
  }
  if (model.info) {
    const i = model.info;
    return {
      text: `Model ${i.manifest.name} loaded: ${i.backend === 'webgpu' ? 'WebGPU' : 'wasm'}, ${i.dtype}, ${formatBytes(i.modelBytes)}`,
      state: 'ready',
    };
  }
  if (model.phase === 'error') return { text: 'No model loaded', state: 'error' };
  return { text: 'Starting', state: 'idle' };
}

/** The one role="status" region: model and run state in words. */
export function StatusBar() {
  // Subscribe to the coarse fields only.
  useStore((s) => s.model);
  const run = useStore((s) => s.run.phase);
  const hasPrompt = useStore((s) => s.prompt.tokens !== null);
  const batch = useStore((s) => (s.run.layout ? s.run.layout.rows * s.run.layout.cols : 0));
  const runId = useStore((s) => s.run.id);
  const m = modelText();
  let runText = '';
  if (run === 'running') runText = `Generating ${batch} sample${batch === 1 ? '' : 's'}`;
  else if (run === 'done') runText = 'Done';
  else if (run === 'stopped') runText = 'Stopped';
  else if (run === 'error') runText = 'Generation failed';
  else if (m.state === 'ready') runText = hasPrompt ? 'Ready' : 'Waiting for an image';
  return (
    <div role="status" className={`status status-${m.state}`} data-model={m.state} data-run={run} data-run-id={runId}>
      <span className="status-model">{m.text}</span>
      {runText && <span className="status-run">{runText}</span>}
    </div>
  );
}

/** Messages; in presentation mode only errors (no banners on the projector). */
export function Notices() {
  const presenting = useStore((s) => s.presentation);
  const all = useStore((s) => s.notices);
  const dismiss = useStore((s) => s.dismiss);
  const notices = presenting ? all.filter((n) => n.level === 'error') : all;
  if (notices.length === 0) return null;
  return (
    <section className="notices" aria-label="Messages">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.level}`} role={n.level === 'error' ? 'alert' : undefined}>
          <span>{n.text}</span>
          <button className="ghost" onClick={() => dismiss(n.id)} aria-label="Dismiss message">
            ×
          </button>
        </div>
      ))}
    </section>
  );
}
