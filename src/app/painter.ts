/**
 * Paints running samples outside React: step batches from the worker go into a queue that a
 * requestAnimationFrame loop drains, writing ImageData pixels directly. React only mounts the
 * canvases (register()) and hears about progress a few times per second.
 */
import { TOP_CANDIDATES } from '../engine/types';
import type { StepBatch } from '../worker/protocol';
import { heatColor } from './palette';
import { IMAGE_SIZE, IMAGE_TOKENS } from './settings';
import type { Speed, ViewMode } from './store';

/** Entropy shown at full heat, in bits. */
export const ENTROPY_SCALE_BITS = 9; // log2(512): a uniform choice
const EMPTY = [28, 30, 38];

export interface RunSpec {
  id: number;
  /** Full 32x32 prompt; the first keptLen tokens are kept. */
  prompt: Int32Array;
  keptLen: number;
  batch: number;
  rgb: Uint8Array;
}

export interface PixelInfo {
  kind: 'prompt' | 'generated' | 'pending';
  token: number;
  entropy: number;
  candidates: { token: number; prob: number }[];
}

export interface PaintProgress {
  runId: number;
  painted: number;
  total: number;
  elapsedMs: number;
}

interface RunData extends RunSpec {
  tokens: Int32Array; // batch x 1024, -1 = not yet
  entropy: Float32Array;
  candidates: Int32Array; // batch x 1024 x K
  probs: Float32Array;
  colour: ImageData[];
  heat: ImageData[];
  painted: number;
  elapsedMs: number;
  dirty: Set<number>;
}

function makeImageData(): ImageData {
  return new ImageData(IMAGE_SIZE, IMAGE_SIZE);
}

function setPixel(img: ImageData, pos: number, r: number, g: number, b: number): void {
  const d = img.data;
  d[4 * pos] = r;
  d[4 * pos + 1] = g;
  d[4 * pos + 2] = b;
  d[4 * pos + 3] = 255;
}

export class Painter {
  private canvases = new Map<number, HTMLCanvasElement>();
  private run: RunData | null = null;
  private queue: StepBatch[] = [];
  /** Index of the next step inside queue[0]. */
  private cursor = 0;
  private frame = 0;
  private drainWaiters: (() => void)[] = [];
  private lastReport = 0;
  view: ViewMode = 'colour';
  speed: Speed = 'max';
  onProgress: ((p: PaintProgress) => void) | null = null;

  register(index: number, canvas: HTMLCanvasElement | null): void {
    if (canvas) {
      this.canvases.set(index, canvas);
      this.blit(index);
    } else {
      this.canvases.delete(index);
    }
  }

  get runId(): number {
    return this.run?.id ?? 0;
  }

  begin(spec: RunSpec): void {
    this.stop();
    const { batch, keptLen, prompt, rgb } = spec;
    const run: RunData = {
      ...spec,
      tokens: new Int32Array(batch * IMAGE_TOKENS).fill(-1),
      entropy: new Float32Array(batch * IMAGE_TOKENS).fill(NaN),
      candidates: new Int32Array(batch * IMAGE_TOKENS * TOP_CANDIDATES).fill(-1),
      probs: new Float32Array(batch * IMAGE_TOKENS * TOP_CANDIDATES),
      colour: [],
      heat: [],
      painted: 0,
      elapsedMs: 0,
      dirty: new Set(),
    };
    for (let b = 0; b < batch; b++) {
      const colour = makeImageData();
      const heat = makeImageData();
      for (let pos = 0; pos < IMAGE_TOKENS; pos++) {
        if (pos < keptLen) {
          const t = prompt[pos];
          run.tokens[b * IMAGE_TOKENS + pos] = t;
          const r = rgb[3 * t];
          const g = rgb[3 * t + 1];
          const bl = rgb[3 * t + 2];
          setPixel(colour, pos, r, g, bl);
          const grey = Math.round((0.299 * r + 0.587 * g + 0.114 * bl) * 0.45);
          setPixel(heat, pos, grey, grey, grey);
        } else {
          setPixel(colour, pos, EMPTY[0], EMPTY[1], EMPTY[2]);
          setPixel(heat, pos, EMPTY[0], EMPTY[1], EMPTY[2]);
        }
      }
      run.colour.push(colour);
      run.heat.push(heat);
    }
    this.run = run;
    for (const i of this.canvases.keys()) this.blit(i);
  }

  push(runId: number, batch: StepBatch): void {
    if (!this.run || this.run.id !== runId) return;
    this.queue.push(batch);
    this.schedule();
  }

