import { toggleFullscreen } from '../actions/index.ts';
import { useStore } from '../store';
import { PromptView } from './InputPanel';
import { RunControls, SampleGrid } from './OutputPanel';
import { TemperatureControl } from './SamplingPanel';

/** Large canvases for talks; keys: Space, R, Left/Right, F, Esc. */
export function Presentation() {
  const set = useStore((s) => s.set);
  const seed = useStore((s) => s.settings.seed);
  const run = useStore((s) => s.run);
  const speed = useStore((s) => s.speed);
  return (
    <main className="presentation-view">
      <div className="presentation-bar">
        <RunControls />
        <div className="presentation-temp">
          <TemperatureControl />
        </div>
        <span className="muted">seed {seed}</span>
        <span className="muted">
          {run.phase === 'running' ? `${run.paintedTokens}/${run.totalTokens} · ${run.tokensPerSecond.toFixed(0)} tok/s` : ''}
        </span>
        <label className="inline-field">
          <span>Speed</span>
          <select value={speed} onChange={(e) => set({ speed: e.target.value as typeof speed })}>
            <option value="max">real time</option>
            <option value="slow">slow motion</option>
            <option value="slower">slower</option>
          </select>
        </label>
        <button onClick={toggleFullscreen}>Fullscreen (F)</button>
        <button onClick={() => set({ presentation: false })}>Exit (P)</button>
      </div>
      <div className="presentation-body">
        <PromptView large />
        <SampleGrid large />
      </div>
      <p className="keys muted">Space generate / stop · R new seed · ← → temperature · F fullscreen · P exit</p>
    </main>
  );
}
