// Rendering one icon with resvg: loads an Iconify set from node_modules and draws an icon on an
// opaque white background. Used by the render pool's child processes and by the tests.
import { Resvg } from '@resvg/resvg-js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { iconToSvg, type IconifyJSON } from './dataset_lib.ts';

const require = createRequire(import.meta.url);
const sets = new Map<string, IconifyJSON>();

export function loadIconSet(set: string): IconifyJSON {
  let json = sets.get(set);
  if (!json) {
    json = JSON.parse(readFileSync(require.resolve(`@iconify-json/${set}/icons.json`), 'utf8')) as IconifyJSON;
    sets.set(set, json);
  }
  return json;
}

/** Render one icon on an opaque white background: renderSize x renderSize RGBA. */
export function renderIcon(json: IconifyJSON, name: string, renderSize: number): Uint8Array {
  const svg = iconToSvg(json, name, renderSize);
  const img = new Resvg(svg, {
    fitTo: { mode: 'width', value: renderSize },
    background: 'rgba(255,255,255,1)',
    font: { loadSystemFonts: false },
  }).render();
  if (img.width !== renderSize || img.height !== renderSize) {
    throw new Error(`rendered ${img.width}x${img.height}, expected ${renderSize}x${renderSize}`);
  }
  return new Uint8Array(img.pixels);
}
