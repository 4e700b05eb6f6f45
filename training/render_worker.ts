// Child process of the render pool: renders batches of icons to 32x32 RGB (and, on request, the
// full-size render as RGB, for the held-out PNGs).
// resvg aborts the whole process on a few SVGs; the parent then bisects the batch.
import { compositeOnWhite } from '../src/image/index.ts';
import { renderToRgb32 } from './dataset_lib.ts';
import { loadIconSet, renderIcon } from './render.ts';

export interface RenderRequest {
  id: number;
  set: string;
  names: string[];
  renderSize: number; // pixels rendered, e.g. 128
  full?: boolean; // also return the full-size renders
}
export interface RenderReply {
  id: number;
  images: Uint8Array; // names.length * 32 * 32 * 3 bytes, zeros where failed
  full?: Uint8Array; // names.length * renderSize^2 * 3 bytes (RGB), when asked for
  failed: { name: string; error: string }[];
}

function handle(req: RenderRequest): RenderReply {
  const json = loadIconSet(req.set);
  const px = 32 * 32 * 3;
  const fullPx = req.renderSize * req.renderSize * 3;
  const images = new Uint8Array(req.names.length * px);
  const full = req.full ? new Uint8Array(req.names.length * fullPx) : undefined;
  const failed: RenderReply['failed'] = [];
  req.names.forEach((name, i) => {
    try {
      const rgba = renderIcon(json, name, req.renderSize);
      images.set(renderToRgb32(rgba, req.renderSize), i * px);
      full?.set(compositeOnWhite({ width: req.renderSize, height: req.renderSize, data: rgba }), i * fullPx);
    } catch (e) {
      failed.push({ name, error: e instanceof Error ? e.message : String(e) });
    }
  });
  return { id: req.id, images, full, failed };
}

if (process.send) {
  process.on('message', (req: RenderRequest) => {
    process.send!(handle(req));
  });
}
