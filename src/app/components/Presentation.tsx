import { useEffect, useRef, useState } from 'react';
import { toggleFullscreen } from '../actions/index.ts';
import { sampleLayout } from '../settings.ts';
import { useStore } from '../store.ts';
import { RecordControls, RunControls, RunStats, SampleGrid } from './OutputPanel';
import { TemperatureControl } from './SamplingPanel';

const GAP = 10; // .sample-row gap
const LABEL = 64; // row labels (compare mode)
const CAPTION = 20; // figcaption under each canvas

/**
 * The largest square cell that fits the grid into the body's box. Compare mode keeps one line per
 * temperature; a single row (original + samples) may wrap onto several lines when that gives
 * larger cells (4 samples on a 16:9 screen: 3 + 2 cells, not 5 in a line).
 */
function useCellSize(rows: number, cols: number): [React.RefObject<HTMLDivElement | null>, { cell: number; width: number }] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [box, setBox] = useState({ w: 0, h: 0 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setBox({ w: el.clientWidth, h: el.clientHeight }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const label = rows > 1 ? LABEL + GAP : 0;
  const cells = cols + 1;
  let best = { cell: 32, perLine: cells };
  for (let perLine = rows > 1 ? cells : 1; perLine <= cells; perLine++) {
    const lines = rows * Math.ceil(cells / perLine);
    const cell = Math.floor(Math.min((box.w - label - perLine * GAP) / perLine, (box.h - lines * (GAP + CAPTION)) / lines));
    if (cell > best.cell) best = { cell, perLine };
  }
  return [ref, { cell: best.cell, width: label + best.perLine * (best.cell + GAP) }];
}

/** For a projector: the prompt once (the first cell), samples as large as the screen allows, a progress bar that stays. Keys: Space, R, Left/Right, F, Esc. */
export function Presentation() {
  const set = useStore((s) => s.set);
  const seed = useStore((s) => s.settings.seed);
  const speed = useStore((s) => s.speed);
  const settings = useStore((s) => s.settings);
  const runLayout = useStore((s) => s.run.layout);
  const layout = runLayout ?? sampleLayout(settings);
  const [bodyRef, size] = useCellSize(layout.rows, layout.cols);
  return (
    <main className="presentation-view">
      <div className="presentation-bar">
        <RunControls />
        <div className="presentation-temp">
          <TemperatureControl />
        </div>
        <span className="muted">seed {seed}</span>
        <label className="inline-field">
          <span>Speed</span>
          <select value={speed} onChange={(e) => set({ speed: e.target.value as typeof speed })}>
            <option value="max">real time</option>
            <option value="slow">slow motion</option>
            <option value="slower">slower</option>
          </select>
        </label>
        <RecordControls />
        <button onClick={toggleFullscreen}>Fullscreen (F)</button>
        <button onClick={() => set({ presentation: false })}>Exit (P)</button>
      </div>
      <RunStats large />
      <div className="presentation-body" ref={bodyRef}>
        <SampleGrid large cell={size.cell} width={size.width} />
      </div>
      <p className="keys muted">Space generate / stop · R new seed · ← → temperature · F fullscreen · P exit</p>
    </main>
  );
}
