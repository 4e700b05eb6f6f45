import { useEffect, useRef, useState } from 'react';
import { canGenerate, exportGrid, generate, recordingSupported, stop } from '../actions/index.ts';
import { ENTROPY_SCALE_BITS, painter, type PixelInfo } from '../painter.ts';
import { heatColor } from '../palette';
import { IMAGE_SIZE } from '../../bundle/index.ts';
import { timeLeftText } from '../../engine/plan.ts';
import { sampleLayout } from '../settings';
import { useStore } from '../store';
import { TokenCanvas, eventPixel } from './TokenCanvas';

interface Hover {
  sample: number;
  x: number;
  y: number;
  info: PixelInfo;
}

function rgbCss(rgb: Uint8Array, t: number): string {
  return `rgb(${rgb[3 * t]},${rgb[3 * t + 1]},${rgb[3 * t + 2]})`;
}

export function RunControls() {
  const phase = useStore((s) => s.run.phase);
  // Re-render when generate becomes possible.
  useStore((s) => s.model.phase);
  useStore((s) => s.prompt.tokens);
  useStore((s) => s.palette);
  useStore((s) => s.promptBusy);
  const running = phase === 'running';
  const ready = canGenerate();
  return (
    <div className="run-controls">
      <button className="primary" onClick={() => void generate()} disabled={!ready} title="Generate (Space)">
        {phase === 'done' || phase === 'stopped' ? 'Generate again' : 'Generate'}
      </button>
      <button onClick={stop} disabled={!running} title="Stop (Space)">
        Stop
      </button>
    </div>
  );
}

/** Record the next run as a video (WebM), then download it. */
export function RecordControls() {
  const recording = useStore((s) => s.recording);
  const file = useStore((s) => s.recordingFile);
  const set = useStore((s) => s.set);
  if (!recordingSupported()) return null;
  return (
    <span className="record-controls">
      <button aria-pressed={recording !== 'off'} disabled={recording === 'recording'} onClick={() => set({ recording: recording === 'off' ? 'armed' : 'off' })} title="Record the next run as a video">
        {recording === 'recording' ? '● Recording' : recording === 'armed' ? 'Record next run: on' : 'Record next run'}
      </button>
      {file && (
        <a className="button" href={file.url} download="igpt-run.webm">
          Download recording ({(file.bytes / 1e6).toFixed(1)} MB)
        </a>
      )}
    </span>
  );
}

/** Progress of the run: reading the prompt, then pixels; it stays after the run ends. */
export function RunStats({ large = false }: { large?: boolean }) {
  const run = useStore((s) => s.run);
  const clock = useRef<HTMLSpanElement | null>(null);
  const running = run.phase === 'running';
  // While running, the elapsed time ticks even between updates (before the first pixel too); the
  // clock is written straight into the DOM, not through a React render.
  useEffect(() => {
    if (!running) return;
    const tick = () => {
      const r = useStore.getState().run;
      if (clock.current) clock.current.textContent = `${(Math.max(r.elapsedMs, performance.now() - r.startedAt) / 1000).toFixed(1)} s`;
    };
    const id = setInterval(tick, 100);
    return () => clearInterval(id);
  }, [running]);
  if (run.phase === 'idle') return <div className="run-stats muted">Press Generate to complete the image.</div>;
  const seconds = `${((running ? Math.max(run.elapsedMs, performance.now() - run.startedAt) : run.elapsedMs) / 1000).toFixed(1)} s`;
  const reading = running && run.paintedTokens === 0;
  // The time left at the recent speed (it changes during a run), else at the average so far.
  const left = running ? timeLeftText(run.totalTokens - run.paintedTokens, run.recentTokensPerSecond || run.tokensPerSecond, run.paintedTokens) : null;
  const frac = reading ? (run.prefill ? (0.1 * run.prefill.done) / run.prefill.total : 0) : run.totalTokens > 0 ? run.paintedTokens / run.totalTokens : 1;
  const ended = { done: 'Done', stopped: 'Stopped', error: 'Failed', running: '', idle: '' }[run.phase];
  const text = reading
    ? `Reading the prompt${run.prefill ? ` · ${run.prefill.done}/${run.prefill.total} tokens` : ''} · `
    : `${ended ? `${ended} · ` : ''}${run.paintedTokens}/${run.totalTokens} pixels · ${run.tokensPerSecond.toFixed(1)} tokens/s per sample · ${left ? `${left} left · ` : ''}`;
  return (
    <div className={`run-stats ${large ? 'large' : ''}`} data-phase={run.phase}>
      <progress aria-label="Generation progress" max={1} value={frac} />
      <span>
        {text}
        <span ref={clock}>{seconds}</span>
      </span>
    </div>
  );
}

