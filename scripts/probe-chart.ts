/**
 * An `igpt probe --json` result as an SVG chart of test accuracy by layer (the Probe view's
 * geometry, src/app/probeChart.ts): npx tsx scripts/probe-chart.ts result.json out.svg [title]
 * Several results (comma-separated files) are drawn as several lines on one chart, by layer number.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { chartGeometry, DEFAULT_CHART_SIZE, percent } from '../src/app/probeChart.ts';
import type { ProbeJson } from '../src/probe/report.ts';

const [inputs, out, title = 'Test accuracy by layer'] = process.argv.slice(2);
if (!inputs || !out) throw new Error('usage: tsx scripts/probe-chart.ts RESULT.json[,RESULT2.json] OUT.svg [TITLE]');
const results = inputs.split(',').map((f) => ({ file: f, json: JSON.parse(readFileSync(f, 'utf8')) as ProbeJson & { model_name?: string } }));
const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const LINES = ['#1f6fd1', '#c2410c', '#15803d'];
const size = { ...DEFAULT_CHART_SIZE, height: 380, margin: { ...DEFAULT_CHART_SIZE.margin, top: 40 } };
const layers = Math.max(...results.map((r) => r.json.layers.length));
const axis = chartGeometry([], layers, 0, size);
const parts: string[] = [];
parts.push(`<rect width="${size.width}" height="${size.height}" fill="#ffffff"/>`);
parts.push(`<text x="${size.margin.left}" y="22" font-size="15" font-weight="bold" fill="#111">${esc(title)}</text>`);
for (const t of axis.yTicks) {
  parts.push(`<line x1="${axis.plot.left}" x2="${axis.plot.right}" y1="${t.y}" y2="${t.y}" stroke="#ddd"/>`);
  parts.push(`<text x="${axis.plot.left - 8}" y="${t.y + 4}" text-anchor="end" font-size="12" fill="#555">${Math.round(t.value * 100)}%</text>`);
}
for (const t of axis.xTicks) parts.push(`<text x="${t.x}" y="${axis.plot.bottom + 18}" text-anchor="middle" font-size="12" fill="#555">${t.layer}</text>`);
parts.push(`<text x="${(axis.plot.left + axis.plot.right) / 2}" y="${size.height - 6}" text-anchor="middle" font-size="12" fill="#555">layer (0 = embeddings)</text>`);
results.forEach(({ json }, i) => {
  const g = chartGeometry(json.layers.map((l) => ({ layer: l.layer, accuracy: l.accuracy })), layers, json.chance, size);
  const colour = LINES[i % LINES.length];
  parts.push(`<line x1="${g.plot.left}" x2="${g.plot.right}" y1="${g.chanceY}" y2="${g.chanceY}" stroke="${colour}" stroke-dasharray="6 4" opacity="0.6"/>`);
  parts.push(`<path d="${g.path}" fill="none" stroke="${colour}" stroke-width="3"/>`);
  for (const p of g.points) parts.push(`<circle cx="${p.x}" cy="${p.y}" r="4" fill="${colour}"/>`);
  const best = g.points.find((p) => p.layer === json.best_layer);
  if (best) parts.push(`<circle cx="${best.x}" cy="${best.y}" r="9" fill="none" stroke="${colour}" stroke-width="2"/>`);
  const label = `${json.model_name ?? 'model'}: best layer ${json.best_layer} ${best ? percent(best.accuracy) : ''}, chance (dashed) ${percent(json.chance)}`;
  parts.push(`<text x="${size.width - size.margin.right}" y="${size.margin.top + 14 + 16 * i}" text-anchor="end" font-size="12" fill="${colour}">${esc(label)}</text>`);
});
writeFileSync(out, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size.width} ${size.height}" width="${size.width}" height="${size.height}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`);
