/**
 * Test helper: a model bundle's fp32 graph read back as a Hugging Face-style `Checkpoint`, so a
 * trained model we only ship as ONNX (models/default) can be exported again (e.g. as q4).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { parseManifest, type BundleManifest } from '../src/bundle/index.ts';
import type { Checkpoint, TensorSource } from '../src/convert/types.ts';

export async function checkpointFromBundle(dir: string): Promise<{ ckpt: Checkpoint; manifest: BundleManifest }> {
  const manifest = parseManifest(await readFile(join(dir, 'igpt.json'), 'utf8'));
  const variant = manifest.variants.find((v) => v.dtype === 'fp32');
  if (!variant || variant.files.length !== 1) throw new Error(`${dir}: needs a single-file fp32 variant`);
  const model = onnxProto.onnx.ModelProto.decode(await readFile(join(dir, variant.graph)));
  const { config } = manifest;
  const tensors = new Map<string, TensorSource>();
  for (const init of model.graph!.initializer!) {
    const raw = init.rawData!;
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    let name = init.name!;
    let shape = init.dims!.map(Number);
    let data = values;
    if (name === 'wte' || name === 'wpe') name += '.weight';
    if (name === 'lm_head') {
      // stored [d, 512] for x @ W; the checkpoint holds nn.Linear's [512, d]
      const [d, n] = shape;
      data = new Float32Array(values.length);
      for (let r = 0; r < d; r++) for (let c = 0; c < n; c++) data[c * d + r] = values[r * n + c];
      name = 'lm_head.weight';
      shape = [n, d];
    }
    const copy = data;
    tensors.set(name, { name, dtype: 'F32', shape, file: variant.graph, read: async () => copy.slice() });
  }
  const ckpt: Checkpoint = {
    config: {
      vocabSize: config.vocabSize,
      nPositions: config.nPositions,
      nEmbd: config.nEmbd,
      nLayer: config.nLayer,
      nHead: config.nHead,
      nInner: config.nInner,
      layerNormEpsilon: 1e-5,
      activation: 'quick_gelu',
    },
    clusters: manifest.palette.clusters,
    tensors,
    rawConfig: {},
    weightFiles: [variant.graph],
  };
  return { ckpt, manifest };
}