export function SampleGrid({ large = false, cell, width }: { large?: boolean; cell?: number; width?: number }) {
  const runLayout = useStore((s) => s.run.layout);
  const settings = useStore((s) => s.settings);
  const rgb = useStore((s) => s.palette?.rgb ?? null);
  // The original next to the samples is the image the run started from, even if the prompt changed since.
  const prompt = useStore((s) => (s.run.phase !== 'idle' ? s.run.prompt : null) ?? s.prompt.tokens);
  const runKept = useStore((s) => s.run.keptRows);
  const runPhase = useStore((s) => s.run.phase);
  const [hover, setHover] = useState<Hover | null>(null);
  const layout = runLayout ?? sampleLayout(settings);
  const kept = runPhase === 'idle' ? settings.rowsToKeep : runKept;

  const onMove = (sample: number) => (e: React.PointerEvent<HTMLCanvasElement>) => {
    const [x, y] = eventPixel(e);
    const info = painter.pixelInfo(sample, y * IMAGE_SIZE + x);
    setHover(info ? { sample, x, y, info } : null);
  };

  return (
    <div className={`sample-grid ${large ? 'large' : ''}`} style={{ ['--cols' as string]: layout.cols, ...(cell ? { ['--cell' as string]: `${cell}px` } : {}), ...(width ? { width: `${width}px` } : {}) }}>
      {layout.temperatures.map((temp, r) => (
        <div className="sample-row" key={r}>
          {layout.rows > 1 && (
            <div className="row-label">
              <span>T = {temp.toFixed(2)}</span>
            </div>
          )}
          {r === 0 ? (
            <figure className="sample original">
              <div className="canvas-wrap">
                <TokenCanvas label="Original" tokens={prompt} rgb={rgb} />
                <div className="kept-line" style={{ top: `${(kept / IMAGE_SIZE) * 100}%` }} aria-hidden="true" />
              </div>
              <figcaption>original</figcaption>
            </figure>
          ) : (
            <div className="sample original-spacer" />
          )}
          {Array.from({ length: layout.cols }, (_, c) => {
            const i = r * layout.cols + c;
            return (
              <figure className="sample" key={i}>
                <canvas
                  ref={(el) => painter.register(i, el)}
                  className="pixels"
                  role="img"
                  aria-label={`Sample ${i + 1}`}
                  width={IMAGE_SIZE}
                  height={IMAGE_SIZE}
                  onPointerMove={onMove(i)}
                  onPointerLeave={() => setHover(null)}
                />
                <figcaption>#{i + 1}</figcaption>
              </figure>
            );
          })}
        </div>
      ))}
      {hover && rgb && <HoverCard hover={hover} rgb={rgb} />}
    </div>
  );
}

function HoverCard({ hover, rgb }: { hover: Hover; rgb: Uint8Array }) {
  const { info } = hover;
  return (
    <div className="hover-card" role="tooltip">
      <div>
        Sample {hover.sample + 1}, pixel ({hover.x}, {hover.y})
      </div>
      {info.kind === 'prompt' && <div className="muted">kept from the prompt</div>}
      {info.kind === 'pending' && <div className="muted">not generated yet</div>}
      {info.kind === 'generated' && (
        <>
          <div className="muted">entropy {info.entropy.toFixed(2)} bits</div>
          <ul className="candidates">
            {info.candidates.map((c) => (
              <li key={c.token} className={c.token === info.token ? 'chosen' : ''}>
                <span className="swatch" style={{ background: rgbCss(rgb, c.token) }} />
                <span className="prob-bar" style={{ width: `${Math.max(2, c.prob * 100)}%` }} />
                <span>{(c.prob * 100).toFixed(1)}%</span>
                <span className="muted">#{c.token}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function EntropyLegend() {
  const stops = Array.from({ length: 8 }, (_, i) => heatColor(i / 7));
  return (
    <div className="legend" aria-label="Entropy colour scale">
      <span>0 bits</span>
      <span className="legend-bar" style={{ background: `linear-gradient(90deg, ${stops.map((c) => `rgb(${c.join(',')})`).join(',')})` }} />
      <span>≥ {ENTROPY_SCALE_BITS} bits</span>
    </div>
  );
}

export function OutputPanel() {
  const view = useStore((s) => s.view);
  const set = useStore((s) => s.set);
  const hasRun = useStore((s) => s.run.phase !== 'idle');
  return (
    <section className="panel output-panel" aria-labelledby="output-heading">
      <div className="output-head">
        <h2 id="output-heading">Output</h2>
        <RunControls />
        <div className="view-toggle" role="group" aria-label="View">
          <button aria-pressed={view === 'colour'} onClick={() => set({ view: 'colour' })}>
            Colours
          </button>
          <button aria-pressed={view === 'uncertainty'} onClick={() => set({ view: 'uncertainty' })}>
            Uncertainty
          </button>
        </div>
        <button onClick={() => void exportGrid()} disabled={!hasRun}>
          Export PNG
        </button>
        <RecordControls />
      </div>
      <RunStats />
      {view === 'uncertainty' && <EntropyLegend />}
      <SampleGrid />
      <p className="muted small">Hover a generated pixel to see the colours the model considered.</p>
    </section>
  );
}
