/**
 * A byte-progress display for the CLI: bytes done/total, MB/s, ETA.
 * On a TTY the line is redrawn in place at most every `minIntervalMs` (default 100 ms);
 * otherwise a plain line is written each time another 10% is done (every 32 MiB when the
 * total is unknown), so logs stay short.
 */

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressBarOptions {
  label: string;
  total?: number;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Default stream.isTTY. */
  tty?: boolean;
  /** Clock in ms; default performance.now. */
  now?: () => number;
  minIntervalMs?: number;
  /** Bytes already present before this run (a resumed download): counted as done, not in the speed. */
  startAt?: number;
}

const MiB = 1024 * 1024;
const UNKNOWN_TOTAL_STEP = 32 * MiB;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < MiB) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${(n / (1024 * MiB)).toFixed(2)} GiB`;
}

/** Decimal megabytes per second, as download tools show. */
export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${String(m).padStart(2, '0')}:${ss}`;
}

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly minInterval: number;
  private readonly startTime: number;
  private readonly startAt: number;
  private total: number | undefined;
  private done = 0;
  private lastDraw = -Infinity;
  private lastStep = -1;
  private finished = false;

  constructor(private readonly opts: ProgressBarOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? Boolean(this.stream.isTTY);
    this.now = opts.now ?? (() => performance.now());
    this.minInterval = opts.minIntervalMs ?? 100;
    this.startTime = this.now();
    this.startAt = opts.startAt ?? 0;
    this.done = this.startAt;
    this.total = opts.total;
    if (!this.tty && this.total !== undefined && this.total > 0) this.lastStep = Math.floor((10 * this.done) / this.total);
  }

  /** The text of the progress line (no newline, no control characters). */
  line(): string {
    const elapsed = (this.now() - this.startTime) / 1000;
    const rate = elapsed > 0 ? (this.done - this.startAt) / elapsed : 0;
    const parts = [this.opts.label];
    if (this.total !== undefined && this.total > 0) {
      const pct = Math.min(100, (100 * this.done) / this.total);
      parts.push(`${pct.toFixed(0).padStart(3)}%`, `${formatBytes(this.done)} / ${formatBytes(this.total)}`);
      parts.push(formatRate(rate), `ETA ${rate > 0 ? formatDuration((this.total - this.done) / rate) : '--:--'}`);
    } else {
      parts.push(formatBytes(this.done), formatRate(rate));
    }
    return parts.join('  ');
  }

  update(done: number, total?: number): void {
    if (this.finished) return;
    this.done = done;
    if (total !== undefined) this.total = total;
    if (this.tty) {
      const t = this.now();
      if (t - this.lastDraw < this.minInterval) return;
      this.lastDraw = t;
      this.draw();
    } else {
      const step =
        this.total !== undefined && this.total > 0
          ? Math.floor((10 * this.done) / this.total)
          : Math.floor(this.done / UNKNOWN_TOTAL_STEP);
      if (step > this.lastStep) {
        this.lastStep = step;
        this.stream.write(this.line() + '\n');
      }
    }
  }

  /** Draws the final state (always) and ends the line. */
  finish(message?: string): void {
    if (this.finished) return;
    this.finished = true;
    const text = message ? `${this.line()}  ${message}` : this.line();
    if (this.tty) this.stream.write(`\r${text}\x1b[K\n`);
    else if (message || this.lastStep < 10) this.stream.write(text + '\n');
  }

  private draw(): void {
    let text = this.line();
    const cols = this.stream.columns;
    if (cols && text.length >= cols) text = text.slice(0, cols - 1);
    this.stream.write(`\r${text}\x1b[K`);
  }
}