  /** Resolves when everything queued for this run has been painted. */
  drain(runId: number): Promise<void> {
    if (!this.run || this.run.id !== runId || this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Drop what is still queued (Stop). Painted pixels stay. */
  stop(): void {
    this.queue = [];
    this.cursor = 0;
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.resolveDrain();
  }

  /** Make sure the final tokens are shown (e.g. when painting was skipped). */
  finish(runId: number, tokens: Int32Array[]): void {
    const run = this.run;
    if (!run || run.id !== runId) return;
    tokens.forEach((seq, b) => {
      for (let s = 0; s < seq.length; s++) {
        const pos = run.keptLen + s;
        if (pos >= IMAGE_TOKENS) break;
        const idx = b * IMAGE_TOKENS + pos;
        if (run.tokens[idx] !== seq[s]) {
          run.tokens[idx] = seq[s];
          const t = seq[s];
          setPixel(run.colour[b], pos, run.rgb[3 * t], run.rgb[3 * t + 1], run.rgb[3 * t + 2]);
          run.dirty.add(b);
        }
      }
    });
    this.flushDirty();
  }

  setView(view: ViewMode): void {
    this.view = view;
    for (const i of this.canvases.keys()) this.blit(i);
  }

  pixelInfo(sample: number, pos: number): PixelInfo | null {
    const run = this.run;
    if (!run || sample >= run.batch || pos < 0 || pos >= IMAGE_TOKENS) return null;
    const idx = sample * IMAGE_TOKENS + pos;
    const token = run.tokens[idx];
    if (pos < run.keptLen) return { kind: 'prompt', token, entropy: NaN, candidates: [] };
    if (token < 0) return { kind: 'pending', token, entropy: NaN, candidates: [] };
    const candidates: PixelInfo['candidates'] = [];
    for (let k = 0; k < TOP_CANDIDATES; k++) {
      const t = run.candidates[idx * TOP_CANDIDATES + k];
      const p = run.probs[idx * TOP_CANDIDATES + k];
      if (t >= 0 && p > 0) candidates.push({ token: t, prob: p });
    }
    return { kind: 'generated', token, entropy: run.entropy[idx], candidates };
  }

  /** The current pixels of a sample, for export. */
  imageData(sample: number): ImageData | null {
    const run = this.run;
    if (!run || sample >= run.batch) return null;
    return this.view === 'uncertainty' ? run.heat[sample] : run.colour[sample];
  }

  private resolveDrain(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  private schedule(): void {
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.tick());
  }

  private stepsPerFrame(): number {
    switch (this.speed) {
      case 'slow':
        return 4;
      case 'slower':
        return 1;
      default:
        return Number.POSITIVE_INFINITY;
    }
  }

  private tick(): void {
    this.frame = 0;
    const run = this.run;
    if (!run) return;
    let budget = this.stepsPerFrame();
    const K = TOP_CANDIDATES;
    while (budget > 0 && this.queue.length > 0) {
      const b = this.queue[0];
      const B = Math.min(b.batch, run.batch);
      while (budget > 0 && this.cursor < b.count) {
        const i = this.cursor++;
        budget--;
        const pos = b.positions[i];
        if (pos < 0 || pos >= IMAGE_TOKENS) continue;
        for (let s = 0; s < B; s++) {
          const t = b.tokens[i * b.batch + s];
          const idx = s * IMAGE_TOKENS + pos;
          run.tokens[idx] = t;
          const e = b.entropy[i * b.batch + s];
          run.entropy[idx] = e;
          run.candidates.set(b.candidates.subarray((i * b.batch + s) * K, (i * b.batch + s + 1) * K), idx * K);
          run.probs.set(b.candidateProbs.subarray((i * b.batch + s) * K, (i * b.batch + s + 1) * K), idx * K);
          setPixel(run.colour[s], pos, run.rgb[3 * t], run.rgb[3 * t + 1], run.rgb[3 * t + 2]);
          const [hr, hg, hb] = heatColor(e / ENTROPY_SCALE_BITS);
          setPixel(run.heat[s], pos, hr, hg, hb);
          run.dirty.add(s);
        }
        run.painted = Math.max(run.painted, pos - run.keptLen + 1);
      }
      if (this.cursor >= b.count) {
        run.elapsedMs = b.elapsedMs;
        this.queue.shift();
        this.cursor = 0;
      }
    }
    this.flushDirty();
    const now = performance.now();
    const drained = this.queue.length === 0;
    if (this.onProgress && (drained || now - this.lastReport > 200)) {
      this.lastReport = now;
      this.onProgress({ runId: run.id, painted: run.painted, total: IMAGE_TOKENS - run.keptLen, elapsedMs: run.elapsedMs });
    }
    if (drained) this.resolveDrain();
    else this.schedule();
  }

  private flushDirty(): void {
    const run = this.run;
    if (!run) return;
    for (const s of run.dirty) this.blit(s);
    run.dirty.clear();
  }

  private blit(index: number): void {
    const canvas = this.canvases.get(index);
    if (!canvas) return;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const run = this.run;
    if (!run || index >= run.batch) {
      ctx.fillStyle = `rgb(${EMPTY.join(',')})`;
      ctx.fillRect(0, 0, IMAGE_SIZE, IMAGE_SIZE);
      return;
    }
    ctx.putImageData(this.view === 'uncertainty' ? run.heat[index] : run.colour[index], 0, 0);
  }
}
