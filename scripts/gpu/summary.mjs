// Prints the one-line SUMMARY of a GPU run from the files in OUT (bench-*.json, else the
// "bench: {...}" progress lines of run.log for runs that were cut off) and adapter.jsonl.
// usage: node summary.mjs OUT ELAPSED_S
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [out, elapsed = '?'] = process.argv.slice(2);
const read = (f) => (existsSync(join(out, f)) ? readFileSync(join(out, f), 'utf8') : '');
const runs = {}; // name -> { batch -> entry }
const meta = {};
for (const f of readdirSync(out).filter((f) => /^bench-.*\.json$/.test(f))) {
  try {
    const j = JSON.parse(read(f));
    const name = f.slice(6, -5);
    meta[name] = j;
    runs[name] = Object.fromEntries(j.runs.map((r) => [r.batch, r]));
  } catch {}
}
// Partial results of benches cut off by their timeout: progress lines follow "bench NAME:" lines.
let current = null;
for (const line of read('run.log').split('\n')) {
  const m = line.match(/\] bench ([\w-]+): --/);
  if (m) current = m[1];
  if (current && line.startsWith('bench: {')) {
    try {
      const e = JSON.parse(line.slice(7));
      runs[current] ??= {};
      runs[current][e.batch] ??= { ...e, partial: true };
    } catch {}
  }
}
const adapters = read('adapter.jsonl').split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
const a = adapters[0] ?? {};
const f16 = adapters[1] ?? {};
const ms = (name, b) => runs[name]?.[b]?.warm?.decode_ms_per_step;
const fmt = (x, d = 2, unit = 'ms') => (typeof x === 'number' ? `${x.toFixed(d)}${unit}` : 'n/a');
const check = (x, limit) => (typeof x === 'number' ? (x <= limit ? 'ok' : 'MISS') : '-');
const s1 = ms('s-fp32', 1), s8 = ms('s-fp32', 8);
const cold = runs['s-fp32']?.[1]?.cold;
const first = cold ? cold.prefill_ms + cold.decode_ms : undefined;
const mName = Object.keys(runs).find((n) => n.startsWith('m-'));
const m1 = mName ? ms(mName, 1) : undefined;
const h1 = ms('s-fp16', 1), h8 = ms('s-fp16', 8);
const kps = runs['s-fp32']?.[1]?.warm?.profile?.kernels_per_step;
const parts = [
  `SUMMARY ${a.ok ? `${a.adapter?.vendor}/${a.adapter?.architecture}` : 'no-adapter'}`,
  `f16=${a.shader_f16 ? 'yes' : 'no'}/toggle=${f16.shader_f16 ? (f16.f16_kernel?.ok ? 'yes' : 'broken') : 'no'}`,
  `S-b1=${fmt(s1)}(${check(s1, 5)})`,
  `S-b8=${fmt(s8)}(${check(s8, 6)})`,
  `S-first=${fmt(first === undefined ? undefined : first / 1000, 1, 's')}(${check(first, 5000)})`,
  `load=${fmt(meta['s-fp32']?.load_ms === undefined ? undefined : meta['s-fp32'].load_ms / 1000, 1, 's')}`,
  `${mName ?? 'M'}-b1=${fmt(m1)}(${check(m1, 12)})`,
  ...(h1 !== undefined || h8 !== undefined ? [`S16-b1=${fmt(h1)} S16-b8=${fmt(h8)}`] : []),
  `kernels/step=${kps ?? 'n/a'}`,
  `partial=${Object.entries(runs).flatMap(([n, r]) => Object.values(r).filter((e) => e.partial).map((e) => `${n}:b${e.batch}`)).join(',') || 'none'}`,
  `${elapsed}s`,
];
console.log(parts.join(' '));
