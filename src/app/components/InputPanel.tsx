import { useEffect, useMemo, useRef, useState } from 'react';
import { listExamples, loadExample, uploadImage, EXAMPLES_URL, type Example } from '../actions/index.ts';
import { floodFill, stamp, strokeLine, type Tool } from '../drawing';
import { nearestToken, paletteOrder } from '../palette';
import { IMAGE_SIZE } from '../../bundle/index.ts';
import { useStore } from '../store';
import { TokenCanvas, eventPixel } from './TokenCanvas';

/** The prompt as the model sees it, with the rows that are not kept dimmed. */
export function PromptView({ large = false }: { large?: boolean }) {
  const tokens = useStore((s) => s.prompt.tokens);
  const label = useStore((s) => s.prompt.label);
  const rgb = useStore((s) => s.palette?.rgb ?? null);
  const rows = useStore((s) => s.settings.rowsToKeep);
  const busy = useStore((s) => s.promptBusy);
  return (
    <figure className={`prompt-view ${large ? 'large' : ''}`} aria-busy={busy !== null}>
      <div className="canvas-wrap">
        <TokenCanvas label="Prompt" tokens={tokens} rgb={rgb} />
        <div className="dim" style={{ top: `${(rows / IMAGE_SIZE) * 100}%` }} aria-hidden="true" />
      </div>
      <figcaption>
        {busy ? <span className="busy">Reading {busy}…</span> : <>{tokens ? label || 'prompt' : 'no image yet'} · keeps {rows} of 32 rows</>}
      </figcaption>
    </figure>
  );
}

export function RowsToKeep() {
  const rows = useStore((s) => s.settings.rowsToKeep);
  const setSettings = useStore((s) => s.setSettings);
  const on = (e: React.FormEvent<HTMLInputElement>) => setSettings({ rowsToKeep: Number(e.currentTarget.value) });
  return (
    <label className="field">
      <span>
        Rows to keep <span className="value">{rows}</span>
      </span>
      <input type="range" min={0} max={31} step={1} value={rows} onChange={on} onInput={on} />
    </label>
  );
}

function imageFromClipboard(e: ClipboardEvent): File | null {
  for (const item of Array.from(e.clipboardData?.items ?? [])) {
    if (item.kind === 'file' && item.type.startsWith('image/')) return item.getAsFile();
  }
  return null;
}

export function InputPanel() {
  const [tab, setTab] = useState<'image' | 'draw'>('image');
  const [dragging, setDragging] = useState(false);
  const [examples, setExamples] = useState<Example[]>([]);
  useEffect(() => {
    void listExamples().then(setExamples);
    const onPaste = (e: ClipboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA')) return;
      const f = imageFromClipboard(e);
      if (f) {
        e.preventDefault();
        void uploadImage(f, f.name || 'pasted image');
      }
    };
    document.addEventListener('paste', onPaste);
    return () => document.removeEventListener('paste', onPaste);
  }, []);

  return (
    <section
      className={`panel input-panel ${dragging ? 'dragging' : ''}`}
      aria-labelledby="input-heading"
      onDragOver={(e) => {
        if (Array.from(e.dataTransfer.types).includes('Files')) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        const f = e.dataTransfer.files[0];
        if (f) void uploadImage(f, f.name);
      }}
    >
      <h2 id="input-heading">Input</h2>
      <div className="input-grid">
        <div>
          <PromptView />
          <RowsToKeep />
        </div>
        <div className="input-tabs">
          <div role="tablist" className="tabs">
            <button role="tab" aria-selected={tab === 'image'} onClick={() => setTab('image')}>
              Image
            </button>
            <button role="tab" aria-selected={tab === 'draw'} onClick={() => setTab('draw')}>
              Draw
            </button>
          </div>
          {tab === 'image' ? (
            <div role="tabpanel" className="image-tab">
              <label className="button">
                Upload image
                <input
                  className="visually-hidden"
                  type="file"
                  accept="image/*"
                  aria-label="Upload image"
                  onChange={(e) => {
                    const f = e.target.files?.[0];
                    if (f) void uploadImage(f, f.name);
                    e.target.value = '';
                  }}
                />
              </label>
              <p className="muted small">or drop an image here, or paste one (Ctrl+V).</p>
              {examples.length > 0 && (
                <div className="examples" aria-label="Examples">
                  {examples.map((ex) => (
                    <button
                      key={ex.file}
                      className="example"
                      title={ex.title}
                      aria-label={`Example: ${ex.title}`}
                      onClick={() => void loadExample(ex)}
                    >
                      <img src={EXAMPLES_URL + ex.file} alt="" width={48} height={48} />
                    </button>
                  ))}
                </div>
              )}
            </div>
          ) : (
            <div role="tabpanel">
              <DrawingPad />
            </div>
          )}
        </div>
      </div>
    </section>
  );
}

