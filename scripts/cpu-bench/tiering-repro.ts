/**
 * The reproduction of V8's tiering cost on onnxruntime-web's wasm in Node (docs/PERF.md,
 * "Tiering"): load a bundle into the engine (wasm), generate 3 tokens after a 16-token prompt,
 * exit. Prints the time of each phase since start; time the whole process (exit included) with
 * `time`, and see what TurboFan compiled, and for how long, with --trace-wasm-compilation-times:
 *
 *   time node                                --import tsx scripts/cpu-bench/tiering-repro.ts models/default
 *   time node --wasm-tiering-budget=18000000 --import tsx scripts/cpu-bench/tiering-repro.ts models/default
 *   time node --liftoff-only                 --import tsx scripts/cpu-bench/tiering-repro.ts models/default
 */
import { readFolderFiles } from '../../src/cli/nodeFiles.ts';
import { loadEngine } from '../../src/engine/engine.ts';
import { benchPrompt } from '../../src/engine/plan.ts';

const t0 = performance.now();
const say = (what: string) => process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(2)} s  ${what}\n`);
const dir = process.argv[2] ?? 'models/default';
const engine = await loadEngine({ kind: 'files', files: await readFolderFiles(dir), label: dir }, { backend: 'wasm', wasmThreads: 1 });
say('engine loaded');
await engine.generate({ prompt: benchPrompt(16), samples: [{ temperature: 1, topK: 0, topP: 1, seed: 1 }], maxNewTokens: 3 });
say('first generation (16-token prompt, 3 tokens)');
await engine.generate({ prompt: benchPrompt(16), samples: [{ temperature: 1, topK: 0, topP: 1, seed: 1 }], maxNewTokens: 3 });
say('second generation');
process.exit(0);
