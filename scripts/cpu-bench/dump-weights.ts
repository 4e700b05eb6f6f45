/**
 * Writes a bundle's fp32 weights as a Hugging Face-style folder (config.json + model.safetensors)
 * for scripts/cpu-bench/torch_decode.py, so PyTorch runs the same weights as the engine.
 *   node --import tsx scripts/cpu-bench/dump-weights.ts BUNDLE_DIR OUT_DIR
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSafetensorsHeader } from '../../src/convert/safetensors.ts';
import { checkpointFromBundle } from '../../test/bundleCheckpoint.ts';

export async function dumpWeights(bundleDir: string, outDir: string): Promise<{ attentionScale: number }> {
  const { ckpt, manifest } = await checkpointFromBundle(bundleDir);
  await mkdir(outDir, { recursive: true });
  const { config } = manifest;
  await writeFile(
    join(outDir, 'config.json'),
    JSON.stringify({ model_type: 'imagegpt', n_embd: config.nEmbd, n_layer: config.nLayer, n_head: config.nHead, n_positions: 1024, vocab_size: 513, layer_norm_epsilon: 1e-5 }),
  );
  // Graph initializer names -> Hugging Face names (the embeddings and lm_head are already renamed).
  const hfName = (n: string) => (n.startsWith('h.') || n.startsWith('wte') || n.startsWith('wpe') || n.startsWith('ln_f') ? `transformer.${n}` : n);
  const tensors = [...ckpt.tensors.values()];
  const header = encodeSafetensorsHeader(tensors.map((t) => ({ name: hfName(t.name), dtype: 'F32', shape: t.shape, bytes: t.shape.reduce((a, b) => a * b, 1) * 4 })));
  const file = await open(join(outDir, 'model.safetensors'), 'w');
  try {
    await file.write(header);
    for (const t of tensors) {
      const v = await t.read();
      await file.write(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
  } finally {
    await file.close();
  }
  return { attentionScale: config.attentionScale };
}

if (process.argv[1]?.endsWith('dump-weights.ts')) {
  const [bundle, out] = process.argv.slice(2);
  console.log(JSON.stringify(await dumpWeights(bundle, out)));
}
