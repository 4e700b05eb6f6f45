/**
 * A minimal reproduction of the wasm kernels' arithmetic cost (docs/PERF.md): one MatMul
 * [M, K] x [K, N] (iGPT-S's MLP shape by default), timed in onnxruntime-web's wasm backend and,
 * when installed, onnxruntime-node's native CPU provider, one thread each, in this process.
 *
 *   node --wasm-tiering-budget=18000000 --import tsx scripts/cpu-bench/matmul-repro.ts [--m 1,8,64] [--k 512] [--n 2048]
 *
 * Prints one JSON line per runtime and M: median ms per run and GFLOP/s (2*M*K*N per run).
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import * as ortWeb from 'onnxruntime-web';
import { buildModelProto, DataType } from '../../src/convert/onnx/onnx.ts';
import { concatChunks, encodeMessage } from '../../src/convert/onnx/proto.ts';

const { values } = parseArgs({ options: { m: { type: 'string', default: '1,8,64' }, k: { type: 'string', default: '512' }, n: { type: 'string', default: '2048' }, runs: { type: 'string', default: '200' } } });
const [K, N, RUNS] = [Number(values.k), Number(values.n), Number(values.runs)];

async function matmulModel(): Promise<Uint8Array> {
  const w = new Float32Array(K * N).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const proto = buildModelProto({
    graph: {
      name: 'matmul',
      inputs: [{ name: 'x', dataType: DataType.FLOAT, dims: ['m', K] }],
      outputs: [{ name: 'y', dataType: DataType.FLOAT, dims: ['m', N] }],
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'], name: 'matmul' }],
      initializers: [{ name: 'w', dataType: DataType.FLOAT, dims: [K, N], byteLength: K * N * 4, produce: async () => new Uint8Array(w.buffer) }],
    },
    opsets: [{ domain: '', version: 17 }],
    producer: 'matmul-repro',
    producerVersion: '1',
  });
  return concatChunks(encodeMessage(proto));
}

type Ort = typeof ortWeb;
async function time(name: string, ort: Ort, options: Record<string, unknown>, bytes: Uint8Array) {
  const session = await ort.InferenceSession.create(bytes, options);
  for (const m of values.m!.split(',').map(Number)) {
    const x = new ort.Tensor('float32', new Float32Array(m * K).fill(0.5), [m, K]);
    for (let i = 0; i < RUNS; i++) await session.run({ x }); // warm-up (and V8's tier-up)
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await session.run({ x });
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    const med = ms[ms.length >> 1];
    process.stdout.write(`${JSON.stringify({ runtime: name, m, k: K, n: N, ms: +med.toFixed(3), gflops: +((2 * m * K * N) / med / 1e6).toFixed(2) })}\n`);
  }
  await session.release();
}

const bytes = await matmulModel();
ortWeb.env.wasm.numThreads = 1;
await time('onnxruntime-web (wasm)', ortWeb, { executionProviders: ['wasm'] }, bytes);
try {
  const ortNode = createRequire(import.meta.url)('onnxruntime-node') as Ort;
  await time('onnxruntime-node (native)', ortNode, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 }, bytes);
} catch (e) {
  process.stderr.write(`onnxruntime-node: not installed or failed (${(e as Error).message.split('\n')[0]})\n`);
}
process.exit(0);
