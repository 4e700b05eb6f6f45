// Our ONNX writer's field numbers against the official schema: models written by buildModelProto
// are decoded with onnx-proto (onnx.proto of ONNX 1.10 compiled by protobufjs) and compared with
// what was asked for.
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../checkpoint.ts';
import { buildDecoderGraph } from '../graph.ts';
import { folderFiles, FIXTURE_DIR } from '../../../test/fixture.ts';
import { buildModelProto, DataType, type ModelSpec } from './onnx.ts';
import { encodeMessage, type Message } from './proto.ts';

const { onnx } = onnxProto;

async function decode(model: Message) {
  const chunks: Uint8Array[] = [];
  for await (const c of encodeMessage(model)) chunks.push(c);
  return onnx.ModelProto.toObject(onnx.ModelProto.decode(Buffer.concat(chunks)), { longs: Number, enums: String, bytes: Array });
}

const tensorType = (elemType: number, dim: object[]) => ({ tensorType: { elemType, shape: dim.length ? { dim } : {} } });

describe('ONNX writer against onnx.proto', () => {
  it('a model with every kind of field we write decodes to what was asked for', async () => {
    const spec: ModelSpec = {
      producer: 'p',
      producerVersion: '1.2',
      docString: 'doc',
      metadata: { k: 'v' },
      opsets: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
      graph: {
        name: 'g',
        inputs: [{ name: 'x', dataType: DataType.INT64, dims: ['batch', 3] }],
        outputs: [{ name: 'y', dataType: DataType.FLOAT16, dims: [] }],
        nodes: [
          { op: 'Op', domain: 'com.microsoft', name: 'n', inputs: ['x', '', 'w'], outputs: ['y'], attrs: { f: 0.5, i: { int: -3 }, s: 'text', ints: [1, -2] } },
        ],
        initializers: [
          { name: 'w', dataType: DataType.FLOAT, dims: [1, 2], byteLength: 8, produce: async () => new Uint8Array(new Float32Array([1, -2]).buffer) },
          { name: 'e', dataType: DataType.UINT8, dims: [4], byteLength: 4, produce: async () => new Uint8Array(4), external: { location: 'm.data', offset: 16 } },
        ],
      },
    };
    expect(await decode(buildModelProto(spec))).toEqual({
      irVersion: 8,
      producerName: 'p',
      producerVersion: '1.2',
      docString: 'doc',
      metadataProps: [{ key: 'k', value: 'v' }],
      opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
      graph: {
        name: 'g',
        input: [{ name: 'x', type: tensorType(DataType.INT64, [{ dimParam: 'batch' }, { dimValue: 3 }]) }],
        output: [{ name: 'y', type: tensorType(DataType.FLOAT16, []) }],
        node: [
          {
            opType: 'Op',
            domain: 'com.microsoft',
            name: 'n',
            input: ['x', '', 'w'],
            output: ['y'],
            attribute: [
              { name: 'f', type: 'FLOAT', f: 0.5 },
              { name: 'i', type: 'INT', i: -3 },
              { name: 's', type: 'STRING', s: [...new TextEncoder().encode('text')] },
              { name: 'ints', type: 'INTS', ints: [1, -2] },
            ],
          },
        ],
        initializer: [
          { name: 'w', dataType: DataType.FLOAT, dims: [1, 2], rawData: [...new Uint8Array(new Float32Array([1, -2]).buffer)] },
          {
            name: 'e',
            dataType: DataType.UINT8,
            dims: [4],
            dataLocation: 'EXTERNAL',
            externalData: [{ key: 'location', value: 'm.data' }, { key: 'offset', value: '16' }, { key: 'length', value: '4' }],
          },
        ],
      },
    });
  });

  for (const dtype of ['fp32', 'fp16'] as const) {
    it(`the fixture's ${dtype} decoder graph${dtype === 'fp16' ? ' (external data)' : ''}: nodes, names, initializers, opsets`, async () => {
      const ckpt = await openCheckpoint(await folderFiles(FIXTURE_DIR));
      const built = await buildDecoderGraph(ckpt, { dtype, graphFile: 'model.onnx', producerVersion: '0', externalDataThreshold: dtype === 'fp16' ? 0 : undefined });
      const m = await decode(built.model);
      const g = m.graph;
      const float = dtype === 'fp16' ? DataType.FLOAT16 : DataType.FLOAT;
      const { io } = built;
      expect(m.irVersion).toBe(8);
      expect(m.opsetImport).toEqual([{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }]);
      const layer = 'SkipSimplifiedLayerNormalization MatMul Add GroupQueryAttention MatMul SkipSimplifiedLayerNormalization MatMul Add QuickGelu MatMul';
      const ops = `Gather Gather ${layer} ${layer} SkipSimplifiedLayerNormalization MatMul${dtype === 'fp16' ? ' Cast' : ''}`;
      expect(g.node.map((n: { opType: string }) => n.opType).join(' ')).toBe(ops);
      expect(g.input.map((v: { name: string }) => v.name)).toEqual([io.inputIds, io.positionIds, io.seqlensK, io.totalSequenceLength, 'past_key.0', 'past_value.0', 'past_key.1', 'past_value.1']);
      expect(g.input[3]).toEqual({ name: io.totalSequenceLength, type: tensorType(DataType.INT32, []) });
      expect(g.input[4].type).toEqual(tensorType(float, [{ dimParam: 'batch' }, { dimValue: 4 }, { dimParam: 'past_sequence' }, { dimValue: 8 }]));
      expect(g.output.map((v: { name: string }) => v.name)).toEqual([io.logits, 'present_key.0', 'present_value.0', 'present_key.1', 'present_value.1']);
      expect(g.output[0].type).toEqual(tensorType(DataType.FLOAT, [{ dimParam: 'batch' }, { dimParam: 'sequence' }, { dimValue: 512 }]));

      const byName = new Map(g.node.map((n: { name: string }) => [n.name, n]));
      expect(byName.get('h.0.attn.attention')).toMatchObject({
        domain: 'com.microsoft',
        input: ['h.0.attn.qkv', '', '', 'past_key.0', 'past_value.0', 'seqlens_k', 'total_sequence_length'],
        output: ['h.0.attn.out', 'present_key.0', 'present_value.0'],
        attribute: [{ name: 'num_heads', type: 'INT', i: 4 }, { name: 'kv_num_heads', type: 'INT', i: 4 }, { name: 'scale', type: 'FLOAT', f: Math.fround(built.attentionScale) }],
      });
      expect(byName.get('h.1.ln_2')).toMatchObject({ output: ['h.1.ln_2.out', '', '', 'h.1.resid_mlp'], attribute: [{ name: 'epsilon', type: 'FLOAT', f: Math.fround(1e-5) }] });
      expect(byName.get('h.0.mlp.act')).toMatchObject({ domain: 'com.microsoft', attribute: [{ name: 'alpha', type: 'FLOAT', f: Math.fround(1.702) }] });
      if (dtype === 'fp16') expect(byName.get('logits_to_fp32')).toMatchObject({ attribute: [{ name: 'to', type: 'INT', i: DataType.FLOAT }] });
      // Every node input is a graph input, an initializer or an earlier node's output.
      const known = new Set(['', ...g.input.map((v: { name: string }) => v.name), ...g.initializer.map((t: { name: string }) => t.name)]);
      for (const n of g.node) {
        for (const i of n.input) expect(known.has(i), `${n.name} input ${i}`).toBe(true);
        for (const o of n.output) known.add(o);
      }
      for (const o of g.output) expect(known.has(o.name)).toBe(true);

      const init = new Map(g.initializer.map((t: { name: string }) => [t.name, t]));
      expect(g.initializer.length).toBe(2 + 2 * 10 + 2);
      expect(init.get('wte')).toMatchObject({ dataType: float, dims: [513, 32] });
      expect(init.get('lm_head')).toMatchObject({ dataType: float, dims: [32, 512] });
      if (dtype === 'fp32') {
        const wte = init.get('wte') as { rawData: number[] };
        expect(new Float32Array(Uint8Array.from(wte.rawData).buffer)).toEqual(await ckpt.tensors.get('wte.weight')!.read());
      } else {
        let offset = 0;
        for (const t of g.initializer) {
          const bytes = 2 * t.dims.reduce((a: number, b: number) => a * b, 1);
          expect(t, t.name).toMatchObject({ dataLocation: 'EXTERNAL', externalData: [{ key: 'location', value: 'model.onnx.data' }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(bytes) }] });
          expect(t.rawData).toBeUndefined();
          offset += bytes;
        }
      }
    });
  }
});
