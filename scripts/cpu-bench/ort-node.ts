/**
 * One contender of `npm run bench:cpu`: onnxruntime-node's native CPU execution provider on the same
 * .onnx, driven by the engine's own loop (OrtEngine over a native session: the same graph, made the
 * same way (--graph cpu: cpuGraph.ts; bundle: the bundle's own), the same feeds, cache handling and
 * sampler), so only the runtime differs from engine-node.ts. Prints one JSON line.
 * onnxruntime-node is not a dependency of the project (113 MB); install it for the benchmark with
 *   ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save onnxruntime-node@1.30.0
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { parseManifest, pickVariant } from '../../src/bundle/index.ts';
import { benchPrompt } from '../../src/engine/plan.ts';
import { OrtEngine } from '../../src/engine/engine.ts';
import { cpuDecoderGraph } from '../../src/engine/cpuGraph.ts';
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
// Not a dependency: imported by a name that the type checker does not resolve. Its API is
// onnxruntime-common's, the same as onnxruntime-web's.
const ortNodePackage = 'onnxruntime-node';
const ort = (await import(ortNodePackage)) as typeof import('onnxruntime-web');
const dir = values.model!;
const t0 = performance.now();
const manifest = parseManifest(await readFile(join(dir, 'igpt.json'), 'utf8'));
const variant = pickVariant(manifest, 'fp32', false);
const threads = Number(values.threads);
const bytes = new Uint8Array(await readFile(join(dir, variant.graph)));
const cpuGraph = values.graph === 'cpu';
const session = await ort.InferenceSession.create(cpuGraph ? cpuDecoderGraph(bytes, manifest) : bytes, {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
});
const engine = new OrtEngine(
  { backend: 'wasm', adapter: 'onnxruntime-node cpu', dtype: variant.dtype, modelBytes: 0, manifest },
  session as never,
  false,
  cpuGraph,
);
const loadMs = performance.now() - t0;
const result = await measureEngine(engine, {
  prompt: benchPrompt(Number(values.prefix)),
  batches: values.batch!.split(',').map(Number),
  steps: Number(values.steps),
  repeat: Number(values.repeat),
});
process.stdout.write(`${JSON.stringify({ contender: 'ort-node', graph: values.graph, threads, load_ms: loadMs, ...result })}\n`);
process.exit(0);
