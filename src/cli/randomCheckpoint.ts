/**
 * Writes a Hugging Face ImageGPT folder with random weights of a given shape (config.json,
 * preprocessor_config.json, model.safetensors), streamed tensor by tensor. Biases are zero and
 * norm gains one, as in the official checkpoints, so the exported graph takes its 8-node form.
 * Used by benchmarks (an iGPT-S-shaped model without downloading iGPT-S) and tests.
 */
import { open, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSafetensorsHeader, numelOf } from '../convert/safetensors.ts';
import { Rng } from '../engine/rng.ts';

export const SHAPES = {
  tiny: { nLayer: 2, nEmbd: 64, nHead: 2 },
  small: { nLayer: 24, nEmbd: 512, nHead: 8 },
  medium: { nLayer: 36, nEmbd: 1024, nHead: 8 },
  large: { nLayer: 48, nEmbd: 1536, nHead: 16 },
} as const;

export interface RandomShape {
  nLayer: number;
  nEmbd: number;
  nHead: number;
}

function tensorList(s: RandomShape): { name: string; shape: number[]; kind: 'weight' | 'zero' | 'one' }[] {
  const d = s.nEmbd;
  const list: { name: string; shape: number[]; kind: 'weight' | 'zero' | 'one' }[] = [
    { name: 'transformer.wte.weight', shape: [513, d], kind: 'weight' },
    { name: 'transformer.wpe.weight', shape: [1024, d], kind: 'weight' },
  ];
  for (let i = 0; i < s.nLayer; i++) {
    const p = `transformer.h.${i}`;
    list.push(
      { name: `${p}.ln_1.weight`, shape: [d], kind: 'one' },
      { name: `${p}.attn.c_attn.weight`, shape: [d, 3 * d], kind: 'weight' },
      { name: `${p}.attn.c_attn.bias`, shape: [3 * d], kind: 'zero' },
      { name: `${p}.attn.c_proj.weight`, shape: [d, d], kind: 'weight' },
      { name: `${p}.attn.c_proj.bias`, shape: [d], kind: 'zero' },
      { name: `${p}.ln_2.weight`, shape: [d], kind: 'one' },
      { name: `${p}.mlp.c_fc.weight`, shape: [d, 4 * d], kind: 'weight' },
      { name: `${p}.mlp.c_fc.bias`, shape: [4 * d], kind: 'zero' },
      { name: `${p}.mlp.c_proj.weight`, shape: [4 * d, d], kind: 'weight' },
      { name: `${p}.mlp.c_proj.bias`, shape: [d], kind: 'zero' },
    );
  }
  list.push({ name: 'transformer.ln_f.weight', shape: [d], kind: 'one' }, { name: 'lm_head.weight', shape: [512, d], kind: 'weight' });
  return list;
}

export async function writeRandomCheckpoint(dir: string, shape: RandomShape, seed = 0, std = 0.02): Promise<void> {
  await mkdir(dir, { recursive: true });
  const rng = new Rng(seed);
  const normal = () => {
    const u = 1 - rng.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
  };
  const config = {
    architectures: ['ImageGPTForCausalImageModeling'],
    model_type: 'imagegpt',
    activation_function: 'quick_gelu',
    vocab_size: 513,
    n_positions: 1024,
    n_embd: shape.nEmbd,
    n_layer: shape.nLayer,
    n_head: shape.nHead,
    n_inner: null,
    layer_norm_epsilon: 1e-5,
    scale_attn_weights: true,
    tie_word_embeddings: false,
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const clusters = Array.from({ length: 512 }, () => [0, 0, 0].map(() => rng.nextFloat() * 2 - 1));
  await writeFile(join(dir, 'preprocessor_config.json'), JSON.stringify({ clusters, do_normalize: true, do_resize: true, size: { height: 32, width: 32 } }));

  const tensors = tensorList(shape);
  const header = encodeSafetensorsHeader(tensors.map((t) => ({ ...t, dtype: 'F32', bytes: numelOf(t.shape) * 4 })), { format: 'pt' });
  const file = await open(join(dir, 'model.safetensors'), 'w');
  try {
    await file.write(header);
    for (const t of tensors) {
      const values = new Float32Array(numelOf(t.shape));
      if (t.kind === 'one') values.fill(1);
      else if (t.kind === 'weight') for (let i = 0; i < values.length; i++) values[i] = normal() * std;
      await file.write(new Uint8Array(values.buffer));
    }
  } finally {
    await file.close();
  }
}
