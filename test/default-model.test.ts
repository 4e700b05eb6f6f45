/** The bundled default model (models/default) loads, scores an emoji as a trained model would, and completes it. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../src/engine/engine.ts';
import { decodeImage, imageToTokens } from '../src/image/index.ts';
import { folderFiles } from './fixture.ts';

const MODEL_DIR = fileURLToPath(new URL('../models/default/', import.meta.url));
const IMAGE = fileURLToPath(new URL('../public/examples/red-apple.png', import.meta.url));

describe('bundled default model', () => {
  it('loads, scores an emoji far below the 9 bits/token of a uniform guess, and completes its bottom half', async () => {
    const engine = await loadEngine({ kind: 'files', files: await folderFiles(MODEL_DIR) }, { backend: 'wasm' });
    const { tokens } = imageToTokens(decodeImage(new Uint8Array(await readFile(IMAGE)), 'red-apple.png'), engine.info.manifest.palette.clusters);
    const [score] = await engine.score([tokens]);
    // A trained model: random weights give about 9 bits/token or more.
    expect(score.bitsPerToken).toBeLessThan(4);
    const prompt = Array.from(tokens.slice(0, 16 * 32));
    const result = await engine.generate({ prompt, samples: [{ temperature: 1, topK: 0, topP: 1, seed: 3 }] });
    expect(result.tokens[0].length).toBe(512);
    for (const t of result.tokens[0]) expect(t >= 0 && t < 512).toBe(true);
    await engine.dispose();
  });
});
