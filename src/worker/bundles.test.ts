import { describe, expect, it } from 'vitest';
import type { BundleManifest } from '../engine/types';
import { bundleFileMap, chooseVariant, resolveBundleUrl, validateManifest } from './bundles';

function manifest(dtypes: ('fp32' | 'fp16')[]): BundleManifest {
  return {
    format: 'igpt-bundle',
    version: 1,
    name: 'm',
    config: { nLayer: 1, nHead: 1, nEmbd: 8, nInner: 32, nPositions: 1024, vocabSize: 513, startToken: 512, imageSize: 32 } as BundleManifest['config'],
    palette: { rgb: new Array(512).fill([0, 0, 0]), clusters: new Array(512).fill([-1, -1, -1]) },
    variants: dtypes.map((dtype) => ({
      dtype,
      files: [{ path: `model.${dtype}.onnx`, bytes: 10, sha256: 'x' }],
      graph: `model.${dtype}.onnx`,
      nodesPerLayer: 1,
      nodeCount: 1,
    })),
    io: {} as BundleManifest['io'],
    provenance: { source: 's', weightFiles: [], converter: 'c', createdAt: '' },
  };
}

describe('bundle URLs', () => {
  it('normalises folder and manifest URLs', () => {
    const base = 'http://localhost:5199/app/';
    expect(resolveBundleUrl('models/default', base)).toBe('http://localhost:5199/app/models/default/');
    expect(resolveBundleUrl('/models/x/igpt.json', base)).toBe('http://localhost:5199/models/x/');
    expect(resolveBundleUrl(' https://h.example/b/ ', base)).toBe('https://h.example/b/');
  });
  it('names bad URLs', () => {
    expect(() => resolveBundleUrl('', 'http://a/')).toThrow(/model URL: is empty/);
    expect(() => resolveBundleUrl('ftp://x/y', 'http://a/')).toThrow(/ftp:\/\/x\/y: unsupported protocol/);
  });
});

describe('manifest', () => {
  it('accepts a bundle manifest', () => {
    expect(validateManifest(manifest(['fp32']), 'u').name).toBe('m');
  });
  it('names the problem', () => {
    expect(() => validateManifest({ format: 'x' }, 'http://h/igpt.json')).toThrow(/http:\/\/h\/igpt.json: is not an igpt bundle manifest/);
    expect(() => validateManifest([1], 'f')).toThrow(/f: is not an igpt bundle/);
    const m = manifest(['fp32']);
    m.palette.rgb = [];
    expect(() => validateManifest(m, 'f')).toThrow(/palette/);
    expect(() => validateManifest({ ...manifest([]) }, 'f')).toThrow(/no model variants/);
  });
  it('chooses fp16 only with shader-f16 on WebGPU', () => {
    const m = manifest(['fp32', 'fp16']);
    expect(chooseVariant(m, { dtype: 'auto', backend: 'auto', shaderF16: true }).dtype).toBe('fp16');
    expect(chooseVariant(m, { dtype: 'auto', backend: 'auto', shaderF16: false }).dtype).toBe('fp32');
    expect(chooseVariant(m, { dtype: 'auto', backend: 'wasm', shaderF16: true }).dtype).toBe('fp32');
    expect(chooseVariant(manifest(['fp16']), { dtype: 'auto', backend: 'wasm', shaderF16: false }).dtype).toBe('fp16');
    expect(() => chooseVariant(manifest(['fp32']), { dtype: 'fp16', backend: 'auto', shaderF16: true })).toThrow(/no fp16 variant/);
  });
});

describe('picked files', () => {
  it('maps a folder to paths relative to igpt.json', () => {
    const b = new Blob(['x']);
    const map = bundleFileMap(
      [
        { path: 'mymodel/igpt.json', file: b },
        { path: 'mymodel/model.onnx', file: b },
        { path: 'other/readme.txt', file: b },
      ],
      'mymodel',
    );
    expect([...map.keys()].sort()).toEqual(['igpt.json', 'model.onnx']);
    expect([...bundleFileMap([{ path: 'igpt.json', file: b }, { path: 'model.onnx', file: b }], 'files').keys()]).toHaveLength(2);
  });
  it('names a folder without a manifest', () => {
    expect(() => bundleFileMap([{ path: 'a/model.onnx', file: new Blob([]) }], 'a')).toThrow(/a: contains no igpt.json/);
  });
});
