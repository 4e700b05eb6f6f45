/**
 * Renders the example images in public/examples/ (run: npm run examples).
 * Emoji come from Twemoji (CC-BY 4.0, via @iconify-json/twemoji) rendered with resvg; the
 * landscapes are drawn here. Every image is opaque, 128x128.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { encode } from 'fast-png';
import icons from '@iconify-json/twemoji/icons.json' with { type: 'json' };

const OUT = join(import.meta.dirname, '../public/examples');
const SIZE = 128;

interface Entry {
  file: string;
  title: string;
  credit?: string;
}

const emoji: { name: string; title: string; bg: string }[] = [
  { name: 'cat-face', title: 'Cat', bg: '#6fb3d9' },
  { name: 'red-apple', title: 'Apple', bg: '#f3efe4' },
  { name: 'frog', title: 'Frog', bg: '#f6d7a7' },
  { name: 'rocket', title: 'Rocket', bg: '#1d2a4d' },
  { name: 'house-with-garden', title: 'House', bg: '#bfe3f5' },
  { name: 'rainbow', title: 'Rainbow', bg: '#ffffff' },
];

function renderEmoji(name: string, bg: string): Uint8Array {
  const set = icons as unknown as { icons: Record<string, { body: string }>; width?: number; height?: number };
  const icon = set.icons[name];
  if (!icon) throw new Error(`no twemoji icon ${name}`);
  const w = set.width ?? 36;
  const h = set.height ?? 36;
  // 10% margin around the emoji, on an opaque background.
  const pad = w * 0.1;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="${-pad} ${-pad} ${w + 2 * pad} ${h + 2 * pad}"><rect x="${-pad}" y="${-pad}" width="${w + 2 * pad}" height="${h + 2 * pad}" fill="${bg}"/>${icon.body}</svg>`;
  return new Resvg(svg, { fitTo: { mode: 'width', value: SIZE } }).render().asPng();
}

type Painter = (x: number, y: number) => [number, number, number];

function drawPng(paint: Painter): Uint8Array {
  const data = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const [r, g, b] = paint(x / SIZE, y / SIZE);
      const i = 3 * (y * SIZE + x);
      data[i] = Math.max(0, Math.min(255, Math.round(r)));
      data[i + 1] = Math.max(0, Math.min(255, Math.round(g)));
      data[i + 2] = Math.max(0, Math.min(255, Math.round(b)));
    }
  }
  return encode({ width: SIZE, height: SIZE, data, channels: 3, depth: 8 });
}

const mix = (a: number[], b: number[], t: number): [number, number, number] => [
  a[0] + (b[0] - a[0]) * t,
  a[1] + (b[1] - a[1]) * t,
  a[2] + (b[2] - a[2]) * t,
];

/** Sunset: warm sky, sun on the horizon, sea with a glitter path. */
const sunset: Painter = (x, y) => {
  const horizon = 0.58;
  const sun = { x: 0.5, y: horizon - 0.02, r: 0.13 };
  if (y < horizon) {
    const d = Math.hypot(x - sun.x, y - sun.y);
    if (d < sun.r) return [255, 228, 120];
    const sky = mix([40, 40, 110], [250, 140, 80], Math.pow(y / horizon, 1.6));
    const glow = Math.max(0, 1 - d / 0.45) * 0.5;
    return mix(sky, [255, 200, 120], glow);
  }
  const t = (y - horizon) / (1 - horizon);
  const sea = mix([40, 70, 120], [12, 30, 60], t);
  const path = Math.abs(x - sun.x) < 0.05 + t * 0.12 && Math.sin(y * 140) > 0.2;
  return path ? mix(sea, [255, 200, 110], 0.8 - t * 0.4) : sea;
};

/** Day at the sea: blue sky, two clouds, sun, sea, sand. */
const seaside: Painter = (x, y) => {
  if (Math.hypot(x - 0.78, y - 0.2) < 0.09) return [255, 214, 64];
  const cloud = (cx: number, cy: number) =>
    Math.hypot((x - cx) * 0.8, y - cy) < 0.06 || Math.hypot((x - cx - 0.06) * 0.8, y - cy + 0.03) < 0.07 || Math.hypot((x - cx + 0.07) * 0.8, y - cy + 0.01) < 0.05;
  if (y < 0.55 && (cloud(0.25, 0.22) || cloud(0.55, 0.38))) return [248, 250, 252];
  if (y < 0.55) return mix([70, 140, 230], [170, 215, 250], y / 0.55);
  const shore = 0.8 + 0.04 * Math.sin(x * 9);
  if (y < shore) {
    const foam = y > shore - 0.025;
    return foam ? [235, 245, 250] : mix([30, 110, 190], [40, 160, 190], (y - 0.55) / 0.3);
  }
  return [236, 210, 150];
};

/** Mountains under a pale sky, a green valley. */
const mountains: Painter = (x, y) => {
  const far = 0.45 - 0.18 * Math.max(0, 1 - Math.abs(x - 0.3) / 0.3) - 0.12 * Math.max(0, 1 - Math.abs(x - 0.75) / 0.25);
  const near = 0.7 - 0.15 * Math.max(0, 1 - Math.abs(x - 0.55) / 0.35);
  if (y > near) return mix([80, 150, 70], [40, 100, 40], (y - near) / (1 - near));
  if (y > far) {
    const snow = y < far + 0.05 && far < 0.35;
    return snow ? [240, 244, 250] : mix([110, 110, 140], [80, 85, 110], (y - far) / 0.4);
  }
  return mix([150, 190, 235], [225, 235, 245], y / 0.5);
};

const entries: Entry[] = [];
for (const e of emoji) {
  const file = `${e.name}.png`;
  writeFileSync(join(OUT, file), renderEmoji(e.name, e.bg));
  entries.push({ file, title: e.title, credit: 'Twemoji, CC-BY 4.0' });
}
for (const [file, title, paint] of [
  ['sunset.png', 'Sunset over the sea', sunset],
  ['seaside.png', 'Seaside', seaside],
  ['mountains.png', 'Mountains', mountains],
] as const) {
  writeFileSync(join(OUT, file), drawPng(paint));
  entries.push({ file, title });
}
// Landscapes first: the first entry is the prompt shown on start.
entries.sort((a, b) => Number(!!a.credit) - Number(!!b.credit));
writeFileSync(join(OUT, 'index.json'), JSON.stringify(entries, null, 2) + '\n');
console.log(`wrote ${entries.length} examples to ${OUT}`);
