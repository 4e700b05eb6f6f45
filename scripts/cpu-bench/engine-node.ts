/**
 * One contender of `npm run bench:cpu`: the engine (onnxruntime-web, wasm) in this Node process.
 * Prints one JSON line: load, prefill and decode times per batch size. Run by scripts/bench-cpu.ts,
 * or alone:  node [--liftoff-only] --import tsx scripts/cpu-bench/engine-node.ts --model DIR --threads 1
 *            --batch 1,8 --prefix 512 --steps 16 [--graph cpu|bundle]
 */
import { parseArgs } from 'node:util';
import { readFolderFiles } from '../../src/cli/nodeFiles.ts';
import { benchPrompt } from '../../src/engine/plan.ts';
import { loadEngine } from '../../src/engine/engine.ts';
import { measureEngine } from './measure.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    threads: { type: 'string', default: '1' },
    batch: { type: 'string', default: '1,8' },
    prefix: { type: 'string', default: '512' },
    steps: { type: 'string', default: '16' },
    repeat: { type: 'string', default: '1' },
    graph: { type: 'string', default: 'cpu' },
  },
});
const t0 = performance.now();
const files = await readFolderFiles(values.model!);
const engine = await loadEngine({ kind: 'files', files, label: values.model! }, { backend: 'wasm', wasmThreads: Number(values.threads), wasmGraph: values.graph as 'cpu' | 'bundle' });
const loadMs = performance.now() - t0;
const result = await measureEngine(engine, {
  prompt: benchPrompt(Number(values.prefix)),
  batches: values.batch!.split(',').map(Number),
  steps: Number(values.steps),
  repeat: Number(values.repeat),
});
process.stdout.write(`${JSON.stringify({ contender: 'engine-node', graph: values.graph, threads: engine.info.wasmThreads, load_ms: loadMs, ...result })}\n`);
// Exit at once: V8 may still be compiling onnxruntime's wasm with TurboFan in the background.
process.exit(0);
