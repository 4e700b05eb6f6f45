import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { patchWriteBuffer, SWIFTSHADER_ICD, unshareBufferSource } from './nodeWebgpu.ts';

describe('unshareBufferSource', () => {
  it('copies views on a SharedArrayBuffer, keeping type, offset-free contents and values', () => {
    const sab = new SharedArrayBuffer(16);
    const f = new Float32Array(sab);
    f.set([1, 2, 3, 4]);
    const view = new Float32Array(sab, 4, 2);
    const copy = unshareBufferSource(view);
    expect(copy).toBeInstanceOf(Float32Array);
    expect(copy.buffer).toBeInstanceOf(ArrayBuffer);
    expect(Array.from(copy)).toEqual([2, 3]);
    f[1] = 9;
    expect(copy[0]).toBe(2); // a copy, not a view

    const dv = unshareBufferSource(new DataView(sab, 8, 8));
    expect(dv).toBeInstanceOf(DataView);
    expect(dv.buffer).toBeInstanceOf(ArrayBuffer);
    expect(dv.getFloat32(0, true)).toBe(3);

    const whole = unshareBufferSource(sab);
    expect(whole).toBeInstanceOf(ArrayBuffer);
    expect(new Float32Array(whole)[1]).toBe(9);
  });

  it('passes ordinary buffers through untouched', () => {
    const a = new Uint8Array(4);
    expect(unshareBufferSource(a)).toBe(a);
    const b = new ArrayBuffer(4);
    expect(unshareBufferSource(b)).toBe(b);
  });

  it('patchWriteBuffer hands the original a non-shared copy, once', () => {
    const seen: unknown[][] = [];
    const proto = { writeBuffer: (...args: unknown[]) => void seen.push(args) };
    patchWriteBuffer(proto);
    patchWriteBuffer(proto);
    const data = new Uint32Array(new SharedArrayBuffer(8));
    proto.writeBuffer('buf', 0, data, 1, 1);
    expect(seen).toHaveLength(1);
    const [buf, offset, passed, dataOffset, size] = seen[0];
    expect([buf, offset, dataOffset, size]).toEqual(['buf', 0, 1, 1]);
    expect((passed as Uint32Array).buffer).toBeInstanceOf(ArrayBuffer);
  });
});

describe('setupNodeWebGPU', () => {
  it('finds an adapter with the SwiftShader driver when Chromium ships it, else says why not', () => {
    const script = `import { probeNodeWebGPU } from ${JSON.stringify(fileURLToPath(new URL('./nodeWebgpu.ts', import.meta.url)))};
      const p = await probeNodeWebGPU();
      console.log(JSON.stringify({ p, navigator: typeof navigator?.gpu?.requestAdapter, usage: typeof GPUBufferUsage?.COPY_DST }));
      process.exit(0);`;
    const swiftshader = existsSync(SWIFTSHADER_ICD);
    const env = swiftshader ? { ...process.env, LD_LIBRARY_PATH: '/usr/lib/chromium', VK_ICD_FILENAMES: SWIFTSHADER_ICD } : process.env;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env, timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.navigator).toBe('function');
    expect(out.usage).toBe('number');
    if (swiftshader) {
      expect(out.p.ok).toBe(true);
      expect(out.p.adapter).toMatch(/swiftshader/i);
    } else {
      expect(out.p.ok).toBe(false);
      expect(out.p.reason).toMatch(/adapter|webgpu/i);
    }
  });
});
