/**
 * Test helper: a model bundle's fp32 graph read back as a Hugging Face-style `Checkpoint`, so a
 * trained model we only ship as ONNX (models/default) can be exported again (e.g. as q4). The
 * decoder weights come from `checkpointFromDecoderGraph` (what the probe uses); `lm_head`, which
 * that leaves out, is added here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifest, type BundleManifest } from '../src/bundle/index.ts';
import { checkpointFromDecoderGraph } from '../src/convert/graphCheckpoint.ts';
import { readOnnxModel, tensorToFloat32 } from '../src/convert/onnx/read.ts';
import type { Checkpoint } from '../src/convert/types.ts';

export async function checkpointFromBundle(dir: string): Promise<{ ckpt: Checkpoint; manifest: BundleManifest }> {
  const manifest = parseManifest(await readFile(join(dir, 'igpt.json'), 'utf8'));
  const variant = manifest.variants.find((v) => v.dtype === 'fp32');
  if (!variant || variant.files.length !== 1) throw new Error(`${dir}: needs a single-file fp32 variant`);
  const graph = new Uint8Array(await readFile(join(dir, variant.graph)));
  const ckpt = checkpointFromDecoderGraph(graph, manifest.config, { label: variant.graph, clusters: manifest.palette.clusters });
  // lm_head is stored [d, 512] for x @ W; the checkpoint holds nn.Linear's [512, d].
  const lmHead = readOnnxModel(graph).initializers.get('lm_head');
  if (!lmHead) throw new Error(`${dir}: ${variant.graph} has no lm_head`);
  const [d, n] = lmHead.dims;
  const values = tensorToFloat32(lmHead);
  const transposed = new Float32Array(values.length);
  for (let r = 0; r < d; r++) for (let c = 0; c < n; c++) transposed[c * d + r] = values[r * n + c];
  ckpt.tensors.set('lm_head.weight', { name: 'lm_head.weight', dtype: 'F32', shape: [n, d], file: variant.graph, read: async () => transposed.slice() });
  return { ckpt, manifest };
}
