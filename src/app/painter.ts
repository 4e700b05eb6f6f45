/**
 * Paints running samples outside React: each step's tokens, entropies and candidates are stored as
 * they arrive (the one copy out of the step stream), and a requestAnimationFrame loop paints the
 * queued positions into ImageData. React only mounts the canvases (register()) and hears about
 * progress a few times per second.
 */
import { recentTokensPerSecond, tokensPerSecond } from '../engine/plan.ts';
import { TOP_CANDIDATES, type StepEvent } from '../engine/types.ts';
import { heatColor } from './palette.ts';
import { IMAGE_SIZE, IMAGE_TOKENS } from '../bundle/index.ts';
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
  /** Per sample, decode only (plan.ts tokensPerSecond). */
  tokensPerSecond: number;
  /** Per sample, over the last seconds of the run (plan.ts recentTokensPerSecond). */
  recentTokensPerSecond: number;
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
  /** Time of the first step (the end of the prefill), for the decode speed. */
  firstStepMs: number;
  /** (run time, pixels painted per sample) at each progress report, for the recent speed. */
  reports: { ms: number; tokens: number }[];
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
  /** Stored steps not painted yet: position and time. */
  private queue: { position: number; elapsedMs: number }[] = [];
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
      firstStepMs: NaN,
      reports: [],
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

  /** Stores one step (its arrays may be reused by the sender after this call) and queues its pixels. */
  push(runId: number, e: StepEvent): void {
    const run = this.run;
    if (!run || run.id !== runId) return;
    const K = TOP_CANDIDATES;
    const pos = e.position;
    if (pos < 0 || pos >= IMAGE_TOKENS) return;
    for (let s = 0; s < Math.min(e.tokens.length, run.batch); s++) {
      const idx = s * IMAGE_TOKENS + pos;
      run.tokens[idx] = e.tokens[s];
      run.entropy[idx] = e.entropy[s];
      run.candidates.set(e.candidates.subarray(s * K, (s + 1) * K), idx * K);
      run.probs.set(e.candidateProbs.subarray(s * K, (s + 1) * K), idx * K);
    }
    if (e.step === 0) run.firstStepMs = e.elapsedMs;
    this.queue.push({ position: pos, elapsedMs: e.elapsedMs });
    this.schedule();
  }

  /** The run's full prompt image, kept length, and each sample's generated tokens so far (for export). */
  runTokens(): { prompt: Int32Array; keptLen: number; generated: Int32Array[] } | null {
    const run = this.run;
    if (!run) return null;
    const generated = Array.from({ length: run.batch }, (_, b) => {
      const row = run.tokens.subarray(b * IMAGE_TOKENS + run.keptLen, (b + 1) * IMAGE_TOKENS);
      const n = row.indexOf(-1);
      return row.slice(0, n < 0 ? row.length : n);
    });
    return { prompt: run.prompt, keptLen: run.keptLen, generated };
  }

  /** Resolves when everything queued for this run has been painted. */
  drain(runId: number): Promise<void> {
    if (!this.run || this.run.id !== runId || this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Drop what is still queued (Stop). Painted pixels stay. */
  stop(): void {
    this.queue = [];
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.resolveDrain();
  }

  /** Shows the final tokens (also those stored but not painted yet, e.g. after Stop). */
  finish(runId: number, tokens: Int32Array[]): void {
    const run = this.run;
    if (!run || run.id !== runId) return;
    tokens.forEach((seq, b) => {
      for (let s = 0; s < seq.length && run.keptLen + s < IMAGE_TOKENS; s++) {
        const pos = run.keptLen + s;
        const idx = b * IMAGE_TOKENS + pos;
        const t = (run.tokens[idx] = seq[s]);
        setPixel(run.colour[b], pos, run.rgb[3 * t], run.rgb[3 * t + 1], run.rgb[3 * t + 2]);
        if (!Number.isNaN(run.entropy[idx])) setPixel(run.heat[b], pos, ...heatColor(run.entropy[idx] / ENTROPY_SCALE_BITS));
      }
      run.dirty.add(b);
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
    const steps = this.queue.splice(0, Math.min(this.queue.length, this.stepsPerFrame()));
    for (const { position: pos, elapsedMs } of steps) {
      for (let s = 0; s < run.batch; s++) {
        const idx = s * IMAGE_TOKENS + pos;
        const t = run.tokens[idx];
        setPixel(run.colour[s], pos, run.rgb[3 * t], run.rgb[3 * t + 1], run.rgb[3 * t + 2]);
        const [hr, hg, hb] = heatColor(run.entropy[idx] / ENTROPY_SCALE_BITS);
        setPixel(run.heat[s], pos, hr, hg, hb);
        run.dirty.add(s);
      }
      run.painted = Math.max(run.painted, pos - run.keptLen + 1);
      run.elapsedMs = elapsedMs;
    }
    this.flushDirty();
    const now = performance.now();
    const drained = this.queue.length === 0;
    if (this.onProgress && (drained || now - this.lastReport > 200)) {
      this.lastReport = now;
      const tps = tokensPerSecond(run.painted - 1, run.elapsedMs - run.firstStepMs);
      run.reports.push({ ms: run.elapsedMs, tokens: run.painted });
      if (run.reports.length > 64) run.reports.splice(0, run.reports.length - 64);
      const recent = recentTokensPerSecond(run.reports);
      this.onProgress({ runId: run.id, painted: run.painted, total: IMAGE_TOKENS - run.keptLen, elapsedMs: run.elapsedMs, tokensPerSecond: tps, recentTokensPerSecond: recent });
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

/** The one painter of the page. */
export const painter = new Painter();
