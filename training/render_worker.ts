// Child process of the render pool: renders batches of icons to 32x32 RGB.
// resvg aborts the whole process on a few SVGs; the parent then bisects the batch.
import { Resvg } from '@resvg/resvg-js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { compositeAndBoxDownsample, iconToSvg, type IconifyJSON } from './dataset_lib.ts';

export interface RenderRequest {
  id: number;
  set: string;
  names: string[];
  renderSize: number; // pixels rendered, e.g. 128
  factor: number; // box-filter factor, renderSize / factor = 32
}
export interface RenderReply {
  id: number;
  images: Uint8Array; // names.length * outSize^2 * 3 bytes, zeros where failed
  failed: { name: string; error: string }[];
}

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

/** Render one icon composited on white and box-filtered to renderSize/factor pixels (RGB bytes). */
export function renderIcon(json: IconifyJSON, name: string, renderSize: number, factor: number): Uint8Array {
  const svg = iconToSvg(json, name, renderSize);
  const img = new Resvg(svg, {
    fitTo: { mode: 'width', value: renderSize },
    background: 'rgba(255,255,255,1)',
    font: { loadSystemFonts: false },
  }).render();
  if (img.width !== renderSize || img.height !== renderSize) {
    throw new Error(`rendered ${img.width}x${img.height}, expected ${renderSize}x${renderSize}`);
  }
  return compositeAndBoxDownsample(new Uint8Array(img.pixels), renderSize, factor);
}

function handle(req: RenderRequest): RenderReply {
  const json = loadIconSet(req.set);
  const out = req.renderSize / req.factor;
  const px = out * out * 3;
  const images = new Uint8Array(req.names.length * px);
  const failed: RenderReply['failed'] = [];
  req.names.forEach((name, i) => {
    try {
      images.set(renderIcon(json, name, req.renderSize, req.factor), i * px);
    } catch (e) {
      failed.push({ name, error: e instanceof Error ? e.message : String(e) });
    }
  });
  return { id: req.id, images, failed };
}

if (process.send) {
  process.on('message', (req: RenderRequest) => {
    process.send!(handle(req));
  });
}
