import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundleFileMap, parseManifest, pickVariant, resolveBundleUrl, validateManifest, type BundleManifest } from './index.ts';

/** The bundled default model's real manifest, with the given dtype variants. */
function manifest(dtypes: ('fp32' | 'fp16' | 'q4')[]): BundleManifest {
  const m = JSON.parse(readFileSync('models/default/igpt.json', 'utf8')) as BundleManifest;
  m.variants = dtypes.map((dtype) => ({ ...m.variants[0], dtype, graph: `model.${dtype}.onnx`, files: [{ ...m.variants[0].files[0], path: `model.${dtype}.onnx` }] }));
  return m;
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
    expect(validateManifest(manifest(['fp32']), 'u').name).toBe('emoji-igpt');
  });
  it('names the problem', () => {
    expect(() => validateManifest({ format: 'x' }, 'http://h/igpt.json')).toThrow(/http:\/\/h\/igpt.json: is not an igpt bundle manifest/);
    expect(() => validateManifest([1], 'f')).toThrow(/f: is not a JSON object/);
    const m = manifest(['fp32']);
    m.palette.rgb = [];
    expect(() => validateManifest(m, 'f')).toThrow(/palette/);
    expect(() => validateManifest({ ...manifest([]) }, 'f')).toThrow(/no model variants/);
    const wrongSize = manifest(['fp32']);
    wrongSize.config.nPositions = 256;
    expect(() => validateManifest(wrongSize, 'f')).toThrow(/f: config: expected 32x32 images/);
    const noHash = manifest(['fp32']);
    noHash.variants[0].files[0].sha256 = 'x';
    expect(() => validateManifest(noHash, 'f')).toThrow(/variant fp32: every file needs a path, a byte size and a sha256/);
    const lostGraph = manifest(['fp32']);
    lostGraph.variants[0].graph = 'other.onnx';
    expect(() => validateManifest(lostGraph, 'f')).toThrow(/names graph "other.onnx" but does not list it/);
    const io = manifest(['fp32']);
    io.io.pastKey.pop();
    expect(() => validateManifest(io, 'f')).toThrow(/inconsistent graph input\/output names/);
    expect(() => parseManifest('{oops', 'http://h/igpt.json')).toThrow(/http:\/\/h\/igpt.json: is not valid JSON/);
  });
  it('chooses fp16 only with shader-f16 on WebGPU', () => {
    const m = manifest(['fp32', 'fp16']);
    expect(pickVariant(m, 'auto', true).dtype).toBe('fp16');
    expect(pickVariant(m, 'auto', false).dtype).toBe('fp32');
    expect(pickVariant(manifest(['fp16']), 'auto', false).dtype).toBe('fp16');
    expect(pickVariant(m, 'fp32', true).dtype).toBe('fp32');
    expect(() => pickVariant(manifest(['fp32']), 'fp16', true)).toThrow(/no fp16 variant/);
  });
  it('accepts q4 variants but never picks one for auto while another variant is there', () => {
    const m = manifest(['q4', 'fp32', 'fp16']);
    expect(validateManifest(JSON.parse(JSON.stringify(m)), 'f').variants.map((v) => v.dtype)).toEqual(['q4', 'fp32', 'fp16']);
    expect(pickVariant(m, 'auto', false).dtype).toBe('fp32');
    expect(pickVariant(m, 'auto', true).dtype).toBe('fp16');
    expect(pickVariant(manifest(['q4', 'fp16']), 'auto', false).dtype).toBe('fp16');
    expect(pickVariant(manifest(['q4']), 'auto', true).dtype).toBe('q4');
    expect(pickVariant(m, 'q4', false).dtype).toBe('q4');
    const bad = manifest(['fp32']);
    (bad.variants[0] as { dtype: string }).dtype = 'int8';
    expect(() => validateManifest(bad, 'f')).toThrow(/unknown dtype "int8"/);
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
