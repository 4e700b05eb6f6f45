import { describe, expect, it } from 'vitest';
import { ProgressBar, formatBytes, formatDuration, formatRate } from './progress.ts';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 200, write: (s: string) => writes.push(s) } };
}

describe('format helpers', () => {
  it('formats bytes, rates and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.00 GiB');
    expect(formatRate(12_345_678)).toBe('12.3 MB/s');
    expect(formatDuration(65)).toBe('01:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('--:--');
  });
});

describe('ProgressBar', () => {
  it('on a TTY redraws in place at most every 100 ms, with bytes, MB/s and ETA', () => {
    const { writes, stream } = fakeStream(true);
    let t = 0;
    const bar = new ProgressBar({ label: 'model.safetensors', total: 10_000_000, stream, now: () => t });
    for (let i = 1; i <= 100; i++) {
      t = i * 10; // 1 s in 10 ms steps
      bar.update(i * 50_000);
    }
    // 1 s of updates at 10 ms apart: one draw per 100 ms => 10 draws
    expect(writes.length).toBe(10);
    expect(writes.every((w) => w.startsWith('\r') && w.endsWith('\x1b[K'))).toBe(true);
    const last = writes[writes.length - 1];
    // at t = 910 ms, 4.55 MB done: 5.0 MB/s, ETA (10 - 4.55) / 5.0 = 1.09 s
    expect(last).toContain('model.safetensors');
    expect(last).toContain('46%');
    expect(last).toContain('4.3 MiB / 9.5 MiB');
    expect(last).toContain('5.0 MB/s');
    expect(last).toContain('ETA 00:01');
    bar.finish();
    expect(writes[writes.length - 1]).toMatch(/^\r.* 50%.*5.0 MB\/s.*\n$/s);
  });

  it('without a TTY writes one line per 10% and no control characters', () => {
    const { writes, stream } = fakeStream(false);
    let t = 0;
    const bar = new ProgressBar({ label: 'f', total: 1000, stream, now: () => t });
    for (let d = 1; d <= 1000; d++) {
      t += 1;
      bar.update(d);
    }
    bar.finish();
    expect(writes.length).toBe(10);
    expect(writes.every((w) => w.endsWith('\n') && !w.includes('\r') && !w.includes('\x1b'))).toBe(true);
    expect(writes[0]).toContain(' 10%');
    expect(writes[9]).toContain('100%');
  });

  it('a resumed download counts the old bytes as done but not in the speed', () => {
    const { writes, stream } = fakeStream(false);
    let t = 0;
    const bar = new ProgressBar({ label: 'f', total: 10_000_000, stream, now: () => t, startAt: 5_000_000 });
    t = 1000;
    bar.update(6_000_000);
    expect(writes.length).toBe(1);
    expect(writes[0]).toContain(' 60%');
    expect(writes[0]).toContain('1.0 MB/s');
    expect(writes[0]).toContain('ETA 00:04');
  });
});