const TOOLS: { tool: Tool; label: string; icon: string }[] = [
  { tool: 'brush', label: 'Brush', icon: '✎' },
  { tool: 'eraser', label: 'Eraser', icon: '⌫' },
  { tool: 'fill', label: 'Fill', icon: '▧' },
  { tool: 'eyedropper', label: 'Eyedropper', icon: '◉' },
];

export function DrawingPad() {
  const tokens = useStore((s) => s.prompt.tokens);
  const palette = useStore((s) => s.palette);
  const tool = useStore((s) => s.tool);
  const brushSize = useStore((s) => s.brushSize);
  const colour = useStore((s) => s.colour);
  const canUndo = useStore((s) => s.history.past.length > 0);
  const canRedo = useStore((s) => s.history.future.length > 0);
  const rows = useStore((s) => s.settings.rowsToKeep);
  const { set, setPrompt, undo, redo } = useStore.getState();
  const last = useRef<[number, number] | null>(null);
  const order = useMemo(() => (palette ? paletteOrder(palette.rgb) : []), [palette]);
  const white = useMemo(() => (palette ? nearestToken(palette.rgb, 255, 255, 255) : 0), [palette]);
  const paletteRef = useRef<HTMLCanvasElement | null>(null);
  /** The keyboard cursor on the drawing canvas (arrows move it, Space or Enter applies the tool). */
  const [cursor, setCursor] = useState<[number, number] | null>(null);

  useEffect(() => {
    const c = paletteRef.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx || !palette) return;
    const img = ctx.createImageData(32, 16);
    order.forEach((t, i) => {
      img.data.set([palette.rgb[3 * t], palette.rgb[3 * t + 1], palette.rgb[3 * t + 2], 255], 4 * i);
    });
    ctx.putImageData(img, 0, 0);
  }, [palette, order]);

  if (!palette) return <p className="muted">The palette arrives with the model.</p>;
  const base = tokens ?? new Int32Array(IMAGE_SIZE * IMAGE_SIZE).fill(white);
  const ink = tool === 'eraser' ? white : colour;

  const apply = (next: Int32Array, first: boolean) => {
    if (first) setPrompt(next, 'drawing', { recordHistory: true });
    else useStore.setState((s) => ({ prompt: { tokens: next, label: 'drawing', version: s.prompt.version + 1, upload: null } }));
  };

  const down = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const [x, y] = eventPixel(e);
    if (tool === 'eyedropper') {
      set({ colour: base[y * IMAGE_SIZE + x], tool: 'brush' });
      return;
    }
    if (tool === 'fill') {
      apply(floodFill(base, x, y, colour), true);
      return;
    }
    e.currentTarget.setPointerCapture(e.pointerId);
    last.current = [x, y];
    apply(stamp(base, x, y, brushSize, ink), true);
  };
  const move = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (!last.current) return;
    const p = eventPixel(e);
    if (p[0] === last.current[0] && p[1] === last.current[1]) return;
    const cur = useStore.getState().prompt.tokens ?? base;
    apply(strokeLine(cur, last.current, p, brushSize, ink), false);
    last.current = p;
  };
  const up = () => {
    last.current = null;
  };
  const applyAt = (x: number, y: number) => {
    if (tool === 'eyedropper') set({ colour: base[y * IMAGE_SIZE + x], tool: 'brush' });
    else apply(tool === 'fill' ? floodFill(base, x, y, colour) : stamp(base, x, y, brushSize, ink), true);
  };
  const key = (e: React.KeyboardEvent<HTMLCanvasElement>) => {
    const [x, y] = cursor ?? [16, 16];
    const move = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (move) {
      setCursor([Math.min(31, Math.max(0, x + move[0])), Math.min(31, Math.max(0, y + move[1]))]);
    } else if (e.key === ' ' || e.key === 'Enter') {
      applyAt(x, y);
      setCursor([x, y]);
    } else return;
    e.preventDefault();
    e.stopPropagation();
  };
  const selected = Math.max(0, order.indexOf(colour));
  const paletteKey = (e: React.KeyboardEvent<HTMLCanvasElement>) => {
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -32, ArrowDown: 32 }[e.key];
    if (step === undefined) return;
    e.preventDefault();
    e.stopPropagation();
    const t = order[Math.min(order.length - 1, Math.max(0, selected + step))];
    set({ colour: t, tool: tool === 'eraser' || tool === 'eyedropper' ? 'brush' : tool });
  };

  return (
    <div className="drawing">
      <div className="canvas-wrap drawing-canvas">
        <TokenCanvas
          label="Drawing canvas"
          tokens={base}
          rgb={palette.rgb}
          className={`tool-${tool}`}
          onPointerDown={down}
          onPointerMove={move}
          onPointerUp={up}
          onPointerLeave={up}
          onKeyDown={key}
          description="Arrow keys move the cursor; Space or Enter applies the tool"
        />
        <div className="kept-line" style={{ top: `${(rows / IMAGE_SIZE) * 100}%` }} aria-hidden="true" />
        {cursor && <div className="key-cursor" style={{ left: `${(cursor[0] / 32) * 100}%`, top: `${(cursor[1] / 32) * 100}%` }} aria-hidden="true" />}
      </div>
      <div className="tools">
        <div className="toolbar" role="toolbar" aria-label="Drawing tools">
          {TOOLS.map((t) => (
            <button key={t.tool} aria-pressed={tool === t.tool} title={t.label} onClick={() => set({ tool: t.tool })}>
              <span aria-hidden="true">{t.icon}</span> {t.label}
            </button>
          ))}
        </div>
        <div className="toolbar" role="group" aria-label="Brush size">
          {[1, 2, 3, 4].map((n) => (
            <button key={n} aria-pressed={brushSize === n} onClick={() => set({ brushSize: n })} title={`${n} px brush`}>
              {n}px
            </button>
          ))}
        </div>
        <div className="toolbar">
          <button onClick={undo} disabled={!canUndo}>
            Undo
          </button>
          <button onClick={redo} disabled={!canRedo}>
            Redo
          </button>
          <button onClick={() => apply(new Int32Array(IMAGE_SIZE * IMAGE_SIZE).fill(white), true)}>Clear</button>
        </div>
        <div className="colour-row">
          <span
            className="swatch current"
            style={{ background: `rgb(${palette.rgb[3 * colour]},${palette.rgb[3 * colour + 1]},${palette.rgb[3 * colour + 2]})` }}
            title={`colour ${colour}`}
          />
          <span className="muted small">colour {colour}</span>
        </div>
        <div className="palette-wrap">
        <canvas
          ref={paletteRef}
          className="palette-canvas pixels"
          role="img"
          aria-label="Palette"
          aria-description="Arrow keys choose the colour"
          tabIndex={0}
          onKeyDown={paletteKey}
          width={32}
          height={16}
          onPointerDown={(e) => {
            const r = e.currentTarget.getBoundingClientRect();
            const x = Math.min(31, Math.floor(((e.clientX - r.left) / r.width) * 32));
            const y = Math.min(15, Math.floor(((e.clientY - r.top) / r.height) * 16));
            const t = order[y * 32 + x];
            if (t !== undefined) set({ colour: t, tool: tool === 'eraser' || tool === 'eyedropper' ? 'brush' : tool });
          }}
        />
        <div className="key-cursor" style={{ left: `${((selected % 32) / 32) * 100}%`, top: `${(Math.floor(selected / 32) / 16) * 100}%`, width: `${100 / 32}%`, height: `${100 / 16}%` }} aria-hidden="true" />
        </div>
      </div>
    </div>
  );
}
